// Package integration tests perch's InfluxDB source against a real
// InfluxDB OSS 1.8.3 (pure-Go Flux 0.65, built from the Go module proxy and
// started by scripts/stack/influxdb.sh with HTTP auth enabled). The
// simulator's functions are written with demo-feed's writer
// (sources/influxdb/influxfeed) and perch's numbers are compared with the
// invocations written: rates, error ratios, cold starts, concurrency and
// costs exactly (up to float rounding, costs within 1%), percentiles
// within the t-digest estimate's error (see rankBounds).
//
// The test never skips: when influxd cannot be built or started it fails
// and says why.
package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/influxdb"
	"github.com/perch-dev/perch/sources/influxdb/influxfeed"
	"github.com/perch-dev/perch/sources/sim"
)

const (
	user, password = "perch", "s3cret-pass"
	token          = user + ":" + password
	bucket         = "metrics/autogen"
	cluster        = "demo"
	history        = 20 * time.Minute
	window         = 5 * time.Minute
	maxRPS         = 6 // invocations written per function and second, at most
)

// env is the running server and what was written to it, set up by TestMain.
var env struct {
	url    string
	now    time.Time // the sources' clock: data ends just before it
	invs   []influxfeed.Invocation
	cws    []influxfeed.CloudWatchPoint
	fns    []sources.Workload
	prices cost.Prices
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: influxdb integration: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "stack", "influxdb.sh")
}

func run(extraEnv []string, args ...string) (string, error) {
	cmd := exec.Command(script(), args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s%s", filepath.Base(script()), strings.Join(args, " "), err, errb.String(), out.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func setup(m *testing.M) (int, error) {
	t0 := time.Now()
	// Builds influxd 1.8.3 only when it is not cached (4-6 min cold);
	// `make deps` runs the same command beforehand.
	if _, err := run(nil, "install"); err != nil {
		return 0, fmt.Errorf("cannot build influxd (this test needs a real server and never skips): %w", err)
	}
	dir, err := os.MkdirTemp("", "perch-influxdb-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	url, err := run([]string{"AUTH=" + token}, "start", dir, "metrics")
	if err != nil {
		return 0, err
	}
	defer func() {
		if _, err := run(nil, "stop", dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	env.url = url
	t1 := time.Now()
	for _, db := range []string{"empty", "live", "bench"} {
		if err := influxQL(fmt.Sprintf("CREATE DATABASE %s", db)); err != nil {
			return 0, err
		}
	}

	env.now = time.Now().UTC().Truncate(time.Second)
	env.prices = cost.Defaults()
	s, err := sim.New(sim.Config{Start: env.now.Truncate(24 * time.Hour), Cluster: cluster, Prices: env.prices,
		Clock: func() time.Time { return env.now }})
	if err != nil {
		return 0, err
	}
	g := influxfeed.NewSynth(s, 7, maxRPS)
	env.fns = g.Functions()
	from := env.now.Add(-history)
	env.invs = g.Invocations(from, env.now, 15*time.Second)
	env.cws = g.CloudWatch(from, env.now)
	w := influxfeed.NewWriter(url, "", bucket, token)
	defer w.Close()
	ctx := context.Background()
	if err := w.WriteInvocations(ctx, env.invs); err != nil {
		return 0, err
	}
	if err := w.WriteCloudWatch(ctx, env.cws); err != nil {
		return 0, err
	}
	fmt.Fprintf(os.Stderr, "influxd 1.8.3 at %s: started in %v; %d invocations of %d functions + %d CloudWatch points written in %v\n",
		url, t1.Sub(t0).Round(time.Millisecond), len(env.invs), len(env.fns), len(env.cws), time.Since(t1).Round(time.Millisecond))
	return m.Run(), nil
}

// influxQL runs an admin statement (test setup only: the source never writes).
func influxQL(q string) error {
	req, err := http.NewRequest(http.MethodPost, env.url+"/query", strings.NewReader(url.Values{"q": {q}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", q, resp.StatusCode)
	}
	return nil
}

func newSource(t testing.TB, mod func(*influxdb.Config)) *influxdb.Source {
	t.Helper()
	cfg := influxdb.Config{URL: env.url, Bucket: bucket, Token: token, Cluster: cluster,
		Prices: env.prices, Timeout: 20 * time.Second, Clock: func() time.Time { return env.now }}
	if mod != nil {
		mod(&cfg)
	}
	src, err := influxdb.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	return src
}

// values indexes an update by workload and metric.
type values map[sources.WorkloadID]map[sources.Metric]float64

func index(samples []sources.Sample) values {
	out := values{}
	for _, s := range samples {
		if out[s.ID] == nil {
			out[s.ID] = map[sources.Metric]float64{}
		}
		out[s.ID][s.Metric] = s.V
	}
	return out
}

// truth is what one function's invocations in a window mean.
type truth struct {
	n, failed, cold int
	durations       []float64 // ms, sorted
	sumMS           float64
	memMB           float64
}

func groundTruth(from, to time.Time) map[sources.WorkloadID]*truth {
	out := map[sources.WorkloadID]*truth{}
	for _, inv := range env.invs {
		if inv.T.Before(from) || !inv.T.Before(to) {
			continue
		}
		tr := out[inv.ID]
		if tr == nil {
			tr = &truth{}
			out[inv.ID] = tr
		}
		tr.n++
		if inv.Status != "ok" {
			tr.failed++
		}
		if inv.ColdStart {
			tr.cold++
		}
		tr.durations = append(tr.durations, inv.DurationMS)
		tr.sumMS += inv.DurationMS
		tr.memMB = inv.MemoryMB
	}
	for _, tr := range out {
		sort.Float64s(tr.durations)
	}
	return out
}

// rankBounds is the t-digest error the test allows: Flux's quantile with
// method "estimate_tdigest" (compression 1000) interpolates between
// neighbouring centroids, so its estimate of quantile q lies between the
// exact order statistics at ranks q·n ± max(1% of n, 2).
func rankBounds(sorted []float64, q float64) (lo, hi float64) {
	n := len(sorted)
	eps := math.Max(0.01*float64(n), 2)
	i := int(math.Max(0, math.Floor(q*float64(n)-eps)))
	j := int(math.Min(float64(n-1), math.Ceil(q*float64(n)+eps)))
	return sorted[i], sorted[j]
}

func near(got, want, rel float64) bool {
	if want == 0 {
		return math.Abs(got) < 1e-12
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func TestDetectsBothPresets(t *testing.T) {
	src := newSource(t, nil)
	u := src.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	if got, want := strings.Join(src.Presets(), ","), "cloudwatch-lambda,invocations"; got != want {
		t.Fatalf("presets %q, want %q", got, want)
	}
	if !u.Full || !u.Complete {
		t.Fatalf("Full=%v Complete=%v, want both", u.Full, u.Complete)
	}
}

// TestInvocationsMatchGroundTruth compares every function with the
// invocations written in the source's window.
func TestInvocationsMatchGroundTruth(t *testing.T) {
	src := newSource(t, func(c *influxdb.Config) { c.Presets = []string{"invocations"} })
	before := src.Queries()
	u := src.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	if n := src.Queries() - before; n != 2 {
		t.Errorf("queries per refresh = %d, want 2 (latency + traffic)", n)
	}
	got := index(u.Samples)
	wl := map[sources.WorkloadID]sources.Workload{}
	for _, w := range u.Workloads {
		wl[w.ID] = w
	}
	gt := groundTruth(env.now.Add(-window), env.now)
	seen := groundTruth(env.now.Add(-history), env.now) // the inventory: everything written
	if len(wl) != len(seen) {
		t.Errorf("%d functions, want %d (every function written)", len(wl), len(seen))
	}
	checked := 0
	for _, fn := range env.fns {
		if seen[fn.ID] == nil {
			continue
		}
		w, ok := wl[fn.ID]
		if !ok {
			t.Errorf("%s missing", fn.ID)
			continue
		}
		if w.Platform != fn.Platform || w.Runtime != fn.Runtime || w.MemoryMB != fn.MemoryMB || w.Kind != sources.Function {
			t.Errorf("%s: workload %+v, want platform %s runtime %s memory %v", fn.ID, w, fn.Platform, fn.Runtime, fn.MemoryMB)
		}
		v := got[fn.ID]
		tr := gt[fn.ID]
		if tr == nil { // idle in the window: zero traffic, not unknown
			for _, m := range []sources.Metric{sources.RequestRate, sources.Concurrency, sources.ColdStarts} {
				if x, ok := v[m]; !ok || x != 0 {
					t.Errorf("%s idle: %s = %v (present %v), want 0", fn.ID, m, x, ok)
				}
			}
			if _, ok := v[sources.LatencyP95]; ok {
				t.Errorf("%s idle: has a p95", fn.ID)
			}
			continue
		}
		checked++
		sec := window.Seconds()
		rps := float64(tr.n) / sec
		mean := tr.sumMS / float64(tr.n) / 1000
		want := map[sources.Metric]float64{
			sources.RequestRate: rps,
			sources.ErrorRatio:  float64(tr.failed) / float64(tr.n),
			sources.ColdStarts:  float64(tr.cold) / (sec / 60),
			sources.Concurrency: rps * mean,
			sources.MemRequest:  fn.MemoryMB * (1 << 20),
		}
		for m, x := range want {
			if g, ok := v[m]; !ok || !near(g, x, 1e-9) {
				t.Errorf("%s %s = %v (present %v), want %v", fn.ID, m, g, ok, x)
			}
		}
		if fn.Platform == sources.Lambda {
			wantCost := env.prices.LambdaHourly(rps, mean, fn.MemoryMB)
			if g := v[sources.CostRate]; !near(g, wantCost, 0.01) {
				t.Errorf("%s cost = %v $/h, want %v (within 1%%)", fn.ID, g, wantCost)
			}
		} else if _, ok := v[sources.CostRate]; ok {
			t.Errorf("%s (%s) has a per-invocation cost; only Lambda bills that way", fn.ID, fn.Platform)
		}
		for m, q := range map[sources.Metric]float64{sources.LatencyP50: 0.5, sources.LatencyP95: 0.95, sources.LatencyP99: 0.99} {
			lo, hi := rankBounds(tr.durations, q)
			g, ok := v[m]
			if !ok || g*1000 < lo-1e-9 || g*1000 > hi+1e-9 {
				t.Errorf("%s %s = %.3f ms (present %v), want within [%.3f, %.3f] ms (t-digest rank error, n=%d)", fn.ID, m, g*1000, ok, lo, hi, tr.n)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d functions had invocations in the window; the test checks too little", checked)
	}
	t.Logf("%d functions checked against %d written invocations in the window", checked, func() int {
		n := 0
		for _, tr := range gt {
			n += tr.n
		}
		return n
	}())
}

// TestCloudWatchPreset reads the CloudWatch-shaped points alone.
func TestCloudWatchPreset(t *testing.T) {
	src := newSource(t, func(c *influxdb.Config) { c.Presets = []string{"lambda"} })
	before := src.Queries()
	u := src.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	if n := src.Queries() - before; n != 1 {
		t.Errorf("queries per refresh = %d, want 1", n)
	}
	got := index(u.Samples)
	newest := map[string]influxfeed.CloudWatchPoint{}
	for _, p := range env.cws {
		if env.now.Sub(p.T) > influxdb.DefaultCloudWatchLookback {
			continue
		}
		if old, ok := newest[p.Function]; !ok || p.T.After(old.T) {
			newest[p.Function] = p
		}
	}
	if len(newest) == 0 {
		t.Fatal("no CloudWatch points written in the lookback")
	}
	if len(u.Workloads) < len(newest) {
		t.Errorf("%d functions, want at least %d", len(u.Workloads), len(newest))
	}
	for name, p := range newest {
		id := sources.WorkloadID{Cluster: cluster, Namespace: p.Region, Name: name}
		v := got[id]
		rps := p.Invocations / 60
		want := map[sources.Metric]float64{
			sources.RequestRate: rps,
			sources.ErrorRatio:  (p.Errors + p.Throttles) / (p.Invocations + p.Throttles),
			sources.Concurrency: p.ConcurrentMax,
			sources.ColdStarts:  p.InitCount,
			sources.MemRequest:  p.MemoryMB * (1 << 20),
			sources.CostRate:    env.prices.LambdaHourly(rps, p.DurationAvgMS/1000, p.MemoryMB),
		}
		for m, x := range want {
			if g, ok := v[m]; !ok || !near(g, x, 1e-9) {
				t.Errorf("%s %s = %v (present %v), want %v", id, m, g, ok, x)
			}
		}
	}
}

// TestRangeMatchesGroundTruth checks aggregateWindow ranges window by window.
func TestRangeMatchesGroundTruth(t *testing.T) {
	src := newSource(t, nil)
	if u := src.Poll(context.Background()); u.Err != nil {
		t.Fatal(u.Err)
	}
	// The busiest Lambda function (cost is per invocation on Lambda only).
	all := groundTruth(env.now.Add(-history), env.now)
	var id sources.WorkloadID
	most := 0
	for _, fn := range env.fns {
		if tr := all[fn.ID]; tr != nil && fn.Platform == sources.Lambda && tr.n > most {
			id, most = fn.ID, tr.n
		}
	}
	step := time.Minute
	start, end := env.now.Add(-history), env.now
	rq := sources.RangeQuery{ID: id, Start: start, End: end, Step: step}
	for _, m := range []sources.Metric{sources.RequestRate, sources.ErrorRatio, sources.LatencyP95, sources.CostRate} {
		rq.Metric = m
		before := src.Queries()
		pts, err := src.Range(context.Background(), rq)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if n := src.Queries() - before; n != 1 {
			t.Errorf("%s: %d queries, want 1", m, n)
		}
		if len(pts) < int(history/step)-1 {
			t.Fatalf("%s: %d points, want about %d", m, len(pts), history/step)
		}
		for _, p := range pts {
			// aggregateWindow stamps each window with its stop.
			tr := groundTruth(p.T.Add(-step), p.T)[id]
			if tr == nil {
				if m == sources.RequestRate && p.V != 0 {
					t.Errorf("%s at %s = %v, want 0", m, p.T, p.V)
				}
				continue
			}
			rps := float64(tr.n) / step.Seconds()
			switch m {
			case sources.RequestRate:
				if !near(p.V, rps, 1e-9) {
					t.Errorf("%s at %s = %v, want %v", m, p.T, p.V, rps)
				}
			case sources.ErrorRatio:
				if want := float64(tr.failed) / float64(tr.n); !near(p.V, want, 1e-9) {
					t.Errorf("%s at %s = %v, want %v", m, p.T, p.V, want)
				}
			case sources.LatencyP95:
				if lo, hi := rankBounds(tr.durations, 0.95); p.V*1000 < lo-1e-9 || p.V*1000 > hi+1e-9 {
					t.Errorf("%s at %s = %.3f ms, want within [%.3f, %.3f]", m, p.T, p.V*1000, lo, hi)
				}
			case sources.CostRate:
				if want := env.prices.LambdaHourly(rps, tr.sumMS/float64(tr.n)/1000, tr.memMB); !near(p.V, want, 0.01) {
					t.Errorf("%s at %s = %v, want %v", m, p.T, p.V, want)
				}
			}
		}
	}
}

func pollErr(t *testing.T, src *influxdb.Source) error {
	t.Helper()
	u := src.Poll(context.Background())
	if u.Err == nil {
		t.Fatalf("no error; got %d workloads", len(u.Workloads))
	}
	t.Logf("error: %v", u.Err)
	return u.Err
}

func TestBadToken(t *testing.T) {
	src := newSource(t, func(c *influxdb.Config) { c.Token = user + ":wrong-password" })
	err := pollErr(t, src)
	if !errors.Is(err, influxdb.ErrUnauthorized) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("want a 401 unauthorized error, got %v", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("error leaks the token: %v", err)
	}
	// No token at all on a server with auth.
	src = newSource(t, func(c *influxdb.Config) { c.Token = "" })
	if err := pollErr(t, src); !errors.Is(err, influxdb.ErrUnauthorized) {
		t.Fatalf("want unauthorized without a token, got %v", err)
	}
}

func TestMissingBucket(t *testing.T) {
	src := newSource(t, func(c *influxdb.Config) { c.Bucket = "nope/autogen" })
	err := pollErr(t, src)
	if !errors.Is(err, influxdb.ErrBucketNotFound) || !strings.Contains(err.Error(), `"nope/autogen"`) {
		t.Fatalf("want bucket not found naming the bucket, got %v", err)
	}
}

func TestEmptyBucket(t *testing.T) {
	src := newSource(t, func(c *influxdb.Config) { c.Bucket = "empty/autogen" })
	if err := pollErr(t, src); !errors.Is(err, influxdb.ErrNoPresets) {
		t.Fatalf("want no presets, got %v", err)
	}
	// With a preset configured the round runs and finds nothing.
	src = newSource(t, func(c *influxdb.Config) { c.Bucket = "empty/autogen"; c.Presets = []string{"invocations"} })
	if err := pollErr(t, src); !errors.Is(err, influxdb.ErrNoData) {
		t.Fatalf("want no data, got %v", err)
	}
}

// TestFluxErrorShowsServerMessage: a broken override fails its column
// with the server's message and the query, the rest of the round works.
func TestFluxErrorShowsServerMessage(t *testing.T) {
	src := newSource(t, func(c *influxdb.Config) {
		c.Presets = []string{"invocations"}
		c.Overrides = map[string]string{
			// Flux 0.65 wants quantile's method: the server refuses this.
			"latency_p95": `from(bucket: ${bucket}) |> range(start: ${start}, stop: ${stop}) |> filter(fn: (r) => r._field == "duration_ms") |> quantile(q: 0.95, method: "nonsense")`,
		}
	})
	u := src.Poll(context.Background())
	if u.Err == nil {
		t.Fatal("no error")
	}
	msg := u.Err.Error()
	t.Logf("error: %s", msg)
	if !errors.Is(u.Err, influxdb.ErrPartial) || !errors.Is(u.Err, influxdb.ErrQuery) {
		t.Errorf("want a partial result with a query error, got %v", u.Err)
	}
	for _, want := range []string{"override latency_p95", "unknown method", `method: "nonsense"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q", want)
		}
	}
	if len(u.Workloads) == 0 || u.Full {
		t.Errorf("the other families should still deliver (workloads %d, Full %v)", len(u.Workloads), u.Full)
	}
}

func TestServerDown(t *testing.T) {
	src := newSource(t, func(c *influxdb.Config) { c.URL = "http://127.0.0.1:1"; c.Timeout = 2 * time.Second })
	err := pollErr(t, src)
	if !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("want connection refused, got %v", err)
	}
}

// TestCheckHealth covers the probe with good and bad settings.
func TestCheckHealth(t *testing.T) {
	if err := newSource(t, nil).CheckHealth(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := newSource(t, func(c *influxdb.Config) { c.Token = "perch:nope" }).CheckHealth(context.Background())
	if !errors.Is(err, influxdb.ErrUnauthorized) {
		t.Fatalf("want unauthorized, got %v", err)
	}
}

// TestDemoFeedLive runs the feed loop briefly and reads its data back.
func TestDemoFeedLive(t *testing.T) {
	s, err := sim.New(sim.Config{Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	w := influxfeed.NewWriter(env.url, "", "live/autogen", token)
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	err = influxfeed.Feed(ctx, influxfeed.FeedConfig{Writer: w, Synth: influxfeed.NewSynth(s, 1, 5),
		History: 3 * time.Minute, Interval: 500 * time.Millisecond, Invocations: true, CloudWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if w.Written == 0 {
		t.Fatal("nothing written")
	}
	src := newSource(t, func(c *influxdb.Config) { c.Bucket = "live/autogen"; c.Clock = time.Now })
	u := src.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	if len(u.Workloads) == 0 {
		t.Fatal("no functions read back")
	}
	t.Logf("feed wrote %d points; source read %d functions, presets %v", w.Written, len(u.Workloads), src.Presets())
}

// benchFunctions is the number of functions of the refresh benchmark.
const benchFunctions = 1000

var benchData struct {
	once sync.Once
	err  error
	invs []influxfeed.Invocation
}

// writeBench writes 1,000 functions × 12 invocations in the window into
// the "bench" database, once.
func writeBench(t testing.TB) []influxfeed.Invocation {
	t.Helper()
	benchData.once.Do(func() {
		var invs []influxfeed.Invocation
		for f := range benchFunctions {
			for i := range 12 {
				invs = append(invs, influxfeed.Invocation{
					ID:       sources.WorkloadID{Namespace: "bench", Name: fmt.Sprintf("fn-%04d", f)},
					Platform: sources.Lambda, Runtime: "go1.x",
					T:          env.now.Add(-window + time.Duration(i*20+f%20)*time.Second),
					DurationMS: float64(10 + (f*7+i*13)%90),
					MemoryMB:   float64(int(128) << (f % 3)),
					ColdStart:  i == 0,
					Status:     map[bool]string{true: "error", false: "ok"}[i%6 == 0],
				})
			}
		}
		w := influxfeed.NewWriter(env.url, "", "bench/autogen", token)
		defer w.Close()
		benchData.invs, benchData.err = invs, w.WriteInvocations(context.Background(), invs)
	})
	if benchData.err != nil {
		t.Fatal(benchData.err)
	}
	return benchData.invs
}

// TestRefresh1000Functions: one refresh of 1,000 functions on the real
// server is the same two queries as one of ten, and its numbers are right.
func TestRefresh1000Functions(t *testing.T) {
	invs := writeBench(t)
	src := newSource(t, func(c *influxdb.Config) { c.Bucket = "bench/autogen"; c.Presets = []string{"invocations"} })
	var best time.Duration
	for i := range 3 {
		before := src.Queries()
		t0 := time.Now()
		u := src.Poll(context.Background())
		d := time.Since(t0)
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		if n := src.Queries() - before; n != 2 {
			t.Fatalf("%d queries per refresh, want 2", n)
		}
		if len(u.Workloads) != benchFunctions {
			t.Fatalf("%d functions, want %d", len(u.Workloads), benchFunctions)
		}
		if i == 0 || d < best {
			best = d
		}
		if i == 0 {
			got := index(u.Samples)
			per := map[sources.WorkloadID][2]int{}
			for _, inv := range invs {
				id := sources.WorkloadID{Cluster: cluster, Namespace: inv.ID.Namespace, Name: inv.ID.Name}
				c := per[id]
				c[0]++
				if inv.Status != "ok" {
					c[1]++
				}
				per[id] = c
			}
			for id, c := range per {
				if g := got[id][sources.RequestRate]; !near(g, float64(c[0])/window.Seconds(), 1e-9) {
					t.Fatalf("%s rate %v, want %v", id, g, float64(c[0])/window.Seconds())
				}
				if g := got[id][sources.ErrorRatio]; !near(g, float64(c[1])/float64(c[0]), 1e-9) {
					t.Fatalf("%s error ratio %v", id, g)
				}
			}
		}
	}
	t.Logf("refresh of %d functions (%d invocations): 2 queries, best of 3 %v", benchFunctions, len(invs), best.Round(time.Millisecond))
}

// BenchmarkRefresh1000Functions times one refresh of 1,000 functions
// against the real influxd.
func BenchmarkRefresh1000Functions(b *testing.B) {
	writeBench(b)
	src := newSource(b, func(c *influxdb.Config) { c.Bucket = "bench/autogen"; c.Presets = []string{"invocations"} })
	before := src.Queries()
	b.ResetTimer()
	for range b.N {
		if u := src.Poll(context.Background()); u.Err != nil || len(u.Workloads) != benchFunctions {
			b.Fatalf("err %v, %d functions", u.Err, len(u.Workloads))
		}
	}
	b.ReportMetric(float64(src.Queries()-before)/float64(b.N), "queries/op")
}
