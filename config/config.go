// Package config reads perch's YAML configuration file strictly: unknown
// keys, wrong types and impossible values are errors that name the file,
// the line and the key (sources[1].url), never the value, because source
// settings hold tokens.
//
// The file is decoded by walking yaml.Node trees, so every key keeps its
// line. Each source's own settings are kept as a node and decoded later by
// the backend with Source.Decode, just as strictly.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/perch-dev/perch/cost"
)

// Defaults and limits.
const (
	DefaultRefresh = 15 * time.Second
	MinRefresh     = time.Second
	DefaultTheme   = "auto"
)

// Config is perch's configuration.
type Config struct {
	Path    string // file it came from ("" for defaults)
	Refresh time.Duration
	Theme   string
	Prices  cost.Prices
	Sources []Source

	refreshLine int // line of the refresh: value (0 if not from a file)
	themeLine   int // line of the theme: value (0 if not from a file)
}

// Source is one entry of sources:. Type and Name are perch's; every other
// key is the backend's own setting, decoded by the backend with Decode.
type Source struct {
	Type, Name string
	Line       int // line of the "- type:" entry

	file     string
	index    int       // position in sources:, for keys like sources[1].url
	typeLine int       // line of the type: value
	nameLine int       // line of the name: value (0 when defaulted)
	settings yaml.Node // the mapping minus type/name (merge keys expanded)
}

// Error is a configuration error at a place in a file. Msg never contains a
// configured value, only keys and lines.
type Error struct {
	File string
	Line int
	Key  string // dotted path, e.g. prices.cpu_hour or sources[1].tls.ca_file
	Msg  string
}

// Error returns "FILE:LINE: KEY: MSG", leaving out empty parts ("line N"
// stands in for the location when there is a line but no file).
func (e *Error) Error() string {
	var parts []string
	switch {
	case e.File != "" && e.Line > 0:
		parts = append(parts, e.File+":"+strconv.Itoa(e.Line))
	case e.File != "":
		parts = append(parts, e.File)
	case e.Line > 0:
		parts = append(parts, "line "+strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		parts = append(parts, e.Key)
	}
	if e.Msg != "" {
		parts = append(parts, e.Msg)
	}
	return strings.Join(parts, ": ")
}

// Default is the configuration without a file: refresh 15s, theme auto,
// cost.Defaults() prices and no sources.
func Default() Config {
	return Config{Refresh: DefaultRefresh, Theme: DefaultTheme, Prices: cost.Defaults()}
}

// DefaultPath is $XDG_CONFIG_HOME/perch/config.yaml, or
// ~/.config/perch/config.yaml when XDG_CONFIG_HOME is unset or relative
// (as the XDG spec asks). The home directory is $HOME (then
// $USERPROFILE); with neither, DefaultPath returns "". A nil getenv means
// os.Getenv.
func DefaultPath(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "perch", "config.yaml")
	}
	home := getenv("HOME")
	if home == "" {
		home = getenv("USERPROFILE")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".config", "perch", "config.yaml")
}

// Load reads and parses the file at path. When the file cannot be read the
// error wraps the os error (test with errors.Is(err, fs.ErrNotExist) to make
// a missing file optional). On any error Load returns Default().
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Default(), fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a configuration file's contents; path is only used in
// errors and Config.Path. An empty file (or one with only comments) gives
// Default(). Only the first error, in file order, is returned, always as an
// *Error; on error Parse returns Default().
func Parse(path string, data []byte) (Config, error) {
	cfg, err := parse(path, data)
	if err != nil {
		return Default(), err
	}
	return cfg, nil
}

// Validate checks what the caller knows and the file cannot: that every
// source type is one of knownTypes and the theme one of knownThemes ("auto"
// is always allowed), and that refresh is at least 1s. An empty known list
// skips that check. The error, an *Error, is the first in file order.
func (c Config) Validate(knownTypes []string, knownThemes []string) error {
	var errs []*Error
	if c.Refresh < MinRefresh {
		errs = append(errs, &Error{File: c.Path, Line: c.refreshLine, Key: "refresh", Msg: "must be at least " + MinRefresh.String()})
	}
	if len(knownThemes) > 0 && c.Theme != "" && c.Theme != DefaultTheme && !contains(knownThemes, c.Theme) {
		known := append([]string{DefaultTheme}, knownThemes...)
		errs = append(errs, &Error{File: c.Path, Line: c.themeLine, Key: "theme",
			Msg: unknownValue("theme", c.Theme, known)})
	}
	if len(knownTypes) > 0 {
		for _, s := range c.Sources {
			if !contains(knownTypes, s.Type) {
				line := s.typeLine
				if line == 0 {
					line = s.Line
				}
				errs = append(errs, &Error{File: c.Path, Line: line, Key: s.key() + ".type",
					Msg: unknownValue("source type", s.Type, knownTypes)})
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return errs[0]
}

// unknownValue describes a value outside a closed list. Source types and
// themes are names, not secrets, so the value is quoted.
func unknownValue(what, got string, known []string) string {
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	msg := fmt.Sprintf("unknown %s %q (known: %s)", what, got, strings.Join(sorted, ", "))
	if s := suggest(got, sorted); s != "" {
		msg += fmt.Sprintf(", did you mean %q?", s)
	}
	return msg
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
