package traces

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/themes"
)

var checkoutID = sources.WorkloadID{Cluster: "demo", Namespace: "shop", Name: "checkout"}

func listData() ListData {
	trs := []sources.Trace{checkoutTrace()}
	for i := range 30 {
		trs = append(trs, quickTrace(i, 40+float64(i*37%300)))
	}
	failed := quickTrace(40, 95)
	failed.Spans[1].Error = true
	trs = append(trs, failed)
	return ListData{Workload: checkoutID, Start: t0.Add(-5 * time.Minute), End: t0.Add(10 * time.Minute), Traces: trs, Source: "jaeger"}
}

func newList(th themes.Theme, w, h int, d ListData) *List {
	l := NewList(DefaultStyles(th))
	l.SetSize(w, h)
	l.SetData(d)
	return l
}

func TestListGolden(t *testing.T) {
	for _, th := range []themes.Theme{themes.Dark(), themes.Light(), themes.Plain()} {
		for _, sz := range [][2]int{{80, 24}, {120, 30}} {
			name := fmt.Sprintf("list_%s_%dx%d", th.Name, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				l := newList(th, sz[0], sz[1], listData())
				got := l.View()
				golden.CheckFrame(t, got, sz[0], sz[1])
				golden.Assert(t, name, got)
			})
		}
	}
}

func TestListSlowestAndFailed(t *testing.T) {
	l := newList(themes.Dark(), 80, 24, listData())
	tr, ok := l.Selected()
	if !ok || tr.ID != checkoutTrace().ID {
		t.Fatalf("first slowest is %s, want the incident trace", tr.ID)
	}
	plain := ansi.Strip(l.View())
	if !strings.Contains(plain, "hotspot bank-gateway: POST /v1/charges 1.68s self (88%)") {
		t.Errorf("status line does not name the slow downstream call:\n%s", plain)
	}
	// Slowest first: by the workload's own span (checkout), not the trace.
	prev := time.Duration(1 << 62)
	for _, e := range l.tabs[0] {
		if e.dur > prev {
			t.Fatalf("slowest tab not sorted: %v after %v", e.dur, prev)
		}
		prev = e.dur
	}
	if got := l.tabs[0][0].dur; got != ms(1820) {
		t.Errorf("checkout's own duration %v, want 1.82s (its span, not the 1.92s trace)", got)
	}
	l.Update(press("tab"))
	if !l.FailedTab() {
		t.Fatal("tab did not switch to failed")
	}
	if n := len(l.tabs[1]); n != 2 {
		t.Fatalf("%d failed traces, want 2", n)
	}
	// Failed: newest first.
	if tr, _ := l.Selected(); tr.ID != quickTraceID(40) {
		t.Errorf("first failed %s, want the newest", tr.ID)
	}
	got := l.View()
	golden.CheckFrame(t, got, 80, 24)
	golden.Assert(t, "list_failed_80x24", got)
	l.Update(press("down"))
	cmd := l.Update(press("enter"))
	if cmd == nil {
		t.Fatal("enter gave no command")
	}
	msg, ok := cmd().(OpenTraceMsg)
	if !ok || msg.Trace.ID != checkoutTrace().ID {
		t.Fatalf("enter opened %+v", msg)
	}
}

func quickTraceID(i int) string { return fmt.Sprintf("%032x", 0xc0ffee00+i) }

func TestListScrolling(t *testing.T) {
	l := newList(themes.Dark(), 80, 10, listData())
	for range 40 {
		l.Update(press("down"))
		got := l.View()
		golden.CheckFrame(t, got, 80, 10)
		tr, _ := l.Selected()
		if !strings.Contains(ansi.Strip(got), shortID(tr.ID, 12, "…")) {
			t.Fatalf("selected trace %s not on screen:\n%s", tr.ID, ansi.Strip(got))
		}
	}
	if l.sel[0] != len(l.tabs[0])-1 {
		t.Errorf("selection %d, want the last row", l.sel[0])
	}
	l.Update(press("g"))
	if l.sel[0] != 0 {
		t.Error("g did not go to the top")
	}
}

func TestListStates(t *testing.T) {
	d := ListData{Workload: checkoutID, Start: t0, End: t0.Add(15 * time.Minute), Loading: true}
	l := newList(themes.Dark(), 80, 24, d)
	golden.CheckFrame(t, l.View(), 80, 24)
	if !strings.Contains(ansi.Strip(l.View()), "searching traces") {
		t.Error("no loading notice")
	}
	d.Loading, d.Err = false, errors.New(`jaeger jaeger: searching traces of checkout: GET /api/traces: dial tcp 127.0.0.1:16686: connect: connection refused`)
	l.SetData(d)
	got := l.View()
	golden.CheckFrame(t, got, 80, 24)
	golden.Assert(t, "list_error_80x24", got)
	d.Err = nil
	l.SetData(d)
	if !strings.Contains(ansi.Strip(l.View()), "no traces of checkout between 14:07:12 and 14:22:12") {
		t.Errorf("no empty notice:\n%s", ansi.Strip(l.View()))
	}
	if l.Update(press("enter")) != nil {
		t.Error("enter on an empty list gave a command")
	}
	for _, sz := range [][2]int{{1, 1}, {20, 2}, {30, 3}, {200, 60}} {
		l := newList(themes.Dark(), sz[0], sz[1], listData())
		golden.CheckFrame(t, l.View(), sz[0], sz[1])
	}
}

func TestWindow(t *testing.T) {
	start, end := t0, t0.Add(time.Hour)
	if a, b := Window(start, end, time.Time{}, 60); !a.Equal(start) || !b.Equal(end) {
		t.Errorf("no cursor: %v %v", a, b)
	}
	// 1 h over 60 columns: a column is a minute, the window ±2 min.
	a, b := Window(start, end, t0.Add(30*time.Minute), 60)
	if !a.Equal(t0.Add(28*time.Minute)) || !b.Equal(t0.Add(32*time.Minute)) {
		t.Errorf("cursor: %v %v", a, b)
	}
	// Narrow charts still search at least MinWindow.
	a, b = Window(start, t0.Add(15*time.Minute), t0.Add(7*time.Minute), 200)
	if b.Sub(a) != MinWindow {
		t.Errorf("window %v, want %v", b.Sub(a), MinWindow)
	}
	// Clipped to the chart.
	a, b = Window(start, end, t0.Add(time.Minute), 60)
	if !a.Equal(start) || !b.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("clipped: %v %v", a, b)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"a\x1b[31mb":      "a [31mb",
		"tab\there\nnl":   "tab here nl",
		"bad\xffutf8":     "bad\uFFFDutf8",
		"c1\u009bcontrol": "c1 control",
		"line\u2028sep":   "line sep",
		"日本語 operation":   "日本語 operation",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}
