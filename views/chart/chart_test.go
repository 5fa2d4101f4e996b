package chart

import (
	"flag"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/themes"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)

// gen makes n values from f, with exactly representable arithmetic so the
// goldens don't depend on floating-point library details.
func gen(n int, f func(i int) float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = f(i)
	}
	return v
}

// triangle is a triangle wave of the given period and amplitude.
func triangle(i, period int, amp float64) float64 {
	p := i % period
	if p > period/2 {
		p = period - p
	}
	return amp * float64(p) / float64(period/2)
}

func sampleSeries(th themes.Theme) []Series {
	return []Series{
		{Name: "api", Color: th.SeriesColor(0), Values: gen(400, func(i int) float64 { return 20 + triangle(i, 160, 60) })},
		{Name: "worker", Color: th.SeriesColor(1), Values: gen(120, func(i int) float64 {
			if i >= 50 && i < 65 {
				return nan
			}
			return float64((i*37)%101) / 4
		})},
		{Name: "batch", Color: th.SeriesColor(2), Values: gen(400, func(i int) float64 {
			if i == 217 {
				return 140
			}
			return 5
		})},
	}
}

func themeByName(t testing.TB, name string) themes.Theme {
	th, err := themes.ByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// plain returns the lines of a rendered chart without escape sequences.
func plain(s string) []string { return strings.Split(ansi.Strip(s), "\n") }

func checkShape(t *testing.T, name, out string, w, h int) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if h <= 0 {
		if out != "" {
			t.Errorf("%s: height %d but output %q", name, h, out)
		}
		return
	}
	if len(lines) != h {
		t.Errorf("%s: %d lines, want %d", name, len(lines), h)
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got != max(w, 0) {
			t.Errorf("%s: line %d is %d wide, want %d: %q", name, i, got, w, l)
		}
	}
	if strings.HasSuffix(out, "\n") {
		t.Errorf("%s: trailing newline", name)
	}
}

func TestRenderShape(t *testing.T) {
	sizes := [][2]int{{80, 8}, {120, 10}, {200, 12}, {5, 2}, {10, 3}, {9, 8}, {80, 2}, {11, 4}, {0, 0}, {-3, -1}, {40, 1}}
	for _, tn := range []string{"dark", "light", "plain"} {
		th := themeByName(t, tn)
		for _, sz := range sizes {
			for _, ascii := range []bool{false, true} {
				for _, axis := range []bool{false, true} {
					for _, cursor := range []int{-1, 0, 7, 500} {
						o := Options{
							Width: sz[0], Height: sz[1], Title: "memory working set",
							Start: t0, End: t0.Add(time.Hour), Series: sampleSeries(th),
							ShowTimeAxis: axis, Cursor: cursor, ASCII: ascii, Styles: DefaultStyles(th),
						}
						name := fmt.Sprintf("%s %dx%d ascii=%v axis=%v cursor=%d", tn, sz[0], sz[1], ascii, axis, cursor)
						out := Render(o)
						checkShape(t, name, out, sz[0], sz[1])
						if ascii && strings.ContainsFunc(ansi.Strip(out), func(r rune) bool { return r > 127 }) {
							t.Errorf("%s: non-ASCII output", name)
						}
					}
				}
			}
		}
	}
}

func TestRenderDegenerateInputs(t *testing.T) {
	th := themes.Dark()
	cases := map[string]Options{
		"no series":        {},
		"empty values":     {Series: []Series{{Name: "x"}}},
		"all NaN":          {Series: []Series{{Values: []float64{nan, nan, nan}}}},
		"one value":        {Series: []Series{{Values: []float64{3}}}},
		"negative flat":    {Series: []Series{{Values: []float64{-2, -2}}}},
		"huge range":       {Series: []Series{{Values: []float64{-1e308, 1e308}}}},
		"fixed range":      {YMin: 10, YMax: 20, Series: []Series{{Values: []float64{0, 15, 30}}}},
		"huge label width": {LabelWidth: 500, Series: []Series{{Values: []float64{1, 2}}}},
		"long names": {Title: strings.Repeat("title ", 30), Series: []Series{
			{Name: strings.Repeat("n", 50), Values: []float64{1}}, {Name: "b\nc", Values: []float64{2}}}},
		"zero times":     {Start: time.Time{}, End: time.Time{}},
		"reversed times": {Start: t0.Add(time.Hour), End: t0},
		"long span":      {Start: t0, End: t0.Add(100 * 24 * time.Hour)},
		"short span":     {Start: t0, End: t0.Add(time.Second)},
		"wide label":     {YFormat: func(float64) string { return "a very long label" }},
		"padded styles": {Styles: Styles{
			Axis:   lipgloss.NewStyle().Padding(1, 2),
			Label:  lipgloss.NewStyle().Width(3).Border(lipgloss.NormalBorder()),
			Cursor: lipgloss.NewStyle().Transform(strings.ToUpper).MarginLeft(2),
		}, Title: "styled", Cursor: 3, Series: []Series{{Name: "a", Values: []float64{1, 2, 3}}}},
	}
	for name, o := range cases {
		for _, sz := range [][2]int{{10, 3}, {30, 5}, {80, 8}} {
			for _, ascii := range []bool{false, true} {
				o := o
				o.Width, o.Height, o.ShowTimeAxis, o.ASCII = sz[0], sz[1], true, ascii
				if name != "padded styles" {
					o.Styles = DefaultStyles(th)
				}
				checkShape(t, fmt.Sprintf("%s %dx%d ascii=%v", name, sz[0], sz[1], ascii), Render(o), sz[0], sz[1])
			}
		}
	}
}

func TestRenderTinyIsBlank(t *testing.T) {
	o := Options{Width: 9, Height: 5, Title: "x", Series: sampleSeries(themes.Dark()), ShowTimeAxis: true}
	want := strings.TrimSuffix(strings.Repeat(strings.Repeat(" ", 9)+"\n", 5), "\n")
	if got := Render(o); got != want {
		t.Errorf("width 9: got %q", got)
	}
	o.Width, o.Height = 80, 2
	if got := Render(o); got != strings.Repeat(" ", 80)+"\n"+strings.Repeat(" ", 80) {
		t.Errorf("height 2: got %q", got)
	}
}

// plotCell returns the cell at plot column x of plot row r (0 = top) of a
// chart rendered with a title line and the given label width.
func plotCell(lines []string, lw, r, x int) rune {
	return []rune(lines[1+r])[lw+1+x]
}

func isBlank(r rune) bool { return r == ' ' || r == 0x2800 }

func TestRenderSpikeVisible(t *testing.T) {
	// One sample among 400 at width 40 (34 plot columns, 68 braille x
	// points): whichever bucket it falls in, and wherever in the bucket,
	// the max survives the resampling.
	for _, spike := range []int{0, 57, 217, 218, 300, 399} {
		v := gen(400, func(int) float64 { return 1 })
		v[spike] = 100
		o := Options{Width: 40, Height: 8, LabelWidth: 5, Cursor: -1, Series: []Series{{Values: v}}}
		lines := plain(Render(o))
		pw := PlotWidth(40, 5)
		want := spike * pw / 400
		found := -1
		for x := range pw {
			if !isBlank(plotCell(lines, 5, 0, x)) {
				if found >= 0 && x != found+1 {
					t.Errorf("spike %d: top row has dots at %d and %d", spike, found, x)
				}
				found = x
			}
		}
		if found < want-1 || found > want+1 {
			t.Fatalf("spike %d: in the top row at column %d, want about %d:\n%s", spike, found, want, strings.Join(lines, "\n"))
		}
		// the rest of the line is flat at the bottom
		for x := range pw {
			if x < want-2 || x > want+2 {
				for r := range 6 {
					if !isBlank(plotCell(lines, 5, r, x)) {
						t.Fatalf("spike %d: unexpected dot at row %d col %d:\n%s", spike, r, x, strings.Join(lines, "\n"))
					}
				}
				if isBlank(plotCell(lines, 5, 6, x)) {
					t.Fatalf("spike %d: baseline missing at col %d:\n%s", spike, x, strings.Join(lines, "\n"))
				}
			}
		}
	}
}

func TestRenderGapsAreEmpty(t *testing.T) {
	// The middle half of the time range is NaN, with more values than x
	// points (bucketed) and with fewer (spread out and joined by lines).
	for _, n := range []int{400, 40} {
		v := gen(n, func(i int) float64 {
			if i >= n/4 && i < n*3/4 {
				return nan
			}
			return float64(i % 3)
		})
		for _, ascii := range []bool{false, true} {
			o := Options{Width: 60, Height: 6, LabelWidth: 4, YMin: 0, YMax: 4, ASCII: ascii, Cursor: -1, Series: []Series{{Values: v}}}
			lines := plain(Render(o))
			pw, rows := PlotWidth(60, 4), 5
			first, last := pw/4+1, pw*3/4-2 // columns wholly inside the gap
			for x := range pw {
				dots := 0
				for r := range rows {
					c := plotCell(lines, 4, r, x)
					if !isBlank(c) {
						dots++
					}
					if c == 0x2800 {
						t.Errorf("n=%d: empty braille cell instead of a space at row %d col %d", n, r, x)
					}
				}
				inGap := x >= first && x <= last
				if inGap && dots != 0 {
					t.Errorf("n=%d ascii=%v: column %d in the gap has dots", n, ascii, x)
				}
				if (x < pw/4-1 || x > pw*3/4) && dots == 0 {
					t.Errorf("n=%d ascii=%v: column %d outside the gap is empty", n, ascii, x)
				}
			}
			if t.Failed() {
				t.Fatal("\n" + strings.Join(lines, "\n"))
			}
		}
	}
}

func TestRenderYLabelsAndAlignment(t *testing.T) {
	th := themes.Dark()
	small := Options{Width: 50, Height: 7, LabelWidth: 7, Cursor: -1, Styles: DefaultStyles(th),
		Series: []Series{{Values: []float64{1, 2, 3, 4}}}}
	big := small
	big.Series = []Series{{Values: []float64{-2500000, 12345678}}}
	for name, o := range map[string]Options{"small": small, "big": big} {
		lines := plain(Render(o))
		for r := 1; r < 7; r++ {
			if got := []rune(lines[r])[7]; got != '│' {
				t.Errorf("%s: line %d has %q at the axis column: %q", name, r, got, lines[r])
			}
		}
		if got := len([]rune(lines[1])) - 8; got != PlotWidth(50, 7) {
			t.Errorf("%s: plot width %d, PlotWidth says %d", name, got, PlotWidth(50, 7))
		}
	}
	lines := plain(Render(small))
	// 6 plot rows: max on top, min (clamped to 0: all data >= 0) at the bottom, one in between
	want := map[int]string{1: "      4│", 6: "      0│", 3: "   2.35│"}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	lines = plain(Render(big))
	if !strings.HasPrefix(lines[1], "  12.3M│") || !strings.HasPrefix(lines[6], "  -2.5M│") {
		t.Errorf("big labels: %q / %q", lines[1], lines[6])
	}
}

func TestAutoLabelWidth(t *testing.T) {
	o := Options{Width: 60, Height: 6, Series: []Series{{Values: []float64{0, 50}}}}
	if got := LabelWidthFor(o); got != DefaultLabelWidth {
		t.Errorf("LabelWidthFor = %d, want %d", got, DefaultLabelWidth)
	}
	lines := plain(Render(o))
	if []rune(lines[1])[DefaultLabelWidth] != '│' || len([]rune(lines[1]))-DefaultLabelWidth-1 != PlotWidth(60, 0) {
		t.Errorf("auto gutter does not match PlotWidth(w, 0): %q", lines[1])
	}
	o.Series[0].Values = []float64{-1234567, 0}
	if got := LabelWidthFor(o); got != 6 { // "-1.23M"
		t.Errorf("LabelWidthFor negative = %d, want 6", got)
	}
	if got := []rune(plain(Render(o))[1])[6]; got != '│' {
		t.Errorf("auto gutter of 6: got %q at column 6", got)
	}
	o.LabelWidth = 9
	if got := LabelWidthFor(o); got != 9 {
		t.Errorf("explicit LabelWidth: %d", got)
	}
}

func TestPlotWidth(t *testing.T) {
	for _, c := range [][3]int{{80, 5, 74}, {80, 0, 74}, {10, 8, 1}, {5, 8, 0}, {0, 0, 0}} {
		if got := PlotWidth(c[0], c[1]); got != c[2] {
			t.Errorf("PlotWidth(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}

func TestTimeAxis(t *testing.T) {
	o := Options{Width: 80, Height: 5, LabelWidth: 5, ShowTimeAxis: true, Start: t0, End: t0.Add(time.Hour), Cursor: -1,
		Series: []Series{{Values: []float64{1, 2}}}}
	lines := plain(Render(o))
	axis := lines[4]
	pw := PlotWidth(80, 5)
	if !strings.HasPrefix(axis, "      13:00") || !strings.HasSuffix(axis, "14:00") {
		t.Errorf("axis %q: want 13:00 under the first plot column and 14:00 ending at the last", axis)
	}
	// half past is centred on the middle column
	mid := int(float64(pw-1)/2+0.5) - 2
	if got := axis[6+mid : 6+mid+5]; got != "13:30" {
		t.Errorf("axis %q: %q at the middle, want 13:30", axis, got)
	}
	if n := strings.Count(axis, ":"); n < 5 {
		t.Errorf("axis %q: only %d labels at width 80", axis, n)
	}
	// every label is a round 10 minutes apart and they never touch
	fields := strings.Fields(axis)
	for i, f := range fields {
		if _, err := time.Parse("15:04", f); err != nil {
			t.Errorf("axis field %q", f)
		}
		if i > 0 && i < len(fields)-1 && f[4] != '0' {
			t.Errorf("intermediate label %q is not round", f)
		}
	}
	if strings.Contains(axis, "0013") || strings.Contains(axis, "0 13") {
		t.Errorf("labels too close: %q", axis)
	}

	// its own location, not UTC
	loc := time.FixedZone("X", 5*3600+30*60)
	o.Start, o.End = t0.In(loc), t0.Add(time.Hour).In(loc)
	axis = plain(Render(o))[4]
	if !strings.HasPrefix(axis, "      18:30") || !strings.HasSuffix(axis, "19:30") || !strings.Contains(axis, "19:00") {
		t.Errorf("axis in +05:30: %q", axis)
	}

	// narrow: start and end only; no axis line without ShowTimeAxis
	o.Width = 24
	axis = plain(Render(o))[4]
	if f := strings.Fields(axis); len(f) != 2 {
		t.Errorf("narrow axis %q", axis)
	}
	o.ShowTimeAxis = false
	if l := plain(Render(o)); strings.Contains(l[4], ":") {
		t.Errorf("axis drawn without ShowTimeAxis: %q", l[4])
	}
}

func TestTitleAndLegend(t *testing.T) {
	th := themes.Dark()
	o := Options{Width: 40, Height: 4, Title: "CPU", Cursor: -1, Styles: DefaultStyles(th), Series: []Series{
		{Name: "api", Color: th.SeriesColor(0), Values: []float64{1}},
		{Name: "db", Color: th.SeriesColor(1), Values: []float64{2}},
	}}
	out := Render(o)
	first := plain(out)[0]
	if want := "CPU" + strings.Repeat(" ", 40-3-7) + "api  db"; first != want {
		t.Errorf("title line %q, want %q", first, want)
	}
	if !strings.Contains(out, lipgloss.NewStyle().Foreground(th.SeriesColor(1)).Render("db")) {
		t.Errorf("legend name not in its series colour: %q", strings.Split(out, "\n")[0])
	}
	o.Title = strings.Repeat("long title ", 5)
	first = plain(Render(o))[0]
	if !strings.HasSuffix(first, "api  db") || !strings.Contains(first, "…") {
		t.Errorf("long title should be truncated before the legend goes: %q", first)
	}
}

func TestCursor(t *testing.T) {
	th := themes.Dark()
	o := Options{Width: 30, Height: 6, LabelWidth: 5, Cursor: 3, Styles: DefaultStyles(th),
		Series: []Series{{Values: []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Color: th.SeriesColor(0)}}, YMin: 0, YMax: 1}
	out := Render(o)
	lines := plain(out)
	for r := range 4 {
		if got := plotCell(lines, 5, r, 3); got != '│' {
			t.Errorf("row %d: cursor cell %q", r, got)
		}
		if got := plotCell(lines, 5, r, 4); got != ' ' {
			t.Errorf("row %d: next to the cursor %q", r, got)
		}
	}
	if got := plotCell(lines, 5, 4, 3); isBlank(got) || got == '│' {
		t.Errorf("cursor over data should keep the data: %q", got)
	}
	cur := DefaultStyles(th).Cursor.Render("│")
	if strings.Count(out, cur) != 4 {
		t.Errorf("want 4 cursor cells in the cursor style %q:\n%q", cur, out)
	}
	o.Cursor = -1
	if got := plotCell(plain(Render(o)), 5, 0, 3); got != ' ' {
		t.Errorf("cursor drawn with Cursor -1: %q", got)
	}
}

func TestFormatCompact(t *testing.T) {
	cases := map[float64]string{
		0: "0", 0.5: "0.5", 12.345: "12.3", 999: "999", 999.4: "999", 999.6: "1k", 1234: "1.23k",
		-1234: "-1.23k", 45600000: "45.6M", 999999: "1M", 2e9: "2G", 3.5e12: "3.5T", 1e16: "1e+04T",
		0.00123: "0.00123", nan: "NaN",
	}
	for v, want := range cases {
		if got := FormatCompact(v); got != want {
			t.Errorf("FormatCompact(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestStylesSpanRuns(t *testing.T) {
	// One escape sequence per run of same-coloured cells, not per cell.
	th := themes.Dark()
	o := Options{Width: 40, Height: 3, LabelWidth: 3, Cursor: -1, YMin: 0, YMax: 1, Styles: DefaultStyles(th),
		Series: []Series{{Values: gen(72, func(int) float64 { return 0.5 }), Color: th.SeriesColor(0)}}}
	row := strings.Split(Render(o), "\n")[1]
	pre := strings.TrimSuffix(lipgloss.NewStyle().Foreground(th.SeriesColor(0)).Render("x"), "x\x1b[m")
	if n := strings.Count(row, pre); n != 1 {
		t.Errorf("series style opened %d times in a flat row: %q", n, row)
	}
}

func TestDefaultStyles(t *testing.T) {
	if s := DefaultStyles(themes.Plain()); s.Axis.GetForeground() != (lipgloss.NoColor{}) || !s.Cursor.GetReverse() {
		t.Errorf("plain styles should have no colour and a reversed cursor")
	}
	d := themes.Dark()
	if s := DefaultStyles(d); s.Axis.GetForeground() != d.Subtle || s.Label.GetForeground() != d.Accent {
		t.Errorf("dark styles don't follow the theme")
	}
}

type golden struct {
	name string
	opts Options
}

func goldens() []golden {
	dark, light, pl := themes.Dark(), themes.Light(), themes.Plain()
	return []golden{
		{"dark_80x10", Options{Width: 80, Height: 10, Title: "CPU cores", Start: t0, End: t0.Add(time.Hour),
			Series: sampleSeries(dark), ShowTimeAxis: true, Cursor: -1, Styles: DefaultStyles(dark)}},
		{"light_120x12_cursor", Options{Width: 120, Height: 12, Title: "memory %", Start: t0, End: t0.Add(time.Hour),
			Series: sampleSeries(light), YMin: 0, YMax: 150, LabelWidth: 7, ShowTimeAxis: true, Cursor: 57,
			YFormat: func(v float64) string { return fmt.Sprintf("%.0f%%", v) }, Styles: DefaultStyles(light)}},
		{"plain_60x8_ascii", Options{Width: 60, Height: 8, Title: "requests/s", Start: t0, End: t0.Add(time.Hour),
			Series: sampleSeries(pl), ShowTimeAxis: true, Cursor: 20, ASCII: true, Styles: DefaultStyles(pl)}},
		{"dark_40x6_notime", Options{Width: 40, Height: 6, Title: "a title much too long for this chart", Start: t0, End: t0.Add(time.Hour),
			Series: sampleSeries(dark)[1:2], Cursor: -1, Styles: DefaultStyles(dark)}},
	}
}

func TestGolden(t *testing.T) {
	for _, g := range goldens() {
		out := Render(g.opts)
		checkShape(t, g.name, out, g.opts.Width, g.opts.Height)
		for _, f := range []struct{ path, want string }{
			{filepath.Join("testdata", g.name+".golden"), out},
			{filepath.Join("testdata", g.name+".stripped.golden"), ansi.Strip(out)},
		} {
			if *update {
				if err := os.WriteFile(f.path, []byte(f.want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			b, err := os.ReadFile(f.path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if string(b) != f.want {
				t.Errorf("%s differs from the golden; got:\n%s\nwant:\n%s", f.path, f.want, b)
			}
		}
	}
}

func TestColorStylerMatchesLipgloss(t *testing.T) {
	for _, c := range []color.Color{nil, lipgloss.NoColor{}, lipgloss.Color("#5fafff"), lipgloss.Color("1"), lipgloss.Color("200"), lipgloss.Red} {
		st := colorStyler(c)
		var b strings.Builder
		st.write(&b, "⣿ ⡇", 3)
		want := lipgloss.NewStyle().Foreground(c).Render("⣿ ⡇")
		if c == nil {
			want = "⣿ ⡇"
		}
		if b.String() != want {
			t.Errorf("colour %#v: got %q, lipgloss renders %q", c, b.String(), want)
		}
	}
}

func TestStylerProbe(t *testing.T) {
	for _, st := range []lipgloss.Style{
		lipgloss.NewStyle(), lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#123456")),
		lipgloss.NewStyle().Reverse(true), lipgloss.NewStyle().Underline(true), lipgloss.NewStyle().Padding(0, 1),
		lipgloss.NewStyle().Transform(strings.ToUpper), lipgloss.NewStyle().Width(10),
	} {
		s := newStyler(st)
		var b strings.Builder
		s.write(&b, "ab c", 4)
		if want := st.Render("ab c"); ansi.StringWidth(want) == 4 && b.String() != want {
			t.Errorf("style %v: got %q, lipgloss renders %q", st, b.String(), want)
		}
		if ansi.StringWidth(b.String()) != 4 {
			t.Errorf("style %v: output %q changes the width", st, b.String())
		}
	}
}
