package prometheus

import (
	"bytes"
	"context"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/faultproxy"
)

// hugeAnswer is a valid instant-query answer with n series of ~470 bytes
// (faultproxy's generator: 100,000 series are ~47 MB), built once.
var hugeAnswer = sync.OnceValues(func() ([]byte, error) {
	var b bytes.Buffer
	err := faultproxy.PrometheusVector(100_000, time.Unix(1_700_000_000, 0)).Write(&b)
	return b.Bytes(), err
})

// BenchmarkHugeAnswer100k is one round of the kubernetes preset (4
// queries, 4 in flight) against a server that answers every query with
// 100,000 series (~47 MB): the fault matrix's "huge 100k series" row
// without the proxy. heap-peak-MB is the largest growth of the live heap
// during a round (sampled every 5 ms), B/op what the round allocated.
func BenchmarkHugeAnswer100k(b *testing.B) {
	body, err := hugeAnswer()
	if err != nil {
		b.Fatal(err)
	}
	for _, maxSeries := range []int{200, DefaultMaxSeries} {
		b.Run("max_series="+strconv.Itoa(maxSeries), func(b *testing.B) {
			f := newFake(b, func(w http.ResponseWriter, req apiRequest) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(body)
			})
			s := newTestSource(b, f.URL, func(c *Config) {
				c.Presets = []string{"kubernetes"}
				c.MaxSeries = maxSeries
				c.Timeout = 5 * time.Minute // measure the decoding, not the timeout
			})
			ctx := context.Background()
			runtime.GC()
			base := heapInUse()
			stop := make(chan struct{})
			peak := sampleHeapPeak(stop, 5*time.Millisecond)
			workloads := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				u := s.Poll(ctx)
				if u.Err == nil {
					b.Fatal("a 100k-series answer was not capped")
				}
				workloads = len(u.Workloads)
			}
			b.StopTimer()
			close(stop)
			if pk := <-peak; pk > base {
				b.ReportMetric(float64(pk-base)/(1<<20), "heap-peak-MB")
			} else {
				b.ReportMetric(0, "heap-peak-MB")
			}
			b.ReportMetric(float64(workloads), "workloads")
		})
	}
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// sampleHeapPeak samples the live heap every d until stop is closed.
func sampleHeapPeak(stop <-chan struct{}, d time.Duration) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			peak = max(peak, heapInUse())
			select {
			case <-stop:
				out <- max(peak, heapInUse())
				return
			case <-t.C:
			}
		}
	}()
	return out
}
