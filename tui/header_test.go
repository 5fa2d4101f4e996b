package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/sources"
)

// headerLine is the first line of the frame, without colours.
func headerLine(m *Model) string {
	return strings.SplitN(ansi.Strip(m.Render()), "\n", 2)[0]
}

func TestHeaderSaysWhenOnlyWhenItMatters(t *testing.T) {
	clock := now
	m, st := newTestModel(t, &fakeSource{}, 160, 30)
	m.cfg.Clock = func() time.Time { return clock }

	// Healthy: no "Ns ago" that would redraw every second.
	clock = now.Add(5 * time.Second)
	send(m, tickMsg(clock))
	if h := headerLine(m); !strings.Contains(h, "● fake ok") || strings.Contains(h, "ago") {
		t.Fatalf("healthy header: %q", h)
	}
	// Silent for more than three refreshes: stale, and since when.
	clock = now.Add(2 * time.Minute)
	send(m, tickMsg(clock))
	if h := headerLine(m); !strings.Contains(h, "◌ fake stale 2m ago") {
		t.Fatalf("late source header: %q", h)
	}
	// Failing: the cause and since when.
	st.Apply(sources.Update{Source: "fake", At: now.Add(90 * time.Second), Err: errors.New("connection refused")})
	send(m, storeChangedMsg{})
	if h := headerLine(m); !strings.Contains(h, "✖ fake degraded since 30s ago: connection refused") {
		t.Fatalf("failing source header: %q", h)
	}
	// A permanent limit: the rows stay fresh, the header says what is missing.
	st.Apply(sources.Update{Source: "fake", At: now.Add(2 * time.Minute), Complete: true, Partial: errors.New("nodes is forbidden")})
	send(m, storeChangedMsg{})
	if h := headerLine(m); !strings.Contains(h, "● fake ok ◐ partial: nodes is forbidden") {
		t.Fatalf("partial source header: %q", h)
	}
}
