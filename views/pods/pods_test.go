package pods

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/themes"
)

var now = time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)

const mib = 1 << 20

func fixture() Data {
	web := sources.WorkloadID{Cluster: "prod", Namespace: "shop", Name: "web"}
	p := func(name string, phase sources.PodPhase, ready bool, restarts int, age time.Duration, node string, cpuU, cpuR, memU, memR float64) sources.Pod {
		return sources.Pod{Name: name, Owner: web, Phase: phase, Ready: ready, Restarts: restarts, Node: node,
			Created: now.Add(-age), CPUUsage: cpuU, CPURequest: cpuR, MemUsage: memU, MemRequest: memR}
	}
	return Data{
		Workload: web,
		Now:      now,
		Note:     "usage: metrics.k8s.io",
		Pods: []sources.Pod{
			p("web-7d9f8c6b4-x2v4q", sources.PodRunning, true, 0, 3*24*time.Hour, "ip-10-0-1-17.ec2.internal", 0.12, 0.25, 180*mib, 256*mib),
			p("web-7d9f8c6b4-k9m2z", sources.PodRunning, true, 2, 5*time.Hour, "ip-10-0-2-33.ec2.internal", 0.31, 0.25, 210*mib, 256*mib),
			p("web-7d9f8c6b4-p0q1r", sources.PodRunning, false, 7, 40*time.Minute, "ip-10-0-1-17.ec2.internal", 0.02, 0.25, 90*mib, 256*mib),
			p("web-7d9f8c6b4-zz8yy", sources.PodPending, false, 0, 20*time.Second, "", 0, 0.25, 0, 256*mib),
			p("web-6c5d4e3f2-aa1bb", sources.PodFailed, false, 1, 26*time.Hour, "ip-10-0-3-9.ec2.internal", 0, 0.25, 0, 256*mib),
		},
		Events: []sources.Event{
			{Last: now.Add(-20 * time.Second), Object: "Pod/web-7d9f8c6b4-zz8yy", Reason: "FailedScheduling", Count: 4,
				Message: "0/12 nodes are available: 12 Insufficient cpu.\npreemption: not eligible"},
			{Last: now.Add(-3 * time.Minute), Object: "Pod/web-7d9f8c6b4-p0q1r", Reason: "BackOff", Count: 31,
				Message: "Back-off restarting failed container app in pod web-7d9f8c6b4-p0q1r"},
			{Last: now.Add(-50 * time.Minute), Object: "HorizontalPodAutoscaler/web", Reason: "FailedGetResourceMetric", Count: 1,
				Message: "failed to get cpu utilization: missing request for cpu"},
		},
	}
}

func press(m *Model, keys ...string) {
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		case "backspace":
			msg = tea.KeyPressMsg{Code: tea.KeyBackspace}
		case "down":
			msg = tea.KeyPressMsg{Code: tea.KeyDown}
		case "up":
			msg = tea.KeyPressMsg{Code: tea.KeyUp}
		default:
			r := []rune(k)[0]
			msg = tea.KeyPressMsg{Code: r, Text: k}
		}
		m.Update(msg)
	}
}

func newModel(t themes.Theme, w, h int, d Data) *Model {
	m := New(DefaultStyles(t))
	m.SetSize(w, h)
	m.SetData(d)
	return m
}

func TestGoldenMatrix(t *testing.T) {
	for _, th := range []themes.Theme{themes.Dark(), themes.Light(), themes.Plain()} {
		for _, sz := range [][2]int{{80, 16}, {120, 20}, {200, 24}} {
			name := fmt.Sprintf("%s_%dx%d", th.Name, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				got := newModel(th, sz[0], sz[1], fixture()).View()
				golden.CheckFrame(t, got, sz[0], sz[1])
				golden.Assert(t, name, got)
			})
		}
	}
}

func TestGoldenStates(t *testing.T) {
	loading := fixture()
	loading.Pods, loading.Events, loading.Loading = nil, nil, true
	golden.Assert(t, "loading_80x12", newModel(themes.Dark(), 80, 12, loading).View())

	failed := fixture()
	failed.Pods, failed.Err = nil, errors.New("kube: context prod: connection refused")
	failed.EventsErr = errors.New("kube: context prod: connection refused")
	golden.Assert(t, "error_80x12", newModel(themes.Dark(), 80, 12, failed).View())

	noUsage := fixture()
	for i := range noUsage.Pods {
		noUsage.Pods[i].CPUUsage, noUsage.Pods[i].MemUsage = 0, 0
	}
	noUsage.Events, noUsage.Note = nil, "usage: metrics.k8s.io not installed"
	golden.Assert(t, "nousage_120x14", newModel(themes.Dark(), 120, 14, noUsage).View())

	sorted := newModel(themes.Plain(), 120, 14, fixture())
	press(sorted, "s", "s", "s", "g", "down") // RESTARTS, highest first; cursor on the second
	golden.Assert(t, "plain_sorted_restarts_120x14", sorted.View())

	filtered := newModel(themes.Dark(), 80, 12, fixture())
	press(filtered, "/", "p", "e", "n")
	golden.Assert(t, "filter_80x12", filtered.View())
}

func TestEveryFrameFitsAtEverySize(t *testing.T) {
	for _, w := range []int{20, 40, 60, 80, 100, 140, 250} {
		for _, h := range []int{1, 2, 5, 11, 12, 30} {
			m := newModel(themes.Dark(), w, h, fixture())
			golden.CheckFrame(t, m.View(), w, h)
			press(m, "/", "x")
			golden.CheckFrame(t, m.View(), w, h)
			press(m, "esc", "s", "down", "down")
			golden.CheckFrame(t, m.View(), w, h)
		}
	}
}

func plainRows(m *Model) []string {
	var names []string
	for _, l := range strings.Split(ansi.Strip(m.View()), "\n")[2:] {
		f := strings.Fields(strings.TrimPrefix(l, "▌"))
		if len(f) > 0 && strings.HasPrefix(f[0], "web-") {
			names = append(names, f[0])
		}
	}
	return names
}

func TestSortFilterAndSelection(t *testing.T) {
	m := newModel(themes.Dark(), 140, 30, fixture())
	if got := strings.Join(plainRows(m), " "); got != "web-6c5d4e3f2-aa1bb web-7d9f8c6b4-k9m2z web-7d9f8c6b4-p0q1r web-7d9f8c6b4-x2v4q web-7d9f8c6b4-zz8yy" {
		t.Fatalf("default order (name) = %s", got)
	}
	press(m, "s", "s", "s") // phase, ready, restarts
	if col, desc := m.Sort(); col != ColRestarts || !desc {
		t.Fatalf("sort = %v desc=%v", col, desc)
	}
	if got := plainRows(m)[0]; got != "web-7d9f8c6b4-p0q1r" {
		t.Errorf("most restarts first: %s", got)
	}
	if p, _ := m.Selected(); p.Name != "web-6c5d4e3f2-aa1bb" {
		t.Errorf("the cursor must follow its pod when sorting, selected %s", p.Name)
	}
	press(m, "g", "down")
	if p, _ := m.Selected(); p.Name != "web-7d9f8c6b4-k9m2z" {
		t.Errorf("selected %s", p.Name)
	}
	// New data: the cursor follows its pod.
	d := fixture()
	d.Pods[1].Restarts = 20
	m.SetData(d)
	if p, _ := m.Selected(); p.Name != "web-7d9f8c6b4-k9m2z" {
		t.Errorf("after refresh selected %s", p.Name)
	}
	press(m, "S")
	if got := plainRows(m)[0]; got == "web-7d9f8c6b4-k9m2z" {
		t.Error("reverse did not reverse")
	}
	press(m, "/", "z", "z", "8", "enter")
	if m.Visible() != 1 || m.Filtering() {
		t.Errorf("filter zz8: %d visible, filtering=%v", m.Visible(), m.Filtering())
	}
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "/zz8  1 of 5") {
		t.Errorf("filter bar missing:\n%s", view)
	}
	press(m, "/", "esc")
	if m.Visible() != 5 {
		t.Errorf("esc keeps a filter: %d visible", m.Visible())
	}
	// Another workload resets the page.
	other := fixture()
	other.Workload.Name = "api"
	press(m, "/", "x", "enter")
	m.SetData(other)
	if m.Visible() != 5 {
		t.Error("a new workload kept the old filter")
	}
}

func TestCellsSayWhatIsWrong(t *testing.T) {
	m := newModel(themes.Plain(), 200, 24, fixture())
	view := ansi.Strip(m.View())
	for _, want := range []string{
		"Pods of prod/shop/web", "5 pods", "3 running, 1 pending, 1 failed", "2 ready", "10 restarts",
		"cpu 450m/1.25", "usage: metrics.k8s.io",
		"310m/250m", // usage above request
		"<none>",    // pending pod without a node
		"Warning events (3)", "FailedScheduling ×4", "0/12 nodes are available: 12 Insufficient cpu. preemption",
		"20s", "3m", "50m",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	noUsage := fixture()
	for i := range noUsage.Pods {
		noUsage.Pods[i].CPUUsage, noUsage.Pods[i].MemUsage = 0, 0
	}
	m.SetData(noUsage)
	if view := ansi.Strip(m.View()); !strings.Contains(view, "–/250m") || strings.Contains(view, "0m/250m") {
		t.Errorf("unknown usage must read as –, not 0:\n%s", view)
	}
}

func BenchmarkView(b *testing.B) {
	d := fixture()
	base := d.Pods[0]
	d.Pods = nil
	for i := range 500 {
		p := base
		p.Name = fmt.Sprintf("web-7d9f8c6b4-%05d", i)
		p.Restarts = i % 7
		d.Pods = append(d.Pods, p)
	}
	m := newModel(themes.Dark(), 200, 50, d)
	b.ReportAllocs()
	for b.Loop() {
		press(m, "down")
		_ = m.View()
	}
}

// allPods is the cluster-wide listing: the same pod name in two
// namespaces, a pod no workload owns, two clusters.
func allPods() Data {
	d := fixture()
	d.All, d.Workload, d.Events = true, sources.WorkloadID{}, nil
	api := sources.WorkloadID{Cluster: "prod", Namespace: "payments", Name: "api"}
	d.Pods = append(d.Pods,
		sources.Pod{Name: "web-7d9f8c6b4-x2v4q", Owner: sources.WorkloadID{Cluster: "staging", Namespace: "shop", Name: "web"}, Phase: sources.PodRunning, Ready: true, Node: "kwok-node-1", Created: now.Add(-time.Hour), CPURequest: 0.1},
		sources.Pod{Name: "api-5f6d7c8b9-q1w2e", Owner: api, Phase: sources.PodRunning, Ready: true, Node: "kwok-node-2", Created: now.Add(-2 * time.Hour), CPURequest: 0.5, MemRequest: 512 * mib},
		sources.Pod{Name: "debug-shell", Owner: sources.WorkloadID{Cluster: "prod", Namespace: "payments"}, Phase: sources.PodRunning, Ready: true, Node: "kwok-node-2", Created: now.Add(-5 * time.Minute)},
	)
	return d
}

func TestGoldenAllPods(t *testing.T) {
	for _, sz := range [][2]int{{80, 16}, {200, 24}} {
		name := fmt.Sprintf("all_%dx%d", sz[0], sz[1])
		got := newModel(themes.Plain(), sz[0], sz[1], allPods()).View()
		golden.CheckFrame(t, got, sz[0], sz[1])
		golden.Assert(t, name, got)
	}
}

func TestAllPodsFilterMatchesOwnerAndCursorKeepsItsPod(t *testing.T) {
	m := newModel(themes.Plain(), 120, 20, allPods())
	press(m, "/", "p", "a", "y", "m", "enter")
	if m.Visible() != 2 {
		t.Fatalf("filter on the payments namespace shows %d pods, want 2", m.Visible())
	}
	m = newModel(themes.Plain(), 120, 20, allPods())
	// Select the staging copy of a pod name that also exists in prod, then
	// refresh with the pods in another order: the cursor must stay on it.
	for i := 0; i < m.Visible(); i++ {
		if p, _ := m.Selected(); p.Owner.Cluster == "staging" {
			break
		}
		press(m, "down")
	}
	if p, _ := m.Selected(); p.Owner.Cluster != "staging" {
		t.Fatalf("could not select the staging pod: %+v", p)
	}
	d := allPods()
	for i, j := 0, len(d.Pods)-1; i < j; i, j = i+1, j-1 {
		d.Pods[i], d.Pods[j] = d.Pods[j], d.Pods[i]
	}
	m.SetData(d)
	if p, _ := m.Selected(); p.Owner.Cluster != "staging" || p.Name != "web-7d9f8c6b4-x2v4q" {
		t.Fatalf("cursor moved to %s/%s after a refresh", p.Owner.Cluster, p.Name)
	}
	if !strings.Contains(m.View(), "payments/<none>") {
		t.Error("a pod without a workload must say so in the owner column")
	}
}
