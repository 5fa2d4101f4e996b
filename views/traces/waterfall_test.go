package traces

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/themes"
)

func press(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	}
	r := []rune(k)
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

func newWaterfall(th themes.Theme, w, h int, tr sources.Trace) *Waterfall {
	m := NewWaterfall(DefaultStyles(th))
	m.SetSize(w, h)
	m.SetData(WaterfallData{Trace: tr})
	return m
}

func TestWaterfallGolden(t *testing.T) {
	for _, th := range []themes.Theme{themes.Dark(), themes.Light(), themes.Plain()} {
		for _, sz := range [][2]int{{80, 24}, {120, 30}} {
			name := fmt.Sprintf("waterfall_%s_%dx%d", th.Name, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				m := newWaterfall(th, sz[0], sz[1], checkoutTrace())
				m.Update(press("down"))
				m.Update(press("down")) // cart: off the critical path
				got := m.View()
				golden.CheckFrame(t, got, sz[0], sz[1])
				golden.Assert(t, name, got)
			})
		}
	}
}

func TestWaterfallASCIIAndNarrow(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {40, 12}, {24, 6}} {
		name := fmt.Sprintf("waterfall_ascii_%dx%d", sz[0], sz[1])
		m := NewWaterfall(ASCIIStyles(themes.Plain()))
		m.SetSize(sz[0], sz[1])
		m.SetData(WaterfallData{Trace: checkoutTrace()})
		got := m.View()
		golden.CheckFrame(t, got, sz[0], sz[1])
		for _, r := range ansi.Strip(got) {
			if r > 0x7e && r != '…' {
				t.Fatalf("%s: non-ASCII %q in\n%s", name, r, ansi.Strip(got))
			}
		}
		golden.Assert(t, name, got)
	}
}

func TestWaterfallDetails(t *testing.T) {
	m := newWaterfall(themes.Dark(), 80, 24, checkoutTrace())
	for range 6 { // down to bank-gateway
		m.Update(press("down"))
	}
	sp, _ := m.Selected()
	if sp.Service != "bank-gateway" {
		t.Fatalf("selected %s, want bank-gateway", sp.Service)
	}
	m.Update(press("enter"))
	if !m.InDetails() {
		t.Fatal("enter did not open the details")
	}
	got := m.View()
	golden.CheckFrame(t, got, 80, 24)
	plain := ansi.Strip(got)
	for _, want := range []string{"TAGS", "peer.service", "LOGS", "+1.2s event=retry attempt=2", "RESOURCE", "k8s.namespace.name", "critical path", "duration 1.68s"} {
		if !strings.Contains(plain, want) {
			t.Errorf("details lack %q:\n%s", want, plain)
		}
	}
	golden.Assert(t, "waterfall_details_80x24", got)
	m.Update(press("esc"))
	if m.InDetails() {
		t.Fatal("esc did not close the details")
	}
}

func TestWaterfallOffsetsAndCriticalPath(t *testing.T) {
	tr := checkoutTrace()
	m := newWaterfall(themes.Dark(), 120, 40, tr)
	rows := m.Rows()
	if len(rows) != len(tr.Spans) {
		t.Fatalf("%d rows, want %d", len(rows), len(tr.Spans))
	}
	byID := map[string]sources.Span{}
	for _, s := range tr.Spans {
		byID[s.ID] = s
	}
	critical := map[string]bool{}
	for _, r := range rows {
		s := byID[r.SpanID]
		if r.Offset != s.Start.Sub(t0) || r.Duration != s.Duration {
			t.Errorf("%s: offset %v dur %v, want %v %v", s.Service, r.Offset, r.Duration, s.Start.Sub(t0), s.Duration)
		}
		critical[r.Service] = r.Critical
	}
	for svc, want := range map[string]bool{"frontend": true, "checkout": true, "payments": true, "bank-gateway": true,
		"postgres": true, "geoip": true, "catalog": true, "cart": false, "fraud-check": false, "redis": true} {
		if critical[svc] != want {
			t.Errorf("%s critical = %v, want %v", svc, critical[svc], want)
		}
	}
	// Tree order: children under their parents, by start.
	var order []string
	for _, r := range rows {
		order = append(order, fmt.Sprintf("%d:%s", r.Depth, r.Service))
	}
	want := "0:frontend 1:catalog 1:cart 1:checkout 2:redis 2:payments 3:bank-gateway 3:postgres 2:fraud-check 1:geoip"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order\n got %s\nwant %s", got, want)
	}
	// The bank gateway has the most time of its own.
	tree := buildTree(tr)
	if h := tree.nodes[tree.hotspot()].span.Service; h != "bank-gateway" {
		t.Errorf("hotspot %s, want bank-gateway", h)
	}
}

func TestWaterfallFolding(t *testing.T) {
	m := newWaterfall(themes.Dark(), 80, 24, checkoutTrace())
	for range 3 {
		m.Update(press("down")) // checkout
	}
	if sp, _ := m.Selected(); sp.Service != "checkout" {
		t.Fatalf("selected %s", sp.Service)
	}
	m.Update(press("left"))
	if n := len(m.Rows()); n != 5 {
		t.Fatalf("after folding checkout %d rows, want 5", n)
	}
	if !strings.Contains(ansi.Strip(m.View()), "POST /checkout (+5)") {
		t.Errorf("folded row does not count its hidden spans:\n%s", ansi.Strip(m.View()))
	}
	golden.Assert(t, "waterfall_folded_80x24", m.View())
	m.Update(press("right"))
	if n := len(m.Rows()); n != 10 {
		t.Fatalf("after unfolding %d rows, want 10", n)
	}
	m.Update(press("space"))
	m.Update(press("space"))
	if n := len(m.Rows()); n != 10 {
		t.Fatalf("space twice: %d rows, want 10", n)
	}
	// left on a leaf goes to the parent
	m.Update(press("down")) // redis
	m.Update(press("left"))
	if sp, _ := m.Selected(); sp.Service != "checkout" {
		t.Errorf("left on a leaf selected %s, want its parent", sp.Service)
	}
	// c folds everything off the critical path (nothing here: only
	// leaves are off it), n finds the next error
	m.Update(press("c"))
	if n := len(m.Rows()); n != 10 {
		t.Errorf("c: %d rows, want 10", n)
	}
	m.Update(press("g"))
	m.Update(press("n"))
	if sp, _ := m.Selected(); !sp.Error || sp.Service != "checkout" {
		t.Errorf("n selected %s (error %v), want checkout", sp.Service, sp.Error)
	}
	m.Update(press("n"))
	m.Update(press("n"))
	if sp, _ := m.Selected(); sp.Service != "bank-gateway" {
		t.Errorf("third n selected %s, want bank-gateway", sp.Service)
	}
}

func TestWaterfallOrphansAndSkew(t *testing.T) {
	tr := checkoutTrace()
	// The frontend's clock is behind: its child cart appears to start 30ms
	// before the frontend; and a span whose parent never arrived.
	tr.Spans[1] = span("a000000000000002", "a000000000000001", "cart", "GET /cart", -30, 40, false)
	tr.Spans = append(tr.Spans, span("a00000000000000b", "ffffffffffffffff", "send-email", "SEND", 1950, 2100, false))
	m := newWaterfall(themes.Dark(), 80, 24, tr)
	rows := m.Rows()
	var orphan, skew bool
	for _, r := range rows {
		if r.Offset < 0 {
			t.Errorf("%s: negative offset %v", r.Service, r.Offset)
		}
		if r.Service == "send-email" {
			orphan = r.Orphan && r.Depth == 0
		}
		if r.Service == "cart" {
			skew = r.Skew && r.Offset == 0
		}
	}
	if !orphan || !skew {
		t.Fatalf("orphan %v skew %v; rows %+v", orphan, skew, rows)
	}
	m.Update(press("down")) // the skewed cart comes first: it starts first
	got := m.View()
	golden.CheckFrame(t, got, 80, 24)
	plain := ansi.Strip(got)
	for _, want := range []string{"? 1 orphan", "! 1 skew", "skew: starts 30ms before its parent"} {
		if !strings.Contains(plain, want) {
			t.Errorf("frame lacks %q:\n%s", want, plain)
		}
	}
	golden.Assert(t, "waterfall_orphan_skew_80x24", got)
}

func TestWaterfallParentCycle(t *testing.T) {
	tr := sources.Trace{ID: "0123", Spans: []sources.Span{
		span("0000000000000001", "0000000000000002", "a", "x", 0, 10, false),
		span("0000000000000002", "0000000000000001", "b", "y", 1, 5, false),
		span("0000000000000003", "0000000000000003", "c", "self", 2, 3, false),
	}}
	m := newWaterfall(themes.Dark(), 80, 10, tr)
	if n := len(m.Rows()); n != 3 {
		t.Fatalf("%d rows, want every span once", n)
	}
	golden.CheckFrame(t, m.View(), 80, 10)
}

// bigTrace is a batch job of n spans: 100 shards run in parallel, each a
// sequence of items; the last shard to finish is the critical one.
func bigTrace(n int) sources.Trace {
	tr := sources.Trace{ID: "00000000000000000000000000b16b16"}
	per := (n - 101) / 100
	tr.Spans = append(tr.Spans, span("1000000000000000", "", "batch", "run", 0, float64(per*10+200), false))
	id := 0x2000000000000000
	for shard := 0; shard < 100 && len(tr.Spans) < n; shard++ {
		sid := fmt.Sprintf("%016x", id)
		id++
		tr.Spans = append(tr.Spans, span(sid, "1000000000000000", "worker", fmt.Sprintf("shard %d", shard),
			float64(shard), float64(shard+per*10), shard == 42))
		for i := 0; i < per && len(tr.Spans) < n; i++ {
			tr.Spans = append(tr.Spans, span(fmt.Sprintf("%016x", id), sid, "worker", fmt.Sprintf("item %d", i),
				float64(shard+i*10), float64(shard+i*10+9), false))
			id++
		}
	}
	for len(tr.Spans) < n { // the remainder: late stragglers under the root
		tr.Spans = append(tr.Spans, span(fmt.Sprintf("%016x", id), "1000000000000000", "worker", "straggler",
			float64(per*10+150), float64(per*10+160), false))
		id++
	}
	return tr
}

func TestWaterfallThousandsOfSpans(t *testing.T) {
	tr := bigTrace(12_000)
	start := time.Now()
	m := newWaterfall(themes.Dark(), 80, 24, tr)
	got := m.View()
	took := time.Since(start)
	golden.CheckFrame(t, got, 80, 24)
	if !strings.Contains(ansi.Strip(got), "12000 spans: showing the first 5000 by start time (7000 left out)") {
		t.Errorf("no cap message:\n%s", ansi.Strip(got))
	}
	// Off the critical path, subtrees start folded.
	if n := len(m.Rows()); n >= MaxSpans {
		t.Errorf("%d rows visible: big traces should open folded", n)
	}
	m.Update(press("e"))
	if n := len(m.Rows()); n != MaxSpans {
		t.Errorf("expand all: %d rows, want %d", n, MaxSpans)
	}
	for range 50 {
		m.Update(press("pgdown"))
		golden.CheckFrame(t, m.View(), 80, 24)
	}
	t.Logf("12k spans laid out and drawn in %v", took)
	if took > 10*time.Second { // generous: -race on a loaded 2-core machine
		t.Errorf("laying out 12k spans took %v", took)
	}
	golden.Assert(t, "waterfall_capped_80x24", got)
}

func TestWaterfallStatesAndHostileText(t *testing.T) {
	m := NewWaterfall(DefaultStyles(themes.Dark()))
	m.SetSize(80, 24)
	m.SetData(WaterfallData{Loading: true})
	golden.CheckFrame(t, m.View(), 80, 24)
	m.SetData(WaterfallData{Err: fmt.Errorf("jaeger: trace 0123: trace not found")})
	got := m.View()
	golden.CheckFrame(t, got, 80, 24)
	if !strings.Contains(ansi.Strip(got), "trace not found") {
		t.Errorf("error not shown:\n%s", ansi.Strip(got))
	}
	golden.Assert(t, "waterfall_error_80x24", got)
	m.SetData(WaterfallData{Trace: sources.Trace{ID: "ab"}})
	golden.CheckFrame(t, m.View(), 80, 24)

	tr := checkoutTrace()
	tr.Spans[3].Operation = "POST /\x1b[2J\x1b]0;pwned\x07checkout\n\tx"
	tr.Spans[3].Tags["evil"] = "\x1b[31mred\x1b[0m"
	m = newWaterfall(themes.Dark(), 80, 24, tr)
	for range 3 {
		m.Update(press("down"))
	}
	for _, frame := range []string{m.View(), func() string { m.Update(press("enter")); return m.View() }()} {
		golden.CheckFrame(t, frame, 80, 24)
		if strings.Contains(frame, "\x1b[2J") || strings.Contains(frame, "\x1b]0;") || strings.Contains(frame, "\x1b[31mred") {
			t.Fatalf("hostile escapes reached the terminal: %q", frame)
		}
	}
}

func TestWaterfallSizes(t *testing.T) {
	m := newWaterfall(themes.Dark(), 80, 24, checkoutTrace())
	for _, sz := range [][2]int{{1, 1}, {10, 2}, {30, 3}, {80, 4}, {200, 60}, {300, 5}} {
		m.SetSize(sz[0], sz[1])
		golden.CheckFrame(t, m.View(), sz[0], sz[1])
		m.Update(press("enter"))
		golden.CheckFrame(t, m.View(), sz[0], sz[1])
		m.Update(press("esc"))
	}
	m.SetSize(0, 0)
	if m.View() != "" {
		t.Error("zero size should render nothing")
	}
}

func BenchmarkWaterfallFrame(b *testing.B) {
	m := newWaterfall(themes.Dark(), 200, 60, bigTrace(5000))
	m.Update(press("e"))
	b.ResetTimer()
	for range b.N {
		m.Update(press("down"))
		_ = m.View()
	}
}

// TestWaterfallSurvivesHostileTimings: random trees with absurd times and
// durations, duplicate ids and self parents still give exact frames.
func TestWaterfallSurvivesHostileTimings(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{time.Unix(0, 0), time.Unix(-1<<40, 0), time.Unix(1<<40, 0), t0, {}}
	durs := []time.Duration{0, 1, -time.Second, time.Duration(1<<63 - 1), time.Hour}
	for iter := range 60 {
		n := 1 + r.IntN(40)
		tr := sources.Trace{ID: fmt.Sprint(iter)}
		for i := range n {
			sp := sources.Span{ID: fmt.Sprint(r.IntN(n + 3)), Service: "s", Operation: "o",
				Start: times[r.IntN(len(times))].Add(time.Duration(r.Int64N(1 << 40))), Duration: durs[r.IntN(len(durs))],
				Error: r.IntN(4) == 0}
			if i > 0 && r.IntN(5) > 0 {
				sp.ParentID = fmt.Sprint(r.IntN(n + 3))
			}
			tr.Spans = append(tr.Spans, sp)
		}
		m := newWaterfall(themes.Dark(), 60+r.IntN(60), 5+r.IntN(20), tr)
		w, h := m.width, m.height
		for _, k := range []string{"down", "right", "left", "n", "e", "c", "G", "enter", "down", "esc", "space"} {
			m.Update(press(k))
			golden.CheckFrame(t, m.View(), w, h)
		}
		if len(m.allInTreeOrder()) != min(n, MaxSpans) {
			t.Fatalf("iteration %d: %d spans placed, want %d", iter, len(m.allInTreeOrder()), n)
		}
	}
}
