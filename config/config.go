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
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
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

func parse(path string, data []byte) (Config, *Error) {
	cfg := Default()
	cfg.Path = path
	root, err := parseDocument(path, data)
	if err != nil {
		return cfg, err
	}
	if root == nil {
		return cfg, nil
	}
	d := &decoder{file: path, budget: maxValues}
	n, err := d.resolve(root, "", 0)
	if err != nil {
		return cfg, err
	}
	if isNull(n) {
		return cfg, nil
	}
	if n.Kind != yaml.MappingNode {
		return cfg, d.errf(root, "", "the file must be a mapping of keys (%s)", strings.Join(topKeys, ", "))
	}
	for _, p := range d.mapping(n, "", 0) {
		if p.err != nil {
			return cfg, p.err
		}
		switch p.name {
		case "refresh":
			err = d.refresh(&cfg, p)
		case "theme":
			err = d.theme(&cfg, p)
		case "prices":
			err = d.prices(&cfg, p)
		case "sources":
			err = d.sources(&cfg, p)
		default:
			err = d.unknownKey(p.key, p.name, topKeys)
		}
		if err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

var topKeys = []string{"prices", "refresh", "sources", "theme"}

// parseDocument parses data into the root content node of its single
// document; nil means an empty document. Trailing empty documents ("---"
// at the end) are allowed, a second non-empty one is not.
func parseDocument(path string, data []byte) (*yaml.Node, *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(path, data, err)
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(path, data, err)
		}
		if c := docContent(&next); c != nil && !isNull(c) {
			return nil, &Error{File: path, Line: c.Line, Msg: "only one YAML document is allowed (remove the second ---)"}
		}
	}
	return docContent(&doc), nil
}

func docContent(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		return doc.Content[0]
	}
	if doc.Kind == 0 {
		return nil
	}
	return doc
}

// syntaxError turns the YAML parser's error ("yaml: line 3: did not find
// expected key") into an *Error. yaml.v3 reports the line only in the text,
// 1-based for scanner errors but 0-based for parser errors (and left out
// when 0), so the line is corrected here and kept within the file. Its
// messages describe the syntax and never quote values.
func syntaxError(path string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line, hasLine := 0, false
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				line, msg, hasLine = n, tail, true
			}
		}
	}
	switch {
	case parserProblems[msg]:
		line++
	case strings.HasPrefix(msg, "unknown anchor "):
		return &Error{File: path, Line: aliasLine(data, msg), Msg: "invalid YAML: " + msg}
	case !hasLine:
		line = 1 // the scanner leaves out line 1
	}
	lines := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		lines++
	}
	line = max(1, min(line, lines))
	return &Error{File: path, Line: line, Msg: "invalid YAML: " + msg}
}

// parserProblems are yaml.v3's parser (not scanner) messages, whose lines
// are 0-based.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found duplicate %TAG directive":         true,
	"found incompatible YAML document":       true,
}

// aliasLine finds the line of the first use of the alias named in yaml.v3's
// "unknown anchor 'x' referenced" (0 when not found).
func aliasLine(data []byte, msg string) int {
	name, ok := strings.CutPrefix(msg, "unknown anchor '")
	if name, _, ok2 := strings.Cut(name, "' referenced"); ok && ok2 {
		for i, l := range strings.Split(string(data), "\n") {
			for at := strings.Index(l, "*"+name); at >= 0; {
				end := at + 1 + len(name)
				if end == len(l) || strings.ContainsRune(" \t,]}#\r", rune(l[end])) {
					return i + 1
				}
				next := strings.Index(l[end:], "*"+name)
				if next < 0 {
					break
				}
				at = end + next
			}
		}
	}
	return 0
}

func (d *decoder) refresh(cfg *Config, p pair) *Error {
	n, err := d.resolve(p.val, "refresh", 0)
	if err != nil || isNull(n) {
		return err
	}
	var v time.Duration
	if err := d.value(p.val, reflect.ValueOf(&v).Elem(), "refresh", 0); err != nil {
		return err
	}
	if v < MinRefresh {
		return d.errf(p.val, "refresh", "must be at least %s", MinRefresh)
	}
	cfg.Refresh, cfg.refreshLine = v, p.val.Line
	return nil
}

func (d *decoder) theme(cfg *Config, p pair) *Error {
	n, err := d.resolve(p.val, "theme", 0)
	if err != nil || isNull(n) {
		return err
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return d.errf(p.val, "theme", "must be a string (auto, dark, light or plain)")
	}
	cfg.Theme, cfg.themeLine = n.Value, p.val.Line
	if cfg.Theme == "" {
		cfg.Theme = DefaultTheme
	}
	return nil
}

// prices decodes prices: into a copy of the defaults; every price must be a
// finite, non-negative number. Overriding any price without a name: names
// the table "custom".
func (d *decoder) prices(cfg *Config, p pair) *Error {
	n, err := d.resolve(p.val, "prices", 0)
	if err != nil || isNull(n) {
		return err
	}
	if n.Kind != yaml.MappingNode {
		return d.errf(p.val, "prices", "must be a mapping of prices (cpu_hour: 0.03, ...)")
	}
	prices := cfg.Prices
	v := reflect.ValueOf(&prices).Elem()
	fields := fieldsOf(v.Type())
	named, changed := false, false
	for _, pp := range d.mapping(n, "prices", 0) {
		if pp.err != nil {
			return pp.err
		}
		key := "prices." + pp.name
		f, ok := fields.byName[pp.name]
		if !ok {
			return d.unknownKey(pp.key, key, fields.names)
		}
		fv := v.FieldByIndex(f.index)
		if err := d.value(pp.val, fv, key, 1); err != nil {
			return err
		}
		switch fv.Kind() {
		case reflect.Float32, reflect.Float64:
			switch x := fv.Float(); {
			case math.IsNaN(x) || math.IsInf(x, 0):
				return d.errf(pp.val, key, "must be a finite number")
			case x < 0:
				return d.errf(pp.val, key, "must not be negative")
			}
			changed = true
		case reflect.String:
			named = true
		}
	}
	if changed && !named {
		prices.Name = "custom"
	}
	cfg.Prices = prices
	return nil
}

func (d *decoder) sources(cfg *Config, p pair) *Error {
	n, err := d.resolve(p.val, "sources", 0)
	if err != nil || isNull(n) {
		return err
	}
	if n.Kind != yaml.SequenceNode {
		return d.errf(p.val, "sources", "must be a list of sources (- type: ...)")
	}
	names := map[string]int{} // name -> line of its entry
	for i, pos := range n.Content {
		key := "sources[" + strconv.Itoa(i) + "]"
		src, err := d.source(pos, key, i)
		if err != nil {
			return err
		}
		if first, dup := names[src.Name]; dup {
			line := src.nameLine
			if line == 0 {
				line = src.Line
			}
			return &Error{File: d.file, Line: line, Key: key + ".name",
				Msg: fmt.Sprintf("duplicate source name (first at line %d); give each source a unique name:", first)}
		}
		names[src.Name] = src.Line
		cfg.Sources = append(cfg.Sources, src)
	}
	return nil
}

func (d *decoder) source(pos *yaml.Node, key string, index int) (Source, *Error) {
	e, err := d.resolve(pos, key, 0)
	if err != nil {
		return Source{}, err
	}
	if e.Kind != yaml.MappingNode {
		return Source{}, d.errf(pos, key, "must be a mapping with at least a type: key")
	}
	src := Source{Line: pos.Line, file: d.file, index: index}
	src.settings = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: e.Line, Column: e.Column}
	pairs := d.mapping(e, key, 0)
	hasType, hasName := false, false
	for _, p := range pairs {
		if p.err == nil && p.name == "type" {
			hasType = true
		}
	}
	// A missing type is reported at the entry's first line, before anything
	// found further down in it.
	if !hasType {
		return Source{}, d.errf(pos, key+".type", "is required (the kind of source, e.g. type: demo)")
	}
	for _, p := range pairs {
		if p.err != nil {
			return Source{}, p.err
		}
		switch p.name {
		case "type", "name":
			s, err := d.nonEmptyString(p.val, key+"."+p.name)
			if err != nil {
				return Source{}, err
			}
			if p.name == "type" {
				src.Type, src.typeLine = s, p.val.Line
			} else {
				src.Name, src.nameLine, hasName = s, p.val.Line, true
			}
		default:
			src.settings.Content = append(src.settings.Content, p.key, p.val)
		}
	}
	if !hasName {
		src.Name = src.Type
	}
	return src, nil
}

func (d *decoder) nonEmptyString(pos *yaml.Node, key string) (string, *Error) {
	n, err := d.resolve(pos, key, 0)
	if err != nil {
		return "", err
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", d.errf(pos, key, "must be a string")
	}
	if n.Value == "" {
		return "", d.errf(pos, key, "must not be empty")
	}
	return n.Value, nil
}

// Decode decodes the source's own settings (every key but type and name)
// strictly into v, a non-nil pointer, usually to the backend's config struct
// with yaml tags. Keys absent from the file leave v's fields as they were,
// so v can carry defaults. Unknown keys, wrong types and out-of-range
// numbers are *Error values naming the file, line and key
// (sources[1].tls.ca_file); v may be partly filled then.
//
// Supported: strings (any scalar), bools, ints, uints, floats,
// time.Duration ("15s"), slices, arrays, string-keyed maps, structs (yaml
// tags, ",inline" structs and maps), pointers to those, interfaces (any),
// yaml.Node, and types implementing yaml.Unmarshaler or
// encoding.TextUnmarshaler. Their error text is passed on with the
// setting's values redacted.
func (s Source) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config: Source.Decode needs a non-nil pointer, not %T", v)
	}
	if s.settings.Kind == 0 {
		return nil // a Source not read from a file has no settings
	}
	d := &decoder{file: s.file, budget: maxValues}
	if err := d.value(&s.settings, rv.Elem(), s.key(), 0); err != nil {
		return err
	}
	return nil
}

// Errorf makes an *Error about one of the source's settings, for a
// backend's own checks ("url is required"): key is the setting's dotted path
// (e.g. "url" or "tls.ca_file", "" for the whole source). The line is the
// key's when the file has it, otherwise the entry's. Keep values out of msg.
func (s Source) Errorf(key, format string, args ...any) *Error {
	line, full := s.Line, s.key()
	if key != "" {
		full += "." + key
		switch n := s.lookup(key); {
		case n != nil:
			line = n.Line
		case key == "type" && s.typeLine > 0:
			line = s.typeLine
		case key == "name" && s.nameLine > 0:
			line = s.nameLine
		}
	}
	return &Error{File: s.file, Line: line, Key: full, Msg: fmt.Sprintf(format, args...)}
}

// Keys lists the source's setting keys (not type and name) in file order.
func (s Source) Keys() []string {
	var keys []string
	for i := 0; i+1 < len(s.settings.Content); i += 2 {
		if k := s.settings.Content[i]; k.Kind == yaml.ScalarNode {
			keys = append(keys, k.Value)
		}
	}
	return keys
}

func (s Source) key() string { return "sources[" + strconv.Itoa(s.index) + "]" }

// lookup finds the key node of a dotted path in the settings.
func (s Source) lookup(path string) *yaml.Node {
	n := &s.settings
	var found *yaml.Node
	for part := range strings.SplitSeq(path, ".") {
		for hops := 0; n != nil && n.Kind == yaml.AliasNode && hops < maxDepth; hops++ {
			n = n.Alias
		}
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		found = nil
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == part {
				found, n = k, n.Content[i+1]
				break
			}
		}
		if found == nil {
			return nil
		}
	}
	return found
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
