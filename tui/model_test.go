package tui

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
)

var now = time.Date(2026, 11, 26, 14, 10, 0, 0, time.UTC)

var (
	checkout = sources.WorkloadID{Cluster: "demo", Namespace: "shop", Name: "checkout"}
	payments = sources.WorkloadID{Cluster: "demo", Namespace: "shop", Name: "payments"}
)

// fakeSource lists pods and counts calls; it never runs (the tests feed the store).
type fakeSource struct {
	calls atomic.Int32
	err   error
}

func (f *fakeSource) Name() string { return "fake" }
func (f *fakeSource) Run(ctx context.Context, out chan<- sources.Update) error {
	<-ctx.Done()
	return ctx.Err()
}
func (f *fakeSource) Pods(ctx context.Context, id sources.WorkloadID) ([]sources.Pod, error) {
	f.calls.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	return []sources.Pod{{Name: id.Name + "-7d9f-abcde", Owner: id, Phase: sources.PodRunning, Ready: true, Node: "node-1", Created: now.Add(-2 * time.Hour), CPURequest: 0.5, CPUUsage: 0.2, MemRequest: 256 << 20, MemUsage: 100 << 20}}, nil
}

func fill(st *store.Store) {
	st.Apply(sources.Update{Source: "fake", At: now, Full: true, Workloads: []sources.Workload{
		{ID: checkout, Kind: sources.Deployment, Platform: sources.Kubernetes},
		{ID: payments, Kind: sources.Deployment, Platform: sources.Kubernetes},
	}})
	var smp []sources.Sample
	for ts := now.Add(-time.Hour); !ts.After(now); ts = ts.Add(15 * time.Second) {
		load := 1 + float64(ts.Sub(now.Add(-time.Hour))/time.Minute)/60
		for id, scale := range map[sources.WorkloadID]float64{checkout: 1, payments: 2} {
			smp = append(smp,
				sources.Sample{ID: id, Metric: sources.CostRate, T: ts, V: 0.1 * scale * load},
				sources.Sample{ID: id, Metric: sources.ReplicasCurrent, T: ts, V: 3 * load},
				sources.Sample{ID: id, Metric: sources.ReplicasDesired, T: ts, V: 3 * load},
				sources.Sample{ID: id, Metric: sources.LatencyP99, T: ts, V: 0.2 * scale},
				sources.Sample{ID: id, Metric: sources.RequestRate, T: ts, V: 100 * load},
			)
		}
	}
	st.Apply(sources.Update{Source: "fake", At: now, Samples: smp, Complete: true})
}

func newTestModel(t *testing.T, src *fakeSource, w, h int) (*Model, *store.Store) {
	t.Helper()
	st := store.New()
	fill(st)
	m, err := New(Config{Store: st, Sources: []sources.Source{src}, ThemeName: "dark", Clock: func() time.Time { return now }, Refresh: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m, st
}

func press(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	return tea.KeyPressMsg{Code: []rune(s)[0], Text: s}
}

func send(m *Model, msgs ...tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	for _, msg := range msgs {
		_, cmd = m.Update(msg)
	}
	return cmd
}

func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

func TestOverviewShowsRowsAndHealth(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 120, 30)
	frame := ansi.Strip(m.Render())
	golden.CheckFrame(t, m.Render(), 120, 30)
	for _, want := range []string{"payments", "checkout", "● fake ok", "2 workloads", "$0.60/h"} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
}

func TestEnterOpensDetailAndFetchesPodsWithRequestID(t *testing.T) {
	src := &fakeSource{}
	m, _ := newTestModel(t, src, 120, 40)
	cmd := send(m, press("enter"))
	if m.page != pageDetail || cmd == nil {
		t.Fatal("enter must open the detail page and request pods")
	}
	if !strings.Contains(ansi.Strip(m.Render()), "loading") {
		t.Fatal("pods must show loading until the answer arrives")
	}
	msg := cmd()
	pm, ok := msg.(podsMsg)
	if !ok || src.calls.Load() != 1 {
		t.Fatalf("pods command returned %T, calls %d", msg, src.calls.Load())
	}
	// A late answer for an older request is dropped.
	stale := pm
	stale.reqID--
	stale.pods = []sources.Pod{{Name: "ghost-pod"}}
	send(m, stale)
	if strings.Contains(ansi.Strip(m.Render()), "ghost-pod") {
		t.Fatal("a stale pods answer was shown")
	}
	send(m, pm)
	frame := ansi.Strip(m.Render())
	if !strings.Contains(frame, "payments-7d9f-abcde") || !strings.Contains(frame, "latency") || !strings.Contains(frame, "cost $/h") {
		t.Fatalf("detail lacks pods or charts:\n%s", frame)
	}
	golden.CheckFrame(t, m.Render(), 120, 40)
}

func TestPodsErrorIsShownAndDetailKeepsWorking(t *testing.T) {
	src := &fakeSource{err: errors.New("pods is forbidden: User cannot list resource")}
	m, _ := newTestModel(t, src, 120, 40)
	cmd := send(m, press("enter"))
	send(m, cmd())
	frame := ansi.Strip(m.Render())
	if !strings.Contains(frame, "forbidden") || !strings.Contains(frame, "latency") {
		t.Fatalf("error or charts missing:\n%s", frame)
	}
}

func TestLeavingDetailDropsInFlightPods(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 120, 40)
	cmd := send(m, press("enter"))
	send(m, press("esc"))
	if m.page != pageOverview {
		t.Fatal("esc must go back")
	}
	send(m, cmd())
	if m.pods != nil {
		t.Fatal("an answer arriving after leaving was kept")
	}
}

func TestRangeKeysChangeWindow(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 120, 40)
	send(m, press("enter"))
	before := m.detail.Range()
	send(m, press("]"))
	if m.detail.Range() <= before {
		t.Fatal("] must widen the range")
	}
	send(m, press("["), press("["), press("["), press("["))
	if m.detail.Range() != 15*time.Minute {
		t.Fatalf("range = %v, want the shortest", m.detail.Range())
	}
}

func TestQuitKeysButNotWhileFiltering(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 120, 30)
	if cmd := send(m, press("/"), press("q")); isQuit(cmd) {
		t.Fatal("q typed into the filter quit perch")
	}
	if m.overview.Filter() != "q" {
		t.Fatalf("filter = %q", m.overview.Filter())
	}
	if !isQuit(send(m, press("ctrl+c"))) {
		t.Fatal("ctrl+c must quit even while filtering")
	}
	send(m, press("esc"))
	if !isQuit(send(m, press("q"))) {
		t.Fatal("q must quit")
	}
}

func TestTooSmallTerminalSaysSo(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 40, 10)
	if !strings.Contains(ansi.Strip(m.Render()), "needs at least 60×16") {
		t.Fatalf("got %q", m.Render())
	}
	send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	golden.CheckFrame(t, m.Render(), 80, 24)
}

func TestHelpListsEveryKey(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 120, 40)
	send(m, press("?"))
	frame := ansi.Strip(m.Render())
	for _, want := range []string{"quit", "filter", "sort column", "longer range", "details", "switch theme"} {
		if !strings.Contains(frame, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	send(m, press("esc"))
	if m.showHelp {
		t.Fatal("esc must close help")
	}
}

func TestStoreChangeRefreshesAndRearms(t *testing.T) {
	m, st := newTestModel(t, &fakeSource{}, 120, 30)
	st.Apply(sources.Update{Source: "fake", At: now, Err: errors.New("dial tcp 127.0.0.1:9090: connection refused")})
	cmd := send(m, storeChangedMsg{})
	if cmd == nil {
		t.Fatal("the store wait must re-arm")
	}
	frame := ansi.Strip(m.Render())
	if !strings.Contains(frame, "connection refused") || !strings.Contains(frame, "degraded") {
		t.Fatalf("source error not in header:\n%s", frame)
	}
	if !strings.Contains(frame, "!payments") {
		t.Fatalf("rows of the failing source must be marked stale:\n%s", frame)
	}
}

func TestThemeFollowsBackgroundUntilChosen(t *testing.T) {
	st := store.New()
	m, err := New(Config{Store: st, ThemeName: "auto", Getenv: func(string) string { return "" }, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	send(m, tea.BackgroundColorMsg{Color: lightGrey{}})
	if m.Theme().Name != "light" {
		t.Fatalf("theme = %s after a light background", m.Theme().Name)
	}
	noColor, _ := New(Config{Store: st, ThemeName: "auto", Getenv: func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return ""
	}})
	send(noColor, tea.BackgroundColorMsg{Color: lightGrey{}})
	if noColor.Theme().Name != "plain" {
		t.Fatalf("NO_COLOR gave theme %s", noColor.Theme().Name)
	}
}

type lightGrey struct{}

func (lightGrey) RGBA() (r, g, b, a uint32) { return 0xeeee, 0xeeee, 0xeeee, 0xffff }

func windowSize(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }

func TestWhatIfAndCostPagesOpenAndClose(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 120, 40)
	send(m, press("$"))
	if m.page != pageCosts {
		t.Fatal("$ must open the cost totals")
	}
	frame := ansi.Strip(m.Render())
	if !strings.Contains(frame, "shop") || !strings.Contains(frame, "$0.60") {
		t.Fatalf("cost page lacks the namespace total:\n%s", frame)
	}
	send(m, press("esc"))
	if m.page != pageOverview {
		t.Fatal("esc must return to the overview")
	}
	cmd := send(m, press("enter"))
	send(m, cmd())
	send(m, press("w"))
	if m.page != pageWhatIf {
		t.Fatal("w in the detail view must open the what-if pane")
	}
	frame = ansi.Strip(m.Render())
	for _, want := range []string{"payments", "Lambda", "Cloud Run"} {
		if !strings.Contains(frame, want) {
			t.Errorf("what-if lacks %q:\n%s", want, frame)
		}
	}
	golden.CheckFrame(t, m.Render(), 120, 40)
	send(m, press("esc"))
	if m.page != pageDetail {
		t.Fatalf("esc from what-if must go back to the detail, got page %d", m.page)
	}
	send(m, press("esc"))
	if m.page != pageOverview {
		t.Fatal("second esc must reach the overview")
	}
}

func TestPodsPageFromDetail(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 120, 40)
	cmd := send(m, press("enter"))
	send(m, press("p"))
	if m.page != pagePods || !strings.Contains(ansi.Strip(m.Render()), "oading") {
		t.Fatalf("p must open the pods page, loading until the answer:\n%s", ansi.Strip(m.Render()))
	}
	send(m, cmd())
	if !strings.Contains(ansi.Strip(m.Render()), "payments-7d9f-abcde") {
		t.Fatalf("pods page lacks the pod:\n%s", ansi.Strip(m.Render()))
	}
	golden.CheckFrame(t, m.Render(), 120, 40)
	send(m, press("esc"))
	if m.page != pageDetail {
		t.Fatal("esc returns to the detail view")
	}
}
