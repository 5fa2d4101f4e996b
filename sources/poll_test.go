package sources

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoffGrowsCapsAndJitters(t *testing.T) {
	for n := 1; n <= 12; n++ {
		want := min(time.Second<<(n-1), time.Minute)
		for i := 0; i < 50; i++ {
			d := Backoff(n, time.Second, time.Minute)
			if d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", n, d, want/2, want)
			}
		}
	}
}

func TestPollerBacksOffOnHardErrorsOnly(t *testing.T) {
	soft := errors.New("warning")
	var times []time.Time
	results := []error{nil, soft, errors.New("down"), errors.New("down"), nil}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Update, len(results))
	p := Poller{Interval: 200 * time.Millisecond, BackoffBase: 20 * time.Millisecond, BackoffMax: time.Second,
		Soft: func(err error) bool { return errors.Is(err, soft) }}
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, out, func(context.Context) Update {
			times = append(times, time.Now())
			err := results[len(times)-1]
			if len(times) == len(results) {
				cancel()
			}
			return Update{Err: err}
		})
	}()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	gap := func(i int) time.Duration { return times[i+1].Sub(times[i]) }
	if gap(0) < 190*time.Millisecond || gap(1) < 190*time.Millisecond {
		t.Fatalf("ok and soft rounds must keep the interval: %v %v", gap(0), gap(1))
	}
	// The first retry comes soon (base 20 ms, jittered), the next later.
	if gap(2) > 150*time.Millisecond || gap(3) < 19*time.Millisecond {
		t.Fatalf("hard failures must retry on the backoff schedule: %v then %v", gap(2), gap(3))
	}
}
