package influxfeed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// FeedConfig configures Feed.
type FeedConfig struct {
	Writer *Writer
	Synth  *Synth
	// History is written first, ending now (0 = none).
	History time.Duration
	// Interval between live writes (default 5s); Once stops after the history.
	Interval time.Duration
	Once     bool
	// Which data to write.
	Invocations, CloudWatch bool
	// Step of the simulator's state per invocation batch (default 15s).
	Step  time.Duration
	Clock func() time.Time
	// Log receives one line per write phase (nil = silent).
	Log io.Writer
}

// historyChunk bounds the invocations held in memory while writing history.
const historyChunk = 10 * time.Minute

// Feed writes the history, then new data every Interval until ctx ends
// (returning nil) or a write fails.
func Feed(ctx context.Context, c FeedConfig) error {
	if c.Writer == nil || c.Synth == nil {
		return errors.New("influxfeed: Writer and Synth are required")
	}
	if !c.Invocations && !c.CloudWatch {
		return errors.New("influxfeed: nothing to write (enable invocations and/or cloudwatch)")
	}
	if c.Interval <= 0 {
		c.Interval = 5 * time.Second
	}
	if c.Step <= 0 {
		c.Step = 15 * time.Second
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	logf := func(format string, args ...any) {
		if c.Log != nil {
			fmt.Fprintf(c.Log, format+"\n", args...)
		}
	}
	now := c.Clock()
	invCursor := now
	cwCursor := now.Truncate(time.Minute)
	if c.History > 0 {
		t0 := time.Now()
		from := now.Add(-c.History)
		before := c.Writer.Written
		if err := c.write(ctx, from, now, from.Truncate(time.Minute).Add(time.Minute), cwCursor); err != nil {
			return err
		}
		logf("history: %d points over %s in %s", c.Writer.Written-before, c.History, time.Since(t0).Round(time.Millisecond))
	}
	if c.Once {
		return nil
	}
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now = c.Clock()
		cwTo := now.Truncate(time.Minute)
		before := c.Writer.Written
		if err := c.write(ctx, invCursor, now, cwCursor, cwTo); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		invCursor, cwCursor = now, later(cwCursor, cwTo)
		logf("%s: %d points", now.Format(time.TimeOnly), c.Writer.Written-before)
	}
}

// write writes invocations in [from, to) and CloudWatch minutes in [cwFrom, cwTo).
func (c FeedConfig) write(ctx context.Context, from, to, cwFrom, cwTo time.Time) error {
	if c.Invocations {
		for t := from; t.Before(to); t = t.Add(historyChunk) {
			end := earlier(t.Add(historyChunk), to)
			if err := c.Writer.WriteInvocations(ctx, c.Synth.Invocations(t, end, c.Step)); err != nil {
				return err
			}
		}
	}
	if c.CloudWatch && cwFrom.Before(cwTo) {
		if err := c.Writer.WriteCloudWatch(ctx, c.Synth.CloudWatch(cwFrom, cwTo)); err != nil {
			return err
		}
	}
	return nil
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
