package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/internal/golden"

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

func TestHeaderKeepsEverySourceVisible(t *testing.T) {
	m, st := newTestModel(t, &fakeSource{}, 120, 30)
	long := "kube: context audited: Knative Serving (serving.knative.dev/v1) not installed; context audited: metrics.k8s.io not installed: no usage, cost from requests only"
	st.Apply(sources.Update{Source: "a-kubernetes", At: now, Complete: true, Partial: errors.New(long)})
	st.Apply(sources.Update{Source: "z-prometheus", At: now, Complete: true})
	send(m, storeChangedMsg{})
	h := headerLine(m)
	for _, want := range []string{"● a-kubernetes ok ◐ partial: kube", "● fake ok", "● z-prometheus ok", "2 workloads", "14:10:00"} {
		if !strings.Contains(h, want) {
			t.Errorf("a long partial note must be cut, not hide %q:\n%q", want, h)
		}
	}
	// A failure outranks the totals: its cause shows, cut to fit.
	st.Apply(sources.Update{Source: "z-prometheus", At: now, Err: errors.New(`Get "http://prometheus:9090/api/v1/query": dial tcp 10.0.0.7:9090: connect: connection refused`)})
	send(m, storeChangedMsg{})
	h = headerLine(m)
	for _, want := range []string{"● a-kubernetes ok", "✖ z-prometheus degraded since 0s ago: Get"} {
		if !strings.Contains(h, want) {
			t.Errorf("header lacks %q:\n%q", want, h)
		}
	}
	// The help page has every cause whole.
	send(m, press("?"))
	if frame := ansi.Strip(m.Render()); !strings.Contains(frame, "connection refused") || !strings.Contains(frame, "Sources") {
		t.Fatalf("help must list the sources' full health:\n%s", frame)
	}
}

func TestHeaderErrorIsOneLine(t *testing.T) {
	m, st := newTestModel(t, &fakeSource{}, 120, 30)
	st.Apply(sources.Update{Source: "fake", At: now, Err: errors.New("HTTP 502:\n<html>\n  <body>Bad Gateway</body>\n</html>")})
	send(m, storeChangedMsg{})
	golden.CheckFrame(t, m.Render(), 120, 30)
	if h := headerLine(m); !strings.Contains(h, "HTTP 502: <html> <body>Bad Gateway</body> </html>") {
		t.Fatalf("a multi-line cause must be joined on one line: %q", h)
	}
}
