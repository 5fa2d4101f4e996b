package prometheus

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
)

func newTestSource(t testing.TB, url string, mod func(*Config)) *Source {
	t.Helper()
	cfg := Config{URL: url, Cluster: "demo", Timeout: 20 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDetectsPresetsWithOneLabelValuesCall(t *testing.T) {
	var detectCalls atomic.Int64
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		if strings.Contains(req.path, "/label/__name__/values") {
			detectCalls.Add(1)
			if m := req.form.Get("match[]"); !strings.Contains(m, "kube_deployment_spec_replicas") || !strings.Contains(m, "aws_lambda_invocations_sum") {
				t.Errorf("detection match[] = %q, want the preset names", m)
			}
		}
		replay(t)(w, req)
	})
	at, _ := recordedTruth(t)
	s := newTestSource(t, f.URL, func(c *Config) { c.Clock = func() time.Time { return at } })
	for range 3 {
		if u := s.Poll(context.Background()); u.Err != nil {
			t.Fatal(u.Err)
		}
	}
	if got, want := s.Presets(), []string{"kubernetes", "istio", "openfaas", "knative-otel", "lambda"}; !slices.Equal(got, want) {
		t.Fatalf("presets %v, want %v", got, want)
	}
	if detectCalls.Load() != 1 {
		t.Fatalf("%d detection calls over 3 rounds, want 1", detectCalls.Load())
	}
}

func TestExplicitPresetsSkipDetection(t *testing.T) {
	f := newFake(t, synthetic(3))
	s := newTestSource(t, f.URL, func(c *Config) { c.Presets = []string{"kubernetes", "appengine"} })
	u := s.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	for _, q := range f.queries {
		if q == "" {
			t.Fatal("explicit presets still called label values")
		}
	}
	if got := s.Presets(); !slices.Equal(got, []string{"kubernetes", "appengine"}) {
		t.Fatalf("presets %v", got)
	}
	// "knative" picks the generation the server has.
	s = newTestSource(t, f.URL, func(c *Config) { c.Presets = []string{"knative"} })
	if u := s.Poll(context.Background()); u.Err != nil {
		t.Fatal(u.Err)
	}
	if got := s.Presets(); !slices.Equal(got, []string{"knative-otel", "knative-opencensus"}) {
		t.Fatalf("knative alias: presets %v (the fake has both generations)", got)
	}
}

// TestRecordedRoundMatchesSimulator replays the real server's answers for
// the simulator and compares perch's round with the simulator's state.
func TestRecordedRoundMatchesSimulator(t *testing.T) {
	f := newFake(t, replay(t))
	at, truth := recordedTruth(t)
	prices := cost.Defaults()
	s := newTestSource(t, f.URL, func(c *Config) { c.Clock = func() time.Time { return at }; c.Prices = prices })
	u := s.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	if !u.Full || u.Source != "prometheus" || !u.At.Equal(at) {
		t.Fatalf("update header: full %v source %q at %v", u.Full, u.Source, u.At)
	}
	if len(u.Workloads) != len(truth) {
		t.Fatalf("%d workloads, simulator has %d", len(u.Workloads), len(truth))
	}
	got := map[sources.WorkloadID]map[sources.Metric]float64{}
	for _, smp := range u.Samples {
		if got[smp.ID] == nil {
			got[smp.ID] = map[sources.Metric]float64{}
		}
		got[smp.ID][smp.Metric] = smp.V
		if !smp.T.Equal(at) {
			t.Fatalf("sample time %v, want %v", smp.T, at)
		}
	}
	kinds := map[sources.Platform]int{}
	for _, w := range u.Workloads {
		kinds[w.Platform]++
		want := truth[w.ID]
		if want == nil {
			t.Fatalf("unknown workload %s", w.ID)
		}
		if w.Platform == sources.Kubernetes && w.Kind == sources.Function || w.Platform != sources.Kubernetes && w.Kind != sources.Function {
			t.Errorf("%s: kind %s on %s", w.ID, w.Kind, w.Platform)
		}
		g := got[w.ID]
		if w.Platform != sources.Lambda {
			for _, m := range []sources.Metric{sources.ReplicasDesired, sources.ReplicasCurrent, sources.ReplicasReady, sources.CPURequest, sources.MemRequest} {
				if g[m] != want[m] {
					t.Errorf("%s %s = %v, simulator %v", w.ID, m, g[m], want[m])
				}
			}
			// Cost = OpenCost rule on perch's inputs, within 1 %.
			formula := prices.KubeHourly(g[sources.CPURequest], g[sources.CPUUsage], g[sources.MemRequest], g[sources.MemUsage])
			if math.Abs(g[sources.CostRate]-formula) > 0.01*formula {
				t.Errorf("%s cost %v, formula %v", w.ID, g[sources.CostRate], formula)
			}
		} else {
			if w.MemoryMB == 0 {
				t.Errorf("%s: no memory size", w.ID)
			}
			if math.Abs(g[sources.CostRate]-want[sources.CostRate]) > 0.01*want[sources.CostRate] {
				t.Errorf("%s cost %v, simulator %v", w.ID, g[sources.CostRate], want[sources.CostRate])
			}
		}
	}
	if kinds[sources.Kubernetes] != 13 || kinds[sources.Knative] != 4 || kinds[sources.OpenFaaS] != 3 || kinds[sources.Lambda] != 4 {
		t.Fatalf("platforms %v", kinds)
	}
}

// TestQueriesPerRoundDoNotGrowWithWorkloads: every preset enabled, 10
// workloads vs 1,000, spread over the presets like the simulator's scale
// mode (BenchmarkRefreshAllPresets1000 has 1,000 per preset).
func TestQueriesPerRoundDoNotGrowWithWorkloads(t *testing.T) {
	all := []string{"kubernetes", "istio", "openfaas", "knative-otel", "knative-opencensus", "lambda", "appengine"}
	spread := func(n int) map[string]int {
		return map[string]int{"kube": n * 60 / 100, "container": n * 60 / 100, "istio": n * 60 / 100,
			"kn": n * 10 / 100, "autoscaler": n * 2 / 100, "revision": n * 2 / 100, "gateway": n * 8 / 100,
			"aws": n * 16 / 100, "stackdriver": n * 4 / 100}
	}
	count := func(counts map[string]int) (int64, int) {
		f := newFake(t, syntheticMix(counts))
		s := newTestSource(t, f.URL, func(c *Config) { c.Presets = all })
		u := s.Poll(context.Background())
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		return f.calls.Load(), len(u.Workloads)
	}
	small, nSmall := count(spread(10))
	large, nLarge := count(spread(1000))
	if small != large {
		t.Fatalf("%d queries for %d workloads, %d for %d", small, nSmall, large, nLarge)
	}
	if large > 20 {
		t.Fatalf("%d queries per round, want <= 20", large)
	}
	if nLarge != 1000 {
		t.Fatalf("%d workloads, want 1000", nLarge)
	}
	t.Logf("%d queries per round (every preset) for %d and for %d workloads", large, nSmall, nLarge)
}

func TestBadPromQLErrorNamesQueryAndServerMessage(t *testing.T) {
	// The body is what Prometheus 2.42 answers to this query (captured).
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		if req.query == "sum(rate(foo[5m]) by" {
			writeJSON(w, http.StatusBadRequest, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:19: parse error: unexpected \u003cby\u003e in aggregation"}`)
			return
		}
		synthetic(2)(w, req)
	})
	s := newTestSource(t, f.URL, func(c *Config) {
		c.Presets = []string{"kubernetes"}
		c.Overrides = map[string]string{"latency_p95": "sum(rate(foo[5m]) by"}
	})
	u := s.Poll(context.Background())
	if u.Err == nil {
		t.Fatal("no error")
	}
	msg := u.Err.Error()
	for _, want := range []string{"override latency_p95", "sum(rate(foo[5m]) by", "bad_data", "unexpected <by> in aggregation"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	var qe *QueryError
	if !errors.As(u.Err, &qe) || qe.Name != "override latency_p95" {
		t.Fatalf("error is not a QueryError for the override: %v", u.Err)
	}
	// The other queries still delivered data, as an upsert.
	if len(u.Workloads) == 0 || u.Full {
		t.Fatalf("partial round: %d workloads, full %v", len(u.Workloads), u.Full)
	}
	// The override replaced the preset column: no preset query asks for p95.
	for _, q := range f.queries {
		if strings.Contains(q, `"perch_metric", "latency_p95"`) {
			t.Fatal("overridden column still queried")
		}
	}
}

func TestOverrideSuppliesColumn(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		if req.query == "my_p95" {
			writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[
				{"metric":{"namespace":"ns-1","workload":"kube-1"},"value":[1,"0.25"]},
				{"metric":{"namespace":"custom","workload":"batch","workload_kind":"StatefulSet"},"value":[1,"2"]},
				{"metric":{"namespace":"custom","workload":"nan"},"value":[1,"NaN"]}]}}`)
			return
		}
		synthetic(2)(w, req)
	})
	s := newTestSource(t, f.URL, func(c *Config) {
		c.Presets = []string{"kubernetes"}
		c.Overrides = map[string]string{"latency_p95": "my_p95"}
	})
	u := s.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	var found int
	for _, smp := range u.Samples {
		if smp.Metric == sources.LatencyP95 {
			found++
			if smp.ID.Name == "kube-1" && smp.V != 0.25 || smp.ID.Name == "batch" && smp.V != 2 {
				t.Errorf("%s p95 %v", smp.ID, smp.V)
			}
		}
		if smp.ID.Name == "nan" {
			t.Error("NaN became a sample")
		}
	}
	if found != 2 {
		t.Fatalf("%d p95 samples", found)
	}
	for _, w := range u.Workloads {
		if w.ID.Name == "batch" && (w.Kind != sources.StatefulSet || w.Platform != sources.Kubernetes) {
			t.Errorf("override workload %+v", w)
		}
	}
}

// flaky is a server that fails in a given way until healed.
func flaky(t *testing.T, mode *atomic.Value) func(w http.ResponseWriter, req apiRequest) {
	ok := synthetic(3)
	return func(w http.ResponseWriter, req apiRequest) {
		switch mode.Load().(string) {
		case "500":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("<html>upstream exploded</html>"))
		case "503json":
			writeJSON(w, http.StatusServiceUnavailable, `{"status":"error","errorType":"unavailable","error":"too many queries in flight"}`)
		case "slow":
			time.Sleep(1500 * time.Millisecond)
			ok(w, req)
		case "garbage":
			writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[{"metric":`)
		case "wrongtype":
			writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`)
		default:
			ok(w, req)
		}
	}
}

func TestRunReportsFailuresKeepsGoingAndRecovers(t *testing.T) {
	for _, mode := range []struct{ name, wantInErr string }{
		{"500", "upstream exploded"},
		{"503json", "too many queries in flight"},
		{"slow", "timed out"},
		{"garbage", "query "},
		{"wrongtype", "expected an instant vector, got scalar"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			var m atomic.Value
			m.Store("ok")
			f := newFake(t, flaky(t, &m))
			s := newTestSource(t, f.URL, func(c *Config) {
				c.Presets = []string{"kubernetes", "lambda"}
				c.Refresh = 20 * time.Millisecond
				c.Timeout = time.Second
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := make(chan sources.Update)
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx, out) }()
			next := func() sources.Update {
				select {
				case u := <-out:
					return u
				case <-time.After(5 * time.Second):
					t.Fatal("no update")
				}
				return sources.Update{}
			}
			if u := next(); u.Err != nil || !u.Full {
				t.Fatalf("healthy round: %v", u.Err)
			}
			m.Store(mode.name)
			var failed sources.Update
			for range 3 { // skip rounds that started before the switch
				failed = next()
				if failed.Err != nil {
					break
				}
			}
			if failed.Err == nil {
				t.Fatal("no error reported")
			}
			if !strings.Contains(failed.Err.Error(), mode.wantInErr) || !strings.Contains(failed.Err.Error(), "query ") {
				t.Fatalf("error %q lacks %q or the query name", failed.Err, mode.wantInErr)
			}
			if failed.Full || len(failed.Workloads) != 0 {
				t.Fatalf("failed round carried data: full %v, %d workloads", failed.Full, len(failed.Workloads))
			}
			second := next() // still failing: Run kept going
			if second.Err == nil {
				t.Fatal("second failing round had no error")
			}
			m.Store("ok")
			for range 20 {
				u := next()
				if u.Err == nil {
					if !u.Full || len(u.Workloads) == 0 {
						t.Fatalf("recovered round: full %v, %d workloads", u.Full, len(u.Workloads))
					}
					cancel()
					if err := <-done; !errors.Is(err, context.Canceled) {
						t.Fatalf("Run returned %v", err)
					}
					return
				}
			}
			t.Fatal("did not recover")
		})
	}
}

func TestServerDownThenUp(t *testing.T) {
	// Reserve an address, keep nothing listening on it.
	l := httptest.NewServer(http.NotFoundHandler())
	url := l.URL
	l.Close()
	s := newTestSource(t, url, func(c *Config) { c.Timeout = time.Second })
	u := s.Poll(context.Background())
	if u.Err == nil || !strings.Contains(u.Err.Error(), "detecting presets") || !strings.Contains(u.Err.Error(), "connect") {
		t.Fatalf("server down: %v", u.Err)
	}
	if err := s.CheckHealth(context.Background()); err == nil {
		t.Fatal("health check passed with the server down")
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	seen := map[time.Duration]bool{}
	for n := 1; n <= 20; n++ {
		d := sources.Backoff(n, time.Second, time.Minute)
		ceiling := min(time.Second<<(n-1), time.Minute)
		if n > 7 {
			ceiling = time.Minute
		}
		if d < ceiling/2 || d > ceiling {
			t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, ceiling/2, ceiling)
		}
		seen[d] = true
	}
	if len(seen) < 15 {
		t.Fatal("no jitter")
	}
}

func TestWarningsAndEmptyResults(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		if strings.Contains(req.query, "kube_deployment_spec_replicas") {
			writeJSON(w, http.StatusOK, `{"status":"success","warnings":["store gateway 2 unreachable: partial response"],"data":{"resultType":"vector","result":[{"metric":{"namespace":"a","workload":"b","workload_kind":"Deployment","perch_metric":"replicas_desired"},"value":[1,"3"]}]}}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	})
	s := newTestSource(t, f.URL, func(c *Config) { c.Presets = []string{"kubernetes"} })
	u := s.Poll(context.Background())
	if u.Err == nil || !errors.Is(u.Err, ErrPartial) || !strings.Contains(u.Err.Error(), "partial response") {
		t.Fatalf("warning not surfaced as ErrPartial: %v", u.Err)
	}
	if len(u.Workloads) != 1 || len(u.Samples) != 1 || !u.Full {
		t.Fatalf("data with warnings: %d workloads, %d samples, full %v", len(u.Workloads), len(u.Samples), u.Full)
	}
}

func TestHundredThousandSeriesAreCapped(t *testing.T) {
	const n = 100_000
	var body strings.Builder
	body.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
	for i := range n {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"metric":{"namespace":"ns","workload":"w%d","perch_metric":"replicas_desired"},"value":[1,"1"]}`, i)
	}
	body.WriteString(`]}}`)
	big := body.String()
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		if req.form.Get("limit") != "1001" {
			t.Errorf("limit = %q, want max_series+1", req.form.Get("limit"))
		}
		if strings.Contains(req.query, "kube_deployment_spec_replicas") {
			writeJSON(w, http.StatusOK, big)
			return
		}
		writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	})
	s := newTestSource(t, f.URL, func(c *Config) { c.Presets = []string{"kubernetes"}; c.MaxSeries = 1000 })
	u := s.Poll(context.Background())
	if !errors.Is(u.Err, ErrPartial) || !strings.Contains(u.Err.Error(), "more than 1000 series") {
		t.Fatalf("cap not reported: %v", u.Err)
	}
	if len(u.Workloads) != 1000 || u.Full {
		t.Fatalf("%d workloads, full %v; want 1000 and not full", len(u.Workloads), u.Full)
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	const token, password, tenant = "s3cr3t-t0ken-value", "hunter2-password", "tenant-key-123"
	// A hostile or buggy server that echoes credentials in its errors.
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		writeJSON(w, http.StatusUnauthorized, fmt.Sprintf(`{"status":"error","errorType":"auth","error":"bad credentials %s / %s"}`,
			req.header.Get("Authorization"), req.header.Get("X-Api-Key")))
	})
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(name string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		for _, secret := range []string{token, password, tenant, "aHVudGVy"} {
			if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), secret) {
				t.Fatalf("%s: error leaks a secret: %v", name, err)
			}
		}
	}
	for name, mod := range map[string]func(*Config){
		"bearer":      func(c *Config) { c.BearerToken = token; c.Headers = map[string]string{"X-Api-Key": tenant} },
		"bearer file": func(c *Config) { c.BearerTokenFile = tokenFile },
		"basic":       func(c *Config) { c.Username = "admin"; c.Password = password },
		"url userinfo": func(c *Config) {
			c.URL = strings.Replace(c.URL, "http://", "http://admin:"+password+"@", 1)
		},
	} {
		s := newTestSource(t, f.URL, mod)
		u := s.Poll(context.Background())
		check(name+" poll", u.Err)
		check(name+" health", s.CheckHealth(context.Background()))
		_, err := s.Range(context.Background(), sources.RangeQuery{ID: sources.WorkloadID{Namespace: "a", Name: "b"},
			Metric: sources.ReplicasCurrent, Start: time.Unix(0, 0), End: time.Unix(3600, 0), Step: time.Minute})
		check(name+" range", err)
	}
	// Config errors name settings, never values.
	_, err := New(Config{URL: "http://x", BearerToken: token, Password: password})
	check("config", err)
	_, err = New(Config{URL: "http://x", BearerTokenFile: filepath.Join(dir, "missing-"+token)})
	if err != nil {
		t.Fatal(err) // the file is read per request
	}
}

func TestAuthHeadersTenantAndTokenFileRotation(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var seen atomic.Value
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		if req.header.Get("X-Scope-OrgID") != "team-a" {
			writeJSON(w, http.StatusUnauthorized, `{"status":"error","errorType":"auth","error":"no org id"}`)
			return
		}
		seen.Store(req.header.Get("Authorization"))
		synthetic(1)(w, req)
	})
	s := newTestSource(t, f.URL, func(c *Config) {
		c.BearerTokenFile = tokenFile
		c.Headers = map[string]string{"X-Scope-OrgID": "team-a"}
		c.Presets = []string{"lambda"}
	})
	if u := s.Poll(context.Background()); u.Err != nil {
		t.Fatal(u.Err)
	}
	if seen.Load() != "Bearer one" {
		t.Fatalf("authorization %v", seen.Load())
	}
	if err := os.WriteFile(tokenFile, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if u := s.Poll(context.Background()); u.Err != nil {
		t.Fatal(u.Err)
	}
	if seen.Load() != "Bearer two" {
		t.Fatalf("rotated token not used: %v", seen.Load())
	}
	b := newTestSource(t, f.URL, func(c *Config) {
		c.Username, c.Password = "u", "p"
		c.Headers = map[string]string{"X-Scope-OrgID": "team-a"}
		c.Presets = []string{"lambda"}
	})
	if u := b.Poll(context.Background()); u.Err != nil || seen.Load() != "Basic dTpw" {
		t.Fatalf("basic auth: %v %v", u.Err, seen.Load())
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		synthetic(1)(w, decodeRequest(r))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	cert := srv.Certificate()
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseCertificate(cert.Raw); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		tls  TLSConfig
		fail bool
	}{
		"untrusted": {TLSConfig{}, true},
		"ca file":   {TLSConfig{CAFile: ca}, false},
		"insecure":  {TLSConfig{InsecureSkipVerify: true}, false},
	} {
		s := newTestSource(t, srv.URL, func(cfg *Config) { cfg.TLS = c.tls; cfg.Presets = []string{"lambda"} })
		u := s.Poll(context.Background())
		if (u.Err != nil) != c.fail {
			t.Errorf("%s: err %v", name, u.Err)
		}
	}
	if _, err := New(Config{URL: srv.URL, TLS: TLSConfig{CAFile: filepath.Join(t.TempDir(), "none.pem")}}); err == nil {
		t.Error("missing CA file accepted")
	}
}

func TestReadOnlyTransport(t *testing.T) {
	for _, c := range []struct {
		method, path string
		ok           bool
	}{
		{"POST", "/api/v1/query", true},
		{"GET", "/prom/api/v1/query_range", true},
		{"GET", "/api/v1/label/__name__/values", true},
		{"POST", "/api/v1/admin/tsdb/delete_series", false},
		{"PUT", "/api/v1/query", false},
		{"POST", "/api/v1/write", false},
		{"POST", "/-/quit", false},
	} {
		req := httptest.NewRequest(c.method, "http://x"+c.path, nil)
		if isReadOnly(req) != c.ok {
			t.Errorf("%s %s: read-only %v", c.method, c.path, !c.ok)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{
		{},
		{URL: "prometheus:9090"},
		{URL: "ftp://x"},
		{URL: "http://x", Presets: []string{"nomad"}},
		{URL: "http://x", Overrides: map[string]string{"latency_p42": "x"}},
		{URL: "http://x", Overrides: map[string]string{"latency_p95": " "}},
		{URL: "http://x", Timeout: -1},
		{URL: "http://x", TLS: TLSConfig{CertFile: "a"}},
		{URL: "http://x", ClusterLabel: "bad-label"},
		{URL: "http://x", BearerToken: "a", BearerTokenFile: "b"},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	s, err := New(Config{URL: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Refresh != DefaultRefresh || s.cfg.Timeout != DefaultTimeout || s.cfg.MaxSeries != DefaultMaxSeries || s.Name() != "prometheus" {
		t.Fatalf("defaults: %+v", s.cfg)
	}
}

func TestClusterLabelSplitsClusters(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		if !strings.Contains(req.query, "by (k8s, namespace") {
			t.Errorf("cluster label missing from by(): %.200s", req.query)
		}
		writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[
			{"metric":{"k8s":"eu","namespace":"a","workload":"b","perch_metric":"replicas_desired","workload_kind":"Deployment"},"value":[1,"2"]},
			{"metric":{"k8s":"us","namespace":"a","workload":"b","perch_metric":"replicas_desired","workload_kind":"Deployment"},"value":[1,"5"]}]}}`)
	})
	s := newTestSource(t, f.URL, func(c *Config) { c.Presets = []string{"kubernetes"}; c.ClusterLabel = "k8s" })
	u := s.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	if len(u.Workloads) != 2 || u.Workloads[0].ID.Cluster != "eu" || u.Workloads[1].ID.Cluster != "us" {
		t.Fatalf("workloads %+v", u.Workloads)
	}
}

func TestRangeClampsPointsAndGuardsWorkload(t *testing.T) {
	var got apiRequest
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		if strings.HasSuffix(req.path, "query_range") {
			got = req
			writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"namespace":"shop","workload":"cart"},"values":[[1700000000,"3"],[1700000060,"4"],[1700000120,"NaN"]]}]}}`)
			return
		}
		synthetic(1)(w, req)
	})
	s := newTestSource(t, f.URL, func(c *Config) { c.Presets = []string{"kubernetes", "istio"} })
	id := sources.WorkloadID{Cluster: "demo", Namespace: "shop", Name: "cart"}
	start := time.Unix(1700000000, 0)
	pts, err := s.Range(context.Background(), sources.RangeQuery{ID: id, Metric: sources.ReplicasCurrent, Start: start, End: start.Add(30 * 24 * time.Hour), Step: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 || pts[0].V != 3 || pts[1].V != 4 || pts[0].ID != id || pts[0].Metric != sources.ReplicasCurrent {
		t.Fatalf("points %+v", pts)
	}
	var step float64
	fmt.Sscan(got.form.Get("step"), &step)
	if points := 30 * 24 * 3600 / step; points > maxPoints+1 {
		t.Fatalf("step %v gives %v points", step, points)
	}
	for _, want := range []string{`namespace="shop"`, `deployment=~"cart(-[0-9]{5}-deployment)?"`, `"workload", "cart"`, "and on (namespace, workload)"} {
		if !strings.Contains(got.query, want) {
			t.Errorf("range query lacks %s: %.300s", want, got.query)
		}
	}
}

func TestAllPresetQueriesAreBounded(t *testing.T) {
	s := newTestSource(t, "http://x", func(c *Config) {
		c.Presets = []string{"kubernetes", "istio", "openfaas", "knative", "lambda", "appengine"}
	})
	var active []*preset
	for _, n := range []string{"kubernetes", "istio", "openfaas", "knative-otel", "knative-opencensus", "lambda", "appengine"} {
		active = append(active, presetByName(n))
	}
	plan := s.plan(active)
	if len(plan) > 20 {
		t.Fatalf("%d queries with every preset", len(plan))
	}
	for _, q := range plan {
		if strings.Count(q.expr, "(") != strings.Count(q.expr, ")") {
			t.Errorf("%s: unbalanced parentheses", q.name)
		}
	}
}
