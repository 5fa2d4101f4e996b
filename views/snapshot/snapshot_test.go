package snapshot

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/sim"
	"github.com/perch-dev/perch/store"
)

var at = time.Date(2026, 11, 26, 14, 10, 0, 0, time.UTC)

// demoRows are the simulator's rows at a fixed instant, through a real store.
func demoRows(t *testing.T) []sources.Summary {
	t.Helper()
	s, err := sim.New(sim.Config{Seed: 1, Clock: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New()
	st.Apply(sources.Update{Source: s.Name(), At: at, Workloads: s.Workloads(), Full: true})
	st.Apply(sources.Update{Source: s.Name(), At: at, Samples: s.At(at), Complete: true})
	return st.Summaries(at, 0)
}

func TestFormatsGolden(t *testing.T) {
	rows := demoRows(t)
	if len(rows) < 10 {
		t.Fatalf("demo has %d rows", len(rows))
	}
	for _, name := range Formats() {
		t.Run(name, func(t *testing.T) {
			write, ok := Lookup(name)
			if !ok {
				t.Fatalf("Lookup(%q) failed", name)
			}
			var b bytes.Buffer
			if err := write(&b, rows, at); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, "demo-"+name, b.String())
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, ok := Lookup("yaml"); ok {
		t.Fatal("yaml should not be a format")
	}
	if got := strings.Join(Formats(), ","); got != "json,markdown,table" {
		t.Fatalf("Formats() = %s", got)
	}
}

func unknownRow() sources.Summary {
	s := sources.Summary{
		Workload: sources.Workload{ID: sources.WorkloadID{Cluster: "c", Namespace: "ns", Name: "a|b"}, Kind: sources.Function, Platform: sources.Lambda},
		Source:   "prom", Stale: true,
	}
	for i := range s.Latest {
		s.Latest[i] = math.NaN()
	}
	return s
}

func TestUnknownValuesAndEscaping(t *testing.T) {
	rows := []sources.Summary{unknownRow()}

	var md bytes.Buffer
	if err := Markdown(&md, rows, at); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), `| ns | a\|b (stale) | lambda |`) {
		t.Errorf("markdown does not escape the pipe or mark staleness:\n%s", md.String())
	}

	var js bytes.Buffer
	if err := JSON(&js, rows, at); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Workloads []struct {
			Name    string              `json:"name"`
			Stale   bool                `json:"stale"`
			Metrics map[string]*float64 `json:"metrics"`
			CostPer *float64            `json:"cost_per_million_requests"`
		} `json:"workloads"`
	}
	if err := json.Unmarshal(js.Bytes(), &out); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, js.String())
	}
	w := out.Workloads[0]
	if w.Name != "a|b" || !w.Stale || w.CostPer != nil || len(w.Metrics) != int(sources.NumMetrics) {
		t.Fatalf("unexpected row %+v", w)
	}
	for k, v := range w.Metrics {
		if v != nil {
			t.Errorf("metric %s = %v, want null for NaN", k, *v)
		}
	}

	var tb bytes.Buffer
	if err := Table(&tb, rows, at); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tb.String(), "1 workloads at 2026-11-26T14:10:00Z, total $0/h") {
		t.Errorf("table totals line:\n%s", tb.String())
	}
}
