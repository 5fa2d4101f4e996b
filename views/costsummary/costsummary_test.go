package costsummary

import (
	"fmt"
	"math"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/themes"
)

func row(cluster, ns, name string, pl sources.Platform, hourly, cpuReq, cpuUse float64) sources.Summary {
	var s sources.Summary
	for i := range s.Latest {
		s.Latest[i] = math.NaN()
	}
	s.ID = sources.WorkloadID{Cluster: cluster, Namespace: ns, Name: name}
	s.Platform = pl
	s.Latest[sources.CostRate] = hourly
	s.Latest[sources.CPURequest], s.Latest[sources.CPUUsage] = cpuReq, cpuUse
	s.Latest[sources.MemRequest], s.Latest[sources.MemUsage] = cpuReq*2*cost.GiB, cpuUse*2*cost.GiB
	return s
}

func fixture() Data {
	nan := math.NaN()
	rows := []sources.Summary{
		row("prod", "shop", "checkout", sources.Kubernetes, 0.42, 3, 1.2),
		row("prod", "shop", "catalog", sources.Kubernetes, 0.31, 2, 1.5),
		row("prod", "shop", "cart-redis", sources.Kubernetes, 0.12, 1, 0.2),
		row("prod", "payments", "payments-api", sources.Kubernetes, 0.55, 4, 3.1),
		row("prod", "payments", "fraud-scorer", sources.Knative, 0.08, 0.5, 0.1),
		row("prod", "ingest", "postgres", sources.Kubernetes, 0.9, 4, 2),
		row("staging", "shop", "checkout", sources.Kubernetes, 0.1, 1, 0.05),
		row("staging", "shop", "catalog", sources.Kubernetes, 0.07, 1, 0.05),
		row("", "serverless", "thumbnailer", sources.Lambda, 0.013, nan, nan),
		row("", "serverless", "resize-queue", sources.Lambda, 0.004, nan, nan),
		row("", "serverless", "report-gen", sources.CloudRun, nan, nan, nan),
		row("", "functions", "hello", sources.OpenFaaS, 0.02, 0.1, 0.01),
	}
	p := cost.Defaults()
	return Data{Totals: p.Totals(rows, 8), PricesName: p.Name}
}

func TestGoldenMatrix(t *testing.T) {
	for _, th := range []themes.Theme{themes.Dark(), themes.Light()} {
		for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
			name := fmt.Sprintf("%s_%dx%d", th.Name, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				m := New(DefaultStyles(th))
				m.SetSize(sz[0], sz[1])
				m.SetData(fixture())
				got := m.View()
				golden.CheckFrame(t, got, sz[0], sz[1])
				golden.Assert(t, name, got)
			})
		}
	}
}

func TestGoldenStates(t *testing.T) {
	m := New(DefaultStyles(themes.Plain()))
	m.SetSize(80, 24)
	m.SetData(Data{Totals: cost.Defaults().Totals(nil, 5), PricesName: "custom"})
	got := m.View()
	golden.CheckFrame(t, got, 80, 24)
	golden.Assert(t, "empty_plain_80x24", got)

	m = New(DefaultStyles(themes.Dark()))
	m.SetSize(120, 40)
	m.SetData(fixture())
	m.Update(tea.KeyPressMsg{Code: 's', Text: "s"})
	got = m.View()
	golden.CheckFrame(t, got, 120, 40)
	golden.Assert(t, "by_name_dark_120x40", got)
}

func TestTotalsAndWarnings(t *testing.T) {
	m := New(DefaultStyles(themes.Plain()))
	m.SetSize(200, 40)
	d := fixture()
	m.SetData(d)
	got := ansi.Strip(m.View())
	// 0.42+0.31+0.12+0.55+0.08+0.9+0.1+0.07+0.013+0.004+0.02 = 2.587 $/h
	if !near(d.Totals.All.Hourly, 2.587) {
		t.Fatalf("total %v", d.Totals.All.Hourly)
	}
	for _, want := range []string{
		"total $2.59/h  $62.09/day  $1.89k/month", // 2.587 × 24 = 62.088; × 730 = 1888.51
		"! 1 without a cost (not in the totals)",
		"prices: " + cost.Defaults().Name,
		"1. prod/ingest/postgres", "BY NAMESPACE", "prod/shop", "BY PLATFORM", "TOP SPENDERS",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

func TestFramesFitAtEverySize(t *testing.T) {
	for _, w := range []int{30, 60, 80, 119, 120, 250} {
		for _, h := range []int{1, 5, 12, 24, 70} {
			m := New(DefaultStyles(themes.Dark()))
			m.SetSize(w, h)
			m.SetData(fixture())
			golden.CheckFrame(t, m.View(), w, h)
		}
	}
}

func TestCutSectionsSayHowManyMore(t *testing.T) {
	m := New(DefaultStyles(themes.Plain()))
	m.SetSize(80, 24)
	m.SetData(fixture())
	got := ansi.Strip(m.View())
	if !strings.Contains(got, "more") {
		t.Fatalf("24 lines cannot hold every group; the cut must be said:\n%s", got)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
