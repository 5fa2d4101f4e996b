package jaeger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/perch-dev/perch/sources"
)

// The v1 query API's JSON (what the Jaeger UI reads).

type v1Response struct {
	Data   []v1Trace `json:"data"`
	Total  int       `json:"total"` // always 0 for searches: never trust it
	Errors []struct {
		Code    int    `json:"code"`
		Msg     string `json:"msg"`
		TraceID string `json:"traceID"`
	} `json:"errors"`
}

type v1Services struct {
	Data []string `json:"data"`
}

type v1Trace struct {
	TraceID   string               `json:"traceID"`
	Spans     []v1Span             `json:"spans"`
	Processes map[string]v1Process `json:"processes"`
}

type v1Span struct {
	TraceID       string        `json:"traceID"`
	SpanID        string        `json:"spanID"`
	OperationName string        `json:"operationName"`
	References    []v1Reference `json:"references"`
	StartTime     int64         `json:"startTime"` // µs since the epoch
	Duration      int64         `json:"duration"`  // µs
	Tags          []v1KeyValue  `json:"tags"`
	Logs          []v1Log       `json:"logs"`
	ProcessID     string        `json:"processID"`
}

type v1Reference struct {
	RefType string `json:"refType"` // CHILD_OF or FOLLOWS_FROM
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

type v1Process struct {
	ServiceName string       `json:"serviceName"`
	Tags        []v1KeyValue `json:"tags"`
}

type v1Log struct {
	Timestamp int64        `json:"timestamp"` // µs
	Fields    []v1KeyValue `json:"fields"`
}

type v1KeyValue struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// text renders a tag value: strings unquoted, numbers and bools as JSON.
func (kv v1KeyValue) text() string {
	v := bytes.TrimSpace(kv.Value)
	if len(v) > 0 && v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}

// fromV1 converts one v1 trace.
func fromV1(t v1Trace) (sources.Trace, error) {
	if !validTraceID(t.TraceID) {
		return sources.Trace{}, fmt.Errorf("trace with an invalid traceID %q", clip(t.TraceID))
	}
	tr := sources.Trace{ID: normTraceID(t.TraceID), Spans: make([]sources.Span, 0, len(t.Spans))}
	for _, s := range t.Spans {
		if s.SpanID == "" {
			return sources.Trace{}, fmt.Errorf("trace %s: a span without spanID", tr.ID)
		}
		start := time.UnixMicro(s.StartTime).UTC()
		sp := sources.Span{
			ID: s.SpanID, Operation: s.OperationName, Start: start,
			Duration: time.Duration(min(max(s.Duration, 0), math.MaxInt64/1000)) * time.Microsecond,
			Tags:     make(map[string]string, len(s.Tags)),
		}
		// The parent: the first CHILD_OF reference in this trace, else the
		// first FOLLOWS_FROM one.
		for _, want := range []string{"CHILD_OF", "FOLLOWS_FROM"} {
			for _, r := range s.References {
				if r.RefType == want && sp.ParentID == "" && (r.TraceID == "" || normTraceID(r.TraceID) == tr.ID) {
					sp.ParentID = r.SpanID
				}
			}
		}
		p, ok := t.Processes[s.ProcessID]
		sp.Service = p.ServiceName
		if !ok || sp.Service == "" {
			sp.Service = "unknown"
		}
		for _, kv := range p.Tags {
			sp.Tags[ResourceTagPrefix+kv.Key] = kv.text()
		}
		for _, kv := range s.Tags {
			v := kv.text()
			sp.Tags[kv.Key] = v
			if isErrorTag(kv.Key, v) {
				sp.Error = true
			}
		}
		for i, l := range s.Logs {
			var fields [][2]string
			name := ""
			for _, f := range l.Fields {
				if f.Key == "event" && name == "" {
					name = f.text()
					continue
				}
				fields = append(fields, [2]string{f.Key, f.text()})
			}
			logTag(sp.Tags, i, start, time.UnixMicro(l.Timestamp).UTC(), name, fields)
		}
		tr.Spans = append(tr.Spans, sp)
	}
	finishTrace(&tr)
	return tr, nil
}

// clip shortens untrusted text quoted in errors.
func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
