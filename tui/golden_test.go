package tui

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
)

// TestGoldenFrames pins whole frames (header, page, footer) at the three
// reference sizes, in both themes, for overview and detail.
func TestGoldenFrames(t *testing.T) {
	for _, theme := range []string{"dark", "light"} {
		for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
			for _, page := range []string{"overview", "detail"} {
				name := fmt.Sprintf("%s_%s_%dx%d", page, theme, sz[0], sz[1])
				t.Run(name, func(t *testing.T) {
					st := store.New()
					fill(st)
					m, err := New(Config{Store: st, Sources: []sources.Source{&fakeSource{}}, ThemeName: theme, Clock: func() time.Time { return now }})
					if err != nil {
						t.Fatal(err)
					}
					send(m, windowSize(sz[0], sz[1]))
					if page == "detail" {
						cmd := send(m, press("enter"))
						send(m, cmd())
					}
					got := m.Render()
					golden.CheckFrame(t, got, sz[0], sz[1])
					golden.Assert(t, name, got)
				})
			}
		}
	}
}

// TestGoldenStates pins the waiting, failing and too-small frames.
func TestGoldenStates(t *testing.T) {
	clock := func() time.Time { return now }
	waiting, _ := New(Config{Store: store.New(), Sources: []sources.Source{&fakeSource{}}, ThemeName: "dark", Clock: clock})
	send(waiting, windowSize(80, 24))
	golden.Assert(t, "waiting_80x24", waiting.Render())

	st := store.New()
	st.Apply(sources.Update{Source: "fake", At: now.Add(-time.Minute), Err: errors.New("Get \"http://127.0.0.1:9090/api/v1/query\": dial tcp 127.0.0.1:9090: connect: connection refused")})
	down, _ := New(Config{Store: st, Sources: []sources.Source{&fakeSource{}}, ThemeName: "dark", Clock: clock})
	send(down, windowSize(120, 24))
	golden.Assert(t, "source_down_120x24", down.Render())

	small, _ := New(Config{Store: st, ThemeName: "dark", Clock: clock})
	send(small, windowSize(50, 10))
	golden.Assert(t, "too_small_50x10", small.Render())
}
