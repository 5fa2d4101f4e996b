package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/themes"
)

// commonFlags are shared by the dashboard and snapshot.
type commonFlags struct {
	demo       bool
	configPath string
	seed       int64
	workloads  int
	refresh    time.Duration
	theme      string
	kube       kubeFlags
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.demo, "demo", false, "show the embedded simulator instead of configured sources")
	fs.StringVar(&c.configPath, "config", "", "config file (default $XDG_CONFIG_HOME/perch/config.yaml)")
	fs.Int64Var(&c.seed, "seed", 1, "simulator seed (with --demo)")
	fs.IntVar(&c.workloads, "workloads", 0, "simulate N workloads instead of the built-in set, up to 5000 (with --demo)")
	fs.DurationVar(&c.refresh, "refresh", 0, "how often sources refresh (overrides the config)")
	fs.StringVar(&c.theme, "theme", "", "theme: auto, "+strings.Join(themes.Names(), ", ")+", or a theme .yaml file")
	c.kube.register(fs)
}

// parseFlags parses args strictly: unknown flags and stray arguments are usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func newFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

// loadConfig reads the explicit file (which must exist) or the default one
// (optional), then applies flag overrides, and validates.
func loadConfig(c commonFlags, getenv func(string) string) (config.Config, error) {
	cfg := config.Default()
	path, explicit := c.configPath, c.configPath != ""
	if !explicit {
		path = config.DefaultPath(getenv)
	}
	if path != "" {
		loaded, err := config.Load(path)
		switch {
		case err == nil:
			cfg = loaded
		case !explicit && errors.Is(err, fs.ErrNotExist):
		default:
			return cfg, usageError{err}
		}
	}
	knownThemes := append(themes.Names(), "auto")
	if themes.IsFile(cfg.Theme) {
		knownThemes = nil // a custom theme file is checked below, with its own lines
	}
	if err := cfg.Validate(sourceTypes(), knownThemes); err != nil {
		return cfg, usageError{err}
	}
	if c.refresh < 0 || (c.refresh > 0 && c.refresh < config.MinRefresh) {
		return cfg, usageError{fmt.Errorf("--refresh must be at least %s", config.MinRefresh)}
	}
	if c.refresh > 0 {
		cfg.Refresh = c.refresh
	}
	if c.theme != "" {
		if _, err := themes.Resolve(c.theme, true, getenv); err != nil {
			return cfg, usageError{fmt.Errorf("--theme: %w", err)}
		}
		cfg.Theme = c.theme
	} else if themes.IsFile(cfg.Theme) {
		if _, err := themes.Resolve(cfg.Theme, true, getenv); err != nil {
			return cfg, usageError{fmt.Errorf("theme: %w", err)}
		}
	}
	return cfg, nil
}
