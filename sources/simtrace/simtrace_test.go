package simtrace

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/sim"
)

var epoch = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func newSim(t testing.TB) *sim.Sim {
	t.Helper()
	now := epoch.Add(30 * time.Hour)
	s, err := sim.New(sim.Config{Start: epoch, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// incidentTraces are the simulator's traces of every workload a few
// minutes into the incident.
func incidentTraces(t testing.TB, s *sim.Sim) []sources.Trace {
	t.Helper()
	inc, _ := s.IncidentWindow(epoch.Add(15 * time.Hour))
	trs, err := Collect(context.Background(), s, inc.Add(3*time.Minute), inc.Add(9*time.Minute), 40)
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) == 0 {
		t.Fatal("no traces")
	}
	return trs
}

// wire is the decoded request, loosely typed as the receiver sees it.
type wire struct {
	ResourceSpans []struct {
		Resource struct {
			Attributes []struct {
				Key   string
				Value struct{ StringValue string }
			}
		}
		ScopeSpans []struct {
			Scope struct{ Name string }
			Spans []struct {
				TraceID, SpanID, ParentSpanID, Name string
				Kind                                int
				StartTimeUnixNano, EndTimeUnixNano  string
				Attributes                          []struct {
					Key   string
					Value struct{ StringValue string }
				}
				Status *struct {
					Code    int
					Message string
				}
			}
		}
	}
}

func TestEncodeMatchesTheSimulator(t *testing.T) {
	s := newSim(t)
	trs := incidentTraces(t, s)
	body, err := Encode(trs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatal(err)
	}
	want := map[string]sources.Span{}
	for _, tr := range trs {
		for _, sp := range tr.Spans {
			want[tr.ID+sp.ID] = sp
		}
	}
	got := 0
	sawSlowGateway, sawError := false, false
	for _, rs := range w.ResourceSpans {
		attrs := map[string]string{}
		for _, a := range rs.Resource.Attributes {
			attrs[a.Key] = a.Value.StringValue
		}
		svc := attrs["service.name"]
		for _, ss := range rs.ScopeSpans {
			if ss.Scope.Name != ScopeName {
				t.Errorf("scope %q", ss.Scope.Name)
			}
			for _, sp := range ss.Spans {
				got++
				src, ok := want[sp.TraceID+sp.SpanID]
				if !ok {
					t.Fatalf("span %s/%s was not in the input", sp.TraceID, sp.SpanID)
				}
				start, _ := strconv.ParseInt(sp.StartTimeUnixNano, 10, 64)
				end, _ := strconv.ParseInt(sp.EndTimeUnixNano, 10, 64)
				if start != src.Start.UnixNano() || time.Duration(end-start) != src.Duration {
					t.Errorf("%s: times %d..%d, want %v %v", src.Operation, start, end, src.Start, src.Duration)
				}
				if svc != src.Service || sp.Name != src.Operation || sp.ParentSpanID != src.ParentID {
					t.Errorf("span %s: %s/%s parent %q, want %s/%s parent %q", sp.SpanID, svc, sp.Name, sp.ParentSpanID, src.Service, src.Operation, src.ParentID)
				}
				if (sp.Status != nil && sp.Status.Code == statusError) != src.Error {
					t.Errorf("span %s: status %+v, error %v", sp.SpanID, sp.Status, src.Error)
				}
				if src.Error {
					sawError = true
				}
				if ns := src.Tags["k8s.namespace"]; ns != "" && attrs["k8s.namespace.name"] != ns {
					t.Errorf("%s: resource namespace %q, want %q", svc, attrs["k8s.namespace.name"], ns)
				}
				if svc == "bank-gateway" {
					if sp.Kind != kindClient {
						t.Errorf("bank-gateway kind %d, want client", sp.Kind)
					}
					if src.Duration > 300*time.Millisecond {
						sawSlowGateway = true
					}
				}
			}
		}
	}
	if got != len(want) {
		t.Errorf("%d spans encoded, want %d", got, len(want))
	}
	if !sawSlowGateway || !sawError {
		t.Errorf("during the incident: slow gateway %v, errors %v", sawSlowGateway, sawError)
	}
}

func TestEncodeRejectsBadIDs(t *testing.T) {
	good := sources.Trace{ID: strings.Repeat("ab", 16), Spans: []sources.Span{{ID: strings.Repeat("cd", 8), Service: "a", Start: epoch}}}
	if _, err := Encode([]sources.Trace{good}, nil); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*sources.Trace){
		"short trace id":  func(tr *sources.Trace) { tr.ID = "abc" },
		"zero trace id":   func(tr *sources.Trace) { tr.ID = strings.Repeat("0", 32) },
		"non-hex span id": func(tr *sources.Trace) { tr.Spans[0].ID = "zzzzzzzzzzzzzzzz" },
		"bad parent":      func(tr *sources.Trace) { tr.Spans[0].ParentID = "12" },
		"negative":        func(tr *sources.Trace) { tr.Spans[0].Duration = -time.Second },
	} {
		tr := good
		tr.Spans = append([]sources.Span(nil), good.Spans...)
		mut(&tr)
		if _, err := Encode([]sources.Trace{tr}, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// receiver is a fake OTLP/HTTP endpoint counting spans.
type receiver struct {
	mu       sync.Mutex
	requests int
	spans    int
	status   int
	answer   string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request shape", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(req.Body)
	var wr wire
	if err := json.Unmarshal(body, &wr); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.requests++
	for _, rs := range wr.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			r.spans += len(ss.Spans)
		}
	}
	if r.status != 0 {
		w.WriteHeader(r.status)
	}
	io.WriteString(w, r.answer)
}

func TestFeederBatchesAndReportsErrors(t *testing.T) {
	s := newSim(t)
	trs := incidentTraces(t, s)
	rcv := &receiver{answer: "{}"}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	f, err := NewFeeder(srv.URL, s.Workloads())
	if err != nil {
		t.Fatal(err)
	}
	f.batch = 100
	total := 0
	for _, tr := range trs {
		total += len(tr.Spans)
	}
	n, err := f.Send(context.Background(), trs)
	if err != nil {
		t.Fatal(err)
	}
	if n != total || rcv.spans != total {
		t.Fatalf("sent %d, received %d, want %d", n, rcv.spans, total)
	}
	if rcv.requests < total/100 {
		t.Errorf("%d requests for %d spans in batches of 100", rcv.requests, total)
	}

	rcv.answer = `{"partialSuccess":{"rejectedSpans":"3","errorMessage":"too old"}}`
	if _, err := f.Send(context.Background(), trs[:1]); err == nil || !strings.Contains(err.Error(), "rejected 3 spans: too old") {
		t.Errorf("partial success: %v", err)
	}
	rcv.status, rcv.answer = http.StatusServiceUnavailable, "overloaded"
	if _, err := f.Send(context.Background(), trs[:1]); err == nil || !strings.Contains(err.Error(), "HTTP 503: overloaded") {
		t.Errorf("503: %v", err)
	}
	srv.Close()
	if _, err := f.Send(context.Background(), trs[:1]); err == nil || !strings.Contains(err.Error(), "sending spans") {
		t.Errorf("server down: %v", err)
	}
	for _, bad := range []string{"", "ftp://x", "127.0.0.1:4318", "http://"} {
		if _, err := NewFeeder(bad, nil); err == nil {
			t.Errorf("NewFeeder(%q) accepted", bad)
		}
	}
	if f, _ := NewFeeder("http://h:4318/", nil); f.Endpoint() != "http://h:4318/v1/traces" {
		t.Errorf("endpoint %s", f.Endpoint())
	}
	if f, _ := NewFeeder("http://h:4318/v1/traces", nil); f.Endpoint() != "http://h:4318/v1/traces" {
		t.Errorf("endpoint %s", f.Endpoint())
	}
}

func TestStreamBackfillThenLive(t *testing.T) {
	s := newSim(t)
	rcv := &receiver{answer: "{}"}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	f, _ := NewFeeder(srv.URL, s.Workloads())
	var mu sync.Mutex
	now := epoch.Add(15 * time.Hour)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	var windows [][2]time.Time
	ctx, cancel := context.WithCancel(context.Background())
	err := Stream(ctx, s, f, StreamConfig{Backfill: 12 * time.Minute, Interval: 10 * time.Millisecond, PerWorkload: 3, Clock: clock,
		Progress: func(from, to time.Time, traces, spans int) {
			windows = append(windows, [2]time.Time{from, to})
			if len(windows) == 6 {
				cancel()
			}
		}})
	if err != context.Canceled {
		t.Fatalf("Stream returned %v", err)
	}
	// 12 min of backfill in 5-min chunks, then live windows that follow
	// each other without gaps or overlaps.
	if len(windows) < 6 {
		t.Fatalf("%d windows", len(windows))
	}
	for i := 1; i < len(windows); i++ {
		if gap := windows[i][0].Sub(windows[i-1][1]); gap != time.Nanosecond {
			t.Errorf("window %d starts %v after the previous one ends", i, gap)
		}
	}
	if d := windows[0][1].Sub(windows[0][0]); d != 5*time.Minute-time.Nanosecond {
		t.Errorf("first chunk %v", d)
	}
	if rcv.spans == 0 {
		t.Error("nothing sent")
	}
	// Once stops after the backfill.
	if err := Stream(context.Background(), s, f, StreamConfig{Backfill: time.Minute, Once: true, Clock: clock}); err != nil {
		t.Fatal(err)
	}
}
