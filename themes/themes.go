// Package themes holds perch's semantic palettes. Views build their styles
// from a Theme and never name a colour themselves.
//
// Built-in themes: dark and light (the defaults), high-contrast and
// high-contrast-light, okabe-ito and okabe-ito-light (colour-blind safe:
// good, warn and bad stay apart under protanopia, deuteranopia and
// tritanopia), and plain (no colour, for NO_COLOR and dumb terminals).
// Custom themes are YAML files (see Load). ForProfile adapts any theme to a
// 256- or 16-colour terminal without merging good, warn and bad.
package themes

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"charm.land/lipgloss/v2"
)

// Theme is a semantic palette. A nil colour means "terminal default".
type Theme struct {
	Name    string
	Dark    bool
	NoColor bool // no colours at all: emphasis by bold/reverse/symbols only

	// Background is the background the palette was designed for. Views do
	// not paint it (the terminal's own background shows); screenshots and
	// the contrast checks of custom themes use it. Nil: any background of
	// the right lightness.
	Background color.Color
	Text       color.Color
	Subtle     color.Color // secondary text, axes, borders
	Accent     color.Color // titles, focused elements
	Good       color.Color
	Warn       color.Color
	Bad        color.Color
	Selected   color.Color // background of the selected row
	Border     color.Color
	// Series are the line colours of charts, in order.
	Series []color.Color

	// basic is the hand-picked 16-colour version (see ForProfile); nil
	// derives one from the colours above.
	basic *Theme
}

func hex(s string) color.Color { return lipgloss.Color(s) }

// builtins in the order Names and Next list them.
var builtins = []struct {
	name string
	make func() Theme
}{
	{"dark", Dark},
	{"light", Light},
	{"high-contrast", HighContrast},
	{"high-contrast-light", HighContrastLight},
	{"okabe-ito", OkabeIto},
	{"okabe-ito-light", OkabeItoLight},
	{"plain", Plain},
}

// Names lists the built-in themes, sorted.
func Names() []string {
	names := make([]string, 0, len(builtins))
	for _, b := range builtins {
		names = append(names, b.name)
	}
	sort.Strings(names)
	return names
}

// ByName returns a built-in theme; "auto" and "" are resolved by the caller
// (from the terminal background) and are errors here.
func ByName(name string) (Theme, error) {
	for _, b := range builtins {
		if b.name == name {
			return b.make(), nil
		}
	}
	return Theme{}, fmt.Errorf("unknown theme %q (built-in: %s, or auto, or a .yaml file)", name, strings.Join(Names(), ", "))
}

// Next is the theme after name in the built-in order (dark, light,
// high-contrast, high-contrast-light, okabe-ito, okabe-ito-light, plain),
// wrapping around; after a custom or unknown theme it is dark. It is what
// a "switch theme" key cycles through.
func Next(name string) Theme {
	for i, b := range builtins {
		if b.name == name {
			return builtins[(i+1)%len(builtins)].make()
		}
	}
	return Dark()
}

// IsFile reports whether a theme name is a path to a custom theme file:
// it ends in .yaml or .yml, or contains a path separator.
func IsFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml" || strings.ContainsRune(name, '/') || strings.ContainsRune(name, filepath.Separator)
}

// NoColorRequested reports whether the environment asks for no colour
// (https://no-color.org: NO_COLOR set and not empty) or the terminal is dumb.
func NoColorRequested(getenv func(string) string) bool {
	if getenv == nil {
		getenv = os.Getenv
	}
	return getenv("NO_COLOR") != "" || getenv("TERM") == "dumb"
}

// Resolve picks the theme to use: an explicit name wins (a built-in, or a
// custom theme file when IsFile(name); a leading ~/ is the home
// directory), otherwise plain under NO_COLOR, otherwise dark or light from
// the terminal background.
func Resolve(name string, darkBackground bool, getenv func(string) string) (Theme, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if name != "" && name != "auto" {
		if IsFile(name) {
			return Load(expandHome(name, getenv))
		}
		return ByName(name)
	}
	if NoColorRequested(getenv) {
		return Plain(), nil
	}
	if darkBackground {
		return Dark(), nil
	}
	return Light(), nil
}

func expandHome(path string, getenv func(string) string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home := getenv("HOME"); home != "" {
			return filepath.Join(home, rest)
		}
	}
	return path
}

// Fg is a foreground style of c (a plain style when c is nil).
func Fg(c color.Color) lipgloss.Style {
	s := lipgloss.NewStyle()
	if c != nil {
		s = s.Foreground(c)
	}
	return s
}

// SeriesColor returns the i-th chart colour, cycling.
func (t Theme) SeriesColor(i int) color.Color {
	if len(t.Series) == 0 {
		return nil
	}
	return t.Series[i%len(t.Series)]
}

// roles lists the theme's single colours by their YAML key, for code that
// treats them alike (conversion, validation).
func (t *Theme) roles() []struct {
	key string
	c   *color.Color
} {
	return []struct {
		key string
		c   *color.Color
	}{
		{"background", &t.Background}, {"text", &t.Text}, {"subtle", &t.Subtle}, {"accent", &t.Accent},
		{"good", &t.Good}, {"warn", &t.Warn}, {"bad", &t.Bad}, {"selected", &t.Selected}, {"border", &t.Border},
	}
}

// clone copies t so edits don't reach t's Series.
func (t Theme) clone() Theme {
	t.Series = append([]color.Color(nil), t.Series...)
	return t
}
