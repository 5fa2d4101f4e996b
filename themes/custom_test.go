package themes

import (
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

func TestLoadFullTheme(t *testing.T) {
	th, err := Load("testdata/solarized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if th.Name != "solarized" || !th.Dark || th.NoColor {
		t.Errorf("name %q dark %v nocolor %v", th.Name, th.Dark, th.NoColor)
	}
	for role, want := range map[string]string{"background": "#002b36", "text": "#93a1a1", "bad": "#dc322f", "selected": "#073642"} {
		var got color.Color
		for _, r := range th.roles() {
			if r.key == role {
				got = *r.c
			}
		}
		if !sameColor(got, hex(want)) {
			t.Errorf("%s = %v, want %s", role, got, want)
		}
	}
	if len(th.Series) != 4 || !sameColor(th.Series[3], hex("#2aa198")) {
		t.Errorf("series %v", th.Series)
	}
	b := th.ForProfile(colorprofile.ANSI)
	if b.Good != ansi.Green || b.Warn != ansi.Yellow || b.Bad != ansi.BrightRed || b.Selected != ansi.Black {
		t.Errorf("ansi16 overrides not applied: %v %v %v %v", b.Good, b.Warn, b.Bad, b.Selected)
	}
	if b.Text == nil || b.Text == ansi.Black {
		t.Errorf("derived 16-colour text %v should be a light ANSI colour", b.Text)
	}
}

func TestParseDefaults(t *testing.T) {
	th, err := Parse("/home/me/.config/perch/mine.yaml", []byte("good: \"#00ff00\"  # brighter\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := Dark()
	if th.Name != "mine" || !th.Dark || !sameColor(th.Good, hex("#00ff00")) || !sameColor(th.Bad, d.Bad) || !sameColor(th.Text, d.Text) {
		t.Errorf("defaults from dark: %+v", th)
	}
	if th.basic != nil {
		t.Error("changed colours must drop the base's hand-picked 16 colours")
	}

	th, err = Parse("x.yaml", []byte("name: paper\ndark: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	if th.Name != "paper" || th.Dark || !sameColor(th.Text, Light().Text) {
		t.Errorf("dark: false should start from light: %+v", th)
	}
	if th.basic == nil || th.ForProfile(colorprofile.ANSI).Text != ansi.Black {
		t.Error("an unchanged base keeps its 16-colour version")
	}

	th, err = Parse("x.yaml", []byte("base: high-contrast\naccent: magenta\nseries: [12, 208, bright-cyan, \"#abc\"]\ntext: default\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !sameColor(th.Background, hex("#000000")) || th.Accent != ansi.Magenta || th.Text != nil {
		t.Errorf("base high-contrast: %+v", th)
	}
	if th.Series[0] != ansi.BrightBlue || th.Series[1] != ansi.IndexedColor(208) || th.Series[2] != ansi.BrightCyan || !sameColor(th.Series[3], hex("#aabbcc")) {
		t.Errorf("series %v", th.Series)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"typo", "name: x\ntexxt: red\n", `t.yaml:2: texxt: unknown key, did you mean "text"?`},
		{"unknown", "sparkle: red\n", `t.yaml:1: sparkle: unknown key (known keys: name, base, dark, series, ansi16, background, text, subtle, accent, good, warn, bad, selected, border)`},
		{"duplicate", "good: green\nwarn: yellow\ngood: blue\n", `t.yaml:3: good: duplicate key (first at line 1)`},
		{"unquoted hex", "text: #d0d0d0\n", `t.yaml:1: text: no colour given (quote hex colours: text: "#1e1e1e"; an unquoted # starts a YAML comment)`},
		{"bad hex", "accent: \"#12345\"\n", `t.yaml:1: accent: "#12345" is not a hex colour: want "#rrggbb", "#rgb", an ANSI colour number 0-255, an ANSI colour name (red, bright-blue, …) or "default"`},
		{"bad word", "accent: teal\n", `t.yaml:1: accent: "teal" is not a colour: want "#rrggbb", "#rgb", an ANSI colour number 0-255, an ANSI colour name (red, bright-blue, …) or "default"`},
		{"index range", "border: 256\n", `t.yaml:1: border: colour number 256 out of range: want "#rrggbb", "#rgb", an ANSI colour number 0-255, an ANSI colour name (red, bright-blue, …) or "default"`},
		{"list colour", "text: [red]\n", `t.yaml:1: text: want one colour, e.g. "#5fafff"`},
		{"default good", "bad: default\n", `t.yaml:1: bad: needs a real colour (the terminal default cannot mark bad values)`},
		{"states clash", "good: \"#ff0000\"\nwarn: yellow\nbad: \"#f00\"\n", `t.yaml:3: bad: same colour as good: good, warn and bad must differ`},
		{"clash with base", "warn: \"#ff5f5f\"\n", `t.yaml:1: warn: same colour as bad: good, warn and bad must differ`},
		{"text contrast", "background: \"#ffffff\"\ntext: \"#eeeeee\"\n", `t.yaml:2: text: contrast 1.2:1 against the background is too low (need at least 4.5:1)`},
		{"state contrast", "dark: false\nbackground: \"#ffffff\"\nwarn: \"#ffd75f\"\n", `t.yaml:3: warn: contrast 1.4:1 against the background is too low (need at least 3.0:1)`},
		{"background breaks base", "background: \"#d0d0d0\"\n", `t.yaml:1: text: contrast 1.0:1 against the background is too low (need at least 4.5:1)`},
		{"selected contrast", "selected: \"#c0c0c0\"\n", `t.yaml:1: selected: text on the selected row has contrast 1.2:1 (need at least 3.0:1)`},
		{"series empty", "series: []\n", `t.yaml:1: series: want 1 to 16 colours, got 0`},
		{"series scalar", "series: red\n", `t.yaml:1: series: want a list of colours, e.g. ["#5fafff", "#ffaf5f"]`},
		{"series item", "series:\n  - red\n  - purple\n", `t.yaml:3: series[1]: "purple" is not a colour: want "#rrggbb", "#rgb", an ANSI colour number 0-255, an ANSI colour name (red, bright-blue, …) or "default"`},
		{"series default", "series: [red, default]\n", `t.yaml:1: series[1]: chart lines need a real colour, not the terminal default`},
		{"base unknown", "base: neon\n", `t.yaml:1: base: unknown theme "neon" (built-in: dark, high-contrast, high-contrast-light, light, okabe-ito, okabe-ito-light, plain, or auto, or a .yaml file)`},
		{"base plain", "base: plain\n", `t.yaml:1: base: plain has no colours to build on; pick a coloured base`},
		{"base type", "base: [dark]\n", `t.yaml:1: base: want a non-empty string`},
		{"dark type", "dark: yes please\n", `t.yaml:1: dark: want true or false`},
		{"name builtin", "name: dark\n", `t.yaml:1: name: "dark" is a built-in theme; give the custom theme its own name`},
		{"name chars", "name: \"my theme!\"\n", `t.yaml:1: name: "my theme!" is not a theme name: up to 40 letters, digits, '-', '_' or '.'`},
		{"ansi16 hex", "ansi16:\n  good: \"#00ff00\"\n", `t.yaml:2: ansi16.good: "#00ff00": want an ANSI colour number 0-15 or name (black, red, green, yellow, blue, magenta, cyan, white, bright-…)`},
		{"ansi16 range", "ansi16:\n  bad: 16\n", `t.yaml:2: ansi16.bad: colour number 16 out of range: want an ANSI colour number 0-15 or name (black, red, green, yellow, blue, magenta, cyan, white, bright-…)`},
		{"ansi16 clash", "good: \"#00ff00\"\nansi16:\n  good: red\n  bad: red\n", `t.yaml:4: ansi16.bad: same colour as good: good, warn and bad must differ`},
		{"ansi16 background", "ansi16:\n  background: black\n", `t.yaml:2: ansi16.background: unknown key (known keys: text, subtle, accent, good, warn, bad, selected, border, series)`},
		{"ansi16 scalar", "ansi16: red\n", `t.yaml:1: ansi16: want a mapping of keys to ANSI colours, e.g. good: green`},
		{"anchor", "good: &g green\nwarn: *g\n", `t.yaml:1: anchors and aliases are not supported in theme files`},
		{"merge", "<<: {good: red}\n", `t.yaml:1: <<: unknown key (known keys: name, base, dark, series, ansi16, background, text, subtle, accent, good, warn, bad, selected, border)`},
		{"list", "- red\n- green\n", `t.yaml:1: a theme is a mapping of keys to colours (keys: name, base, dark, series, ansi16, background, text, subtle, accent, good, warn, bad, selected, border)`},
		{"empty", "", `t.yaml: empty theme file`},
		{"comments only", "# nothing yet\n", `t.yaml: empty theme file`},
		{"two documents", "good: green\n---\nbad: red\n", `t.yaml:2: only one YAML document is allowed`},
		{"syntax", "good: green\n  bad: [red\n", `t.yaml:2: mapping values are not allowed in this context`},
		{"tab indent", "ansi16:\n\tgood: red\n", `t.yaml:2: found character that cannot start any token`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(c.in))
			if err == nil {
				t.Fatalf("no error for %q", c.in)
			}
			if err.Error() != c.want {
				t.Errorf("error\n got: %s\nwant: %s", err, c.want)
			}
			if _, ok := err.(*Error); !ok {
				t.Errorf("error is %T, want *Error", err)
			}
		})
	}
}

func TestLoadLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxFileSize)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "too large") || !strings.HasPrefix(err.Error(), big) {
		t.Errorf("big file: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "none.yaml")); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("testdata/solarized.yaml")
	f.Add(seed)
	f.Add([]byte("good: &a [*a]\n"))
	f.Add([]byte("series: [1, 2, 3]\nansi16: {series: [red]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		th, err := Parse("f.yaml", data)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.File != "f.yaml" {
				t.Fatalf("error %T %v does not name the file", err, err)
			}
			return
		}
		if !distinct(th.Good, th.Warn, th.Bad) {
			t.Fatalf("accepted a theme whose states clash: %+v", th)
		}
		for _, p := range profiles {
			_ = th.ForProfile(p)
		}
	})
}
