package detail

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/themes"
)

var end = time.Date(2026, 11, 26, 14, 10, 0, 0, time.UTC)

func wave(n int, base, amp float64, phase float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = base + amp*math.Sin(float64(i)/float64(n)*6+phase)
	}
	return out
}

func data(m *Model, serverless bool) Data {
	n := m.Points()
	s := sources.Summary{Workload: sources.Workload{ID: sources.WorkloadID{Cluster: "demo", Namespace: "shop", Name: "checkout"}, Kind: sources.Deployment, Platform: sources.Kubernetes}}
	if serverless {
		s.Workload = sources.Workload{ID: sources.WorkloadID{Cluster: "demo", Namespace: "serverless", Name: "thumbnailer"}, Kind: sources.Function, Platform: sources.Knative}
	}
	for i := range s.Latest {
		s.Latest[i] = math.NaN()
	}
	s.Latest[sources.CostRate], s.Latest[sources.RequestRate], s.Latest[sources.LatencyP99] = 0.42, 120, 1.8
	s.Latest[sources.ReplicasCurrent], s.Latest[sources.ReplicasDesired], s.Latest[sources.ReplicasReady] = 6, 9, 5
	gap := wave(n, 0.3, 0.1, 0)
	for i := n / 3; i < n/3+4 && i < n; i++ {
		gap[i] = math.NaN() // a scrape gap must show as a gap
	}
	return Data{
		Summary: s, Start: end.Add(-m.Range()), End: end, Now: end,
		Cost:     gap,
		Replicas: [3][]float64{wave(n, 6, 3, 0), wave(n, 7, 3, 0.3), wave(n, 5, 3, -0.3)},
		Latency:  [3][]float64{wave(n, 0.05, 0.01, 0), wave(n, 0.4, 0.2, 1), wave(n, 1.2, 0.6, 1)},
		Pods: []sources.Pod{
			{Name: "checkout-7d9f-abcde", Phase: sources.PodRunning, Ready: true, Node: "node-1", Created: end.Add(-3 * time.Hour), CPUUsage: 0.2, CPURequest: 0.5, MemUsage: 200 << 20, MemRequest: 256 << 20},
			{Name: "checkout-7d9f-fghij", Phase: sources.PodPending, Node: "node-2", Created: end.Add(-40 * time.Second), CPURequest: 0.5, MemRequest: 256 << 20},
		},
	}
}

func TestGoldenMatrix(t *testing.T) {
	for _, th := range []themes.Theme{themes.Dark(), themes.Light()} {
		for _, sz := range [][2]int{{80, 22}, {120, 38}, {200, 58}} {
			name := fmt.Sprintf("%s_%dx%d", th.Name, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				m := New(DefaultStyles(th))
				m.SetSize(sz[0], sz[1])
				m.SetData(data(m, false))
				got := m.View()
				golden.CheckFrame(t, got, sz[0], sz[1])
				golden.Assert(t, name, got)
			})
		}
	}
}

func TestGoldenStates(t *testing.T) {
	m := New(DefaultStyles(themes.Dark()))
	m.SetSize(80, 22)
	d := data(m, true)
	d.Pods, d.PodsWait = nil, true
	m.SetData(d)
	golden.Assert(t, "loading_pods_80x22", m.View())

	d.PodsWait, d.PodsErr = false, errors.New(`pods is forbidden: User "dev" cannot list resource "pods" in namespace "serverless"`)
	m.SetData(d)
	golden.Assert(t, "pods_error_80x22", m.View())

	empty := New(DefaultStyles(themes.Plain()))
	empty.SetSize(80, 22)
	empty.SetData(Data{Summary: d.Summary, Start: end.Add(-time.Hour), End: end, Now: end})
	golden.Assert(t, "no_history_plain_80x22", empty.View())
}

func TestFramesFitAtEverySize(t *testing.T) {
	for _, w := range []int{60, 80, 133, 250} {
		for _, h := range []int{5, 12, 22, 70} {
			m := New(DefaultStyles(themes.Dark()))
			m.SetSize(w, h)
			m.SetData(data(m, false))
			golden.CheckFrame(t, m.View(), w, h)
		}
	}
}

func TestChartsShareOneTimeAxis(t *testing.T) {
	m := New(DefaultStyles(themes.Dark()))
	m.SetSize(120, 38)
	m.SetData(data(m, false))
	lines := strings.Split(ansi.Strip(m.View()), "\n")
	var axisCols []int
	for _, l := range lines[2:] { // below the title and stats lines
		if i := strings.Index(l, "│"); i >= 0 && !strings.Contains(l, "PODS") {
			axisCols = append(axisCols, len([]rune(l[:i])))
		}
	}
	if len(axisCols) < 9 {
		t.Fatalf("found %d chart lines", len(axisCols))
	}
	for _, c := range axisCols {
		if c != axisCols[0] {
			t.Fatalf("y axes not aligned: columns %v", axisCols)
		}
	}
}

func TestCursorMovesAndReportsTime(t *testing.T) {
	m := New(DefaultStyles(themes.Dark()))
	m.SetSize(120, 38)
	m.SetData(data(m, false))
	if !m.CursorTime().IsZero() {
		t.Fatal("no cursor at start")
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyLeft})
	last := m.CursorTime()
	if last.IsZero() || last.After(end) || last.Before(end.Add(-2*time.Minute)) {
		t.Fatalf("first ← must put the cursor at the newest column, got %v", last)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyLeft})
	if !m.CursorTime().Before(last) {
		t.Fatal("← must move back in time")
	}
	if !strings.Contains(ansi.Strip(m.View()), "@14:") {
		t.Fatal("chart titles must show the value under the cursor")
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
	if m.CursorActive() {
		t.Fatal("esc clears the cursor")
	}
}
