package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/perch-dev/perch/sources"
)

// Feed runs src until ctx ends, applying everything it emits to the store.
// If Run returns early with an error, the error is recorded as the
// source's health and Run is restarted after a capped, jittered backoff,
// so a crashing backend never takes the dashboard down with it.
func (s *Store) Feed(ctx context.Context, src sources.Source) {
	ch := make(chan sources.Update, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case u := <-ch:
				if u.Source == "" {
					u.Source = src.Name()
				}
				s.Apply(u)
			case <-ctx.Done():
				return
			}
		}
	}()
	restarts := 0
	for {
		started := time.Now()
		err := runSafely(ctx, src, ch)
		if time.Since(started) > time.Minute {
			restarts = 0 // it ran well for a while: the next failure starts over
		}
		if ctx.Err() != nil {
			break
		}
		if err == nil {
			err = errors.New("source stopped")
		}
		s.Apply(sources.Update{Source: src.Name(), At: time.Now(), Err: fmt.Errorf("%s: %w (restarting)", src.Name(), err)})
		restarts++
		select {
		case <-time.After(sources.Backoff(restarts, time.Second, time.Minute)):
		case <-ctx.Done():
		}
	}
	<-done
}

// runSafely turns a panic inside a source into an error.
func runSafely(ctx context.Context, src sources.Source, ch chan<- sources.Update) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return src.Run(ctx, ch)
}
