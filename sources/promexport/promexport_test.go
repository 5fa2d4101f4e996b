package promexport

import (
	"bufio"
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/prometheus/metricnames"
	"github.com/perch-dev/perch/sources/sim"
)

var epoch = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func newSim(t testing.TB) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Config{Start: epoch, Clock: func() time.Time { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// scrape parses the handler's answer at t with Prometheus' own parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != ContentType {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return math.NaN()
}

func TestHandlerServesSimulatorUnderRealNames(t *testing.T) {
	s := newSim(t)
	at := epoch.Add(14*time.Hour + 7*time.Minute + 3*time.Second)
	fams := scrape(t, NewHandler(s, func() time.Time { return at }))
	truth := map[sources.WorkloadID]map[sources.Metric]float64{}
	for _, smp := range s.At(at) {
		if truth[smp.ID] == nil {
			truth[smp.ID] = map[sources.Metric]float64{}
		}
		truth[smp.ID][smp.Metric] = smp.V
	}
	find := func(name string, match map[string]string) []*dto.Metric {
		var out []*dto.Metric
		for _, m := range fams[name].GetMetric() {
			ok := true
			for k, v := range match {
				if labelsOf(m)[k] != v {
					ok = false
				}
			}
			if ok {
				out = append(out, m)
			}
		}
		return out
	}
	for _, w := range s.Workloads() {
		want := truth[w.ID]
		switch w.Platform {
		case sources.Lambda:
			inv := find(metricnames.LambdaInvocations, map[string]string{"dimension_FunctionName": w.ID.Name, "region": w.ID.Namespace})
			if len(inv) != 1 || math.Abs(value(inv[0])-want[sources.RequestRate]*60) > 1e-9 {
				t.Errorf("%s invocations %v", w.ID, inv)
			}
			mem := find(metricnames.LambdaInsightsMemoryYACE, map[string]string{"dimension_function_name": w.ID.Name})
			if len(mem) != 1 || value(mem[0]) != w.MemoryMB {
				t.Errorf("%s memory %v", w.ID, mem)
			}
			continue
		case sources.Knative:
			d := find(metricnames.KnOTelPodsDesired, map[string]string{"kn_service_name": w.ID.Name, "k8s_namespace_name": w.ID.Namespace})
			if len(d) != 1 || value(d[0]) != want[sources.ReplicasDesired] {
				t.Errorf("%s desired %v", w.ID, d)
			}
		}
		// Pods: one kube_pod_owner per current replica; requests add up.
		owners := 0
		var cpuReq float64
		for _, m := range fams[metricnames.KubePodOwner].GetMetric() {
			l := labelsOf(m)
			if l["namespace"] == w.ID.Namespace && strings.HasPrefix(l["pod"], w.ID.Name+"-") {
				owners++
			}
		}
		for _, m := range find(metricnames.KubePodContainerRequests, map[string]string{"namespace": w.ID.Namespace, "resource": "cpu"}) {
			if strings.HasPrefix(labelsOf(m)["pod"], w.ID.Name+"-") {
				cpuReq += value(m)
			}
		}
		if owners != int(want[sources.ReplicasCurrent]) {
			t.Errorf("%s: %d pods, %v current replicas", w.ID, owners, want[sources.ReplicasCurrent])
		}
		if math.Abs(cpuReq-want[sources.CPURequest]) > 1e-9 {
			t.Errorf("%s: cpu requests %v, simulator %v", w.ID, cpuReq, want[sources.CPURequest])
		}
	}
	// Classic histograms with cumulative, monotone buckets.
	for _, name := range []string{metricnames.IstioDuration, metricnames.OpenFaaSSeconds, metricnames.KnOTelDuration} {
		f := fams[name]
		if f.GetType() != dto.MetricType_HISTOGRAM || len(f.GetMetric()) == 0 {
			t.Fatalf("%s: type %v, %d series", name, f.GetType(), len(f.GetMetric()))
		}
		for _, m := range f.GetMetric() {
			h := m.GetHistogram()
			prev := 0.0
			for _, b := range h.GetBucket() {
				if c := float64(b.GetCumulativeCount()); c < prev-1e-6 {
					t.Fatalf("%s: bucket %v count %v < %v", name, b.GetUpperBound(), c, prev)
				} else {
					prev = c
				}
			}
			if prev > float64(h.GetSampleCount())+1e-6 {
				t.Fatalf("%s: buckets %v exceed count %v", name, prev, h.GetSampleCount())
			}
		}
	}
	for _, name := range []string{metricnames.CAdvisorCPU, metricnames.IstioRequests, metricnames.OpenFaaSInvocations} {
		if fams[name].GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s is %v", name, fams[name].GetType())
		}
	}
}

// TestCountersArePureFunctionsOfTime: the live handler and the history
// writer give the same counters at the same instant, whatever the order
// of calls, and counters only reset on the hour.
func TestCountersArePureFunctionsOfTime(t *testing.T) {
	s := newSim(t)
	from := epoch.Add(13*time.Hour + 40*time.Minute)
	to := from.Add(40 * time.Minute) // crosses 14:00
	var hist bytes.Buffer
	if err := WriteHistory(&hist, s, from, to, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	series := parseOM(t, hist.String())
	h := NewHandler(s, nil).(*Handler)
	check := func(at time.Time) {
		var live bytes.Buffer
		h.Write(&live, at)
		for _, line := range strings.Split(live.String(), "\n") {
			if !strings.HasPrefix(line, metricnames.IstioRequests+"{") && !strings.HasPrefix(line, metricnames.CAdvisorCPU+"{") {
				continue
			}
			i := strings.LastIndexByte(line, ' ')
			key, v := line[:i], line[i+1:]
			want, ok := series[key][at.UnixMilli()]
			if !ok {
				t.Fatalf("%s missing from history at %v", key, at)
			}
			if got, _ := strconv.ParseFloat(v, 64); math.Abs(got-want) > 1e-6*math.Max(1, want) {
				t.Fatalf("%s at %v: live %v, history %v", key, at, got, want)
			}
		}
	}
	check(to)                        // far ahead first,
	check(from.Add(5 * time.Minute)) // then backwards (recomputes),
	check(epoch.Add(14 * time.Hour)) // the reset instant holds the full hour,
	check(to.Add(-15 * time.Second))
	// Monotone within the hour, reset after it.
	for key, pts := range series {
		if !strings.HasPrefix(key, metricnames.IstioRequests) {
			continue
		}
		var prevT int64
		prev := -1.0
		for _, ts := range sortedKeys(pts) {
			v := pts[ts]
			resetAt := time.UnixMilli(prevT).Add(-time.Millisecond).Truncate(time.Hour) != time.UnixMilli(ts).Add(-time.Millisecond).Truncate(time.Hour)
			if v < prev && !resetAt {
				t.Fatalf("%s decreases at %v without a reset", key, time.UnixMilli(ts))
			}
			prevT, prev = ts, v
		}
	}
}

func sortedKeys(m map[int64]float64) []int64 {
	var out []int64
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// parseOM checks the OpenMetrics layout promtool needs (families
// contiguous, TYPE before samples, per-series time order, # EOF) and
// returns series → unix ms → value.
func parseOM(t *testing.T, text string) map[string]map[int64]float64 {
	t.Helper()
	if !strings.HasSuffix(text, "# EOF\n") {
		t.Fatal("no # EOF")
	}
	out := map[string]map[int64]float64{}
	seenFamily := map[string]bool{}
	family := ""
	last := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)[2]
			if seenFamily[f] {
				t.Fatalf("family %s split", f)
			}
			seenFamily[f] = true
			family = f
			if f == "container_cpu_usage_seconds" || f == "istio_requests" {
				if strings.Fields(line)[3] != "counter" {
					t.Fatalf("%s not a counter", f)
				}
			}
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, family) {
			t.Fatalf("sample %q outside its family %s", line, family)
		}
		f := strings.Fields(line[strings.LastIndexByte(line, '}')+1:])
		key := line[:strings.LastIndexByte(line, '}')+1]
		v, _ := strconv.ParseFloat(f[0], 64)
		sec, _ := strconv.ParseFloat(f[1], 64)
		ms := int64(math.Round(sec * 1000))
		if prev, ok := last[key]; ok && ms < prev {
			t.Fatalf("%s goes back in time", key)
		}
		last[key] = ms
		if out[key] == nil {
			out[key] = map[int64]float64{}
		}
		out[key][ms] = v
	}
	return out
}

func TestWriteHistoryValidates(t *testing.T) {
	s := newSim(t)
	var b bytes.Buffer
	for _, c := range []struct {
		from, to time.Time
		step     time.Duration
	}{
		{epoch, epoch.Add(time.Hour), 0},
		{epoch.Add(time.Hour), epoch, time.Second},
		{epoch, epoch.Add(100 * 24 * time.Hour), time.Second},
	} {
		if err := WriteHistory(&b, s, c.from, c.to, c.step); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := WriteHistory(&b, nil, epoch, epoch, time.Second); err == nil {
		t.Error("nil sim accepted")
	}
}

func TestHandlerConcurrentAndMethods(t *testing.T) {
	s := newSim(t)
	h := NewHandler(s, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			if rec.Code != 200 || rec.Body.Len() == 0 {
				t.Error("empty scrape")
			}
		})
	}
	wg.Wait()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/metrics", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
}

func TestHistogramQuantileLandsInTheRightBucket(t *testing.T) {
	for _, c := range [][3]float64{{0.01, 0.03, 0.08}, {0.2, 0.9, 2.5}, {1, 1, 1}, {0.004, 0.0041, 0.02}} {
		cdf := LatencyCDF(c[0], c[1], c[2])
		for i, q := range []struct{ x, p float64 }{{c[0], 0.5}, {c[1], 0.95}, {c[2], 0.99}} {
			if i < 2 && c[i+1] <= c[i]*1.001 || i > 0 && c[i] <= c[i-1]*1.001 {
				continue // coinciding percentiles: only monotonicity holds
			}
			if got := cdf(q.x * (1 + 1e-9)); math.Abs(got-q.p) > 1e-6 {
				t.Errorf("%v: F(%v) = %v, want %v", c, q.x, got, q.p)
			}
		}
		if cdf(0) != 0 || cdf(100) != 1 {
			t.Errorf("%v: not a CDF", c)
		}
	}
	if Buckets(sources.Lambda) != nil || Buckets(sources.Kubernetes)[0] != 0.0005 {
		t.Fatal("bucket layouts")
	}
}
