package serve

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

func TestRateWriterBoundsOutput(t *testing.T) {
	var out bytes.Buffer
	const rate = 100 << 10 // 100 KiB/s, 400 KiB burst
	w := newRateWriter(context.Background(), &out, rate)
	start := time.Now()
	// The burst goes at once, the next 60 KiB take ~0.6 s.
	if _, err := w.Write(make([]byte, 4*rate+60<<10)); err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	if d < 500*time.Millisecond || d > 3*time.Second {
		t.Errorf("460 KiB at 100 KiB/s with a 400 KiB burst took %s, want ~0.6 s", d)
	}
	if out.Len() != 4*rate+60<<10 || w.Written() != int64(out.Len()) {
		t.Errorf("wrote %d, counted %d", out.Len(), w.Written())
	}
}

func TestRateWriterStopsWithSession(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	w := newRateWriter(ctx, &out, 1000)
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err := w.Write(make([]byte, 20000)) // 20 s worth
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %s, want canceled promptly", err, time.Since(start))
	}
}

func TestRateWriterUnbounded(t *testing.T) {
	var out bytes.Buffer
	w := newRateWriter(context.Background(), &out, -1)
	start := time.Now()
	// 1 MiB: a bounded writer would need 17 minutes at 1000 B/s.
	if _, err := w.Write(make([]byte, 1<<20)); err != nil || time.Since(start) > 5*time.Second {
		t.Fatalf("unbounded write: %v after %s", err, time.Since(start))
	}
}
