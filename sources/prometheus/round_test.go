package prometheus

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
)

// newHangServer never answers a request: each waits until the client gives
// up, like a server whose query engine is stuck.
func newHangServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: only then does net/http watch the
		// connection and cancel the context when the client gives up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A hung server is reported within about one timeout, not after every wave
// of queued queries timed out in turn (finding P1).
func TestHungServerIsReportedWithinOneTimeout(t *testing.T) {
	const timeout = 400 * time.Millisecond
	s := newTestSource(t, newHangServer(t), func(c *Config) {
		c.Presets = []string{"kubernetes"} // 4 queries, no detection call
		c.MaxConcurrency = 1               // 4 waves of timeouts before the fix
		c.Timeout = timeout
	})
	start := time.Now()
	u := s.Poll(context.Background())
	took := time.Since(start)
	if u.Err == nil {
		t.Fatal("no error from a hung server")
	}
	if took > 2*timeout {
		t.Fatalf("round took %s against a hung server, want about the timeout (%s)", took.Round(time.Millisecond), timeout)
	}
	if n := strings.Count(u.Err.Error(), "timed out after 400ms"); n != 4 {
		t.Fatalf("%d of 4 queries say they timed out after the timeout: %v", n, u.Err)
	}
	if len(u.Workloads) != 0 || u.Full {
		t.Fatalf("failed round carried data: %d workloads, full %v", len(u.Workloads), u.Full)
	}
}

// When an input of cost fails for a round, cost is not recomputed from the
// queries that answered: no cost sample is sent, so the store keeps the
// last good value while the error marks the rows stale (finding P2).
func TestCostIsNotRecomputedWhenAnInputFailed(t *testing.T) {
	var failUsage atomic.Bool
	ok := synthetic(3)
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		if failUsage.Load() && strings.Contains(req.query, "container_cpu_usage_seconds_total") {
			writeJSON(w, http.StatusInternalServerError, `{"status":"error","errorType":"internal","error":"query timed out in expression evaluation"}`)
			return
		}
		ok(w, req)
	})
	s := newTestSource(t, f.URL, func(c *Config) { c.Presets = []string{"kubernetes"} })
	costs := func(u sources.Update) (n int) {
		for _, smp := range u.Samples {
			if smp.Metric == sources.CostRate {
				n++
			}
		}
		return n
	}
	if u := s.Poll(context.Background()); u.Err != nil || costs(u) == 0 {
		t.Fatalf("healthy round: err %v, %d cost samples", u.Err, costs(u))
	}
	failUsage.Store(true)
	u := s.Poll(context.Background())
	if u.Err == nil || !strings.Contains(u.Err.Error(), "kube_usage") {
		t.Fatalf("failed usage query not reported: %v", u.Err)
	}
	if n := costs(u); n != 0 {
		t.Fatalf("%d cost samples computed without the usage query", n)
	}
	requests := 0
	for _, smp := range u.Samples {
		if smp.Metric == sources.CPURequest {
			requests++
		}
	}
	if requests == 0 || u.Full {
		t.Fatalf("answered queries must still deliver: %d cpu request samples, full %v", requests, u.Full)
	}
}

// Errors lead with a short cause, so a narrow header shows it (finding P4).
func TestErrorsLeadWithTheCause(t *testing.T) {
	l := httptest.NewServer(http.NotFoundHandler())
	down := l.URL
	l.Close()
	s := newTestSource(t, down, func(c *Config) { c.Presets = []string{"kubernetes"}; c.Timeout = time.Second })
	if u := s.Poll(context.Background()); u.Err == nil || !strings.HasPrefix(u.Err.Error(), "connection refused: query ") {
		t.Fatalf("refused: %v", u.Err)
	}
	if err := s.CheckHealth(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "connection refused: ") {
		t.Fatalf("refused health check: %v", err)
	}

	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	})
	s = newTestSource(t, f.URL, func(c *Config) { c.Presets = []string{"kubernetes"} })
	if u := s.Poll(context.Background()); u.Err == nil || !strings.HasPrefix(u.Err.Error(), "HTTP 502: query ") {
		t.Fatalf("502: %v", u.Err)
	}

	// The transport's response-header timeout must not win over the
	// configured timeout's wording.
	const timeout = 300 * time.Millisecond
	s = newTestSource(t, newHangServer(t), func(c *Config) { c.Presets = []string{"kubernetes"}; c.Timeout = timeout })
	for range 3 {
		u := s.Poll(context.Background())
		for _, line := range strings.Split(u.Err.Error(), "\n") {
			if !strings.HasPrefix(line, "timed out after 300ms: query ") || strings.Contains(line, "awaiting response headers") {
				t.Fatalf("hang: %q", line)
			}
		}
	}
	if err := s.CheckHealth(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "timed out after 300ms: ") {
		t.Fatalf("hung health check: %v", err)
	}
}
