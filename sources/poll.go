package sources

import (
	"context"
	"math/rand/v2"
	"time"
)

// Poller is the loop every polling backend shares: one round per
// Interval, and after a failed round a capped exponential backoff with
// jitter, so a broken server is not hammered and recovery is automatic.
type Poller struct {
	Interval time.Duration
	// BackoffBase and BackoffMax bound the wait after failures (defaults
	// 1 s and 1 min, never shorter than Interval allows).
	BackoffBase, BackoffMax time.Duration
	// Soft reports errors that still came with data (warnings, partial
	// rounds): they are shown but do not slow polling down.
	Soft func(error) bool
}

// Run sends poll's Update every round until ctx ends, then returns
// ctx.Err(). It never closes out.
func (p Poller) Run(ctx context.Context, out chan<- Update, poll func(context.Context) Update) error {
	base, ceiling := p.BackoffBase, p.BackoffMax
	if base <= 0 {
		base = time.Second
	}
	if ceiling <= 0 {
		ceiling = time.Minute
	}
	base, ceiling = min(base, p.Interval), max(ceiling, p.Interval)
	fails := 0
	for {
		u := poll(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case out <- u:
		case <-ctx.Done():
			return ctx.Err()
		}
		wait := p.Interval
		if u.Err != nil && (p.Soft == nil || !p.Soft(u.Err)) {
			fails++
			wait = Backoff(fails, base, ceiling)
		} else {
			fails = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Backoff is base·2^(n-1) capped at ceiling, with jitter in [d/2, d].
func Backoff(n int, base, ceiling time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}
