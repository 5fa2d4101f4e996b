package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/views/snapshot"
)

func runSnapshot(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("perch snapshot", e.stderr)
	var c commonFlags
	c.register(fs)
	formatName := fs.String("format", "table", "output format: table, json or markdown")
	at := fs.String("at", "", "simulated time, RFC3339 (with --demo), e.g. 2026-11-26T14:10:00Z")
	timeout := fs.Duration("timeout", 30*time.Second, "give up waiting for sources after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	write, ok := snapshot.Lookup(*formatName)
	if !ok {
		return usageError{fmt.Errorf("--format %q: want table, json or markdown", *formatName)}
	}
	clock := time.Now
	if *at != "" {
		if !c.demo {
			return usageError{errors.New("--at works with --demo only (real sources cannot travel in time)")}
		}
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError{fmt.Errorf("--at: %w", err)}
		}
		clock = func() time.Time { return t }
	}
	cfg, err := loadConfig(c, e.getenv)
	if err != nil {
		return err
	}
	srcs, _, err := pickSources(c, cfg, clock)
	if err != nil {
		return err
	}
	rows, err := collect(ctx, srcs, clock, *timeout)
	if err != nil {
		return err
	}
	return write(e.stdout, rows, clock())
}

// collect feeds the sources into a store until each finished one complete
// round (or failed), then returns the overview rows.
func collect(ctx context.Context, srcs []sources.Source, clock func() time.Time, timeout time.Duration) ([]sources.Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st := store.New()
	var wg sync.WaitGroup
	for _, s := range srcs {
		wg.Add(1)
		go func() { defer wg.Done(); st.Feed(ctx, s) }()
	}
	defer wg.Wait()
	defer cancel()
	if err := st.WaitFor(ctx, len(srcs), store.Answered); err != nil {
		return nil, fmt.Errorf("sources did not answer within %s", timeout)
	}
	if err := st.Failures(); err != nil && st.Len() == 0 {
		return nil, err
	}
	return st.Summaries(clock(), 0), nil
}
