package whatif

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/themes"
)

func observed() cost.Observed {
	return cost.Observed{
		Platform: sources.Kubernetes, Source: "demo", Window: time.Hour,
		MeanRPS: 40, PeakRPS: 90, P50: 0.04, P95: 0.12, P99: 0.3, PeakConcurrency: math.NaN(),
		MemoryMB: math.NaN(), CPUUsageMean: 0.8, CPUUsagePeak: 1.6, MemUsageMean: 900 << 20,
		CPUPerReplicaP95: 0.5, MemPerReplicaP95: 320 << 20, CPURequest: 3, MemRequest: 3 << 30, GPUs: math.NaN(),
		Replicas: 3, CostRate: 0.1075, ColdStartsPerMin: math.NaN(),
	}
}

func data(o cost.Observed) Data {
	return Data{
		ID:         sources.WorkloadID{Cluster: "demo", Namespace: "shop", Name: "checkout"},
		Comparison: cost.Defaults().Compare(o, cost.DefaultAssumptions()),
	}
}

func render(th themes.Theme, w, h int, d Data) string {
	m := New(DefaultStyles(th))
	m.SetSize(w, h)
	m.SetData(d)
	return m.View()
}

func TestGoldenMatrix(t *testing.T) {
	for _, th := range []themes.Theme{themes.Dark(), themes.Light()} {
		for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
			name := fmt.Sprintf("%s_%dx%d", th.Name, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				got := render(th, sz[0], sz[1], data(observed()))
				golden.CheckFrame(t, got, sz[0], sz[1])
				golden.Assert(t, name, got)
			})
		}
	}
}

func TestGoldenStates(t *testing.T) {
	// No traffic data: the pay-per-use columns say what they lack.
	o := observed()
	o.MeanRPS, o.PeakRPS = math.NaN(), math.NaN()
	got := render(themes.Plain(), 80, 24, data(o))
	golden.CheckFrame(t, got, 80, 24)
	golden.Assert(t, "no_traffic_plain_80x24", got)

	// A Lambda function without CPU data, free tier on.
	n := math.NaN()
	fn := cost.Observed{Platform: sources.Lambda, Source: "cloudwatch", Window: 6 * time.Hour,
		MeanRPS: 3, PeakRPS: 8, P50: 0.08, P95: 0.2, P99: 0.4, PeakConcurrency: 2, MemoryMB: 512,
		CPUUsageMean: n, CPUUsagePeak: n, MemUsageMean: n, CPUPerReplicaP95: n, MemPerReplicaP95: n,
		CPURequest: n, MemRequest: n, GPUs: n, Replicas: n, CostRate: n, ColdStartsPerMin: 0.4}
	p := cost.Defaults()
	p.FreeTier = true
	d := Data{ID: sources.WorkloadID{Namespace: "serverless", Name: "thumbnailer"}, Comparison: p.Compare(fn, cost.DefaultAssumptions())}
	got = render(themes.Dark(), 120, 40, d)
	golden.CheckFrame(t, got, 120, 40)
	golden.Assert(t, "lambda_free_tier_dark_120x40", got)

	// The inputs view.
	m := New(DefaultStyles(themes.Light()))
	m.SetSize(120, 40)
	m.SetData(data(observed()))
	m.Update(tea.KeyPressMsg{Code: 'i', Text: "i"})
	got = m.View()
	golden.CheckFrame(t, got, 120, 40)
	golden.Assert(t, "inputs_light_120x40", got)
}

func TestCheapestIsMarkedWithoutColour(t *testing.T) {
	d := data(observed())
	got := ansi.Strip(render(themes.Plain(), 120, 40, d))
	want := CheapestMark + " " + columnNames[d.Comparison.Cheapest][0]
	if strings.Count(got, CheapestMark) != 1 || !strings.Contains(got, want) {
		t.Fatalf("want exactly one %q in\n%s", want, got)
	}
	if !strings.Contains(got, "prices: "+cost.Defaults().Name) {
		t.Fatal("the active price table must be named")
	}
	if !strings.Contains(got, "break-even") || !strings.Contains(got, "▲ now") {
		t.Fatalf("break-even line and the today marker are missing:\n%s", got)
	}
}

func TestInputsToggleAndEsc(t *testing.T) {
	m := New(DefaultStyles(themes.Dark()))
	m.SetSize(120, 40)
	m.SetData(data(observed()))
	if strings.Contains(ansi.Strip(m.View()), "INPUTS") {
		t.Fatal("inputs shown before asked")
	}
	m.Update(tea.KeyPressMsg{Code: 'i', Text: "i"})
	if !m.ShowingInputs() || !strings.Contains(ansi.Strip(m.View()), "INPUTS") {
		t.Fatal("i must show the inputs")
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
	if m.ShowingInputs() {
		t.Fatal("esc must close the inputs")
	}
}

func TestFramesFitAtEverySize(t *testing.T) {
	empty := Data{Comparison: cost.Defaults().Compare(cost.Observed{}, cost.Assumptions{})}
	for _, w := range []int{40, 60, 80, 133, 250} {
		for _, h := range []int{1, 3, 10, 24, 70} {
			for _, d := range []Data{data(observed()), empty, {}} {
				golden.CheckFrame(t, render(themes.Dark(), w, h, d), w, h)
				m := New(DefaultStyles(themes.Plain()))
				m.SetSize(w, h)
				m.SetData(d)
				m.Update(tea.KeyPressMsg{Code: 'i', Text: "i"})
				golden.CheckFrame(t, m.View(), w, h)
			}
		}
	}
}

func TestZeroDataSaysSo(t *testing.T) {
	got := ansi.Strip(render(themes.Dark(), 80, 5, Data{}))
	if !strings.Contains(got, "nothing to compare yet") || strings.Contains(got, "$0") {
		t.Fatalf("zero data must not show $0 columns:\n%s", got)
	}
}

func TestWrapAndNiceCeil(t *testing.T) {
	got := wrap("4 × 600m CPU, 384Mi: p95 +20%, peak at 80%", 13)
	want := []string{"4 × 600m CPU,", "384Mi: p95", "+20%, peak at", "80%"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("wrap = %q", got)
	}
	for _, c := range [][2]float64{{0.7, 1}, {1, 1}, {1.2, 2}, {3, 5}, {80, 100}, {120, 200}} {
		if got := niceCeil(c[0]); math.Abs(got-c[1]) > 1e-9 {
			t.Errorf("niceCeil(%v) = %v, want %v", c[0], got, c[1])
		}
	}
}
