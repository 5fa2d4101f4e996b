package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources/prometheus"
	"github.com/perch-dev/perch/sources/prometheus/internal/recording"
)

// TestRecordResponses refreshes ../testdata/recorded/ (the unit tests'
// replayed responses) from the real server when PERCH_RECORD=1.
func TestRecordResponses(t *testing.T) {
	if os.Getenv("PERCH_RECORD") != "1" {
		t.Log("set PERCH_RECORD=1 to re-record ../testdata/recorded from the real server")
		return
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "testdata", "recorded")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(env.url)
	var mu sync.Mutex
	index := map[string]string{}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		form, _ := url.ParseQuery(string(body))
		q := form.Get("query")
		if q == "" {
			q = r.URL.Query().Get("query")
		}
		req, _ := http.NewRequest(r.Method, target.String()+r.URL.Path+"?"+r.URL.RawQuery, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		req.Header.Del("Accept-Encoding")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		key := recording.Key(r.URL.Path, q)
		var pretty bytes.Buffer
		if json.Indent(&pretty, out, "", " ") == nil {
			out2 := append(pretty.Bytes(), '\n')
			if err := os.WriteFile(filepath.Join(dir, key+".json"), out2, 0o644); err != nil {
				t.Error(err)
			}
		}
		mu.Lock()
		index[key] = q
		mu.Unlock()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(out)
	}))
	defer proxy.Close()
	src, err := prometheus.New(prometheus.Config{URL: proxy.URL, Cluster: cluster, Clock: func() time.Time { return env.evalAt }})
	if err != nil {
		t.Fatal(err)
	}
	u := src.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	var keys []string
	for k := range index {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "\n\t" + index[k] + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "QUERIES.txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The simulator's ground truth at the same instant, for the unit tests.
	truth, _ := json.MarshalIndent(env.sim.At(env.evalAt), "", " ")
	if err := os.WriteFile(filepath.Join(dir, "truth.json"), truth, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d responses at %s into %s", len(index), env.evalAt, dir)
}
