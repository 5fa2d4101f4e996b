// Package uiloop runs perch's root model headless, the way bubbletea
// would, for tests that measure the UI while sources fail: commands on
// their own goroutines, a frame every 50 ms, a key every 100 ms, and how
// long each took. Only tests import it.
package uiloop

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/tui"
)

// Loop plays bubbletea's part for the root model: it runs the model's
// commands on their own goroutines and feeds their messages to Update,
// renders a frame every frameEvery (as the renderer would), and presses a
// key every keyEvery (the on-call user scrolling). The model is touched by
// this one goroutine only, as in a real program. It records how long every
// Update and Render took, so a fetch that blocks the UI shows up as a slow
// frame or key.
type Loop struct {
	mu      sync.Mutex
	frame   string // last frame, ANSI stripped
	updates []time.Duration
	keys    []time.Duration
	renders []time.Duration
	gaps    []time.Duration // between consecutive frames: a blocked loop shows here
	last    time.Time
	// canary gaps: a goroutine that ticks with the frames and does what
	// the UI does on a store change (read the rows), so it meets the same
	// scheduling, GC assists and store lock; when it stalls too, the
	// process stalled (GC, other matrices, a machine shared with builds),
	// not the UI loop.
	canary []time.Duration
	press  chan tea.KeyPressMsg // keys a test presses
	// pressed: when the loop took the last key pressed by the test;
	// frameAt: when the last frame was rendered.
	pressed, frameAt time.Time
	done             chan struct{}
	width            int
	height           int
}

// The loop renders every FrameEvery and presses a key every KeyEvery.
const (
	FrameEvery = 50 * time.Millisecond
	KeyEvery   = 100 * time.Millisecond
)

// Run starts the loop on m at width×height until ctx ends; busy (may
// be nil) runs on the canary goroutine at every frame tick.
func Run(ctx context.Context, m *tui.Model, width, height int, busy func()) *Loop {
	u := &Loop{done: make(chan struct{}), press: make(chan tea.KeyPressMsg), width: width, height: height}
	msgs := make(chan tea.Msg, 256)
	var cmds sync.WaitGroup
	var exec func(cmd tea.Cmd)
	exec = func(cmd tea.Cmd) {
		if cmd == nil {
			return
		}
		cmds.Add(1)
		go func() {
			defer cmds.Done()
			msg := cmd()
			if batch, ok := msg.(tea.BatchMsg); ok {
				for _, c := range batch {
					exec(c)
				}
				return
			}
			if msg == nil {
				return
			}
			select {
			case msgs <- msg:
			case <-ctx.Done():
			}
		}()
	}
	m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	exec(m.Init())
	cmds.Add(1)
	go func() {
		defer cmds.Done()
		tick := time.NewTicker(FrameEvery)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if busy != nil {
					busy()
				}
				now := time.Now()
				u.record(&u.canary, now.Sub(last))
				last = now
			}
		}
	}()
	go func() {
		defer close(u.done)
		defer cmds.Wait()
		frames := time.NewTicker(FrameEvery)
		defer frames.Stop()
		keys := time.NewTicker(KeyEvery)
		defer keys.Stop()
		down := true
		for {
			select {
			case <-ctx.Done():
				return
			case msg := <-msgs:
				t0 := time.Now()
				_, cmd := m.Update(msg)
				u.record(&u.updates, time.Since(t0))
				exec(cmd)
			case k := <-u.press:
				t0 := time.Now()
				_, cmd := m.Update(k)
				u.record(&u.keys, time.Since(t0))
				exec(cmd)
			case <-keys.C:
				k := tea.KeyPressMsg{Code: tea.KeyDown}
				if !down {
					k = tea.KeyPressMsg{Code: tea.KeyUp}
				}
				down = !down
				t0 := time.Now()
				_, cmd := m.Update(k)
				u.record(&u.keys, time.Since(t0))
				exec(cmd)
			case <-frames.C:
				t0 := time.Now()
				f := m.Render()
				d := time.Since(t0)
				u.mu.Lock()
				if !u.last.IsZero() {
					u.gaps = append(u.gaps, t0.Sub(u.last))
				}
				u.last = t0
				u.renders = append(u.renders, d)
				u.frame, u.frameAt = ansi.Strip(f), t0
				u.mu.Unlock()
			}
		}
	}()
	return u
}

func (u *Loop) record(to *[]time.Duration, d time.Duration) {
	u.mu.Lock()
	*to = append(*to, d)
	u.mu.Unlock()
}

// Press hands a key to the loop (as the terminal would) and returns once
// the loop took it, or false when the loop has stopped.
func (u *Loop) Press(k tea.KeyPressMsg) bool {
	select {
	case u.press <- k:
		u.mu.Lock()
		u.pressed = time.Now()
		u.mu.Unlock()
		return true
	case <-u.done:
		return false
	}
}

// FreshFrame is the last frame and whether it was rendered after the last
// key the test pressed took effect (Update runs before the next render).
func (u *Loop) FreshFrame() (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.frame, u.frameAt.After(u.pressed)
}

// BadShape describes how frame differs from the loop's size (every line
// exactly width cells, height lines), or "" when it fits: an error text
// with a line break in the header would push the whole page down.
func (u *Loop) BadShape(frame string) string {
	lines := strings.Split(frame, "\n")
	if len(lines) != u.height {
		return fmt.Sprintf("%d lines, want %d", len(lines), u.height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != u.width {
			return fmt.Sprintf("line %d is %d cells wide, want %d", i+1, w, u.width)
		}
	}
	return ""
}

// Frame is the last rendered frame without colours.
func (u *Loop) Frame() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.frame
}

// Timing summarises one phase of UI work.
type Timing struct {
	Frames, Keys         int
	RenderP50, RenderMax time.Duration
	KeyMax, UpdateMax    time.Duration
	GapMax               time.Duration // longest time without a frame
	StallMax             time.Duration // longest stall of the whole process
}

// Reset starts a new measuring phase and returns the previous one.
func (u *Loop) Reset() Timing {
	u.mu.Lock()
	defer u.mu.Unlock()
	t := Timing{Frames: len(u.renders), Keys: len(u.keys),
		RenderMax: maxOf(u.renders), KeyMax: maxOf(u.keys), UpdateMax: maxOf(u.updates), GapMax: maxOf(u.gaps), StallMax: maxOf(u.canary)}
	if len(u.renders) > 0 {
		s := append([]time.Duration(nil), u.renders...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		t.RenderP50 = s[len(s)/2]
	}
	u.renders, u.keys, u.updates, u.gaps, u.canary = nil, nil, nil, nil, nil
	return t
}

func maxOf(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

// Done is closed once the loop and every command it started have ended.
func (u *Loop) Done() <-chan struct{} { return u.done }

// Height is the loop's terminal height in lines.
func (u *Loop) Height() int { return u.height }

// OverviewRows counts the table rows of the last frame of the overview
// (between the two table header lines and the footer) and those marked
// stale by the "!" gutter.
func (u *Loop) OverviewRows() (shown, stale int) {
	lines := strings.Split(u.Frame(), "\n")
	if len(lines) < 5 {
		return 0, 0
	}
	for _, line := range lines[3 : len(lines)-1] {
		if strings.TrimSpace(line) == "" {
			continue
		}
		shown++
		if strings.HasPrefix(line, "!") {
			stale++
		}
	}
	return shown, stale
}
