package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/views/traces"
)

// tracesTimeout bounds one trace search; it may take several calls.
const tracesTimeout = 10 * time.Second

// tracesMsg answers a trace search; reqID drops answers to old searches.
type tracesMsg struct {
	reqID  uint64
	id     sources.WorkloadID
	traces []sources.Trace
	err    error
}

// fetchTraces asks finders in order until one answers; a finder that does
// not know the workload's cluster says so with an error and the next is tried.
func fetchTraces(ctx context.Context, finders []sources.TraceFinder, q sources.TraceQuery, reqID uint64) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, tracesTimeout)
		defer cancel()
		var err error
		for _, f := range finders {
			var trs []sources.Trace
			if trs, err = f.Traces(ctx, q); err == nil {
				return tracesMsg{reqID: reqID, id: q.ID, traces: trs}
			}
		}
		return tracesMsg{reqID: reqID, id: q.ID, err: err}
	}
}

// traceFinders lists who can search traces for a row: its own source
// first, then every other source that can.
func (m *Model) traceFinders(source string) []sources.TraceFinder {
	var own, others []sources.TraceFinder
	for _, s := range m.cfg.Sources {
		f, ok := s.(sources.TraceFinder)
		if !ok {
			continue
		}
		if s.Name() == source {
			own = append(own, f)
		} else {
			others = append(others, f)
		}
	}
	return append(own, others...)
}

// openTraces searches the selected workload's traces in the detail view's
// window, narrowed to the chart cursor when there is one.
func (m *Model) openTraces() tea.Cmd {
	sel, ok := m.overview.Selected()
	if !ok {
		return nil
	}
	end := m.now
	from, to := traces.Window(end.Add(-m.detail.Range()), end, m.detail.CursorTime(), m.detail.Points()/2)
	finders := m.traceFinders(sel.Source)
	data := traces.ListData{Workload: sel.ID, Start: from, End: to, Loading: len(finders) > 0}
	if len(finders) == 0 {
		data.Err = errNoTraceSource
	}
	m.traceList.SetData(data)
	m.tracesData = data
	m.open(pageTraces)
	if len(finders) == 0 {
		return nil
	}
	m.tracesReq++
	return fetchTraces(m.cfg.Context, finders, sources.TraceQuery{ID: sel.ID, Start: from, End: to, Limit: 50}, m.tracesReq)
}

type constError string

func (e constError) Error() string { return string(e) }

const errNoTraceSource = constError("no configured source can search traces (add a jaeger source)")
