package jaeger

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
)

// writeV3Answer streams a valid v3 search answer with n spans of service
// svc, five per trace, about 450 bytes each.
func writeV3Answer(w io.Writer, n int, svc string, at time.Time) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	hex := func(b []byte, x uint64, width int) []byte {
		s := strconv.FormatUint(x, 16)
		for range width - len(s) {
			b = append(b, '0')
		}
		return append(b, s...)
	}
	base := at.Add(-5 * time.Minute).UnixNano()
	bw.WriteString(`{"result":{"resourceSpans":[`)
	line := make([]byte, 0, 4096)
	for tr := 0; tr*5 < n; tr++ {
		line = line[:0]
		if tr > 0 {
			line = append(line, ',')
		}
		line = append(line, `{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"`+svc+`"}}]},"scopeSpans":[{"spans":[`...)
		start := base + int64(tr)*1_000_000
		for s := range 5 {
			if s > 0 {
				line = append(line, ',')
			}
			line = append(line, `{"traceId":"`...)
			line = hex(line, uint64(tr)+1, 32)
			line = append(line, `","spanId":"`...)
			line = hex(line, uint64(tr)<<8|uint64(s)+1, 16)
			line = append(line, `","name":"POST /pay","kind":2,"startTimeUnixNano":"`...)
			line = strconv.AppendInt(line, start+int64(s)*1000, 10)
			line = append(line, `","endTimeUnixNano":"`...)
			line = strconv.AppendInt(line, start+int64(s)*1000+int64(1+tr%977)*1_000_000, 10)
			line = append(line, `","attributes":[{"key":"http.route","value":{"stringValue":"/pay/{id}/confirm"}},{"key":"http.status_code","value":{"intValue":"200"}},{"key":"user_agent.original","value":{"stringValue":"Mozilla/5.0 (X11; Linux x86_64) perch-test-padding-padding"}}],"status":{}}`...)
		}
		line = append(line, `]}]}`...)
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	bw.WriteString(`]}}`)
	return bw.Flush()
}

// heapPeak samples the heap in use every 5 ms until stop is closed.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return out
}

// TestHugeAnswerIsCapped: a search answered with 120,000 spans (about
// 55 MB, under the 64 MiB body cap) is read as a stream and stopped at
// max_spans, with an error that says so; the heap stays far below the
// answer's size. Before, the answer was read and decoded whole, twice
// (the server ignored num_traces, so the slowest were refined): 17 s and
// +369 MiB of heap without -race, and 50 traces shown as if complete.
func TestHugeAnswerIsCapped(t *testing.T) {
	now := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v3/services" {
			io.WriteString(w, `{"services":["payments"]}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = writeV3Answer(w, 120_000, "payments", now)
	}))
	defer srv.Close()
	s := newSource(t, srv.URL, func(c *Config) { c.Timeout = time.Minute; c.MaxSpans = 20_000 })
	if _, err := s.API(context.Background()); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	stop := make(chan struct{})
	peak := heapPeak(stop)
	start := time.Now()
	trs, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID, Start: now.Add(-time.Hour), End: now, Limit: 50})
	took := time.Since(start)
	close(stop)
	grew := int64(<-peak) - int64(base)
	t.Logf("%d traces, err %v, in %v; heap grew by %d MiB", len(trs), err, took.Round(time.Millisecond), grew>>20)
	if err == nil || !strings.HasPrefix(err.Error(), "jaeger: more than 20000 spans: ") || !strings.Contains(err.Error(), "(max_spans)") {
		t.Fatalf("want the span cap named, got %d traces, %v", len(trs), err)
	}
	if grew > 64<<20 {
		t.Errorf("the heap grew by %d MiB for a capped answer", grew>>20)
	}
}
