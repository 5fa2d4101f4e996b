package jaeger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
)

var base = time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC)

var paymentsID = sources.WorkloadID{Cluster: "demo", Namespace: "shop", Name: "payments"}

func newSource(t testing.TB, url string, mut ...func(*Config)) *Source {
	t.Helper()
	c := Config{URL: url, Cluster: "demo", Clock: func() time.Time { return base.Add(time.Hour) }}
	for _, m := range mut {
		m(&c)
	}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// population is n traces of payments over 30 minutes with random
// durations; every seventh failed. It returns them in storage order and
// the durations by trace id.
func population(n int, seed uint64) ([]v1Trace, map[string]time.Duration) {
	r := rand.New(rand.NewPCG(seed, 1))
	var trs []v1Trace
	durs := map[string]time.Duration{}
	for i := range n {
		d := time.Duration(5+r.IntN(2000)) * time.Millisecond
		tr := synth(i, "payments", "shop", base.Add(time.Duration(i)*30*time.Minute/time.Duration(n)), d, i%7 == 3)
		trs = append(trs, tr)
		durs[normTraceID(tr.TraceID)] = d
	}
	return trs, durs
}

func slowestIDs(durs map[string]time.Duration, k int) []string {
	var ids []string
	for id := range durs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if durs[ids[i]] != durs[ids[j]] {
			return durs[ids[i]] > durs[ids[j]]
		}
		return ids[i] < ids[j]
	})
	return ids[:min(k, len(ids))]
}

func TestSlowestAreExactDespiteTheSearchDepth(t *testing.T) {
	for _, v3 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v3=%v", v3), func(t *testing.T) {
			trs, durs := population(400, 7)
			f, srv := newFake(t, trs, v3)
			s := newSource(t, srv.URL, func(c *Config) { c.SearchDepth = 25 })
			got, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID, Start: base, End: base.Add(time.Hour), Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			want := slowestIDs(durs, 10)
			for i, id := range want {
				if got[i].ID != id {
					t.Fatalf("slowest #%d is %s (%v), want %s (%v)", i, got[i].ID, got[i].Spans[0].Duration, id, durs[id])
				}
				if got[i].Spans[0].Duration != durs[id] && got[i].Spans[1].Duration != durs[id] {
					t.Fatalf("trace %s lost its duration", id)
				}
			}
			// The rest are failed traces, newest first, among the newest
			// search_depth of the window.
			var failed []sources.Trace
			for _, tr := range got[10:] {
				if !tr.HasError() {
					t.Errorf("trace %s after the slowest has no error", tr.ID)
				}
				failed = append(failed, tr)
			}
			if len(failed) == 0 {
				t.Error("no failed traces found")
			}
			if !sort.SliceIsSorted(failed, func(i, j int) bool { return failed[i].Start.After(failed[j].Start) }) {
				t.Error("failed traces not newest first")
			}
			api, _ := s.API(context.Background())
			if want := map[bool]string{false: APIV1, true: APIV3}[v3]; api != want {
				t.Errorf("api %s, want %s", api, want)
			}
			// The refinement raised minDuration instead of asking for more.
			refined := false
			for _, u := range f.log() {
				q := u.Query()
				if q.Get("minDuration") != "" || q.Get("query.duration_min") != "" {
					refined = true
				}
				if l := q.Get("limit"); l != "" && l != "25" && q.Get("tags") == "" {
					t.Errorf("search with limit %s, want the search depth 25", l)
				}
			}
			if !refined {
				t.Error("no minDuration refinement although the first search was full")
			}
		})
	}
}

func TestSearchParameters(t *testing.T) {
	trs, _ := population(20, 1)
	f, srv := newFake(t, trs, false)
	s := newSource(t, srv.URL)
	start, end := base.Add(90*time.Second+123*time.Microsecond), base.Add(20*time.Minute)
	if _, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID, Start: start, End: end, MinDuration: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var search, errSearch params
	for _, u := range f.log() {
		if u.Path == "/api/traces" {
			if u.Query().Get("tags") != "" {
				errSearch = params(u.Query())
			} else if search == nil {
				search = params(u.Query())
			}
		}
	}
	if search == nil || errSearch == nil {
		t.Fatalf("calls %v", f.log())
	}
	for k, want := range map[string]string{"service": "payments", "start": fmt.Sprint(start.UnixMicro()), "end": fmt.Sprint(end.UnixMicro()),
		"limit": fmt.Sprint(DefaultSearchDepth), "minDuration": "1500000us"} {
		if got := search[k]; len(got) != 1 || got[0] != want {
			t.Errorf("search %s=%v, want %s", k, got, want)
		}
	}
	if got := errSearch["tags"]; len(got) != 1 || got[0] != `{"error":"true"}` {
		t.Errorf("error search tags=%v", got)
	}
}

type params map[string][]string

func TestDefaultsAndBadWindows(t *testing.T) {
	trs, _ := population(10, 1)
	f, srv := newFake(t, trs, true)
	s := newSource(t, srv.URL)
	if _, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID}); err != nil {
		t.Fatal(err)
	}
	now := base.Add(time.Hour)
	for _, u := range f.log() {
		if u.Path == "/api/v3/traces" {
			q := u.Query()
			if q.Get("query.start_time_max") != now.Format(time.RFC3339Nano) || q.Get("query.start_time_min") != now.Add(-DefaultWindow).Format(time.RFC3339Nano) {
				t.Errorf("default window %s..%s", q.Get("query.start_time_min"), q.Get("query.start_time_max"))
			}
			if q.Get("query.num_traces") != fmt.Sprint(DefaultSearchDepth) {
				t.Errorf("num_traces %s", q.Get("query.num_traces"))
			}
		}
	}
	_, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID, Start: now, End: now.Add(-time.Minute)})
	if err == nil || !strings.Contains(err.Error(), "before its start") {
		t.Errorf("reversed window: %v", err)
	}
	_, err = s.Traces(context.Background(), sources.TraceQuery{ID: sources.WorkloadID{Cluster: "other", Name: "payments"}})
	if !errors.Is(err, ErrOtherCluster) {
		t.Errorf("other cluster: %v", err)
	}
	if _, err := s.Traces(context.Background(), sources.TraceQuery{}); err == nil {
		t.Error("no workload name: no error")
	}
}

func TestNamespaceFilter(t *testing.T) {
	trs := []v1Trace{
		synth(1, "payments", "shop", base.Add(time.Minute), time.Second, false),
		synth(2, "payments", "staging", base.Add(2*time.Minute), 2*time.Second, false),
		synth(3, "payments", "", base.Add(3*time.Minute), 3*time.Second, false), // no namespace: kept
	}
	_, srv := newFake(t, trs, false)
	s := newSource(t, srv.URL)
	got, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID, Start: base, End: base.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tr := range got {
		ids = append(ids, tr.ID[len(tr.ID)-1:])
	}
	if strings.Join(ids, ",") != "3,1" {
		t.Errorf("traces %v, want 3,1 (staging's dropped)", ids)
	}
}

func TestTraceByID(t *testing.T) {
	trs, _ := population(5, 1)
	for _, v3 := range []bool{false, true} {
		_, srv := newFake(t, trs, v3)
		s := newSource(t, srv.URL)
		id := normTraceID(trs[2].TraceID)
		tr, err := s.Trace(context.Background(), strings.ToUpper(id[16:])) // 64-bit form, upper case
		if err != nil {
			t.Fatal(err)
		}
		if tr.ID != id || len(tr.Spans) != 2 || tr.RootService != "payments" || tr.Spans[1].ParentID != tr.Spans[0].ID {
			t.Errorf("v3=%v: got %+v", v3, tr)
		}
		if tr.Spans[1].Tags["log#0000"] != "+50µs event=retry attempt=2" {
			t.Errorf("v3=%v: log tag %q", v3, tr.Spans[1].Tags["log#0000"])
		}
		if tr.Spans[0].Tags["resource.k8s.namespace.name"] != "shop" {
			t.Errorf("v3=%v: resource tags %v", v3, tr.Spans[0].Tags)
		}
		_, err = s.Trace(context.Background(), "00000000000000000000000000abcdef")
		if !errors.Is(err, ErrTraceNotFound) || !strings.Contains(err.Error(), "trace 00000000000000000000000000abcdef: trace not found") {
			t.Errorf("v3=%v: unknown id: %v", v3, err)
		}
		for _, bad := range []string{"", "xyz", strings.Repeat("a", 33), "12 34", "../api/services"} {
			if _, err := s.Trace(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "hex digits") {
				t.Errorf("id %q: %v", bad, err)
			}
		}
	}
}

func TestErrorsAreClearAndSecretFree(t *testing.T) {
	const token = "s3cr3t-t0ken"
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"v1 error JSON", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":500,"msg":"storage is down"}]}`)
		}, "HTTP 500 Internal Server Error: storage is down"},
		{"proxy HTML", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>")
		}, "HTTP 502 Bad Gateway: <html><body> <h1>502 Bad Gateway</h1> </body></html>"},
		{"forbidden", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "RBAC: access denied", http.StatusForbidden)
		}, "HTTP 403 Forbidden: RBAC: access denied"},
		{"garbage", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "not json at all")
		}, "not the expected JSON (is the url a Jaeger query service?)"},
		{"wrong shape", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"data":"x"}`)
		}, "not the expected JSON"},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}, "timed out after 300ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			s := newSource(t, srv.URL, func(c *Config) { c.BearerToken, c.API, c.Timeout = token, APIV1, 300*time.Millisecond })
			_, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "jaeger: ") || !strings.Contains(err.Error(), "searching traces of payments: GET /api/traces: ") {
				t.Errorf("error lacks context: %v", err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error leaks the token: %v", err)
			}
			if err := s.CheckHealth(context.Background()); err == nil || strings.Contains(err.Error(), token) {
				t.Errorf("health: %v", err)
			}
		})
	}
}

func TestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := newSource(t, "http://"+addr)
	_, err = s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID})
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "detecting the API version") {
		t.Fatalf("down: %v", err)
	}
	if _, err := s.Trace(context.Background(), "abc"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("down: %v", err)
	}
}

func TestAuthAndTokenFile(t *testing.T) {
	trs, _ := population(3, 1)
	f, srv := newFake(t, trs, false)
	f.token = "tok-1"
	s := newSource(t, srv.URL, func(c *Config) { c.BearerToken = "tok-1" })
	if err := s.CheckHealth(context.Background()); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte("tok-2\n"), 0o600)
	s = newSource(t, srv.URL, func(c *Config) { c.TokenFile = file })
	err := s.CheckHealth(context.Background())
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusUnauthorized || strings.Contains(err.Error(), "tok-2") {
		t.Fatalf("wrong token: %v", err)
	}
	f.mu.Lock()
	f.token = "tok-2" // rotated: the file is re-read on every call
	f.mu.Unlock()
	if err := s.CheckHealth(context.Background()); err != nil {
		t.Fatal(err)
	}
	os.Remove(file)
	if err := s.CheckHealth(context.Background()); err == nil || !strings.Contains(err.Error(), "token_file") {
		t.Fatalf("missing token file: %v", err)
	}
}

func TestAPIDetection(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/api/v3/services" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"data":["a","b"],"total":2}`)
	}))
	defer srv.Close()
	s := newSource(t, srv.URL)
	if _, err := s.API(context.Background()); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("first detection: %v", err)
	}
	api, err := s.API(context.Background()) // not cached after an error
	if err != nil || api != APIV1 {
		t.Fatalf("api %q %v", api, err)
	}
	got, err := s.Services(context.Background())
	if err != nil || strings.Join(got, ",") != "a,b" {
		t.Fatalf("services %v %v", got, err)
	}
}

func TestAPIDetectionBehindTheUI(t *testing.T) {
	// Jaeger v1 before api_v3 over HTTP serves the UI's index.html for
	// any unknown path, with 200.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/services" {
			fmt.Fprint(w, `{"data":["a"],"total":1}`)
			return
		}
		fmt.Fprint(w, "<!doctype html><html><title>Jaeger UI</title></html>")
	}))
	defer srv.Close()
	s := newSource(t, srv.URL)
	if api, err := s.API(context.Background()); err != nil || api != APIV1 {
		t.Fatalf("api %q %v", api, err)
	}
}

func TestRun(t *testing.T) {
	trs, _ := population(3, 1)
	f, srv := newFake(t, trs, true)
	s := newSource(t, srv.URL, func(c *Config) { c.Refresh, c.ListServices = 20*time.Millisecond, true })
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan sources.Update, 16)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()
	u := <-out
	if u.Err != nil || !u.Complete || !u.Full || u.Source != "jaeger" {
		t.Fatalf("first update %+v", u)
	}
	want := map[sources.WorkloadID]bool{
		{Cluster: "demo", Namespace: "shop", Name: "payments"}: true,
		{Cluster: "demo", Namespace: "", Name: "bank-gateway"}: true,
	}
	for _, w := range u.Workloads {
		if !want[w.ID] {
			t.Errorf("unexpected workload %+v", w.ID)
		}
		delete(want, w.ID)
	}
	if len(want) > 0 {
		t.Errorf("missing workloads %v", want)
	}
	// The namespace lookup happens once per service, not every round.
	<-out
	searches := 0
	for _, c := range f.log() {
		if c.Path == "/api/v3/traces" {
			searches++
		}
	}
	if searches != 2 {
		t.Errorf("%d searches for namespaces, want 2 (one per service)", searches)
	}
	// Failures are reported and retried.
	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	for u = <-out; u.Err == nil; u = <-out {
	}
	if !strings.Contains(u.Err.Error(), "HTTP 503") {
		t.Errorf("err %v", u.Err)
	}
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	for u = <-out; u.Err != nil; u = <-out {
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}

func TestRunWithoutServices(t *testing.T) {
	_, srv := newFake(t, nil, false)
	s := newSource(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan sources.Update, 1)
	go s.Run(ctx, out)
	u := <-out
	if u.Err != nil || !u.Complete || u.Full || len(u.Workloads) != 0 {
		t.Fatalf("update %+v: without list_services Run only reports health", u)
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "url is required"},
		{Config{URL: "127.0.0.1:16686"}, "absolute http"},
		{Config{URL: "http://user:pw@h:16686"}, "must not contain credentials"},
		{Config{URL: "http://h?x=1"}, "query or fragment"},
		{Config{URL: "http://h", BearerToken: "a", TokenFile: "b"}, "not both"},
		{Config{URL: "http://h", TLS: TLSConfig{CertFile: "c"}}, "go together"},
		{Config{URL: "http://h", Timeout: -1}, "must not be negative"},
		{Config{URL: "http://h", API: "v2"}, "api must be"},
		{Config{URL: "http://h", SearchDepth: MaxSearchDepth + 1}, "search_depth"},
		{Config{URL: "http://h", TLS: TLSConfig{CAFile: "/nonexistent/ca.pem"}}, "tls.ca_file"},
	} {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
	s, err := New(Config{URL: "https://jaeger.example/jaeger/", Name: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.URL != "https://jaeger.example/jaeger" || s.Name() != "prod" || s.cfg.Timeout != DefaultTimeout || s.cfg.API != APIAuto {
		t.Errorf("defaults %+v", s.cfg)
	}
}
