package themes

import (
	"image/color"
	"math"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/lucasb-eyer/go-colorful"
)

// ForProfile returns t as it should be drawn on a terminal with colour
// profile p. The terminal writer would downsample true colours on its own,
// but its generic tables can merge good, warn and bad (the dark theme's
// yellow and red both become bright red in 16 colours); this picks colours
// that keep every state apart:
//
//   - TrueColor (or Unknown): t unchanged.
//   - ANSI256: the nearest 256-colour index of each colour; if that merges
//     good, warn and bad, they come from the 16-colour version instead.
//   - ANSI: the theme's hand-picked 16-colour version (built-ins) or one
//     derived from its colours, with good, warn and bad kept distinct.
//   - ASCII and NoTTY: no colours (NoColor), like the plain theme.
//
// Name and Dark are kept, so a theme switcher still knows where it is.
func (t Theme) ForProfile(p colorprofile.Profile) Theme {
	switch {
	case t.NoColor || p == colorprofile.Unknown || p >= colorprofile.TrueColor:
		return t
	case p <= colorprofile.ASCII:
		return Theme{Name: t.Name, Dark: t.Dark, NoColor: true, Series: make([]color.Color, max(len(t.Series), 1))}
	case p == colorprofile.ANSI:
		return t.sixteen()
	}
	out := t.clone()
	out.basic = t.basic
	for _, r := range out.roles() {
		*r.c = to256(*r.c)
	}
	for i, c := range out.Series {
		out.Series[i] = to256(c)
	}
	if !distinct(out.Good, out.Warn, out.Bad) || out.Selected == out.Background || out.Selected == out.Text {
		b := t.sixteen()
		out.Good, out.Warn, out.Bad = b.Good, b.Warn, b.Bad
		if out.Selected == out.Background || out.Selected == out.Text {
			out.Selected = b.Selected
		}
	}
	return out
}

func to256(c color.Color) color.Color {
	switch c := c.(type) {
	case nil:
		return nil
	case ansi.BasicColor, ansi.IndexedColor:
		return c
	default:
		return ansi.Convert256(c)
	}
}

// sixteen is the 16-colour version of t.
func (t Theme) sixteen() Theme {
	if t.basic != nil {
		out := t.basic.clone()
		out.Name, out.Dark, out.basic = t.Name, t.Dark, t.basic
		return out
	}
	out := t.clone()
	for _, r := range out.roles() {
		*r.c = nearest16(*r.c)
	}
	for i, c := range out.Series {
		out.Series[i] = nearest16(c)
	}
	// The terminal paints its own background; a selection the colour of
	// the background (or of the text) would vanish.
	sel, good, warn, bad := ansi.Blue, ansi.BrightGreen, ansi.BrightYellow, ansi.BrightRed
	if !t.Dark {
		sel, good, warn, bad = ansi.White, ansi.Green, ansi.Yellow, ansi.Red
	}
	if out.Selected == out.Background || out.Selected == out.Text {
		out.Selected = sel
	}
	out.Background = nil
	if !distinct(out.Good, out.Warn, out.Bad) {
		out.Good, out.Warn, out.Bad = good, warn, bad
	}
	return out
}

// xterm's default 16 colours: what "nearest" means when a theme doesn't
// say which ANSI colour it wants.
var xterm16 = [16]string{
	"#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
	"#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
}

var xterm16Lab = func() (out [16]colorful.Color) {
	for i, h := range xterm16 {
		out[i], _ = colorful.Hex(h)
	}
	return out
}()

// nearest16 maps c to the perceptually closest (CIEDE2000) ANSI colour.
func nearest16(c color.Color) color.Color {
	if c == nil {
		return nil
	}
	if b, ok := c.(ansi.BasicColor); ok {
		return b
	}
	cc, ok := colorful.MakeColor(c)
	if !ok {
		return nil
	}
	best, bestD := 0, math.Inf(1)
	for i, ref := range xterm16Lab {
		if d := cc.DistanceCIEDE2000(ref); d < bestD {
			best, bestD = i, d
		}
	}
	return ansi.BasicColor(best)
}

// distinct reports whether no two of cs are the same colour (nil counts
// as a colour: the terminal default).
func distinct(cs ...color.Color) bool {
	for i := range cs {
		for j := i + 1; j < len(cs); j++ {
			if sameColor(cs[i], cs[j]) {
				return false
			}
		}
	}
	return true
}

func sameColor(a, b color.Color) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	// Basic colours are palette slots, not RGB values: compare them as such.
	ba, aBasic := a.(ansi.BasicColor)
	bb, bBasic := b.(ansi.BasicColor)
	if aBasic || bBasic {
		return aBasic && bBasic && ba == bb
	}
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2
}

// Contrast is the WCAG 2 contrast ratio of two colours, from 1 (same
// luminance) to 21 (black on white). Text wants at least 4.5.
func Contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is the WCAG relative luminance of c.
func luminance(c color.Color) float64 {
	cc, ok := colorful.MakeColor(c)
	if !ok {
		return 0
	}
	r, g, b := cc.LinearRgb()
	return 0.2126*r + 0.7152*g + 0.0722*b
}
