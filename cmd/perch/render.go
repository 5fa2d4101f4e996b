package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/sim"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/themes"
	"github.com/perch-dev/perch/tui"
)

// renderViews are the pages perch render can show.
var renderViews = []string{"overview", "detail", "help"}

// renderProfiles maps --colors to the terminal colour profile it imitates.
var renderProfiles = map[string]colorprofile.Profile{
	"truecolor": colorprofile.TrueColor,
	"256":       colorprofile.ANSI256,
	"16":        colorprofile.ANSI,
	"none":      colorprofile.NoTTY,
}

// renderRequest is a parsed perch render command line.
type renderRequest struct {
	view          string
	width, height int
	theme         string
	profile       colorprofile.Profile
	selectName    string
	ascii         bool
	timeout       time.Duration
	// What the simulator shows: the same inputs always give the same frame.
	at        time.Time
	seed      int64
	workloads int
}

// runRender prints one frame of the real dashboard on the simulator at a
// fixed time, without a terminal: for screenshots, golden tests and bug
// reports. The same inputs always print the same bytes.
func runRender(ctx context.Context, e env, args []string) error {
	req, err := parseRender(e, args)
	if err != nil {
		return err
	}
	srcs, st, hint, err := demoStore(ctx, req)
	if err != nil {
		return err
	}
	frame, err := renderFrame(ctx, req, srcs, st, hint, e.getenv)
	if err != nil {
		return err
	}
	return writeFrame(e.stdout, frame, req.profile)
}

// writeFrame writes the frame and a newline through a colour profile
// writer, which downsamples colours as a terminal of that depth would
// receive them from bubbletea.
func writeFrame(out io.Writer, frame string, p colorprofile.Profile) error {
	w := &colorprofile.Writer{Forward: out, Profile: p}
	if _, err := io.WriteString(w, frame+"\n"); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	return nil
}

// demoStore is settleDemo; tests replace it to share stores, since a day of
// simulator backfill costs seconds under the race detector.
var demoStore = settleDemo

// settleDemo builds the same simulator and hint as perch --demo, with
// default prices (a render never depends on the user's config file), and
// feeds it into a store until the store is complete and still.
func settleDemo(ctx context.Context, req renderRequest) ([]sources.Source, *store.Store, string, error) {
	clock := func() time.Time { return req.at }
	srcs, hint, err := pickSources(commonFlags{demo: true, seed: req.seed, workloads: req.workloads}, config.Default(), clock)
	if err != nil {
		return nil, nil, "", err
	}
	st, err := settleStore(ctx, srcs, req.timeout)
	if err != nil {
		return nil, nil, "", err
	}
	return srcs, st, hint, nil
}

func parseRender(e env, args []string) (renderRequest, error) {
	fs := newFlagSet("perch render", e.stderr)
	var req renderRequest
	fs.StringVar(&req.view, "view", "overview", "page to show: "+strings.Join(renderViews, ", "))
	fs.IntVar(&req.width, "width", 120, "frame width in cells")
	fs.IntVar(&req.height, "height", 36, "frame height in lines")
	fs.StringVar(&req.theme, "theme", "dark", "theme: "+strings.Join(themes.Names(), ", ")+", or a theme .yaml file")
	at := fs.String("at", "", "simulated time, RFC3339 (default now), e.g. 2026-11-26T14:20:00Z")
	fs.Int64Var(&req.seed, "seed", 1, "simulator seed")
	fs.IntVar(&req.workloads, "workloads", 0, "simulate N workloads instead of the built-in set, up to 5000")
	fs.StringVar(&req.selectName, "select", "", "select this workload (NAME or NAMESPACE/NAME) before showing the view; detail shows the first row without it")
	colors := fs.String("colors", "truecolor", "colour depth of the output: truecolor, 256, 16 or none")
	fs.BoolVar(&req.ascii, "ascii", false, "plain ASCII charts instead of braille")
	fs.DurationVar(&req.timeout, "timeout", 30*time.Second, "give up waiting for the simulator after this long")
	fs.Usage = func() {
		fmt.Fprint(e.stderr, `perch render prints one frame of the dashboard on the simulator, without a terminal:
for screenshots (scripts/screenshots.sh), golden tests and bug reports. The same flags
always print the same bytes.

Usage: perch render [--view overview|detail|help] [--width W] [--height H] [--theme NAME|FILE]
                    [--at RFC3339] [--seed N] [--select [NAMESPACE/]NAME] [--colors truecolor|256|16|none]

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return req, err
	}
	switch {
	case !slices.Contains(renderViews, req.view):
		return req, usageError{fmt.Errorf("--view %q: want one of %s", req.view, strings.Join(renderViews, ", "))}
	case req.width < 1 || req.width > 1000 || req.height < 1 || req.height > 1000:
		return req, usageError{fmt.Errorf("--width and --height must be between 1 and 1000, got %d×%d", req.width, req.height)}
	case req.workloads < 0 || req.workloads > sim.MaxWorkloads:
		return req, usageError{fmt.Errorf("--workloads must be between 0 (built-in set) and %d, got %d", sim.MaxWorkloads, req.workloads)}
	}
	var ok bool
	if req.profile, ok = renderProfiles[*colors]; !ok {
		return req, usageError{fmt.Errorf("--colors %q: want truecolor, 256, 16 or none", *colors)}
	}
	if _, err := themes.Resolve(req.theme, true, e.getenv); err != nil {
		return req, usageError{fmt.Errorf("--theme: %w", err)}
	}
	req.at = time.Now().UTC().Truncate(time.Second)
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return req, usageError{fmt.Errorf("--at: %w", err)}
		}
		req.at = t
	}
	return req, nil
}

// renderFrame drives a new dashboard model over a settled store: size,
// colour profile, selection, then the keys that open the view.
func renderFrame(ctx context.Context, req renderRequest, srcs []sources.Source, st *store.Store, hint string, getenv func(string) string) (string, error) {
	clock := func() time.Time { return req.at }
	model, err := tui.New(tui.Config{
		Context: ctx, Store: st, Sources: srcs, ThemeName: req.theme, Clock: clock,
		// Only for theme file paths (~/): NO_COLOR and TERM must not change
		// a render; --colors none is the way to ask for no colour.
		Getenv: func(k string) string {
			if k == "HOME" {
				return getenv(k)
			}
			return ""
		},
		Hint: hint, ASCII: req.ascii,
	})
	if err != nil {
		return "", usageError{err}
	}
	model.Update(tea.WindowSizeMsg{Width: req.width, Height: req.height})
	model.Update(tea.ColorProfileMsg{Profile: req.profile})
	if req.selectName != "" {
		if err := selectWorkload(model, st, req.at, req.selectName); err != nil {
			return "", usageError{err}
		}
	}
	switch req.view {
	case "detail":
		runOnce(model, sendKeys(model, "enter"), req.timeout)
	case "help":
		sendKeys(model, "?")
	}
	return model.Render(), nil
}

// settleStore feeds the sources into a new store until each has delivered
// one complete round (or failed), then stops them, so the store no longer
// changes and the frame is reproducible.
func settleStore(ctx context.Context, srcs []sources.Source, timeout time.Duration) (*store.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st := store.New()
	st.KeepHistory(tui.HistoryMetrics()...)
	var wg sync.WaitGroup
	feedCtx, stop := context.WithCancel(ctx)
	for _, s := range srcs {
		wg.Add(1)
		go func() { defer wg.Done(); st.Feed(feedCtx, s) }()
	}
	defer func() { stop(); wg.Wait() }()
	if err := st.WaitFor(ctx, len(srcs), store.Answered); err != nil {
		return nil, fmt.Errorf("the simulator did not finish a round within %s", timeout)
	}
	if err := st.Failures(); err != nil {
		return nil, err
	}
	stop()
	wg.Wait()
	return st, nil
}

// keyPress builds the key press bubbletea would deliver for a key name.
func keyPress(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: string(r)}
}

// sendKeys sends keys to the model and returns the last command it asked for.
func sendKeys(m *tui.Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		_, cmd = m.Update(keyPress(k))
	}
	return cmd
}

// runOnce runs a command the model returned (a pods request) and hands
// its answer back, as the bubbletea loop would. Commands that answer later
// than timeout (timers) are dropped, and so are the follow-up commands:
// one step is enough for a still frame.
func runOnce(m *tui.Model, cmd tea.Cmd, timeout time.Duration) {
	if cmd == nil {
		return
	}
	result := make(chan tea.Msg, 1)
	go func() { result <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-result:
	case <-time.After(timeout):
		return
	}
	if batch, ok := msg.(tea.BatchMsg); ok {
		for _, c := range batch {
			runOnce(m, c, timeout)
		}
		return
	}
	if msg != nil {
		m.Update(msg)
	}
}

// selectWorkload moves the overview selection to the workload called name
// (NAME or NAMESPACE/NAME), driving the model only through keys: a filter
// narrows the rows, each candidate is opened to read its title, and the
// filter is cleared again, which keeps the selection.
func selectWorkload(m *tui.Model, st *store.Store, now time.Time, name string) error {
	ns, short, hasNS := strings.Cut(name, "/")
	if !hasNS {
		ns, short = "", name
	}
	var known []string
	exists := false
	for _, s := range st.Summaries(now, 0) {
		known = append(known, s.ID.Namespace+"/"+s.ID.Name)
		if s.ID.Name == short && (ns == "" || s.ID.Namespace == ns) {
			exists = true
		}
	}
	if !exists {
		return fmt.Errorf("--select: no workload %q (workloads: %s)", name, strings.Join(known, ", "))
	}
	sendKeys(m, "/")
	for _, r := range strings.ToLower(short) {
		sendKeys(m, string(r))
	}
	sendKeys(m, "enter")
	found := false
	for range known {
		sendKeys(m, "enter") // open the detail page: its title names the workload
		title := detailTitle(m.Render())
		sendKeys(m, "esc")
		if t, _, _ := strings.Cut(title, "  "); t == ns+"/"+short || (ns == "" && strings.HasSuffix(t, "/"+short)) {
			found = true
			break
		}
		sendKeys(m, "down")
	}
	sendKeys(m, "/", "esc") // clear the filter; the selection stays
	if !found {
		return fmt.Errorf("--select: could not move the selection to %q", name)
	}
	return nil
}

// detailTitle is the first line under the header, without escapes or padding.
func detailTitle(frame string) string {
	lines := strings.SplitN(frame, "\n", 3)
	if len(lines) < 2 {
		return ""
	}
	return strings.TrimSpace(ansi.Strip(lines[1]))
}
