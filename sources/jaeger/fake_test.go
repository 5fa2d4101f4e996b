package jaeger

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeJaeger is a v1 (and optionally v3) query service over a fixed set
// of v1 traces, implementing search like the in-memory store: newest
// first, a trace matches when one span of the service starts in the
// window and lasts at least minDuration, limit traces at most, total 0,
// and tags={"error":"true"} matching nothing.
type fakeJaeger struct {
	t      testing.TB
	mu     sync.Mutex
	traces []v1Trace // newest last (storage order)
	v3     bool      // serve /api/v3/* (from the same traces, as OTLP JSON)
	calls  []url.URL
	token  string // when set, require it
	down   bool   // answer 503 to everything
}

func (f *fakeJaeger) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, *r.URL)
	if r.Method != http.MethodGet {
		http.Error(w, "read only", http.StatusMethodNotAllowed)
		return
	}
	if f.down {
		http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
		return
	}
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	p := r.URL.Path
	q := r.URL.Query()
	switch {
	case p == "/api/services":
		writeJSON(w, map[string]any{"data": f.services(), "total": len(f.services())})
	case p == "/api/traces":
		limit, _ := strconv.Atoi(q.Get("limit"))
		start, _ := strconv.ParseInt(q.Get("start"), 10, 64)
		end, _ := strconv.ParseInt(q.Get("end"), 10, 64)
		minDur := parseMicros(q.Get("minDuration"))
		var data []v1Trace
		if q.Get("tags") == "" {
			data = f.search(q.Get("service"), start, end, minDur, limit)
		}
		writeJSON(w, map[string]any{"data": nonNil(data), "total": 0, "limit": 0, "offset": 0, "errors": nil})
	case strings.HasPrefix(p, "/api/traces/"):
		id := strings.TrimPrefix(p, "/api/traces/")
		for _, tr := range f.traces {
			if normTraceID(tr.TraceID) == normTraceID(id) {
				writeJSON(w, map[string]any{"data": []v1Trace{tr}, "total": 0, "limit": 0, "offset": 0, "errors": nil})
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		writeJSON(w, map[string]any{"data": nil, "total": 0, "limit": 0, "offset": 0,
			"errors": []map[string]any{{"code": 404, "msg": "trace not found"}}})
	case !f.v3 && strings.HasPrefix(p, "/api/v3/"):
		http.NotFound(w, r)
	case p == "/api/v3/services":
		writeJSON(w, map[string]any{"services": f.services()})
	case p == "/api/v3/traces":
		if q.Get("query.start_time_min") == "" || q.Get("query.start_time_max") == "" {
			v3Error(w, http.StatusBadRequest, "query.start_time_min and query.start_time_max are required")
			return
		}
		tmin, err1 := time.Parse(time.RFC3339Nano, q.Get("query.start_time_min"))
		tmax, err2 := time.Parse(time.RFC3339Nano, q.Get("query.start_time_max"))
		if err1 != nil || err2 != nil {
			v3Error(w, http.StatusBadRequest, "malformed parameter query.start_time_min")
			return
		}
		n, _ := strconv.Atoi(q.Get("query.num_traces"))
		minDur, _ := time.ParseDuration(q.Get("query.duration_min"))
		found := f.search(q.Get("query.service_name"), tmin.UnixMicro(), tmax.UnixMicro(), minDur, n)
		if len(found) == 0 {
			v3Error(w, http.StatusNotFound, "No traces found")
			return
		}
		writeJSON(w, map[string]any{"result": map[string]any{"resourceSpans": toOTLP(found)}})
	case strings.HasPrefix(p, "/api/v3/traces/"):
		id := strings.TrimPrefix(p, "/api/v3/traces/")
		for _, tr := range f.traces {
			if normTraceID(tr.TraceID) == normTraceID(id) {
				writeJSON(w, map[string]any{"result": map[string]any{"resourceSpans": toOTLP([]v1Trace{tr})}})
				return
			}
		}
		v3Error(w, http.StatusNotFound, "No traces found")
	default:
		http.NotFound(w, r)
	}
}

func nonNil(ts []v1Trace) []v1Trace {
	if ts == nil {
		return []v1Trace{}
	}
	return ts
}

func v3Error(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"httpCode": code, "message": msg}})
	http.Error(w, string(b), code)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func parseMicros(s string) time.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return -1
	}
	return d
}

func (f *fakeJaeger) services() []string {
	set := map[string]bool{}
	for _, tr := range f.traces {
		for _, p := range tr.Processes {
			set[p.ServiceName] = true
		}
	}
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (f *fakeJaeger) search(service string, start, end int64, minDur time.Duration, limit int) []v1Trace {
	var out []v1Trace
	for i := len(f.traces) - 1; i >= 0 && len(out) < limit; i-- {
		tr := f.traces[i]
		for _, s := range tr.Spans {
			if tr.Processes[s.ProcessID].ServiceName != service || s.StartTime < start || s.StartTime > end {
				continue
			}
			if time.Duration(s.Duration)*time.Microsecond >= minDur {
				out = append(out, tr)
				break
			}
		}
	}
	return out
}

func (f *fakeJaeger) log() []url.URL {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.URL(nil), f.calls...)
}

// toOTLP renders v1 traces as the v3 API's OTLP JSON, one resource per
// span (as Jaeger v2 does for the memory store) with the v1 process tags
// as resource attributes.
func toOTLP(trs []v1Trace) []map[string]any {
	var rss []map[string]any
	for _, tr := range trs {
		for _, s := range tr.Spans {
			p := tr.Processes[s.ProcessID]
			attrs := []map[string]any{{"key": "service.name", "value": map[string]any{"stringValue": p.ServiceName}}}
			for _, kv := range p.Tags {
				attrs = append(attrs, map[string]any{"key": kv.Key, "value": map[string]any{"stringValue": kv.text()}})
			}
			span := map[string]any{
				"traceId": normTraceID(tr.TraceID), "spanId": s.SpanID, "name": s.OperationName, "kind": 2,
				"startTimeUnixNano": strconv.FormatInt(s.StartTime*1000, 10),
				"endTimeUnixNano":   strconv.FormatInt((s.StartTime+s.Duration)*1000, 10),
				"status":            map[string]any{},
			}
			if len(s.References) > 0 {
				span["parentSpanId"] = s.References[0].SpanID
			}
			var sa []map[string]any
			for _, kv := range s.Tags {
				if kv.Key == "error" {
					span["status"] = map[string]any{"code": 2, "message": "failed"}
					continue
				}
				sa = append(sa, map[string]any{"key": kv.Key, "value": map[string]any{"stringValue": kv.text()}})
			}
			span["attributes"] = sa
			var evs []map[string]any
			for _, l := range s.Logs {
				ev := map[string]any{"timeUnixNano": strconv.FormatInt(l.Timestamp*1000, 10)}
				var ea []map[string]any
				for _, f := range l.Fields {
					if f.Key == "event" {
						ev["name"] = f.text()
						continue
					}
					ea = append(ea, map[string]any{"key": f.Key, "value": map[string]any{"stringValue": f.text()}})
				}
				ev["attributes"] = ea
				evs = append(evs, ev)
			}
			span["events"] = evs
			rss = append(rss, map[string]any{
				"resource":   map[string]any{"attributes": attrs},
				"scopeSpans": []map[string]any{{"scope": map[string]any{}, "spans": []map[string]any{span}}},
			})
		}
	}
	return rss
}

// synth builds a v1 trace: service svc's root span of d at start, with a
// downstream child; failed marks the child with error=true.
func synth(i int, svc, ns string, start time.Time, d time.Duration, failed bool) v1Trace {
	id := fmt.Sprintf("%032x", 0xface0000+i)
	root := fmt.Sprintf("%016x", 0x1000+2*i)
	child := fmt.Sprintf("%016x", 0x1001+2*i)
	tags := []v1KeyValue{{Key: "span.kind", Type: "string", Value: json.RawMessage(`"client"`)}}
	if failed {
		tags = append(tags, v1KeyValue{Key: "error", Type: "bool", Value: json.RawMessage(`true`)})
	}
	var ptags []v1KeyValue
	if ns != "" {
		ptags = []v1KeyValue{{Key: "k8s.namespace.name", Type: "string", Value: json.RawMessage(strconv.Quote(ns))}}
	}
	us := start.UnixMicro()
	return v1Trace{TraceID: id, Processes: map[string]v1Process{
		"p1": {ServiceName: svc, Tags: ptags},
		"p2": {ServiceName: "bank-gateway"},
	}, Spans: []v1Span{
		{TraceID: id, SpanID: root, OperationName: "POST /charge", StartTime: us, Duration: d.Microseconds(), ProcessID: "p1"},
		{TraceID: id, SpanID: child, OperationName: "POST /v1/charges", StartTime: us + 100, Duration: d.Microseconds() - 200, ProcessID: "p2",
			References: []v1Reference{{RefType: "CHILD_OF", TraceID: id, SpanID: root}}, Tags: tags,
			Logs: []v1Log{{Timestamp: us + 150, Fields: []v1KeyValue{{Key: "event", Value: json.RawMessage(`"retry"`)}, {Key: "attempt", Value: json.RawMessage(`2`)}}}}},
	}}
}

func newFake(t testing.TB, traces []v1Trace, v3 bool) (*fakeJaeger, *httptest.Server) {
	f := &fakeJaeger{t: t, traces: traces, v3: v3}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
