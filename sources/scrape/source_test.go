package scrape

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
)

func TestQuantileInterpolatesLikeHistogramQuantile(t *testing.T) {
	bs := []bucket{{0.1, 10}, {0.5, 60}, {1, 90}, {math.Inf(1), 100}}
	cases := []struct{ q, want float64 }{
		{0.05, 0.05},               // first bucket, from 0: 5/10 of 0.1
		{0.5, 0.1 + 0.4*(40.0/50)}, // rank 50 in (0.1, 0.5]
		{0.9, 1},                   // exactly the top of (0.5, 1]
		{0.95, 1},                  // in +Inf: highest finite bound
	}
	for _, c := range cases {
		if got := quantile(c.q, bs); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if v := quantile(0.5, []bucket{{1, 5}}); !math.IsNaN(v) {
		t.Errorf("no +Inf bucket: %v, want NaN", v)
	}
	if v := quantile(0.5, []bucket{{1, 0}, {math.Inf(1), 0}}); !math.IsNaN(v) {
		t.Errorf("no observations: %v, want NaN", v)
	}
	// Non-monotonic counts (scraped mid-update) are forced monotonic.
	if v := quantile(0.5, []bucket{{1, 10}, {2, 8}, {math.Inf(1), 10}}); math.IsNaN(v) || v > 1 {
		t.Errorf("non-monotonic: %v", v)
	}
}

func TestIncreaseHandlesCounterReset(t *testing.T) {
	w := newWindow(1, time.Hour, 10)
	t0 := time.Unix(1000, 0)
	for i, v := range []float64{100, 110, 5, 15} { // reset after 110
		w.add(0, t0.Add(time.Duration(i)*15*time.Second), []Point{{Name: "c_total", Value: v}})
	}
	var s *series
	for _, x := range w.series {
		s = x
	}
	if got := s.increase(w); got != 10+5+10 {
		t.Errorf("increase = %v, want 25 (a drop is a reset: the new value is all growth)", got)
	}
	c := computer{w: w}
	if r, ok := c.rate(s); !ok || math.Abs(r-25.0/45) > 1e-12 {
		t.Errorf("rate = %v %v, want %v", r, ok, 25.0/45)
	}
}

func TestSeriesBornInWindowCountsFromZero(t *testing.T) {
	w := newWindow(1, time.Hour, 10)
	t0 := time.Unix(1000, 0)
	w.add(0, t0, []Point{{Name: "a", Value: 1}})
	w.add(0, t0.Add(15*time.Second), []Point{{Name: "a", Value: 1}, {Name: "new_total", Value: 7}})
	w.add(0, t0.Add(30*time.Second), []Point{{Name: "a", Value: 1}, {Name: "new_total", Value: 9}})
	for _, s := range w.series {
		if s.name == "new_total" && s.increase(w) != 9 {
			t.Errorf("new counter increase = %v, want 9 (it started from zero after the first scrape)", s.increase(w))
		}
	}
}

func TestParseRejectsGarbageClearly(t *testing.T) {
	for _, in := range []string{
		"<html><body>login</body></html>",
		"metric{label=\"unterminated} 1\n",
		"metric 1 2 3 4\n",
		"# TYPE x histogram\nx_bucket{le=\"abc\"} 1\n",
	} {
		pts, err := Parse(strings.NewReader(in))
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, pts)
			continue
		}
		if !strings.Contains(err.Error(), "parse exposition") {
			t.Errorf("error %q does not say what failed", err)
		}
	}
}

func TestParseFlattensHistograms(t *testing.T) {
	in := "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 4\nh_count 3\ng{a=\"b\"} 5\n"
	pts, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, p := range pts {
		got[p.Name+"/"+p.Labels["le"]+p.Labels["a"]] = p.Value
	}
	want := map[string]float64{"h_bucket/1": 2, "h_bucket/+Inf": 3, "h_sum/": 4, "h_count/": 3, "g/b": 5}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

const kubeText = `# TYPE kube_deployment_spec_replicas gauge
kube_deployment_spec_replicas{namespace="shop",deployment="web"} 3
`

func TestFailingTargetIsNamedAndOthersFlow(t *testing.T) {
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, kubeText) }))
	defer good.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream exploded", http.StatusServiceUnavailable)
	}))
	defer bad.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close() // nothing listens any more
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>{{{") }))
	defer garbage.Close()

	src, err := New(Config{Targets: []string{good.URL, bad.URL, downURL, garbage.URL}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	u := src.Poll(context.Background())
	var pe *PartialError
	if !errors.As(u.Err, &pe) || pe.OK != 1 || len(pe.Errs) != 3 {
		t.Fatalf("err = %v, want 3 of 4 targets failed", u.Err)
	}
	msg := u.Err.Error()
	for _, want := range []string{bad.URL, "503", "upstream exploded", downURL, garbage.URL, "parse exposition"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if v := index(u.Samples)[sources.WorkloadID{Namespace: "shop", Name: "web"}][sources.ReplicasDesired]; v != 3 {
		t.Errorf("good target's data missing: desired = %v", v)
	}
}

func TestTokenFileIsSentButNeverInErrors(t *testing.T) {
	dir := t.TempDir()
	tokFile := dir + "/token"
	if err := writeFile(tokFile, "s3cret-token\n"); err != nil {
		t.Fatal(err)
	}
	var gotAuth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("X-Tenant"))
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	defer srv.Close()
	target := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1)
	src, err := New(Config{Targets: []string{target}, BearerTokenFile: tokFile, Headers: map[string]string{"X-Tenant": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	u := src.Poll(context.Background())
	if gotAuth.Load() != "Bearer s3cret-token|a" {
		t.Errorf("headers = %v", gotAuth.Load())
	}
	if u.Err == nil || strings.Contains(u.Err.Error(), "s3cret") || strings.Contains(u.Err.Error(), "hunter2") || !strings.Contains(u.Err.Error(), "403") {
		t.Errorf("err = %v: want a 403 without secrets", u.Err)
	}
}

func TestMaxSeriesCapsAndSaysSo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 50 {
			fmt.Fprintf(w, "kube_deployment_spec_replicas{namespace=\"n\",deployment=\"d%d\"} 1\n", i)
		}
	}))
	defer srv.Close()
	src, err := New(Config{Targets: []string{srv.URL}, MaxSeries: 20})
	if err != nil {
		t.Fatal(err)
	}
	u := src.Poll(context.Background())
	if u.Err == nil || !strings.Contains(u.Err.Error(), "max_series=20") || !strings.Contains(u.Err.Error(), "30 new series dropped") {
		t.Fatalf("err = %v, want the cap reported", u.Err)
	}
	if len(u.Workloads) != 20 {
		t.Errorf("%d workloads, want 20 (capped)", len(u.Workloads))
	}
	var pe *PartialError
	if !errors.As(u.Err, &pe) || pe.OK != 1 {
		t.Errorf("a capped round must be soft (data flowed): %#v", u.Err)
	}
}

func TestConfigChecks(t *testing.T) {
	for _, c := range []Config{
		{},
		{Targets: []string{"not a url"}},
		{Targets: []string{"ftp://x/metrics"}},
		{Targets: []string{"http://x/metrics"}, Window: 10 * time.Second},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	s, err := New(Config{Targets: []string{"http://x/metrics"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Interval != DefaultInterval || s.cfg.Timeout != DefaultTimeout || s.cfg.Window != DefaultWindow || s.cfg.MaxSeries != DefaultMaxSeries || s.Name() != "scrape" {
		t.Errorf("defaults not applied: %+v", s.cfg)
	}
}

func TestRunRetriesAndStopsWithContext(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			http.Error(w, "boom", 500)
			return
		}
		fmt.Fprint(w, kubeText)
	}))
	defer srv.Close()
	src, err := New(Config{Targets: []string{srv.URL}, Interval: 20 * time.Millisecond, Window: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make(chan sources.Update)
	done := make(chan error)
	go func() { done <- src.Run(ctx, out) }()
	if u := <-out; u.Err == nil {
		t.Errorf("first round should fail")
	}
	if u := <-out; u.Err != nil || len(u.Workloads) != 1 {
		t.Errorf("second round: err %v, %d workloads", u.Err, len(u.Workloads))
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}
