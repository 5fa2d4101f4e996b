package integration

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/prometheus"
)

// omWriter builds a small OpenMetrics backfill by hand.
type omWriter struct {
	b     strings.Builder
	times []time.Time
}

func (w *omWriter) family(name, typ string) { fmt.Fprintf(&w.b, "# TYPE %s %s\n", name, typ) }

// series writes one series at every time; v gives the value at i.
func (w *omWriter) series(name, labels string, v func(i int) float64) {
	for i, t := range w.times {
		fmt.Fprintf(&w.b, "%s{%s} %g %d\n", name, labels, v(i), t.Unix())
	}
}

// hist writes a classic histogram receiving perStep requests per step,
// split over the buckets by share (cumulative fractions per bound).
func (w *omWriter) hist(name, labels string, bounds, cumShare []float64, perStep float64) {
	for i, t := range w.times {
		n := perStep * float64(i)
		for j, b := range bounds {
			fmt.Fprintf(&w.b, "%s_bucket{%s,le=\"%g\"} %g %d\n", name, labels, b, n*cumShare[j], t.Unix())
		}
		fmt.Fprintf(&w.b, "%s_bucket{%s,le=\"+Inf\"} %g %d\n", name, labels, n, t.Unix())
		fmt.Fprintf(&w.b, "%s_count{%s} %g %d\n", name, labels, n, t.Unix())
		fmt.Fprintf(&w.b, "%s_sum{%s} %g %d\n", name, labels, n*100, t.Unix())
	}
}

// TestOtherPresetsAgainstRealServer checks the presets the simulator does
// not export — Knative's OpenCensus-era names, App Engine through the
// Stackdriver exporter, Lambda through the official cloudwatch_exporter
// (function_name, no region) and an old OpenFaaS gateway (function_name
// without namespace) — against a second real server holding a backfill
// of exactly those names.
func TestOtherPresetsAgainstRealServer(t *testing.T) {
	t.Parallel() // its own server
	dir := t.TempDir()
	end := time.Now().UTC().Truncate(step)
	from := end.Add(-10 * time.Minute)
	w := &omWriter{}
	for tt := from; !tt.After(end); tt = tt.Add(step) {
		w.times = append(w.times, tt)
	}
	secs := func(i int) float64 { return float64(i) * step.Seconds() }
	constant := func(v float64) func(int) float64 { return func(int) float64 { return v } }
	bounds := []float64{5, 10, 25, 50, 100, 250, 500, 1000}
	shares := []float64{0, 0.1, 0.2, 0.3, 0.5, 0.96, 1, 1} // p95 inside (100, 250] ms

	kn := `namespace_name="fn",service_name="hello",configuration_name="hello",revision_name="hello-00002"`
	lonely := `namespace_name="fn",service_name="",configuration_name="lonely",revision_name="lonely-00001"`
	w.family("autoscaler_desired_pods", "gauge")
	w.series("autoscaler_desired_pods", kn, constant(3))
	w.series("autoscaler_desired_pods", lonely, constant(1))
	w.family("autoscaler_actual_pods", "gauge")
	w.series("autoscaler_actual_pods", kn, constant(3))
	w.family("autoscaler_not_ready_pods", "gauge")
	w.series("autoscaler_not_ready_pods", kn, constant(1))
	w.family("autoscaler_stable_request_concurrency", "gauge")
	w.series("autoscaler_stable_request_concurrency", kn, constant(4.5))
	w.family("revision_request_count", "unknown")
	w.series("revision_request_count", kn+`,response_code="200",response_code_class="2xx"`, func(i int) float64 { return 10 * secs(i) })
	w.series("revision_request_count", kn+`,response_code="500",response_code_class="5xx"`, func(i int) float64 { return 1 * secs(i) })
	w.family("revision_request_latencies", "histogram")
	w.hist("revision_request_latencies", kn, bounds, shares, 11*step.Seconds())

	gae := `project_id="acme",module_id="default",version_id="v1",zone="us-central1",unit="1"`
	rc := "stackdriver_gae_app_appengine_googleapis_com_http_server_response_count"
	w.family(rc, "unknown")
	w.series(rc, gae+`,response_code="200",loading="false"`, func(i int) float64 { return 20 * secs(i) })
	w.series(rc, gae+`,response_code="200",loading="true"`, func(i int) float64 { return 0.1 * secs(i) })
	w.series(rc, gae+`,response_code="500",loading="false"`, func(i int) float64 { return 1 * secs(i) })
	w.family("stackdriver_gae_app_appengine_googleapis_com_http_server_response_latencies", "histogram")
	w.hist("stackdriver_gae_app_appengine_googleapis_com_http_server_response_latencies", gae, bounds, shares, 21.1*step.Seconds())
	ic := "stackdriver_gae_app_appengine_googleapis_com_system_instance_count"
	w.family(ic, "gauge")
	w.series(ic, `project_id="acme",module_id="default",version_id="v1",state="active"`, constant(3))
	w.series(ic, `project_id="acme",module_id="default",version_id="v1",state="idle"`, constant(1))

	fn := `job="aws_lambda",function_name="legacy-fn"`
	for _, g := range []struct {
		name string
		v    float64
	}{
		{"aws_lambda_invocations_sum", 600}, {"aws_lambda_errors_sum", 6}, {"aws_lambda_duration_average", 120},
		{"aws_lambda_duration_p50", 100}, {"aws_lambda_duration_p95", 300}, {"aws_lambda_duration_p99", 500},
		{"aws_lambda_concurrent_executions_maximum", 2}, {"aws_lambda_insights_total_memory_maximum", 512},
		{"aws_lambda_insights_init_duration_sample_count", 3},
	} {
		w.family(g.name, "gauge")
		w.series(g.name, fn, constant(g.v))
		if g.name == "aws_lambda_invocations_sum" { // a per-alias series to ignore
			w.series(g.name, fn+`,resource="legacy-fn:prod"`, constant(300))
		}
	}
	w.family("gateway_function_invocation", "counter")
	w.series("gateway_function_invocation_total", `function_name="legacy",code="200"`, func(i int) float64 { return 2 * secs(i) })
	w.family("gateway_service_count", "gauge")
	w.series("gateway_service_count", `function_name="legacy"`, constant(2))
	w.b.WriteString("# EOF\n")

	om := filepath.Join(dir, "presets.om")
	if err := os.WriteFile(om, []byte(w.b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run("backfill", dir, om); err != nil {
		t.Fatal(err)
	}
	url, err := run("start", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := run("stop", dir); err != nil {
			t.Error(err)
		}
	}()

	prices := cost.Defaults()
	src, err := prometheus.New(prometheus.Config{URL: url, Prices: prices, Clock: func() time.Time { return end }})
	if err != nil {
		t.Fatal(err)
	}
	u := src.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	if got, want := strings.Join(src.Presets(), ","), "openfaas,knative-opencensus,lambda,appengine"; got != want {
		t.Fatalf("presets %s, want %s", got, want)
	}
	got := index(u.Samples)
	kinds := map[sources.WorkloadID]sources.Workload{}
	for _, w := range u.Workloads {
		kinds[w.ID] = w
	}
	id := func(ns, name string) sources.WorkloadID { return sources.WorkloadID{Namespace: ns, Name: name} }
	for _, c := range []struct {
		id       sources.WorkloadID
		platform sources.Platform
		want     map[sources.Metric]float64
	}{
		{id("fn", "hello"), sources.Knative, map[sources.Metric]float64{
			sources.ReplicasDesired: 3, sources.ReplicasCurrent: 3, sources.ReplicasReady: 2, sources.Concurrency: 4.5,
			sources.RequestRate: 11, sources.ErrorRatio: 1.0 / 11}},
		{id("fn", "lonely"), sources.Knative, map[sources.Metric]float64{sources.ReplicasDesired: 1}},
		{id("acme", "default"), sources.AppEngine, map[sources.Metric]float64{
			sources.RequestRate: 21.1, sources.ErrorRatio: 1 / 21.1, sources.ColdStarts: 6, sources.ReplicasCurrent: 4}},
		{id(prometheus.LambdaNamespace, "legacy-fn"), sources.Lambda, map[sources.Metric]float64{
			sources.RequestRate: 10, sources.ErrorRatio: 0.01, sources.LatencyP50: 0.1, sources.LatencyP95: 0.3, sources.LatencyP99: 0.5,
			sources.Concurrency: 2, sources.ColdStarts: 3, sources.MemRequest: 512 << 20,
			sources.CostRate: prices.LambdaHourly(10, 0.12, 512)}},
		{id(prometheus.OpenFaaSNamespace, "legacy"), sources.OpenFaaS, map[sources.Metric]float64{
			sources.RequestRate: 2, sources.ErrorRatio: 0, sources.ReplicasCurrent: 2}},
	} {
		w, ok := kinds[c.id]
		if !ok {
			t.Errorf("%s missing (have %v)", c.id, kinds)
			continue
		}
		if w.Platform != c.platform || w.Kind != sources.Function {
			t.Errorf("%s: %s/%s", c.id, w.Platform, w.Kind)
		}
		for m, want := range c.want {
			if gv, ok := got.get(c.id, m); !ok || math.Abs(gv-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("%s %s = %v (present %v), want %v", c.id, m, gv, ok, want)
			}
		}
		if c.platform == sources.Knative && c.id.Name == "hello" || c.platform == sources.AppEngine {
			if p95, ok := got.get(c.id, sources.LatencyP95); !ok || p95 <= 0.1 || p95 > 0.25 {
				t.Errorf("%s p95 %v, want in (0.1, 0.25] s", c.id, p95)
			}
		}
	}
	if kinds[id(prometheus.LambdaNamespace, "legacy-fn")].MemoryMB != 512 {
		t.Error("lambda memory size not read")
	}
	if len(u.Workloads) != 5 {
		t.Errorf("%d workloads: %v", len(u.Workloads), kinds)
	}
}

// TestBadPromQLAgainstRealServer: the error names the query and carries
// Prometheus' own message; the other columns still arrive.
func TestBadPromQLAgainstRealServer(t *testing.T) {
	src, err := prometheus.New(prometheus.Config{URL: env.url, Cluster: cluster,
		Clock:     func() time.Time { return env.evalAt },
		Overrides: map[string]string{"latency_p99": `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket[5m])) by`}})
	if err != nil {
		t.Fatal(err)
	}
	u := src.Poll(context.Background())
	if u.Err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"override latency_p99", "bad_data", "parse error", "istio_request_duration_milliseconds_bucket[5m])) by"} {
		if !strings.Contains(u.Err.Error(), want) {
			t.Errorf("error %q lacks %q", u.Err, want)
		}
	}
	if len(u.Workloads) != len(env.sim.Workloads()) || u.Full {
		t.Fatalf("other columns: %d workloads, full %v", len(u.Workloads), u.Full)
	}
	t.Logf("error shown: %v", u.Err)
}
