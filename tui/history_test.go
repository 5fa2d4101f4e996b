package tui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
)

// TestHistoryMetricsCoverEveryChart renders every page that reads history
// from a store keeping all of it and from one keeping only HistoryMetrics:
// the frames must be the same, or a page charts a metric the list lacks.
func TestHistoryMetricsCoverEveryChart(t *testing.T) {
	frames := func(keep []sources.Metric) []string {
		st := store.New()
		if keep != nil {
			st.KeepHistory(keep...)
		}
		st.Apply(sources.Update{Source: "fake", At: now, Full: true, Workloads: []sources.Workload{{ID: payments, Kind: sources.Deployment, Platform: sources.Kubernetes}}})
		var smp []sources.Sample
		for ts := now.Add(-2 * time.Hour); !ts.After(now); ts = ts.Add(15 * time.Second) {
			for m := sources.Metric(0); m < sources.NumMetrics; m++ {
				v := float64(m+1) * (1 + float64(ts.Sub(now)/time.Minute)/200)
				if m == sources.ErrorRatio {
					v /= 100
				}
				smp = append(smp, sources.Sample{ID: payments, Metric: m, T: ts, V: v})
			}
		}
		st.Apply(sources.Update{Source: "fake", At: now, Samples: smp, Complete: true})
		m, err := New(Config{Store: st, Sources: []sources.Source{&fakeSource{}}, ThemeName: "plain", Clock: func() time.Time { return now }, Refresh: 15 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
		out := []string{m.Render()}
		send(m, press("enter"))
		out = append(out, m.Render())
		for _, k := range []string{"]", "]", "h", "h"} { // 6 h and 24 h ranges, cursor values
			send(m, press(k))
			out = append(out, m.Render())
		}
		send(m, press("w"))
		out = append(out, m.Render())
		return out
	}
	all, kept := frames(nil), frames(HistoryMetrics())
	for i := range all {
		if all[i] != kept[i] {
			t.Fatalf("frame %d differs when only HistoryMetrics keep history:\nall:\n%s\nkept:\n%s", i, all[i], kept[i])
		}
	}
}
