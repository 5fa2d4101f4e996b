package influxdb

import (
	"context"
	"errors"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
)

func newTestSource(t testing.TB, url string, mod func(*Config)) *Source {
	t.Helper()
	rec := loadRecording(t)
	cfg := Config{URL: url, Bucket: rec.Bucket, Token: "perch:s3cret-pass", Cluster: "demo",
		Timeout: 5 * time.Second, Clock: func() time.Time { return rec.Now }}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

type metricValues map[sources.WorkloadID]map[sources.Metric]float64

func byWorkload(samples []sources.Sample) metricValues {
	out := metricValues{}
	for _, s := range samples {
		if out[s.ID] == nil {
			out[s.ID] = map[sources.Metric]float64{}
		}
		out[s.ID][s.Metric] = s.V
	}
	return out
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// expectedFromFixtures recomputes every column from the recorded CSV with
// the documented formulas, parsing it independently of the source.
func expectedFromFixtures(t *testing.T, rec recording) (metricValues, map[sources.WorkloadID]sources.Workload) {
	t.Helper()
	window := DefaultWindow.Seconds()
	idOf := func(r map[string]string) sources.WorkloadID {
		ns := r["namespace"]
		if ns == "" {
			ns = r["region"]
		}
		return sources.WorkloadID{Cluster: "demo", Namespace: ns, Name: r["function"]}
	}
	want := metricValues{}
	wls := map[sources.WorkloadID]sources.Workload{}
	set := func(id sources.WorkloadID, m sources.Metric, v float64) {
		if want[id] == nil {
			want[id] = map[sources.Metric]float64{}
		}
		want[id][m] = v
	}
	count, mean := map[sources.WorkloadID]float64{}, map[sources.WorkloadID]float64{}
	for _, r := range csvRows(t, fixture(t, "latency.csv")) {
		id, v := idOf(r), atof(t, r["_value"])
		switch r["result"] {
		case "p50":
			set(id, sources.LatencyP50, v/1000)
		case "p95":
			set(id, sources.LatencyP95, v/1000)
		case "p99":
			set(id, sources.LatencyP99, v/1000)
		case "mean":
			mean[id] = v
		case "count":
			count[id] = v
		}
	}
	bad, cold := map[sources.WorkloadID]float64{}, map[sources.WorkloadID]float64{}
	mem := map[sources.WorkloadID]float64{}
	hasField := map[sources.WorkloadID]map[string]bool{}
	for _, r := range csvRows(t, fixture(t, "traffic.csv")) {
		id := idOf(r)
		switch r["result"] {
		case "failed":
			bad[id] += atof(t, r["_value"])
		case "cold":
			cold[id] += atof(t, r["_value"])
		case "identity":
			if hasField[id] == nil {
				hasField[id] = map[string]bool{}
			}
			hasField[id][r["_field"]] = true
			switch r["_field"] {
			case "duration_ms":
				wls[id] = sources.Workload{ID: id, Kind: sources.Function, Platform: sources.Platform(r["platform"]), Runtime: r["runtime"]}
			case "memory_mb":
				mem[id] = atof(t, r["_value"])
			}
		}
	}
	prices := cost.Defaults()
	for id, w := range wls {
		rps := count[id] / window
		set(id, sources.RequestRate, rps)
		set(id, sources.Concurrency, rps*mean[id]/1000)
		if hasField[id]["status"] && count[id] > 0 {
			set(id, sources.ErrorRatio, bad[id]/count[id])
		}
		if hasField[id]["cold_start"] {
			set(id, sources.ColdStarts, cold[id]/(window/60))
		}
		set(id, sources.MemRequest, mem[id]*(1<<20))
		w.MemoryMB = mem[id]
		wls[id] = w
		if w.Platform == sources.Lambda {
			set(id, sources.CostRate, prices.LambdaHourly(rps, mean[id]/1000, mem[id]))
		}
	}
	return want, wls
}

func TestPollMatchesRecordedAnswers(t *testing.T) {
	rec := loadRecording(t)
	fs := newFluxServer(t, nil)
	src := newTestSource(t, fs.URL, nil)
	u := src.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	if !u.Full || !u.Complete || !u.At.Equal(rec.Now) || u.Source != "influxdb" {
		t.Fatalf("update header: Full %v Complete %v At %v Source %q", u.Full, u.Complete, u.At, u.Source)
	}
	if got := strings.Join(src.Presets(), ","); got != "cloudwatch-lambda,invocations" {
		t.Fatalf("presets %q", got)
	}
	// detect + latency + traffic + cloudwatch
	if n := len(fs.asked()); n != 4 {
		t.Fatalf("first round made %d queries, want 4", n)
	}
	want, wls := expectedFromFixtures(t, rec)
	got := byWorkload(u.Samples)
	if len(u.Workloads) != len(wls) {
		t.Fatalf("%d workloads, want %d", len(u.Workloads), len(wls))
	}
	for _, w := range u.Workloads {
		if ww := wls[w.ID]; ww != w {
			t.Errorf("workload %+v, want %+v", w, ww)
		}
		for m, x := range want[w.ID] {
			if g, ok := got[w.ID][m]; !ok || !approx(g, x) {
				t.Errorf("%s %s = %v (present %v), want %v", w.ID, m, g, ok, x)
			}
		}
		for m := range got[w.ID] {
			if _, ok := want[w.ID][m]; !ok {
				t.Errorf("%s has unexpected %s", w.ID, m)
			}
		}
	}
	// Detection is cached: the next round is the three family queries.
	before := len(fs.asked())
	if u := src.Poll(context.Background()); u.Err != nil {
		t.Fatal(u.Err)
	}
	if n := len(fs.asked()) - before; n != 3 {
		t.Fatalf("second round made %d queries, want 3", n)
	}
	if auth := fs.auth[0]; auth != "Token perch:s3cret-pass" {
		t.Fatalf("Authorization %q", auth)
	}
}

// TestCloudWatchFromRecording checks the CloudWatch preset alone against
// its recorded fields.
func TestCloudWatchFromRecording(t *testing.T) {
	rec := loadRecording(t)
	fs := newFluxServer(t, nil)
	src := newTestSource(t, fs.URL, func(c *Config) { c.Presets = []string{"lambda"} })
	u := src.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	fields := map[string]map[string]float64{}
	for _, r := range csvRows(t, fixture(t, "cloudwatch.csv")) {
		if fields[r["function_name"]] == nil {
			fields[r["function_name"]] = map[string]float64{}
		}
		fields[r["function_name"]][r["_field"]] = atof(t, r["_value"])
	}
	got := byWorkload(u.Samples)
	prices := cost.Defaults()
	for name, f := range fields {
		id := sources.WorkloadID{Cluster: "demo", Namespace: "us-east-1", Name: name}
		rps := f[cwInvocations] / 60
		want := map[sources.Metric]float64{
			sources.RequestRate: rps,
			sources.ErrorRatio:  (f[cwErrors] + f[cwThrottles]) / (f[cwInvocations] + f[cwThrottles]),
			sources.Concurrency: f[cwConcurrent],
			sources.ColdStarts:  f[cwInitCount],
			sources.CostRate:    prices.LambdaHourly(rps, f[cwDurationAvg]/1000, f[cwMemory]),
			sources.MemRequest:  f[cwMemory] * (1 << 20),
		}
		for m, x := range want {
			if g, ok := got[id][m]; !ok || !approx(g, x) {
				t.Errorf("%s %s = %v (present %v), want %v", id, m, g, ok, x)
			}
		}
		if _, ok := got[id][sources.LatencyP95]; ok {
			t.Errorf("%s: Telegraf has no percentile statistics, yet p95 is set", id)
		}
	}
	// Points older than the lookback count as idle.
	src = newTestSource(t, fs.URL, func(c *Config) {
		c.Presets = []string{"lambda"}
		c.Clock = func() time.Time { return rec.Now.Add(DefaultCloudWatchLookback + time.Minute) }
	})
	u = src.Poll(context.Background())
	for id, v := range byWorkload(u.Samples) {
		if v[sources.RequestRate] != 0 || v[sources.Concurrency] != 0 {
			t.Errorf("%s after the lookback: rate %v concurrency %v, want 0", id, v[sources.RequestRate], v[sources.Concurrency])
		}
	}
}

func TestRangeFromRecording(t *testing.T) {
	rec := loadRecording(t)
	fs := newFluxServer(t, nil)
	src := newTestSource(t, fs.URL, nil)
	if u := src.Poll(context.Background()); u.Err != nil {
		t.Fatal(u.Err)
	}
	rq := sources.RangeQuery{ID: rec.Busiest, Start: rec.Now.Add(-20 * time.Minute), End: rec.Now, Step: time.Minute}
	byTime := func(file, result string) map[time.Time]float64 {
		out := map[time.Time]float64{}
		for _, r := range csvRows(t, fixture(t, file)) {
			if r["result"] != result {
				continue
			}
			ts, err := time.Parse(time.RFC3339, r["_time"])
			if err != nil {
				t.Fatal(err)
			}
			out[ts] += atof(t, r["_value"])
		}
		return out
	}
	check := func(m sources.Metric, want map[time.Time]float64) {
		t.Helper()
		rq.Metric = m
		pts, err := src.Range(context.Background(), rq)
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) != len(want) || len(pts) == 0 {
			t.Fatalf("%s: %d points, want %d", m, len(pts), len(want))
		}
		for i, p := range pts {
			if i > 0 && !p.T.After(pts[i-1].T) {
				t.Fatalf("%s: points out of order", m)
			}
			if x, ok := want[p.T]; !ok || !approx(p.V, x) || p.ID != rq.ID || p.Metric != m {
				t.Errorf("%s at %s = %v, want %v", m, p.T, p.V, x)
			}
		}
	}
	rate := map[time.Time]float64{}
	for ts, n := range byTime("range_rate.csv", "count") {
		rate[ts] = n / 60
	}
	check(sources.RequestRate, rate)
	p95 := map[time.Time]float64{}
	for ts, v := range byTime("range_p95.csv", "q") {
		p95[ts] = v / 1000
	}
	check(sources.LatencyP95, p95)
	ratio := map[time.Time]float64{}
	failedN := byTime("range_error.csv", "failed")
	for ts, n := range byTime("range_error.csv", "count") {
		if n > 0 {
			ratio[ts] = failedN[ts] / n
		}
	}
	check(sources.ErrorRatio, ratio)
	counts, means, mems := byTime("range_cost.csv", "count"), byTime("range_cost.csv", "mean"), byTime("range_cost.csv", "memory")
	costs := map[time.Time]float64{}
	mem := 0.0
	for _, w := range mustPoll(t, src).Workloads {
		if w.ID == rq.ID {
			mem = w.MemoryMB
		}
	}
	for ts, n := range counts {
		m := mem
		if x, ok := mems[ts]; ok {
			m = x
		}
		costs[ts] = cost.Defaults().LambdaHourly(n/60, means[ts]/1000, m)
	}
	check(sources.CostRate, costs)
	colds := map[time.Time]float64{}
	coldN := byTime("range_cold.csv", "cold")
	for ts := range byTime("range_cold.csv", "count") {
		colds[ts] = coldN[ts] // per minute: the step is one minute
	}
	check(sources.ColdStarts, colds)
	// Each call is one query.
	before := len(fs.asked())
	rq.Metric = sources.ColdStarts
	if _, err := src.Range(context.Background(), rq); err != nil {
		t.Fatal(err)
	}
	if n := len(fs.asked()) - before; n != 1 {
		t.Fatalf("range made %d queries, want 1", n)
	}
	// Windows are whole and never in the future.
	for _, q := range fs.asked() {
		if strings.Contains(q, "aggregateWindow") && !strings.Contains(q, "every: 60s") {
			t.Errorf("range query without every = step: %s", q)
		}
	}
}

func mustPoll(t *testing.T, src *Source) sources.Update {
	t.Helper()
	u := src.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	return u
}

// TestFluxStaysWithin065 checks every query the source sends against
// what Flux 0.65 (InfluxDB 1.8) understands.
func TestFluxStaysWithin065(t *testing.T) {
	rec := loadRecording(t)
	fs := newFluxServer(t, nil)
	src := newTestSource(t, fs.URL, nil)
	mustPoll(t, src)
	for m := sources.Metric(0); m < sources.NumMetrics; m++ {
		_, _ = src.Range(context.Background(), sources.RangeQuery{ID: rec.Busiest, Metric: m, Start: rec.Now.Add(-time.Hour), End: rec.Now})
	}
	_ = src.CheckHealth(context.Background())
	asked := fs.asked()
	if len(asked) < 8 {
		t.Fatalf("only %d queries seen", len(asked))
	}
	for _, q := range asked {
		for _, banned := range []string{"findRecord", "findColumn", "truncateTimeColumn", "import "} {
			if strings.Contains(q, banned) {
				t.Errorf("query uses %s: %s", banned, q)
			}
		}
		if n, m := strings.Count(q, "quantile("), strings.Count(q, `method: "estimate_tdigest"`); n != m {
			t.Errorf("quantile without an explicit method: %s", q)
		}
	}
}

func TestErrorsAreClear(t *testing.T) {
	cases := []struct {
		name    string
		answer  func(t *testing.T) func(w http.ResponseWriter, q string)
		is      error
		mention []string
	}{
		{"401 recorded from 1.8", func(t *testing.T) func(http.ResponseWriter, string) {
			return func(w http.ResponseWriter, _ string) { writeRecordedError(t, w, "unauthorized.http") }
		}, ErrUnauthorized, []string{"401", "token"}},
		{"missing database recorded from 1.8", func(t *testing.T) func(http.ResponseWriter, string) {
			return func(w http.ResponseWriter, _ string) { writeRecordedError(t, w, "nobucket.http") }
		}, ErrBucketNotFound, []string{`"metrics/autogen" not found`, "no database"}},
		{"Flux error recorded from 1.8", func(t *testing.T) func(http.ResponseWriter, string) {
			return func(w http.ResponseWriter, _ string) { writeRecordedError(t, w, "badflux.http") }
		}, ErrQuery, []string{"unknown method nonsense", "[Flux: from(bucket:"}},
		{"2.x-style 404 (JSON code/message, as documented)", func(t *testing.T) func(http.ResponseWriter, string) {
			return func(w http.ResponseWriter, _ string) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"code":"not found","message":"failed to initialize execute state: could not find bucket \"metrics/autogen\""}`))
			}
		}, ErrBucketNotFound, []string{"could not find bucket"}},
		{"in-band error after data", func(t *testing.T) func(http.ResponseWriter, string) {
			return func(w http.ResponseWriter, _ string) {
				writeCSV(w, fixture(t, "detect.csv")+"\n#datatype,string,string\n#group,true,true\n#default,,\n,error,reference\n,\"panic: runtime error: index out of range\",\n")
			}
		}, ErrQuery, []string{"index out of range"}},
		{"garbage body", func(t *testing.T) func(http.ResponseWriter, string) {
			return func(w http.ResponseWriter, _ string) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html><body>proxy login</body></html>"))
			}
		}, nil, []string{"unexpected text/html response"}},
		{"garbage CSV", func(t *testing.T) func(http.ResponseWriter, string) {
			return func(w http.ResponseWriter, _ string) { writeCSV(w, "a,b,c\n1,2\n") }
		}, nil, []string{"parsing error"}},
		{"502 from a proxy", func(t *testing.T) func(http.ResponseWriter, string) {
			return func(w http.ResponseWriter, _ string) { http.Error(w, "bad gateway", http.StatusBadGateway) }
		}, nil, []string{"HTTP 502", "bad gateway"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := newFluxServer(t, c.answer(t))
			src := newTestSource(t, fs.URL, nil)
			u := src.Poll(context.Background())
			if u.Err == nil {
				t.Fatal("no error")
			}
			msg := u.Err.Error()
			if c.is != nil && !errors.Is(u.Err, c.is) {
				t.Errorf("errors.Is(%v) false: %s", c.is, msg)
			}
			for _, want := range c.mention {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q: %s", want, msg)
				}
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("error leaks the token: %s", msg)
			}
			if len(u.Workloads) != 0 || len(u.Samples) != 0 || u.Full {
				t.Errorf("a failed round must not replace the inventory")
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	fs := newFluxServer(t, func(w http.ResponseWriter, q string) {
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	defer close(release)
	src := newTestSource(t, fs.URL, func(c *Config) { c.Timeout = 200 * time.Millisecond })
	start := time.Now()
	u := src.Poll(context.Background())
	if !errors.Is(u.Err, ErrTimeout) || !strings.Contains(u.Err.Error(), "timed out after 200ms") {
		t.Fatalf("want a timeout error, got %v", u.Err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timeout took %v", d)
	}
}

// TestPartialRound: one family failing keeps the others' data, marked partial.
func TestPartialRound(t *testing.T) {
	fs := newFluxServer(t, func(w http.ResponseWriter, q string) {
		if fixtureFor(q) == "cloudwatch.csv" {
			writeRecordedError(t, w, "badflux.http")
			return
		}
		routeFixtures(t, w, q)
	})
	src := newTestSource(t, fs.URL, nil)
	u := src.Poll(context.Background())
	if !errors.Is(u.Err, ErrPartial) || !errors.Is(u.Err, ErrQuery) || !strings.Contains(u.Err.Error(), "query cloudwatch lambda") {
		t.Fatalf("want a partial error naming the failed family, got %v", u.Err)
	}
	if len(u.Workloads) == 0 || u.Full || !u.Complete {
		t.Fatalf("partial round: %d workloads, Full %v, Complete %v", len(u.Workloads), u.Full, u.Complete)
	}
}

func TestMaxSeriesTruncates(t *testing.T) {
	fs := newFluxServer(t, nil)
	src := newTestSource(t, fs.URL, func(c *Config) { c.MaxSeries = 5; c.Presets = []string{"invocations"} })
	u := src.Poll(context.Background())
	if !errors.Is(u.Err, ErrPartial) || !strings.Contains(u.Err.Error(), "max_series") || u.Full {
		t.Fatalf("want a partial, non-full round, got err %v full %v", u.Err, u.Full)
	}
}

// TestRunRetriesAndRecovers: errors are sent as updates, the loop backs
// off and recovers by itself once the server answers.
func TestRunRetriesAndRecovers(t *testing.T) {
	var calls atomic.Int64
	fs := newFluxServer(t, func(w http.ResponseWriter, q string) {
		if calls.Add(1) <= 2 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		routeFixtures(t, w, q)
	})
	src := newTestSource(t, fs.URL, func(c *Config) { c.Refresh = time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := make(chan sources.Update)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, out) }()
	var errs int
	for u := range out {
		if u.Err != nil {
			errs++
			if !strings.Contains(u.Err.Error(), "HTTP 503") {
				t.Errorf("error %v", u.Err)
			}
			continue
		}
		if len(u.Workloads) == 0 || !u.Complete {
			t.Fatalf("recovered update is empty")
		}
		break
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if errs != 2 {
		t.Fatalf("%d error updates, want 2", errs)
	}
}

func TestTransportIsReadOnly(t *testing.T) {
	fs := newFluxServer(t, nil)
	src := newTestSource(t, fs.URL, nil)
	for _, path := range []string{"/api/v2/write?bucket=x", "/write?db=x", "/query?q=DROP+DATABASE+x", "/api/v2/delete"} {
		resp, err := src.hc.Post(fs.URL+path, "text/plain", strings.NewReader("m v=1"))
		if err == nil {
			resp.Body.Close()
			t.Errorf("POST %s was sent", path)
		} else if !strings.Contains(err.Error(), "only reads") {
			t.Errorf("POST %s: %v", path, err)
		}
	}
	if n := len(fs.asked()); n != 0 {
		t.Fatalf("server saw %d requests", n)
	}
}

func TestTokenFileIsReread(t *testing.T) {
	fs := newFluxServer(t, nil)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("first-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := newTestSource(t, fs.URL, func(c *Config) { c.Token, c.TokenFile = "", file })
	mustPoll(t, src)
	if err := os.WriteFile(file, []byte("second-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustPoll(t, src)
	fs.mu.Lock()
	first, last := fs.auth[0], fs.auth[len(fs.auth)-1]
	fs.mu.Unlock()
	if first != "Token first-token" || last != "Token second-token" {
		t.Fatalf("Authorization %q then %q", first, last)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	u := src.Poll(context.Background())
	if u.Err == nil || !strings.Contains(u.Err.Error(), "token_file") {
		t.Fatalf("want a token_file error, got %v", u.Err)
	}
}

func TestOverrideReplacesColumn(t *testing.T) {
	rec := loadRecording(t)
	override := `from(bucket: ${bucket}) |> range(start: ${start}, stop: ${stop}) |> yield(name: "o")`
	var seen string
	fs := newFluxServer(t, func(w http.ResponseWriter, q string) {
		if strings.Contains(q, `yield(name: "o")`) {
			seen = q
			writeCSV(w, "#datatype,string,long,dateTime:RFC3339,string,string,double\n#group,false,false,false,true,true,false\n#default,o,,,,,\n"+
				",result,table,_time,function,namespace,_value\n"+
				",,0,"+rec.Now.Add(-time.Minute).Format(time.RFC3339)+",auth-token,us-east-1,0.5\n"+
				",,0,"+rec.Now.Format(time.RFC3339)+",auth-token,us-east-1,0.25\n\n")
			return
		}
		routeFixtures(t, w, q)
	})
	src := newTestSource(t, fs.URL, func(c *Config) { c.Overrides = map[string]string{"latency_p95": override} })
	u := mustPoll(t, src)
	id := sources.WorkloadID{Cluster: "demo", Namespace: "us-east-1", Name: "auth-token"}
	if got := byWorkload(u.Samples)[id][sources.LatencyP95]; got != 0.25 {
		t.Fatalf("overridden p95 = %v, want the newest row's 0.25", got)
	}
	if !strings.Contains(seen, `from(bucket: "metrics/autogen") |> range(start: `+rec.Now.Add(-DefaultWindow).Format(time.RFC3339)) {
		t.Fatalf("placeholders not filled: %s", seen)
	}
	for _, q := range fs.asked() {
		if strings.Contains(q, `quantile(q: 0.95`) {
			t.Fatalf("the overridden p95 is still queried")
		}
	}
}

func TestConfigChecks(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "url: is required"},
		{Config{URL: "influx:8086", Bucket: "b"}, "absolute http"},
		{Config{URL: "http://u:p@h:8086", Bucket: "b"}, "must not hold credentials"},
		{Config{URL: "http://h:8086"}, "bucket: is required"},
		{Config{URL: "http://h:8086", Bucket: "b", Token: "t", TokenFile: "f"}, "not both"},
		{Config{URL: "http://h:8086", Bucket: "b", Presets: []string{"nope"}}, "unknown preset"},
		{Config{URL: "http://h:8086", Bucket: "b", Overrides: map[string]string{"latency_p42": "x"}}, "unknown metric"},
		{Config{URL: "http://h:8086", Bucket: "b", Window: -time.Second}, "window: must not be negative"},
		{Config{URL: "http://h:8086", Bucket: "b", TLS: TLSConfig{CertFile: "c"}}, "go together"},
		{Config{URL: "http://h:8086", Bucket: "b", TLS: TLSConfig{CAFile: "/nonexistent/ca.pem"}}, "tls.ca_file"},
	} {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
		var ce *ConfigError
		if err != nil && (!errors.As(err, &ce) || ce.Key == "") {
			t.Errorf("%v: not a *ConfigError with a key", err)
		}
		if err != nil && strings.Contains(err.Error(), "u:p@") {
			t.Errorf("error leaks URL credentials: %v", err)
		}
	}
}

func TestFluxString(t *testing.T) {
	for in, want := range map[string]string{
		`db/rp`:          `"db/rp"`,
		`a"b\c`:          `"a\"b\\c"`,
		"line\nbreak":    `"line\nbreak"`,
		"${inject}":      `"\${inject}"`,
		"cost $5 {x}":    `"cost $5 {x}"`,
		"tab\there\r":    `"tab\there\r"`,
		"unicode é ✓ 日本": `"unicode é ✓ 日本"`,
	} {
		if got := fluxString(in); got != want {
			t.Errorf("fluxString(%q) = %s, want %s", in, got, want)
		}
	}
	if got := fluxDuration(90 * time.Second); got != "90s" {
		t.Errorf("fluxDuration = %s", got)
	}
	if got := fluxDuration(1500 * time.Millisecond); got != "1500ms" {
		t.Errorf("fluxDuration = %s", got)
	}
}

// TestFailedStatusPattern checks the status pattern the server applies
// (Flux regular expressions are Go's).
func TestFailedStatusPattern(t *testing.T) {
	re := regexp.MustCompile(strings.Trim(failedStatus, "/"))
	for s, ok := range map[string]bool{"ok": true, "OK": true, "success": true, "Succeeded": true, "200": true, "302": true, "": true,
		"error": false, "timeout": false, "500": false, "429": false, "throttled": false, "ok!": false, "2000": false} {
		if re.MatchString(s) != ok {
			t.Errorf("status %q: success %v, want %v", s, !ok, ok)
		}
	}
}

// TestMissingFieldsAreUnknown: data without status or cold_start fields
// gives no error ratio or cold starts (unknown), not a misleading 0.
func TestMissingFieldsAreUnknown(t *testing.T) {
	var kept []string
	for _, line := range strings.Split(fixture(t, "traffic.csv"), "\n") {
		if strings.Contains(line, ",status,function_invocations,") || strings.Contains(line, ",cold_start,function_invocations,") {
			continue
		}
		kept = append(kept, line)
	}
	traffic := strings.Join(kept, "\n")
	fs := newFluxServer(t, func(w http.ResponseWriter, q string) {
		if fixtureFor(q) == "traffic.csv" {
			writeCSV(w, traffic)
			return
		}
		routeFixtures(t, w, q)
	})
	src := newTestSource(t, fs.URL, func(c *Config) { c.Presets = []string{"invocations"} })
	u := mustPoll(t, src)
	for id, v := range byWorkload(u.Samples) {
		if _, ok := v[sources.ErrorRatio]; ok {
			t.Errorf("%s has an error ratio without a status field", id)
		}
		if _, ok := v[sources.ColdStarts]; ok && v[sources.RequestRate] > 0 {
			t.Errorf("%s has cold starts without a cold_start field", id)
		}
		if _, ok := v[sources.RequestRate]; !ok {
			t.Errorf("%s lost its request rate", id)
		}
	}
}
