package faultmatrix

import (
	"context"
	"sort"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/tui"
)

// uiLoop plays bubbletea's part for the root model: it runs the model's
// commands on their own goroutines and feeds their messages to Update,
// renders a frame every frameEvery (as the renderer would), and presses a
// key every keyEvery (the on-call user scrolling). The model is touched by
// this one goroutine only, as in a real program. It records how long every
// Update and Render took, so a fetch that blocks the UI shows up as a slow
// frame or key.
type uiLoop struct {
	mu      sync.Mutex
	frame   string // last frame, ANSI stripped
	updates []time.Duration
	keys    []time.Duration
	renders []time.Duration
	gaps    []time.Duration // between consecutive frames: a blocked loop shows here
	last    time.Time
	// canary gaps: a goroutine doing nothing but tick; when it stalls too,
	// the whole process stalled (GC, or a machine shared with builds),
	// not the UI loop.
	canary []time.Duration
	done   chan struct{}
}

const (
	frameEvery = 50 * time.Millisecond
	keyEvery   = 100 * time.Millisecond
)

func runUI(ctx context.Context, m *tui.Model, width, height int) *uiLoop {
	u := &uiLoop{done: make(chan struct{})}
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
		tick := time.NewTicker(frameEvery)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				now := time.Now()
				u.record(&u.canary, now.Sub(last))
				last = now
			}
		}
	}()
	go func() {
		defer close(u.done)
		defer cmds.Wait()
		frames := time.NewTicker(frameEvery)
		defer frames.Stop()
		keys := time.NewTicker(keyEvery)
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
				u.frame = ansi.Strip(f)
				u.mu.Unlock()
			}
		}
	}()
	return u
}

func (u *uiLoop) record(to *[]time.Duration, d time.Duration) {
	u.mu.Lock()
	*to = append(*to, d)
	u.mu.Unlock()
}

// Frame is the last rendered frame without colours.
func (u *uiLoop) Frame() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.frame
}

// timing summarises one phase of UI work.
type timing struct {
	Frames, Keys         int
	RenderP50, RenderMax time.Duration
	KeyMax, UpdateMax    time.Duration
	GapMax               time.Duration // longest time without a frame
	StallMax             time.Duration // longest stall of the whole process
}

// Reset starts a new measuring phase and returns the previous one.
func (u *uiLoop) Reset() timing {
	u.mu.Lock()
	defer u.mu.Unlock()
	t := timing{Frames: len(u.renders), Keys: len(u.keys),
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
