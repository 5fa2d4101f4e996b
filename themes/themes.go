// Package themes holds perch's semantic palettes. Views build their styles
// from a Theme and never name a colour themselves.
package themes

import (
	"fmt"
	"image/color"
	"os"
	"sort"

	"charm.land/lipgloss/v2"
)

// Theme is a semantic palette. A nil colour means "terminal default".
type Theme struct {
	Name    string
	Dark    bool
	NoColor bool // no colours at all: emphasis by bold/reverse/symbols only

	Text     color.Color
	Subtle   color.Color // secondary text, axes, borders
	Accent   color.Color // titles, focused elements
	Good     color.Color
	Warn     color.Color
	Bad      color.Color
	Selected color.Color // background of the selected row
	Border   color.Color
	// Series are the line colours of charts, in order.
	Series []color.Color
}

func hex(s string) color.Color { return lipgloss.Color(s) }

// Dark is the default palette for dark terminals.
func Dark() Theme {
	return Theme{
		Name: "dark", Dark: true,
		Text: hex("#d0d0d0"), Subtle: hex("#7a7a7a"), Accent: hex("#5fafff"),
		Good: hex("#5fd787"), Warn: hex("#ffd75f"), Bad: hex("#ff5f5f"),
		Selected: hex("#303a4a"), Border: hex("#4e4e4e"),
		Series: []color.Color{hex("#5fafff"), hex("#ffaf5f"), hex("#d787ff"), hex("#5fd7d7")},
	}
}

// Light is the default palette for light terminals.
func Light() Theme {
	return Theme{
		Name: "light", Dark: false,
		Text: hex("#1c1c1c"), Subtle: hex("#6c6c6c"), Accent: hex("#005fd7"),
		Good: hex("#00875f"), Warn: hex("#af5f00"), Bad: hex("#d70000"),
		Selected: hex("#dadaee"), Border: hex("#b2b2b2"),
		Series: []color.Color{hex("#005fd7"), hex("#d75f00"), hex("#8700af"), hex("#008787")},
	}
}

// Plain has no colours: for NO_COLOR and dumb terminals. Views must still
// mark the selection (reverse) and bad values (symbols, bold).
func Plain() Theme {
	return Theme{Name: "plain", Dark: true, NoColor: true, Series: make([]color.Color, 4)}
}

var builtins = map[string]func() Theme{"dark": Dark, "light": Light, "plain": Plain}

// Names lists the built-in themes.
func Names() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ByName returns a built-in theme; "auto" and "" are resolved by the caller
// (from the terminal background) and are errors here.
func ByName(name string) (Theme, error) {
	f, ok := builtins[name]
	if !ok {
		return Theme{}, fmt.Errorf("unknown theme %q (built-in: %v, or auto)", name, Names())
	}
	return f(), nil
}

// NoColorRequested reports whether the environment asks for no colour
// (https://no-color.org: NO_COLOR set and not empty) or the terminal is dumb.
func NoColorRequested(getenv func(string) string) bool {
	if getenv == nil {
		getenv = os.Getenv
	}
	return getenv("NO_COLOR") != "" || getenv("TERM") == "dumb"
}

// Resolve picks the theme to use: an explicit name wins, otherwise plain
// under NO_COLOR, otherwise dark or light from the terminal background.
func Resolve(name string, darkBackground bool, getenv func(string) string) (Theme, error) {
	if name != "" && name != "auto" {
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
