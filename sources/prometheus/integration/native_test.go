package integration

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	clientprom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/prometheus"
)

// TestNativeHistogramsAgainstRealServer: Prometheus 2.42 with native
// histograms enabled scrapes (protobuf) an Istio-named native histogram;
// perch's p50/p95/p99 come out of the same preset query as classic ones.
func TestNativeHistogramsAgainstRealServer(t *testing.T) {
	t.Parallel() // its own server
	reg := clientprom.NewRegistry()
	labels := []string{"reporter", "destination_workload", "destination_workload_namespace", "response_code"}
	dur := clientprom.NewHistogramVec(clientprom.HistogramOpts{
		Name: "istio_request_duration_milliseconds", Help: "Request duration in milliseconds.",
		NativeHistogramBucketFactor: 1.05, // ~2.5 % wide buckets
	}, labels)
	reqs := clientprom.NewCounterVec(clientprom.CounterOpts{Name: "istio_requests_total", Help: "Total requests."}, labels)
	reg.MustRegister(dur, reqs)
	lv := []string{"destination", "api", "native", "200"}
	// Every scrape first records 1,000 requests uniform in [10, 200] ms:
	// p50 = 105 ms, p95 = 190.5 ms, p99 = 198.1 ms.
	var mu sync.Mutex
	observe := func() {
		mu.Lock()
		defer mu.Unlock()
		for i := range 1000 {
			dur.WithLabelValues(lv...).Observe(10 + 190*(float64(i)+0.5)/1000)
			reqs.WithLabelValues(lv...).Inc()
		}
	}
	inner := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		observe()
		inner.ServeHTTP(w, r)
	}))
	defer exporter.Close()

	dir := t.TempDir()
	cmd := exec.Command(script(), "start", dir, strings.TrimPrefix(exporter.URL, "http://"))
	cmd.Env = append(cmd.Environ(), "PROM_EXTRA_ARGS=--enable-feature=native-histograms", fmt.Sprintf("PROM_WATCH_PID=%d", pid()))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("start: %v %s", err, out)
	}
	defer func() {
		if _, err := run("stop", dir); err != nil {
			t.Error(err)
		}
	}()
	src, err := prometheus.New(prometheus.Config{URL: strings.TrimSpace(string(out)), Presets: []string{"istio"}})
	if err != nil {
		t.Fatal(err)
	}
	id := sources.WorkloadID{Namespace: "native", Name: "api"}
	want := map[sources.Metric]float64{sources.LatencyP50: 0.105, sources.LatencyP95: 0.1905, sources.LatencyP99: 0.1981}
	deadline := time.Now().Add(30 * time.Second)
	for {
		u := src.Poll(context.Background())
		got := index(u.Samples)
		if u.Err == nil && len(got[id]) >= 4 {
			for m, w := range want {
				g := got[id][m]
				if math.Abs(g-w) > 0.05*w {
					t.Errorf("%s = %v s, want %v s (within 5 %%, the native buckets' width)", m, g, w)
				}
			}
			t.Logf("native histogram: p50 %.4f p95 %.4f p99 %.4f s", got[id][sources.LatencyP50],
				got[id][sources.LatencyP95], got[id][sources.LatencyP99])
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no native histogram data after 30 s: err %v, samples %v", u.Err, got)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
