package faultmatrix

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/faultproxy"
	"github.com/perch-dev/perch/sources/prometheus"
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

// secretToken is the Prometheus source's bearer token: it must never
// appear in an error, the store's health or a frame.
const secretToken = "perch-matrix-secret-7c1d9e"

type pipelineConfig struct {
	Timeout, Refresh time.Duration
	MaxSeries        int
	Presets          []string // empty: detected from the server, as by default
	Width, Height    int      // of the UI; 0: no UI
}

// startPipeline runs the Prometheus source against the server behind a
// fault proxy.
func startPipeline(t testing.TB, cfg pipelineConfig) *pipeline {
	t.Helper()
	be := promReplay(t)
	ctx, cancel := context.WithCancel(context.Background())
	px, err := faultproxy.Start(ctx, strings.TrimPrefix(be.URL, "http://"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	src, err := prometheus.New(prometheus.Config{URL: px.URL(), Timeout: cfg.Timeout, Refresh: cfg.Refresh, MaxSeries: cfg.MaxSeries,
		Presets: cfg.Presets, Cluster: "demo", BearerToken: secretToken})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return startFeeding(t, ctx, cancel, px, src, src.Queries, cfg.Refresh, cfg.Timeout, cfg.Width, cfg.Height)
}
