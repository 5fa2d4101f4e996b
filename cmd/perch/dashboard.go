package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/tui"
)

func runDashboard(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("perch", e.stderr)
	var c commonFlags
	c.register(fs)
	ascii := fs.Bool("ascii", false, "plain ASCII charts for terminals or fonts without braille")
	var prof profileFlags
	prof.register(fs)
	fs.Usage = func() {
		printUsage(e.stderr)
		fmt.Fprintln(e.stderr, "\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(e.stderr, "\nKeys: enter details · esc back · s/S sort · / filter · n group · [ ] range · ←/→ chart cursor · T theme · ? help · q quit")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(c, e.getenv)
	if err != nil {
		return err
	}
	stopProfiles, err := prof.start(e.stderr)
	if err != nil {
		return err
	}
	defer stopProfiles()
	srcs, hint, err := pickSources(c, cfg, time.Now)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st := store.New()
	st.KeepHistory(tui.HistoryMetrics()...)
	st.SetStaleAfter(3 * cfg.Refresh)
	tuneMemory(e.getenv)
	releaseAfterFirstRounds(ctx, st, len(srcs))
	deferBulkUntilFirstFrame(ctx, st, srcs)
	var wg sync.WaitGroup
	for _, s := range srcs {
		wg.Add(1)
		go func() { defer wg.Done(); st.Feed(ctx, s) }()
	}
	defer wg.Wait()
	defer cancel()

	model, err := tui.New(tui.Config{
		Context: ctx, Store: st, Sources: srcs, ThemeName: cfg.Theme, Getenv: e.getenv,
		Refresh: cfg.Refresh, Hint: hint, ASCII: *ascii,
		Prices: cfg.Prices, WhatIf: cost.DefaultAssumptions(),
	})
	if err != nil {
		return usageError{err}
	}
	p := tea.NewProgram(model, tea.WithContext(ctx), tea.WithOutput(os.Stdout))
	if _, err := p.Run(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("terminal: %w", err)
	}
	return nil
}

// pickSources returns the demo simulator or the configured sources, and the
// hint line for the footer. With neither it explains how to start.
func pickSources(c commonFlags, cfg config.Config, clock func() time.Time) ([]sources.Source, string, error) {
	if c.demo {
		if c.kube.set() {
			return nil, "", usageError{fmt.Errorf("--demo shows the simulator: drop --kubeconfig, --context, -n and -A, or --demo")}
		}
		s, err := demoSource(c, cfg, clock)
		if err != nil {
			return nil, "", err
		}
		return []sources.Source{s}, "demo data · perch config init to connect real servers", nil
	}
	srcs, err := buildSources(cfg, c.kube)
	if err != nil {
		return nil, "", err
	}
	if len(srcs) == 0 {
		return nil, "", usageError{fmt.Errorf(noSourcesHelp, orDefault(config.DefaultPath(nil), "~/.config/perch/config.yaml"))}
	}
	return srcs, "", nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
