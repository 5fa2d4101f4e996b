package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/views/traces"
)

type traceSource struct {
	fakeSource
	queries []sources.TraceQuery
}

func (s *traceSource) Traces(ctx context.Context, q sources.TraceQuery) ([]sources.Trace, error) {
	s.queries = append(s.queries, q)
	root := sources.Span{ID: "a", Service: q.ID.Name, Operation: "POST /pay", Start: now.Add(-time.Minute), Duration: 900 * time.Millisecond}
	slow := sources.Span{ID: "b", ParentID: "a", Service: "bank-gateway", Operation: "authorize", Start: root.Start.Add(10 * time.Millisecond), Duration: 850 * time.Millisecond, Error: true}
	return []sources.Trace{{ID: "abc123", RootService: q.ID.Name, RootOperation: "POST /pay", Start: root.Start, Duration: root.Duration, Spans: []sources.Span{root, slow}}}, nil
}

func TestTracesFromDetailToWaterfallAndBack(t *testing.T) {
	src := &traceSource{}
	st := store.New()
	fill(st)
	m, err := New(Config{Store: st, Sources: []sources.Source{src}, ThemeName: "dark", Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	send(m, windowSize(120, 40))
	cmd := send(m, press("enter"))
	send(m, cmd())
	cmd = send(m, press("t"))
	if m.page != pageTraces || cmd == nil {
		t.Fatal("t in the detail view must open the traces list and search")
	}
	msg := cmd()
	if len(src.queries) != 1 || src.queries[0].ID != payments || !src.queries[0].End.Equal(now) || src.queries[0].Start.After(now.Add(-time.Hour)) {
		t.Fatalf("search %+v, want payments over the detail window", src.queries)
	}
	// An answer to an older search is dropped.
	old := msg.(tracesMsg)
	old.reqID--
	old.traces = nil
	send(m, old)
	send(m, msg)
	frame := ansi.Strip(m.Render())
	if !strings.Contains(frame, "POST /pay") {
		t.Fatalf("trace list lacks the trace:\n%s", frame)
	}
	cmd = send(m, press("enter"))
	if cmd == nil {
		t.Fatal("enter on a trace must ask to open it")
	}
	open, ok := cmd().(traces.OpenTraceMsg)
	if !ok {
		t.Fatalf("got %T", cmd())
	}
	send(m, open)
	if m.page != pageWaterfall || !strings.Contains(ansi.Strip(m.Render()), "bank-gateway") {
		t.Fatalf("waterfall not shown:\n%s", ansi.Strip(m.Render()))
	}
	send(m, press("esc"))
	if m.page != pageTraces {
		t.Fatal("esc from the waterfall returns to the list")
	}
	send(m, press("esc"))
	if m.page != pageDetail {
		t.Fatal("esc from the list returns to the detail view")
	}
}

func TestTracesWithoutAFinderSaysSo(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 120, 40)
	cmd := send(m, press("enter"))
	send(m, cmd())
	if cmd := send(m, press("t")); cmd != nil {
		t.Fatal("no finder: no search")
	}
	if !strings.Contains(ansi.Strip(m.Render()), "add a jaeger source") {
		t.Fatalf("missing explanation:\n%s", ansi.Strip(m.Render()))
	}
}

var _ tea.Msg = tracesMsg{}
