package prometheus

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/prometheus/internal/recording"
)

// apiRequest is one decoded API call.
type apiRequest struct {
	path, query string
	form        url.Values
	header      http.Header
}

func decodeRequest(r *http.Request) apiRequest {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	for k, v := range r.URL.Query() {
		form[k] = append(form[k], v...)
	}
	return apiRequest{path: r.URL.Path, query: form.Get("query"), form: form, header: r.Header.Clone()}
}

// fakeServer answers the Prometheus API through a function and counts calls.
type fakeServer struct {
	*httptest.Server
	calls   atomic.Int64
	mu      sync.Mutex
	queries []string
}

func newFake(t testing.TB, answer func(w http.ResponseWriter, req apiRequest)) *fakeServer {
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		req := decodeRequest(r)
		f.mu.Lock()
		f.queries = append(f.queries, req.query)
		f.mu.Unlock()
		answer(w, req)
	}))
	t.Cleanup(f.Close)
	return f
}

func writeJSON(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// replay serves testdata/recorded (captured from the real Prometheus by
// the integration package's TestRecordResponses) and testdata/synthetic.
func replay(t testing.TB) func(w http.ResponseWriter, req apiRequest) {
	return func(w http.ResponseWriter, req apiRequest) {
		key := recording.Key(req.path, req.query)
		for _, dir := range []string{"recorded", "synthetic"} {
			b, err := os.ReadFile(filepath.Join("testdata", dir, key+".json"))
			if err == nil {
				writeJSON(w, http.StatusOK, string(b))
				return
			}
		}
		writeJSON(w, http.StatusBadRequest, fmt.Sprintf(`{"status":"error","errorType":"bad_data","error":%q}`, "no recording for "+key))
	}
}

// recordedTruth is the simulator's state at the recording instant.
func recordedTruth(t testing.TB) (time.Time, map[sources.WorkloadID]map[sources.Metric]float64) {
	b, err := os.ReadFile(filepath.Join("testdata", "recorded", "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var samples []sources.Sample
	if err := json.Unmarshal(b, &samples); err != nil {
		t.Fatal(err)
	}
	out := map[sources.WorkloadID]map[sources.Metric]float64{}
	for _, s := range samples {
		if out[s.ID] == nil {
			out[s.ID] = map[sources.Metric]float64{}
		}
		out[s.ID][s.Metric] = s.V
	}
	return samples[0].T, out
}

// synthetic answers every preset's queries for n workloads per preset,
// the way a server would: one series per workload and column.
func synthetic(n int) func(w http.ResponseWriter, req apiRequest) {
	return syntheticMix(map[string]int{"kube": n, "container": n, "istio": n, "gateway": n, "kn": n,
		"autoscaler": n, "revision": n, "aws": n, "stackdriver": n})
}

// syntheticMix answers with counts[exporter] workloads per query. The
// Kubernetes exporters (kube, container, istio) share workload names, as
// they describe the same Deployments. Answers are cached per query.
func syntheticMix(counts map[string]int) func(w http.ResponseWriter, req apiRequest) {
	var mu sync.Mutex
	cache := map[string]string{}
	return func(w http.ResponseWriter, req apiRequest) {
		if strings.Contains(req.path, "/label/") {
			var names []string
			for _, p := range allPresets {
				names = append(names, p.detect...)
			}
			b, _ := json.Marshal(names)
			writeJSON(w, http.StatusOK, `{"status":"success","data":`+string(b)+`}`)
			return
		}
		mu.Lock()
		body, ok := cache[req.query]
		mu.Unlock()
		if !ok {
			body = syntheticBody(req.query, counts)
			mu.Lock()
			cache[req.query] = body
			mu.Unlock()
		}
		writeJSON(w, http.StatusOK, body)
	}
}

func syntheticBody(query string, counts map[string]int) string {
	prefix := recording.Exporter(query)
	n := counts[prefix]
	name, kind := prefix, ""
	switch prefix {
	case "kube", "container", "istio":
		name, kind = "svc", `,"workload_kind":"Deployment"`
	}
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
	first := true
	for _, tag := range recording.Tags(query) {
		for i := range n {
			if !first {
				b.WriteByte(',')
			}
			first = false
			fmt.Fprintf(&b, `{"metric":{"namespace":"ns-%d","workload":"%s-%d","perch_metric":%q%s},"value":[1700000000,"%d"]}`,
				i%20, name, i, tag, kind, 1+i%7)
		}
	}
	b.WriteString(`]}}`)
	return b.String()
}
