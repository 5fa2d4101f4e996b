package sources

import "time"

// Trace is one distributed trace, spans in start order.
type Trace struct {
	ID            string
	RootService   string
	RootOperation string
	Start         time.Time
	Duration      time.Duration
	Spans         []Span
}

// HasError reports whether any span failed.
func (t Trace) HasError() bool {
	for _, s := range t.Spans {
		if s.Error {
			return true
		}
	}
	return false
}

// Span is one timed operation inside a trace.
type Span struct {
	ID        string
	ParentID  string // empty for the root
	Service   string
	Operation string
	Start     time.Time
	Duration  time.Duration
	Error     bool
	Tags      map[string]string
}
