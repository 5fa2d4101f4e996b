package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/perch-dev/perch/config"
)

// runConfig handles "perch config init [--force] [FILE]".
func runConfig(e env, args []string) error {
	if len(args) == 0 || args[0] != "init" {
		return usageError{errors.New(`usage: perch config init [--force] [FILE]`)}
	}
	fs := newFlagSet("perch config init", e.stderr)
	force := fs.Bool("force", false, "overwrite an existing file")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	path := config.DefaultPath(e.getenv)
	if fs.NArg() > 1 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(1))}
	}
	if fs.NArg() == 1 {
		path = fs.Arg(0)
	}
	if path == "" {
		return usageError{errors.New("no config location: set XDG_CONFIG_HOME or HOME, or pass FILE")}
	}
	if _, err := os.Stat(path); err == nil && !*force {
		return usageError{fmt.Errorf("%s exists; pass --force to overwrite", path)}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	if err := os.WriteFile(path, []byte(config.Example()), 0o600); err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	fmt.Fprintf(e.stdout, "wrote %s\nedit it, then run: perch --config %s\n", path, path)
	return nil
}
