package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/themes"
	"github.com/perch-dev/perch/tui"
)

// renderArgs are the README screenshots' settings (scripts/screenshots.sh:
// COMMON and the overview-dark shot); `make screenshots` checks that the
// frame it photographs is this test's golden file.
var renderArgs = []string{"--width", "140", "--height", "32", "--at", "2026-11-26T14:20:00Z", "--seed", "1"}

func testEnv(t *testing.T, stdout io.Writer) env {
	home := t.TempDir()
	return env{stdout: stdout, stderr: io.Discard, getenv: func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}}
}

// The tests share the simulator's settled stores between renders: a day
// of backfill costs seconds under the race detector. Only the first render
// of each (seed, time, workloads) runs settleDemo. (An init, not a
// TestMain, so other test files keep theirs free.)
func init() {
	type key struct {
		seed      int64
		at        time.Time
		workloads int
	}
	type settled struct {
		srcs []sources.Source
		st   *store.Store
		hint string
	}
	cache := map[key]settled{}
	demoStore = func(ctx context.Context, req renderRequest) ([]sources.Source, *store.Store, string, error) {
		k := key{req.seed, req.at, req.workloads}
		if d, ok := cache[k]; ok {
			return d.srcs, d.st, d.hint, nil
		}
		srcs, st, hint, err := settleDemo(ctx, req)
		if err == nil {
			cache[k] = settled{srcs, st, hint}
		}
		return srcs, st, hint, err
	}
}

func render(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := runRender(context.Background(), testEnv(t, &out), args)
	return out.String(), err
}

func mustRender(t *testing.T, args ...string) string {
	t.Helper()
	out, err := render(t, args...)
	if err != nil {
		t.Fatalf("perch render %v: %v", args, err)
	}
	return out
}

func frameOf(t *testing.T, out string, w, h int) string {
	t.Helper()
	frame, ok := strings.CutSuffix(out, "\n")
	if !ok {
		t.Fatalf("output does not end in a newline")
	}
	golden.CheckFrame(t, frame, w, h)
	return frame
}

func TestRenderOverviewMatchesGolden(t *testing.T) {
	args := append([]string{"--view", "overview", "--theme", "dark"}, renderArgs...)
	out := mustRender(t, args...)
	frame := frameOf(t, out, 140, 32)
	golden.Assert(t, "render_overview_dark_140x32", out)
	plain := ansi.Strip(frame)
	for _, want := range []string{"● demo ok", "24 workloads", "14:20:00", "checkout", "invoice-pdf", "!5.2%", "enter details"} {
		if !strings.Contains(plain, want) {
			t.Errorf("frame lacks %q", want)
		}
	}
	if again := mustRender(t, args...); again != out {
		t.Error("two renders with the same arguments differ")
	}
}

func TestRenderDetailOfSelectedWorkload(t *testing.T) {
	for _, sel := range []string{"checkout", "shop/payments", "ml-infer"} {
		out := mustRender(t, append([]string{"--view", "detail", "--select", sel}, renderArgs...)...)
		title := detailTitle(frameOf(t, out, 140, 32))
		name := sel[strings.LastIndex(sel, "/")+1:]
		if !strings.Contains(title, "/"+name+"  ") {
			t.Errorf("--select %s: detail title %q", sel, title)
		}
		// Functions list instances, workloads pods: both come from the
		// simulator's pod lister through the pods request command.
		if plain := ansi.Strip(out); !strings.Contains(plain, "latency") || !strings.Contains(plain, "PODS (") && !strings.Contains(plain, "INSTANCES (") {
			t.Errorf("--select %s: no charts or pods:\n%s", sel, plain)
		}
	}
	// Selecting on the overview highlights the row without opening it.
	out := mustRender(t, append([]string{"--select", "redis"}, renderArgs...)...)
	if detailTitle(out) == "" || strings.Contains(ansi.Strip(out), "PODS") {
		t.Error("--select on the overview opened the detail page")
	}
	if out == mustRender(t, renderArgs...) {
		t.Error("--select redis did not move the selection")
	}
}

func TestRenderHelp(t *testing.T) {
	plain := ansi.Strip(mustRender(t, append([]string{"--view", "help"}, renderArgs...)...))
	for _, want := range []string{"Keys", "switch theme", "filter", "shorter range"} {
		if !strings.Contains(plain, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestRenderColourDepths(t *testing.T) {
	trueColour := "38;2;"
	cases := []struct {
		colors      string
		wantEscapes bool
		want256     bool
	}{{"truecolor", true, false}, {"256", true, true}, {"16", true, false}, {"none", false, false}}
	for _, c := range cases {
		out := mustRender(t, append([]string{"--colors", c.colors, "--theme", "okabe-ito"}, renderArgs...)...)
		frameOf(t, out, 140, 32)
		if got := strings.Contains(out, "\x1b["); got != c.wantEscapes {
			t.Errorf("--colors %s: escapes %v, want %v", c.colors, got, c.wantEscapes)
		}
		if got := strings.Contains(out, trueColour); got != (c.colors == "truecolor") {
			t.Errorf("--colors %s: true-colour sequences %v", c.colors, got)
		}
		if got := strings.Contains(out, "38;5;"); got != c.want256 {
			t.Errorf("--colors %s: 256-colour sequences %v, want %v", c.colors, got, c.want256)
		}
	}
}

func TestRenderThemes(t *testing.T) {
	seen := map[string]string{}
	dir := t.TempDir()
	custom := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(custom, []byte("base: light\naccent: \"#8700af\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dark", "light", "high-contrast", "okabe-ito-light", "plain", custom} {
		out := mustRender(t, append([]string{"--theme", name}, renderArgs...)...)
		frameOf(t, out, 140, 32)
		for other, prev := range seen {
			if prev == out {
				t.Errorf("themes %s and %s render the same", name, other)
			}
		}
		seen[name] = out
	}
	if strings.Contains(seen["plain"], "38;") {
		t.Error("plain theme rendered colours")
	}
	if ansi.Strip(seen["plain"]) != ansi.Strip(seen["dark"]) {
		t.Error("themes changed the text, not only its colours")
	}
}

func TestRenderBadUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--view", "pods"}, `--view "pods": want one of overview, detail, help`},
		{[]string{"--width", "0"}, "--width and --height must be between 1 and 1000"},
		{[]string{"--colors", "8"}, `--colors "8"`},
		{[]string{"--theme", "neon"}, `unknown theme "neon"`},
		{[]string{"--theme", "nope/missing.yaml"}, "missing.yaml"},
		{[]string{"--at", "yesterday"}, "--at"},
		{[]string{"--workloads", "9000"}, "between 0 (built-in set) and 5000"},
		{[]string{"stray"}, `unexpected argument "stray"`},
		{[]string{"--select", "nosuch", "--at", "2026-11-26T14:20:00Z"}, `--select: no workload "nosuch" (workloads: `},
		{[]string{"--select", "platform/checkout", "--at", "2026-11-26T14:20:00Z"}, `no workload "platform/checkout"`},
	}
	for _, c := range cases {
		out, err := render(t, c.args...)
		if err == nil || !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("render %v: %v; want a usage error with %q", c.args, err, c.want)
		}
		if out != "" {
			t.Errorf("render %v printed a frame on error", c.args)
		}
	}
	if !strings.Contains(strings.Join(themes.Names(), " "), "okabe-ito") {
		t.Error("themes lost okabe-ito")
	}
}

// A terminal smaller than perch's minimum gets perch's own message, not a
// garbled table.
func TestRenderTooSmall(t *testing.T) {
	out := mustRender(t, "--width", "40", "--height", "10", "--at", "2026-11-26T14:20:00Z")
	if !strings.Contains(ansi.Strip(out), "perch needs at least") {
		t.Errorf("small render: %q", out)
	}
}

// Golden overview frames for each theme at each colour depth: a change of
// palette, of ForProfile or of the views' styling shows up here as a diff.
func TestRenderOverviewGoldenPerThemeAndDepth(t *testing.T) {
	small := []string{"--width", "100", "--height", "16", "--at", "2026-11-26T14:20:00Z", "--seed", "1"}
	for _, theme := range []string{"dark", "light", "high-contrast", "okabe-ito", "plain"} {
		for _, depth := range []string{"truecolor", "256", "16"} {
			if theme == "plain" && depth != "truecolor" {
				continue // no colours to reduce
			}
			out := mustRender(t, append([]string{"--theme", theme, "--colors", depth}, small...)...)
			frameOf(t, out, 100, 16)
			golden.Assert(t, "overview_"+theme+"_"+depth, out)
		}
	}
}

// fgBefore returns the foreground colour parameters ("91", "38;5;203",
// "38;2;255;95;95") of the last escape sequence before text in frame, or
// "" when that sequence sets none.
func fgBefore(frame, text string) string {
	i := strings.Index(frame, text)
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(frame[:i], "\x1b[")
	if start < 0 {
		return ""
	}
	end := strings.IndexByte(frame[start:i], 'm')
	if end < 0 {
		return ""
	}
	params := strings.Split(frame[start+2:start+end], ";")
	for j := 0; j < len(params); j++ {
		p := params[j]
		switch {
		case p == "38" && j+2 < len(params) && params[j+1] == "5":
			return strings.Join(params[j:j+3], ";")
		case p == "38" && j+4 < len(params) && params[j+1] == "2":
			return strings.Join(params[j:j+5], ";")
		case len(p) == 2 && (p[0] == '3' || p[0] == '9') && p[1] >= '0' && p[1] <= '7':
			return p
		}
	}
	return ""
}

// In 16 colours, warn and bad must still be different colours: the generic
// tables map the dark theme's yellow and red to the same bright red.
func TestRenderSixteenColoursKeepStatesApart(t *testing.T) {
	probe, err := tui.New(tui.Config{Store: store.New(), ThemeName: "dark"})
	if err != nil {
		t.Fatal(err)
	}
	probe.Update(tea.ColorProfileMsg{Profile: colorprofile.ANSI})
	if _, basic := probe.Theme().Warn.(ansi.BasicColor); !basic {
		t.Fatal("tui must adapt the theme to a 16-colour profile (themes.ForProfile on tea.ColorProfileMsg)")
	}
	for _, theme := range []string{"dark", "light", "okabe-ito"} {
		out := mustRender(t, append([]string{"--theme", theme, "--colors", "16"}, renderArgs...)...)
		// In the simulator at 14:20, frontend's p95 540ms is a warning and
		// its p99 2.16s is bad (thresholds 300ms and 1s).
		warn, bad := fgBefore(out, " 540ms"), fgBefore(out, " 2.16s")
		if warn == "" || bad == "" || warn == bad {
			t.Errorf("%s in 16 colours: warn colour %q, bad colour %q", theme, warn, bad)
		}
	}
}
