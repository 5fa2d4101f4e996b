package serve

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// burstSeconds is how much unused rate a session may save up: enough for
// a full repaint of a large terminal without waiting.
const burstSeconds = 4

// rateWriter bounds a session's output with a token bucket. A write that
// exceeds the bucket waits (the renderer then coalesces frames) until
// tokens accrue or ctx ends.
type rateWriter struct {
	ctx     context.Context
	w       io.Writer
	rate    float64 // bytes per second; 0 = unbounded
	burst   float64
	mu      sync.Mutex
	tokens  float64
	last    time.Time
	written atomic.Int64
}

// newRateWriter bounds w to rate bytes per second; rate <= 0 is unbounded.
func newRateWriter(ctx context.Context, w io.Writer, rate int) *rateWriter {
	r := &rateWriter{ctx: ctx, w: w, last: time.Now()}
	if rate > 0 {
		r.rate = float64(rate)
		r.burst = r.rate * burstSeconds
		r.tokens = r.burst
	}
	return r
}

// Written is the number of bytes passed on so far.
func (r *rateWriter) Written() int64 { return r.written.Load() }

func (r *rateWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0
	for len(p) > 0 {
		chunk := len(p)
		if r.rate > 0 {
			chunk = min(chunk, int(r.burst))
			if err := r.take(chunk); err != nil {
				return total, err
			}
		}
		n, err := r.w.Write(p[:chunk])
		total += n
		r.written.Add(int64(n))
		if err != nil {
			return total, err
		}
		p = p[chunk:]
	}
	return total, nil
}

// take waits until n tokens are available and spends them.
func (r *rateWriter) take(n int) error {
	now := time.Now()
	r.tokens = min(r.burst, r.tokens+now.Sub(r.last).Seconds()*r.rate)
	r.last = now
	need := float64(n) - r.tokens
	if need <= 0 {
		r.tokens -= float64(n)
		return nil
	}
	wait := time.Duration(need / r.rate * float64(time.Second))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	r.tokens, r.last = 0, now.Add(wait)
	return nil
}
