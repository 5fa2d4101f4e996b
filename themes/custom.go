package themes

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"go.yaml.in/yaml/v3"
)

// A custom theme is a YAML file of semantic colours. Every key is optional;
// the ones left out come from the base theme:
//
//	# ~/.config/perch/themes/solarized.yaml, used with --theme ~/.config/perch/themes/solarized.yaml
//	name: solarized          # default: the file name without .yaml
//	base: dark               # a built-in to start from (default: dark, or light with dark: false)
//	dark: true               # designed for a dark background
//	background: "#002b36"    # quote hex colours: an unquoted # starts a YAML comment
//	text: "#93a1a1"
//	subtle: "#657b83"        # secondary text, axes
//	accent: "#268bd2"        # titles, focus
//	good: "#859900"
//	warn: "#b58900"
//	bad: "#dc322f"
//	selected: "#073642"      # background of the selected row
//	border: "#586e75"
//	series: ["#268bd2", "#cb4b16", "#d33682", "#2aa198"]   # chart lines
//	ansi16:                  # optional: the ANSI colours (0-15 or names) for 16-colour terminals
//	  good: green
//	  warn: yellow
//	  bad: bright-red
//
// A colour is "#rrggbb", "#rgb", an ANSI colour number 0-255, an ANSI name
// (black, red, green, yellow, blue, magenta, cyan, white, their bright-
// forms, grey) or "default" (the terminal's own; not for good, warn, bad
// or selected). Good, warn and bad must differ. With a background, text
// needs a contrast of 4.5:1 and subtle, accent, good, warn and bad 3:1, and
// text on the selected row 3:1.

// Error is a problem in a theme file, printed as FILE:LINE: KEY: MSG.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

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

// Limits of a theme file.
const (
	MaxFileSize = 64 << 10
	MaxSeries   = 16
)

// Minimum contrast ratios checked when a theme names its background.
const (
	MinTextContrast     = 4.5
	MinGraphicContrast  = 3.0
	MinSelectedContrast = 3.0
)

var colourKeys = []string{"background", "text", "subtle", "accent", "good", "warn", "bad", "selected", "border"}

var topKeys = append([]string{"name", "base", "dark", "series", "ansi16"}, colourKeys...)

// Load reads a custom theme from a YAML file (see the format above).
func Load(path string) (Theme, error) {
	f, err := os.Open(path)
	if err != nil {
		return Theme{}, fmt.Errorf("theme: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return Theme{}, fmt.Errorf("theme %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return Theme{}, &Error{File: path, Msg: fmt.Sprintf("file too large (a theme is at most %d KiB)", MaxFileSize>>10)}
	}
	return Parse(path, data)
}

// parser builds one theme, remembering where each key was set so errors
// found after the walk (contrast, clashes) point at the right line.
type parser struct {
	file  string
	lines map[string]int // key → line it was set on
}

func (p *parser) errf(n *yaml.Node, key, format string, args ...any) *Error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{File: p.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// Parse reads a custom theme from data; file names it in errors and gives
// the default name.
func Parse(file string, data []byte) (Theme, error) {
	p := &parser{file: file, lines: map[string]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Theme{}, p.errf(nil, "", "empty theme file")
		}
		e := &Error{File: file, Msg: err.Error()}
		if m := yamlLine.FindStringSubmatch(e.Msg); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = e.Msg[len(m[0]):]
		}
		return Theme{}, e
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Theme{}, p.errf(&extra, "", "only one YAML document is allowed")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return Theme{}, p.errf(root, "", "empty theme file")
	}
	if root.Kind != yaml.MappingNode {
		return Theme{}, p.errf(root, "", "a theme is a mapping of keys to colours (keys: %s)", strings.Join(topKeys, ", "))
	}
	pairs, err := p.pairs(root, "", topKeys)
	if err != nil {
		return Theme{}, err
	}

	// Name, base and dark first: they decide what the colours override.
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	baseName, dark, darkSet := "", true, false
	for _, kv := range pairs {
		switch kv.key {
		case "name":
			if name, err = p.str(kv.val, "name"); err != nil {
				return Theme{}, err
			}
		case "base":
			if baseName, err = p.str(kv.val, "base"); err != nil {
				return Theme{}, err
			}
		case "dark":
			if kv.val.Kind != yaml.ScalarNode || kv.val.ShortTag() != "!!bool" {
				return Theme{}, p.errf(kv.val, "dark", "want true or false")
			}
			dark, darkSet = kv.val.Value == "true", true
		}
	}
	if err := p.checkName(name, pairs); err != nil {
		return Theme{}, err
	}
	var t Theme
	switch {
	case baseName == "plain":
		return Theme{}, p.errf(p.node(pairs, "base"), "base", "plain has no colours to build on; pick a coloured base")
	case baseName != "":
		if t, err = ByName(baseName); err != nil {
			return Theme{}, p.errf(p.node(pairs, "base"), "base", "%v", err)
		}
	case dark:
		t = Dark()
	default:
		t = Light()
	}
	t = t.clone()
	t.Name = name
	if darkSet {
		t.Dark = dark
	}

	var ansi16 *yaml.Node
	changed := false
	for _, kv := range pairs {
		switch kv.key {
		case "series":
			if t.Series, err = p.series(kv.val, "series", false); err != nil {
				return Theme{}, err
			}
			changed = true
		case "ansi16":
			ansi16 = kv.val
		case "name", "base", "dark":
		default:
			c, err := p.colour(kv.val, kv.key, false)
			if err != nil {
				return Theme{}, err
			}
			for _, r := range t.roles() {
				if r.key == kv.key {
					*r.c = c
				}
			}
			changed = true
		}
		p.lines[kv.key] = kv.keyNode.Line
	}
	if changed {
		t.basic = nil // the base's 16 colours no longer match
	}
	if ansi16 != nil {
		b, err := p.basic(t, ansi16)
		if err != nil {
			return Theme{}, err
		}
		t.basic = &b
	}
	if err := p.check(t, ""); err != nil {
		return Theme{}, err
	}
	return t, nil
}

type keyVal struct {
	key          string
	keyNode, val *yaml.Node
}

// pairs lists mapping n's keys in file order, rejecting unknown and
// duplicate keys, non-string keys and aliases.
func (p *parser) pairs(n *yaml.Node, path string, known []string) ([]keyVal, error) {
	var out []keyVal
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode || v.Kind == yaml.AliasNode || v.Anchor != "" {
			return nil, p.errf(k, path, "anchors and aliases are not supported in theme files")
		}
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, path, "keys must be plain strings")
		}
		full := join(path, k.Value)
		if !contains(known, k.Value) {
			if s := suggest(k.Value, known); s != "" {
				return nil, p.errf(k, full, "unknown key, did you mean %q?", s)
			}
			return nil, p.errf(k, full, "unknown key (known keys: %s)", strings.Join(known, ", "))
		}
		if first, dup := seen[k.Value]; dup {
			return nil, p.errf(k, full, "duplicate key (first at line %d)", first)
		}
		seen[k.Value] = k.Line
		out = append(out, keyVal{key: k.Value, keyNode: k, val: v})
	}
	return out, nil
}

func (p *parser) node(pairs []keyVal, key string) *yaml.Node {
	for _, kv := range pairs {
		if kv.key == key {
			return kv.val
		}
	}
	return nil
}

func (p *parser) str(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" || n.Value == "" {
		return "", p.errf(n, key, "want a non-empty string")
	}
	return n.Value, nil
}

var themeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$`)

func (p *parser) checkName(name string, pairs []keyVal) error {
	at := p.node(pairs, "name")
	if !themeName.MatchString(name) {
		return p.errf(at, "name", "%q is not a theme name: up to 40 letters, digits, '-', '_' or '.'", name)
	}
	for _, b := range builtins {
		if b.name == name {
			return p.errf(at, "name", "%q is a built-in theme; give the custom theme its own name", name)
		}
	}
	return nil
}

// colour parses one colour value. basicOnly restricts it to ANSI 0-15.
func (p *parser) colour(n *yaml.Node, key string, basicOnly bool) (color.Color, error) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return nil, p.errf(n, key, "anchors and aliases are not supported in theme files")
	}
	if n.Kind != yaml.ScalarNode {
		return nil, p.errf(n, key, "want one colour, e.g. \"#5fafff\"")
	}
	if n.ShortTag() == "!!null" {
		return nil, p.errf(n, key, `no colour given (quote hex colours: %s: "#1e1e1e"; an unquoted # starts a YAML comment)`, key[strings.LastIndex(key, ".")+1:])
	}
	v := strings.TrimSpace(n.Value)
	want := `want "#rrggbb", "#rgb", an ANSI colour number 0-255, an ANSI colour name (red, bright-blue, …) or "default"`
	if basicOnly {
		want = "want an ANSI colour number 0-15 or name (black, red, green, yellow, blue, magenta, cyan, white, bright-…)"
	}
	role := key[strings.LastIndex(key, ".")+1:]
	switch {
	case strings.HasPrefix(v, "#"):
		if basicOnly {
			return nil, p.errf(n, key, "%q: %s", v, want)
		}
		c, ok := parseHex(v)
		if !ok {
			return nil, p.errf(n, key, "%q is not a hex colour: %s", v, want)
		}
		return c, nil
	case isDigits(v):
		i, err := strconv.Atoi(v)
		if err != nil || i > 255 || (basicOnly && i > 15) {
			return nil, p.errf(n, key, "colour number %s out of range: %s", v, want)
		}
		if i < 16 {
			return ansi.BasicColor(i), nil
		}
		return ansi.IndexedColor(i), nil
	case strings.EqualFold(v, "default") || strings.EqualFold(v, "none"):
		switch role {
		case "good", "warn", "bad", "selected":
			return nil, p.errf(n, key, "needs a real colour (the terminal default cannot mark %s)", map[string]string{
				"good": "good values", "warn": "warnings", "bad": "bad values", "selected": "the selected row"}[role])
		}
		return nil, nil
	}
	if c, ok := basicNames[normName(v)]; ok {
		return c, nil
	}
	return nil, p.errf(n, key, "%q is not a colour: %s", v, want)
}

func (p *parser) series(n *yaml.Node, key string, basicOnly bool) ([]color.Color, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, key, "want a list of colours, e.g. [\"#5fafff\", \"#ffaf5f\"]")
	}
	if len(n.Content) == 0 || len(n.Content) > MaxSeries {
		return nil, p.errf(n, key, "want 1 to %d colours, got %d", MaxSeries, len(n.Content))
	}
	out := make([]color.Color, len(n.Content))
	for i, c := range n.Content {
		k := fmt.Sprintf("%s[%d]", key, i)
		v, err := p.colour(c, k, basicOnly)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, p.errf(c, k, "chart lines need a real colour, not the terminal default")
		}
		out[i] = v
	}
	return out, nil
}

// basic reads the ansi16 mapping: the 16-colour version of t, starting
// from the derived one.
func (p *parser) basic(t Theme, n *yaml.Node) (Theme, error) {
	if n.Kind != yaml.MappingNode {
		return Theme{}, p.errf(n, "ansi16", "want a mapping of keys to ANSI colours, e.g. good: green")
	}
	known := []string{"text", "subtle", "accent", "good", "warn", "bad", "selected", "border", "series"}
	pairs, err := p.pairs(n, "ansi16", known)
	if err != nil {
		return Theme{}, err
	}
	b := t.sixteen()
	b.basic = nil
	for _, kv := range pairs {
		key := "ansi16." + kv.key
		if kv.key == "series" {
			if b.Series, err = p.series(kv.val, key, true); err != nil {
				return Theme{}, err
			}
		} else {
			c, err := p.colour(kv.val, key, true)
			if err != nil {
				return Theme{}, err
			}
			for _, r := range b.roles() {
				if r.key == kv.key {
					*r.c = c
				}
			}
		}
		p.lines[key] = kv.keyNode.Line
	}
	if err := p.check(b, "ansi16."); err != nil {
		return Theme{}, err
	}
	return b, nil
}

// check validates the finished theme: good, warn and bad differ, and the
// colours are legible on the background (when the theme names one) and on
// the selected row.
func (p *parser) check(t Theme, prefix string) error {
	line := func(keys ...string) int {
		best := 0
		for _, k := range keys {
			best = max(best, p.lines[prefix+k])
		}
		return best
	}
	sem := []struct {
		key string
		c   color.Color
	}{{"good", t.Good}, {"warn", t.Warn}, {"bad", t.Bad}}
	for i := range sem {
		for j := i + 1; j < len(sem); j++ {
			if sameColor(sem[i].c, sem[j].c) {
				a, b := sem[i].key, sem[j].key
				if p.lines[prefix+a] > p.lines[prefix+b] {
					a, b = b, a
				}
				return &Error{File: p.file, Line: line(a, b), Key: prefix + b,
					Msg: fmt.Sprintf("same colour as %s: good, warn and bad must differ", a)}
			}
		}
	}
	if prefix != "" {
		return nil // ANSI colours: the terminal's palette decides; nothing to measure
	}
	if measurable(t.Background) {
		for _, c := range []struct {
			key string
			c   color.Color
			min float64
		}{
			{"text", t.Text, MinTextContrast}, {"subtle", t.Subtle, MinGraphicContrast}, {"accent", t.Accent, MinGraphicContrast},
			{"good", t.Good, MinGraphicContrast}, {"warn", t.Warn, MinGraphicContrast}, {"bad", t.Bad, MinGraphicContrast},
		} {
			if !measurable(c.c) {
				continue
			}
			if r := Contrast(c.c, t.Background); r < c.min {
				return &Error{File: p.file, Line: line(c.key, "background"), Key: prefix + c.key,
					Msg: fmt.Sprintf("contrast %.1f:1 against the background is too low (need at least %.1f:1)", r, c.min)}
			}
		}
	}
	if measurable(t.Text) && measurable(t.Selected) {
		if r := Contrast(t.Text, t.Selected); r < MinSelectedContrast {
			return &Error{File: p.file, Line: line("selected", "text"), Key: prefix + "selected",
				Msg: fmt.Sprintf("text on the selected row has contrast %.1f:1 (need at least %.1f:1)", r, MinSelectedContrast)}
		}
	}
	return nil
}

// measurable reports whether c has a known RGB value: not the terminal
// default and not one of the 16 colours whose look the terminal decides.
func measurable(c color.Color) bool {
	_, basic := c.(ansi.BasicColor)
	return c != nil && !basic
}

func parseHex(s string) (color.Color, bool) {
	h := s[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return nil, false
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return nil, false
	}
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func normName(s string) string {
	return strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(s))
}

var basicNames = map[string]color.Color{
	"black": ansi.Black, "red": ansi.Red, "green": ansi.Green, "yellow": ansi.Yellow,
	"blue": ansi.Blue, "magenta": ansi.Magenta, "cyan": ansi.Cyan, "white": ansi.White,
	"brightblack": ansi.BrightBlack, "grey": ansi.BrightBlack, "gray": ansi.BrightBlack,
	"brightred": ansi.BrightRed, "brightgreen": ansi.BrightGreen, "brightyellow": ansi.BrightYellow,
	"brightblue": ansi.BrightBlue, "brightmagenta": ansi.BrightMagenta, "brightcyan": ansi.BrightCyan,
	"brightwhite": ansi.BrightWhite,
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// suggest returns the known key closest to name, if it is a likely typo.
func suggest(name string, known []string) string {
	target := normName(name)
	if target == "" || len(target) > 64 {
		return ""
	}
	best, bestDist := "", 1<<30
	for _, k := range known {
		if d := editDistance(target, normName(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	limit := 2
	if len(target) <= 4 {
		limit = 1
	}
	if bestDist <= limit {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance with adjacent transpositions.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
