package themes

import (
	"errors"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/lucasb-eyer/go-colorful"
)

func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

func TestBuiltinsByName(t *testing.T) {
	names := Names()
	want := []string{"dark", "high-contrast", "high-contrast-light", "light", "okabe-ito", "okabe-ito-light", "plain"}
	if !slices.Equal(names, want) {
		t.Fatalf("Names() = %v, want %v", names, want)
	}
	for _, n := range names {
		th, err := ByName(n)
		if err != nil {
			t.Fatalf("ByName(%q): %v", n, err)
		}
		if th.Name != n {
			t.Errorf("ByName(%q).Name = %q", n, th.Name)
		}
		if !th.NoColor && (th.Text == nil || th.Good == nil || th.Warn == nil || th.Bad == nil || th.Selected == nil || len(th.Series) == 0) {
			t.Errorf("%s lacks a colour: %+v", n, th)
		}
		if strings.HasSuffix(n, "-light") || n == "light" {
			if th.Dark {
				t.Errorf("%s claims a dark background", n)
			}
		}
	}
	if _, err := ByName("solarised"); err == nil || !strings.Contains(err.Error(), "okabe-ito") {
		t.Errorf("unknown theme: error %v should list the built-ins", err)
	}
	if _, err := ByName("auto"); err == nil {
		t.Error("ByName(auto) should be an error: the caller resolves auto")
	}
}

func TestResolve(t *testing.T) {
	cases := []struct {
		name  string
		dark  bool
		env   func(string) string
		want  string
		noCol bool
	}{
		{"", true, env(), "dark", false},
		{"auto", false, env(), "light", false},
		{"", true, env("NO_COLOR", "1"), "plain", true},
		{"auto", true, env("TERM", "dumb"), "plain", true},
		{"", true, env("NO_COLOR", ""), "dark", false}, // empty NO_COLOR does not count
		{"okabe-ito", true, env("NO_COLOR", "1"), "okabe-ito", false},
		{"high-contrast-light", true, env(), "high-contrast-light", false},
	}
	for _, c := range cases {
		th, err := Resolve(c.name, c.dark, c.env)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", c.name, err)
		}
		if th.Name != c.want || th.NoColor != c.noCol {
			t.Errorf("Resolve(%q, dark=%v) = %s (NoColor %v), want %s", c.name, c.dark, th.Name, th.NoColor, c.want)
		}
	}
	if _, err := Resolve("neon", true, env()); err == nil {
		t.Error("unknown theme resolved")
	}
}

func TestResolveLoadsThemeFiles(t *testing.T) {
	th, err := Resolve("testdata/solarized.yaml", true, env())
	if err != nil {
		t.Fatal(err)
	}
	if th.Name != "solarized" {
		t.Errorf("name %q", th.Name)
	}
	home := t.TempDir()
	data, err := os.ReadFile("testdata/solarized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "sol.yml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve("~/sol.yml", true, env("HOME", home)); err != nil {
		t.Errorf("~/ path: %v", err)
	}
	_, err = Resolve("missing/theme.yaml", true, env())
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if !IsFile("x.YAML") || !IsFile("./dark") || IsFile("dark") || IsFile("okabe-ito") {
		t.Error("IsFile misclassifies")
	}
}

func TestNextCyclesThroughEveryBuiltin(t *testing.T) {
	seen := map[string]bool{}
	name := "dark"
	for range len(Names()) {
		seen[name] = true
		name = Next(name).Name
	}
	if name != "dark" || len(seen) != len(Names()) {
		t.Errorf("cycle ended at %s after visiting %v", name, seen)
	}
	if Next("solarized").Name != "dark" {
		t.Error("after a custom theme Next should be dark")
	}
}

func TestContrast(t *testing.T) {
	black, white := hex("#000000"), hex("#ffffff")
	if c := Contrast(black, white); c < 20.99 || c > 21.01 {
		t.Errorf("black/white = %.2f, want 21", c)
	}
	if c := Contrast(white, black); c < 20.99 {
		t.Errorf("not symmetric: %.2f", c)
	}
	if c := Contrast(hex("#777777"), hex("#777777")); c != 1 {
		t.Errorf("same colour = %.2f, want 1", c)
	}
	// WCAG's reference: #767676 on white is just above 4.5.
	if c := Contrast(hex("#767676"), white); c < 4.5 || c > 4.6 {
		t.Errorf("#767676 on white = %.2f, want ~4.54", c)
	}
}

// reference backgrounds for themes that don't name one: a typical dark
// terminal and white.
func backgroundOf(th Theme) color.Color {
	switch {
	case th.Background != nil:
		return th.Background
	case th.Dark:
		return hex("#1c1c1c")
	}
	return hex("#ffffff")
}

func TestBuiltinsAreLegible(t *testing.T) {
	for _, n := range Names() {
		th, _ := ByName(n)
		if th.NoColor {
			continue
		}
		text, graphic := MinTextContrast, MinGraphicContrast
		if strings.HasPrefix(n, "high-contrast") {
			text, graphic = 7, 7 // WCAG AAA for every colour that draws text
		}
		bg := backgroundOf(th)
		for _, c := range []struct {
			role string
			c    color.Color
			min  float64
		}{
			{"text", th.Text, text}, {"subtle", th.Subtle, graphic}, {"accent", th.Accent, graphic},
			{"good", th.Good, graphic}, {"warn", th.Warn, graphic}, {"bad", th.Bad, graphic},
			{"text on selected", th.Selected, text},
		} {
			other := bg
			if c.role == "text on selected" {
				other = th.Text
			}
			if r := Contrast(c.c, other); r < c.min {
				t.Errorf("%s: %s contrast %.2f < %.1f", n, c.role, r, c.min)
			}
		}
	}
}

// Machado, Oliveira and Fernandes (2009) full-severity simulation matrices
// in linear RGB.
var deficiencies = map[string][3][3]float64{
	"protanopia":   {{0.152286, 1.052583, -0.204868}, {0.114503, 0.786281, 0.099216}, {-0.003882, -0.048116, 1.051998}},
	"deuteranopia": {{0.367322, 0.860646, -0.227968}, {0.280085, 0.672501, 0.047413}, {-0.011820, 0.042940, 0.968881}},
	"tritanopia":   {{1.255528, -0.076749, -0.178779}, {-0.078411, 0.930809, 0.147602}, {0.004733, 0.691367, 0.303900}},
}

func simulate(c color.Color, m [3][3]float64) colorful.Color {
	cc, _ := colorful.MakeColor(c)
	r, g, b := cc.LinearRgb()
	clamp := func(v float64) float64 { return min(max(v, 0), 1) }
	return colorful.LinearRgb(
		clamp(m[0][0]*r+m[0][1]*g+m[0][2]*b),
		clamp(m[1][0]*r+m[1][1]*g+m[1][2]*b),
		clamp(m[2][0]*r+m[2][1]*g+m[2][2]*b))
}

// closestStates is the smallest CIEDE2000 difference (0-100 scale) between
// good, warn and bad as someone with deficiency m sees them.
func closestStates(th Theme, m [3][3]float64) float64 {
	states := []colorful.Color{simulate(th.Good, m), simulate(th.Warn, m), simulate(th.Bad, m)}
	least := 100.0
	for i := range states {
		for j := i + 1; j < len(states); j++ {
			least = min(least, 100*states[i].DistanceCIEDE2000(states[j]))
		}
	}
	return least
}

// A difference of 15 is far above "just noticeable" (~2) and keeps the
// states apart at a glance.
const colourBlindSafeDistance = 15

func TestOkabeItoIsColourBlindSafe(t *testing.T) {
	for _, th := range []Theme{OkabeIto(), OkabeItoLight()} {
		for name, m := range deficiencies {
			if d := closestStates(th, m); d < colourBlindSafeDistance {
				t.Errorf("%s under %s: good/warn/bad only %.1f apart", th.Name, name, d)
			}
		}
	}
	// The simulation must be able to fail: the light theme's orange warn and
	// red bad are the classic pair deuteranopes confuse.
	if d := closestStates(Light(), deficiencies["deuteranopia"]); d >= colourBlindSafeDistance {
		t.Errorf("simulation sees light's warn and bad %.1f apart under deuteranopia; it should not", d)
	}
}

var profiles = []colorprofile.Profile{colorprofile.TrueColor, colorprofile.ANSI256, colorprofile.ANSI}

// TestStatesStayDistinctAtEveryDepth renders each theme at each colour
// depth the way the terminal writer would (ForProfile, then the profile's
// own conversion) and checks good, warn and bad still differ, and the
// selected row still differs from the text on it.
func TestStatesStayDistinctAtEveryDepth(t *testing.T) {
	themes := []Theme{}
	for _, n := range Names() {
		th, _ := ByName(n)
		themes = append(themes, th)
	}
	custom, err := Load("testdata/solarized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	themes = append(themes, custom)
	for _, th := range themes {
		if th.NoColor {
			continue
		}
		for _, p := range profiles {
			d := th.ForProfile(p)
			if d.Name != th.Name || d.Dark != th.Dark {
				t.Errorf("%s/%v: ForProfile lost name or darkness: %s %v", th.Name, p, d.Name, d.Dark)
			}
			good, warn, bad := p.Convert(d.Good), p.Convert(d.Warn), p.Convert(d.Bad)
			if !distinct(good, warn, bad) {
				t.Errorf("%s/%v: good %v, warn %v, bad %v are not distinct", th.Name, p, good, warn, bad)
			}
			if sel, text := p.Convert(d.Selected), p.Convert(d.Text); sel == nil || sameColor(sel, text) {
				t.Errorf("%s/%v: selected %v vs text %v", th.Name, p, sel, text)
			}
			if p == colorprofile.TrueColor {
				continue
			}
			// The terminal writer must have nothing left to convert: its
			// own tables are what merges states.
			for _, c := range append([]color.Color{d.Text, d.Subtle, d.Accent, d.Good, d.Warn, d.Bad, d.Selected, d.Border}, d.Series...) {
				switch c.(type) {
				case nil, ansi.BasicColor:
				case ansi.IndexedColor:
					if p == colorprofile.ANSI {
						t.Errorf("%s/%v: %v is not one of the 16 colours", th.Name, p, c)
					}
				default:
					t.Errorf("%s/%v: %T %v left for the terminal to convert", th.Name, p, c, c)
				}
			}
		}
	}
}

// The generic 256→16 table turns the dark theme's yellow warn into bright
// red, the colour of bad; ForProfile must keep them apart whatever the
// generic table does.
func TestSixteenColoursKeepWarnYellow(t *testing.T) {
	d := Dark().ForProfile(colorprofile.ANSI)
	if d.Warn != ansi.BrightYellow || d.Bad != ansi.BrightRed || d.Good != ansi.BrightGreen {
		t.Errorf("dark in 16 colours: good %v warn %v bad %v", d.Good, d.Warn, d.Bad)
	}
}

func TestForProfileWithoutColour(t *testing.T) {
	for _, p := range []colorprofile.Profile{colorprofile.ASCII, colorprofile.NoTTY} {
		d := OkabeIto().ForProfile(p)
		if !d.NoColor || d.Name != "okabe-ito" || !d.Dark || d.Text != nil || d.Bad != nil || len(d.Series) != len(OkabeIto().Series) {
			t.Errorf("%v: %+v", p, d)
		}
		if d.SeriesColor(3) != nil {
			t.Errorf("%v: series colour %v", p, d.SeriesColor(3))
		}
	}
	if d := Dark().ForProfile(colorprofile.TrueColor); !sameColor(d.Warn, Dark().Warn) {
		t.Error("true colour must pass colours through")
	}
	if d := Plain().ForProfile(colorprofile.ANSI); !d.NoColor {
		t.Error("plain gained colours")
	}
}

// A custom theme without a hand-picked 16-colour version whose states all
// map to the same ANSI colour falls back to green, yellow and red.
func TestDerivedSixteenColoursSeparateStates(t *testing.T) {
	th, err := Parse("reds.yaml", []byte("good: \"#ff3030\"\nwarn: \"#e00000\"\nbad: \"#ff0000\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if nearest16(th.Good) != nearest16(th.Bad) {
		t.Fatalf("test premise: %v and %v should share an ANSI colour", nearest16(th.Good), nearest16(th.Bad))
	}
	d := th.ForProfile(colorprofile.ANSI)
	if d.Good != ansi.BrightGreen || d.Warn != ansi.BrightYellow || d.Bad != ansi.BrightRed {
		t.Errorf("fallback states: %v %v %v", d.Good, d.Warn, d.Bad)
	}
	d256 := th.ForProfile(colorprofile.ANSI256)
	if !distinct(d256.Good, d256.Warn, d256.Bad) {
		t.Errorf("256: %v %v %v", d256.Good, d256.Warn, d256.Bad)
	}
	// Nearest matches where they are unambiguous.
	for in, want := range map[string]ansi.BasicColor{"#000000": ansi.Black, "#ffffff": ansi.BrightWhite, "#0000e0": ansi.Blue, "#00d0d0": ansi.Cyan} {
		if got := nearest16(hex(in)); got != want {
			t.Errorf("nearest16(%s) = %v, want %v", in, got, want)
		}
	}
}

func TestFgAndSeriesColor(t *testing.T) {
	if s := Fg(nil).Render("x"); s != "x" {
		t.Errorf("Fg(nil) styled: %q", s)
	}
	if s := Fg(hex("#ff0000")).Render("x"); s == "x" {
		t.Error("Fg(red) did not style")
	}
	d := Dark()
	if d.SeriesColor(len(d.Series)) != d.Series[0] {
		t.Error("SeriesColor does not cycle")
	}
	if (Theme{}).SeriesColor(2) != nil {
		t.Error("no series should give nil")
	}
}
