package tui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/sim"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/views/overview"
)

// countingTerminal is bubbletea's renderer path without a program: the
// frame is drawn into a cell buffer and the terminal renderer writes the
// difference to the last frame, here into a byte count.
type countingTerminal struct {
	cells uv.ScreenBuffer
	scr   *uv.TerminalRenderer
	n     int
}

func (w *countingTerminal) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// newCountingTerminal is a width×height alternate screen of a 256-colour
// tmux, the terminal of the scale benchmark (make bench-scale).
func newCountingTerminal(width, height int) *countingTerminal {
	t := &countingTerminal{cells: uv.NewScreenBuffer(width, height)}
	t.scr = uv.NewTerminalRenderer(t, []string{"TERM=tmux-256color"})
	t.scr.SetColorProfile(colorprofile.ANSI256)
	t.scr.SetFullscreen(true)
	t.scr.SetRelativeCursor(false)
	t.scr.Resize(width, height)
	t.scr.Erase()
	return t
}

// draw writes frame and returns the bytes it cost.
func (t *countingTerminal) draw(tb testing.TB, frame string) int {
	before := t.n
	t.cells.Clear()
	uv.NewStyledString(frame).Draw(t.cells, t.cells.Bounds())
	t.scr.Render(t.cells.RenderBuffer)
	if err := t.scr.Flush(); err != nil {
		tb.Fatal(err)
	}
	return t.n - before
}

// BenchmarkRefreshBytes is what one data refresh costs on the wire while
// nobody types: the demo's 1,500 workloads (Kubernetes and functions)
// with an hour of history (full sparklines), 200×60, one store round
// every 15 s (the default refresh), the header clock ticking every
// second in between. Deterministic (fixed seed and clock), so a change to
// the layout or the styles shows as a change of B/refresh. Reported per
// round and per second; the scale benchmark's target is ≤ 1 KB/s.
//
// by-cost is the default sort, where the demo's noisy costs reorder about
// half the visible rows each round (a moved row is rewritten whole);
// by-name keeps the order, so only changed values are written.
func BenchmarkRefreshBytes(b *testing.B) {
	b.Run("by-cost", func(b *testing.B) { benchRefreshBytes(b, overview.ColCost) })
	b.Run("by-name", func(b *testing.B) { benchRefreshBytes(b, overview.ColName) })
}

func benchRefreshBytes(b *testing.B, sortBy overview.Column) {
	const rounds, refresh = 20, 15 * time.Second
	clock := now
	s, err := sim.New(sim.Config{Seed: 1, Workloads: 1500, Start: now.Truncate(24 * time.Hour), Clock: func() time.Time { return clock }})
	if err != nil {
		b.Fatal(err)
	}
	st := store.New()
	st.Apply(sources.Update{Source: s.Name(), At: clock, Workloads: s.Workloads(), Full: true})
	for t := clock.Add(-time.Hour); !t.After(clock); t = t.Add(refresh) {
		st.Apply(sources.Update{Source: s.Name(), At: t, Samples: s.At(t)})
	}
	m, err := New(Config{Store: st, ThemeName: "dark", Refresh: refresh, Clock: func() time.Time { return clock }})
	if err != nil {
		b.Fatal(err)
	}
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	m.Update(storeChangedMsg{})
	for i := 0; i < 30; i++ {
		if col, _ := m.overview.Sort(); col == sortBy {
			break
		}
		m.Update(press("s"))
	}
	if col, _ := m.overview.Sort(); col != sortBy {
		b.Fatalf("sorted by %v, want %v", col, sortBy)
	}
	term := newCountingTerminal(200, 60)
	term.draw(b, m.Render())

	var refreshBytes, clockBytes int
	for b.Loop() {
		for range rounds {
			// The clock ticks 14 times, then the round lands.
			for range 14 {
				clock = clock.Add(time.Second)
				m.Update(tickMsg{})
				clockBytes += term.draw(b, m.Render())
			}
			clock = clock.Add(time.Second)
			st.Apply(sources.Update{Source: s.Name(), At: clock, Samples: s.At(clock)})
			m.Update(storeChangedMsg{})
			refreshBytes += term.draw(b, m.Render())
		}
	}
	perRound := float64(refreshBytes) / float64(b.N*rounds)
	perTick := float64(clockBytes) / float64(b.N*rounds*14)
	b.ReportMetric(perRound, "B/refresh")
	b.ReportMetric(perTick, "B/tick")
	b.ReportMetric((perRound+14*perTick)/refresh.Seconds(), "B/s")
}
