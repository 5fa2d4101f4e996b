package store

import (
	"context"
	"errors"
	"strings"

	"github.com/perch-dev/perch/sources"
)

// WaitFor blocks until n sources' health satisfies done, or ctx ends
// (then it returns ctx.Err()).
func (s *Store) WaitFor(ctx context.Context, n int, done func(sources.Health) bool) error {
	for {
		changed := s.Changed()
		count := 0
		for _, h := range s.Health() {
			if done(h) {
				count++
			}
		}
		if count >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Answered is WaitFor's test for one-shot output (snapshots, render): the
// source has completed a settled round or is failing, so nothing better
// is on its way soon.
func Answered(h sources.Health) bool { return h.Settled() || h.Err != nil }

// Failures joins the errors of the sources failing now ("; "), nil when
// none is.
func (s *Store) Failures() error {
	var msgs []string
	for _, h := range s.Health() {
		if h.Err != nil {
			msgs = append(msgs, h.Err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}
