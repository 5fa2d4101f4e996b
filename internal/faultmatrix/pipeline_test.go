package faultmatrix

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/faultproxy"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/prometheus"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/tui"
)

// recordedDir holds answers captured from a real Prometheus 2.42 by
// sources/prometheus/integration (TestRecordResponses): the server
// behind the proxy replays them.
func recordedDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "sources", "prometheus", "testdata", "recorded")
}

// promReplay is the server behind the proxy: it answers every API call
// with the recorded answer of the real server, found by recordingKey.
func promReplay(t testing.TB) *httptest.Server {
	t.Helper()
	// Read them all now: a recording session rewriting the files while
	// the matrix runs must not turn into injected faults.
	files, err := filepath.Glob(filepath.Join(recordedDir(), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("recorded Prometheus answers missing in %s: %v", recordedDir(), err)
	}
	answers := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		answers[strings.TrimSuffix(filepath.Base(f), ".json")] = b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		for k, v := range r.URL.Query() {
			form[k] = append(form[k], v...)
		}
		key := recordingKey(r.URL.Path, form.Get("query"))
		w.Header().Set("Content-Type", "application/json")
		b, ok := answers[key]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":%q}`, "no recording for "+key)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var (
	tagRE      = regexp.MustCompile(`"perch_metric", "([a-z0-9_]+)"`)
	exporterRE = regexp.MustCompile(`\b(kube|container|istio|gateway|kn|autoscaler|revision|aws|stackdriver)_[a-z0-9_]+`)
)

// recordingKey names the recording for a request the way the recordings
// were named (sources/prometheus/internal/recording.Key, which this
// package may not import): API path, exporter of the first metric named,
// and the sorted perch_metric columns the query carries.
func recordingKey(path, query string) string {
	path = path[strings.LastIndex(path, "/api/v1/")+len("/api/v1/"):]
	path = strings.ReplaceAll(strings.Trim(path, "/"), "/", "_")
	if query == "" {
		return path
	}
	var tags []string
	for _, m := range tagRE.FindAllStringSubmatch(query, -1) {
		tags = append(tags, m[1])
	}
	sort.Strings(tags)
	exporter := "expr"
	if m := exporterRE.FindStringSubmatch(query); m != nil {
		exporter = m[1]
	}
	return path + "-" + exporter + "-" + strings.Join(tags, "+")
}

// secretToken is the source's bearer token: it must never appear in an
// error, the store's health or a frame.
const secretToken = "perch-matrix-secret-7c1d9e"

// pipeline is perch wired as cmd/perch wires it, with the source talking
// to the server through the fault proxy.
type pipeline struct {
	proxy   *faultproxy.Proxy
	src     *prometheus.Source
	store   *store.Store
	ui      *uiLoop   // the first UI
	uis     []*uiLoop // all of them
	ctx     context.Context
	cancel  context.CancelFunc
	refresh time.Duration
	wg      sync.WaitGroup
}

type pipelineConfig struct {
	Timeout, Refresh time.Duration
	MaxSeries        int
	Presets          []string // empty: detected from the server, as by default
	Width, Height    int      // of the UI; 0: no UI
}

func startPipeline(t testing.TB, cfg pipelineConfig) *pipeline {
	t.Helper()
	be := promReplay(t)
	ctx, cancel := context.WithCancel(context.Background())
	px, err := faultproxy.Start(ctx, strings.TrimPrefix(be.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := prometheus.New(prometheus.Config{URL: px.URL(), Timeout: cfg.Timeout, Refresh: cfg.Refresh, MaxSeries: cfg.MaxSeries,
		Presets: cfg.Presets, Cluster: "demo", BearerToken: secretToken})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New()
	p := &pipeline{proxy: px, src: src, store: st, ctx: ctx, cancel: cancel, refresh: cfg.Refresh}
	p.wg.Add(1)
	go func() { defer p.wg.Done(); st.Feed(ctx, src) }()
	if cfg.Width > 0 {
		p.ui = p.addUI(t, cfg.Width, cfg.Height)
	}
	return p
}

// addUI runs one more root model (one more terminal) on the store.
func (p *pipeline) addUI(t testing.TB, width, height int) *uiLoop {
	t.Helper()
	m, err := tui.New(tui.Config{Context: p.ctx, Store: p.store, Sources: []sources.Source{p.src}, ThemeName: "dark",
		Getenv: func(string) string { return "" }, Refresh: p.refresh})
	if err != nil {
		t.Fatal(err)
	}
	u := runUI(p.ctx, m, width, height)
	p.uis = append(p.uis, u)
	return u
}

// stop ends everything the pipeline started and waits for it.
func (p *pipeline) stop() {
	p.cancel()
	p.wg.Wait()
	for _, u := range p.uis {
		<-u.done
	}
	p.proxy.Close() // also closes the source's pooled connections
}

func (p *pipeline) health() sources.Health {
	for _, h := range p.store.Health() {
		if h.Source == p.src.Name() {
			return h
		}
	}
	return sources.Health{}
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rows is the store's overview rows by workload.
func (p *pipeline) rows() map[sources.WorkloadID]sources.Summary {
	out := map[sources.WorkloadID]sources.Summary{}
	for _, s := range p.store.Summaries(time.Now(), 0) {
		out[s.ID] = s
	}
	return out
}

// sameValues compares latest values, NaN equal to NaN.
func sameValues(a, b [sources.NumMetrics]float64) (sources.Metric, bool) {
	for m := range a {
		if a[m] != b[m] && !(math.IsNaN(a[m]) && math.IsNaN(b[m])) {
			return sources.Metric(m), false
		}
	}
	return 0, true
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// heapPeak samples the heap every 20 ms until stop is closed.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, heapInUse())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}
