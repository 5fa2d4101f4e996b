package tui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/perch-dev/perch/internal/benchcpu"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
)

// benchStore holds n workloads with an hour of history on every shown series.
func benchStore(b *testing.B, n int) *store.Store {
	b.Helper()
	st := store.New()
	u := sources.Update{Source: "fake", At: now, Full: true}
	for i := 0; i < n; i++ {
		u.Workloads = append(u.Workloads, sources.Workload{ID: sources.WorkloadID{Cluster: "c", Namespace: fmt.Sprintf("ns-%02d", i%20), Name: fmt.Sprintf("w-%04d", i)}, Platform: sources.Kubernetes, Kind: sources.Deployment})
	}
	st.Apply(u)
	for ts := now.Add(-time.Hour); !ts.After(now); ts = ts.Add(15 * time.Second) {
		var smp []sources.Sample
		for i, w := range u.Workloads {
			v := float64(i%50) + float64(ts.Minute())
			for _, m := range []sources.Metric{sources.CostRate, sources.ReplicasCurrent, sources.ReplicasDesired, sources.ReplicasReady,
				sources.LatencyP50, sources.LatencyP95, sources.LatencyP99, sources.RequestRate, sources.ErrorRatio} {
				smp = append(smp, sources.Sample{ID: w.ID, Metric: m, T: ts, V: v})
			}
		}
		st.Apply(sources.Update{Source: "fake", At: ts, Samples: smp})
	}
	return st
}

func benchModel(b *testing.B, n int) *Model {
	st := benchStore(b, n)
	m, err := New(Config{Store: st, ThemeName: "dark", Clock: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	return m
}

// BenchmarkOverviewFrame is one full refresh: store snapshot of 1,000
// workloads with sparklines, sort, and the whole 200×60 frame.
func BenchmarkOverviewFrame(b *testing.B) {
	m := benchModel(b, 1000)
	b.ReportAllocs()
	benchcpu.Measure(b, func() {
		m.Update(storeChangedMsg{})
		_ = m.Render()
	})
}

// BenchmarkOverviewKeypress is a cursor move and the frame after it.
func BenchmarkOverviewKeypress(b *testing.B) {
	m := benchModel(b, 1000)
	_ = m.Render()
	down, up := press("down"), tea.KeyPressMsg{Code: tea.KeyUp}
	b.ReportAllocs()
	i := 0
	benchcpu.Measure(b, func() {
		if i%2 == 0 {
			m.Update(down)
		} else {
			m.Update(up)
		}
		i++
		_ = m.Render()
	})
}

// BenchmarkDetailFrame is one refresh of the detail page: seven range
// reads from the store and three charts at 200×60.
func BenchmarkDetailFrame(b *testing.B) {
	m := benchModel(b, 1000)
	m.Update(press("enter"))
	b.ReportAllocs()
	benchcpu.Measure(b, func() {
		m.refreshDetail()
		_ = m.Render()
	})
}

// BenchmarkDetailKeypress moves the chart cursor.
func BenchmarkDetailKeypress(b *testing.B) {
	m := benchModel(b, 1000)
	m.Update(press("enter"))
	left := tea.KeyPressMsg{Code: tea.KeyLeft}
	b.ReportAllocs()
	benchcpu.Measure(b, func() {
		m.Update(left)
		_ = m.Render()
	})
}
