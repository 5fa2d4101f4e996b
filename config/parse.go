package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

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
