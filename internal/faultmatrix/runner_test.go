package faultmatrix

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/faultproxy"
	"github.com/perch-dev/perch/internal/uiloop"
	"github.com/perch-dev/perch/sources"
)

// UI bounds. A fetch that blocked Update or View would stall the loop for
// at least the source's timeout (2 s); these leave room for -race on a
// loaded two-core machine and still catch that. The frame gap is counted
// beyond what the whole process stalled (a canary goroutine measures it):
// on a machine shared with builds every goroutine waits now and then.
const (
	maxOwnGap = 500 * time.Millisecond
	maxKey    = 250 * time.Millisecond
	maxUpdate = 500 * time.Millisecond
	maxStall  = time.Second // whole-process stall, checked under huge answers
)

// matrix describes one polling source's matrix: its settings and what a
// round of it costs.
type matrix struct {
	source   string // the source's name, as the header shows it
	settings string // for the table's title
	timeout  time.Duration
	refresh  time.Duration
	// perRound is the number of requests one round makes; waves the
	// number of timeouts a round lasts when every request hangs.
	perRound int64
	waves    int
	gaps     map[string]string // known gaps: "fault/check" → finding
	// maxHeapGrowth is the memory the source may use while huge answers arrive.
	maxHeapGrowth uint64
	secret        string // must never appear in an error or a frame
}

// roundTime is how long one round takes when every request waits d.
func (mx *matrix) roundTime(d time.Duration) time.Duration { return time.Duration(mx.waves) * d }

// fault is one row of a matrix.
type fault struct {
	name string
	mode faultproxy.Mode
	// cause: the health error must contain one of these (the server's or
	// the transport's own words), and the 200-column header too.
	cause []string
	// quiet faults (slow but within the timeout) must not be reported.
	quiet bool
	// huge answers: measure the heap; extra workloads may appear.
	huge bool
	// timesOut: the fault is only noticed by the per-request timeout.
	timesOut bool
	// partial: some requests of the round still answer with fresh data
	// (live servers): only the kept metrics must keep their last values,
	// the others must not be lost. Nil kept on a partial row: every value
	// is compared, as for full failures.
	partial bool
	kept    []sources.Metric
	// secretQuoted: the server's answer quotes the credentials, so the
	// secret check means something.
	secretQuoted bool
}

// result is one matrix row.
type result struct {
	source, name         string
	detect, recover      time.Duration
	heapPeak             uint64
	ui                   uiloop.Timing
	cause120             bool // the cause is visible in a 120-column frame
	failed, gaps, passed []string
}

func (r *result) check(t *testing.T, gaps map[string]string, what string, ok bool, format string, args ...any) {
	t.Helper()
	key := r.name + "/" + what
	gap, known := gaps[key]
	switch {
	case ok && known:
		r.gaps = append(r.gaps, what+" fixed?")
	case ok:
		r.passed = append(r.passed, what)
	case known:
		r.gaps = append(r.gaps, what)
		t.Logf("%s %s: known gap (%s): %s", r.source, key, gap, fmt.Sprintf(format, args...))
	default:
		r.failed = append(r.failed, what)
		t.Errorf("%s %s: %s", r.source, key, fmt.Sprintf(format, args...))
	}
}

// rowMu runs each huge row alone while the other matrices wait between
// rows: the heap is measured for the whole process, and decoding tens of
// MB (GC assists included) would slow the other matrices' UI loops.
var rowMu sync.RWMutex

// lockRow takes rowMu for one row and returns its unlock.
func lockRow(huge bool) func() {
	if huge {
		rowMu.Lock()
		return rowMu.Unlock
	}
	rowMu.RLock()
	return rowMu.RUnlock
}

// run drives the pipeline through every fault and back to healthy and
// returns the rows.
func (mx *matrix) run(t *testing.T, p *pipeline, narrow *uiloop.Loop, faults []fault) []*result {
	if !waitFor(30*time.Second, func() bool { h := p.health(); return h.Err == nil && !h.LastOK.IsZero() && p.store.Len() > 0 }) {
		t.Fatalf("the pipeline never became healthy through the proxy: %+v", p.health())
	}
	baseline := p.rows()
	waitFor(2*time.Second, func() bool { shown, stale := p.countRows(); return shown == len(baseline) && stale == 0 })
	t.Logf("%s baseline: %d workloads, %d complete rounds counted (Health.Rounds)", mx.source, len(baseline), p.health().Rounds)

	var results []*result
	for _, f := range faults {
		r := &result{source: mx.source, name: f.name}
		results = append(results, r)
		if !t.Run(f.name, func(t *testing.T) { mx.runFault(t, p, f, r, baseline, narrow) }) && len(r.failed) == 0 {
			r.failed = append(r.failed, "aborted") // a t.Fatal: see the log
		}
	}
	return results
}

func (mx *matrix) runFault(t *testing.T, p *pipeline, f fault, r *result, baseline map[sources.WorkloadID]sources.Summary, narrow *uiloop.Loop) {
	defer lockRow(f.huge)()
	// Start from a healthy, settled pipeline.
	if !waitFor(20*time.Second, func() bool { return p.health().Err == nil }) {
		t.Fatalf("not healthy before the fault: %v", p.health().Err)
	}
	// Flip right after a round, so the whole next round meets the fault
	// (a flip in mid-round is the partial row's business), and remember
	// the rows that round left: the last good data.
	last := p.health().LastOK
	waitFor(mx.refresh+mx.timeout+5*time.Second, func() bool { return p.health().LastOK.After(last) })
	before := p.health()
	lastGood := p.rows()
	p.ui.Reset()
	narrow.Reset()
	runtime.GC()
	heapBase := heapInUse()
	stopHeap := make(chan struct{})
	peak := heapPeak(stopHeap)
	queries := p.queries()

	start := time.Now()
	if err := p.proxy.Set(f.mode); err != nil {
		t.Fatal(err)
	}
	if f.quiet {
		// Slower than usual but within the timeout: no error, data keeps flowing.
		okRounds := waitFor(3*(mx.refresh+mx.timeout), func() bool { return p.health().LastOK.After(start) })
		h := p.health()
		r.check(t, mx.gaps, "no error", h.Err == nil && okRounds, "a server answering within the timeout must not be an error: err=%v, new good round=%v", h.Err, okRounds)
	} else {
		detectBound := mx.roundTime(mx.timeout) + mx.refresh + 3*time.Second
		if f.huge {
			detectBound += 10 * time.Second // generating and decoding tens of MB under -race
		}
		detected := waitFor(detectBound, func() bool { return p.health().Err != nil })
		r.detect = time.Since(start)
		r.check(t, mx.gaps, "error", detected, "no error within %s (one round of %d requests, %s timeout each)", detectBound, mx.perRound, mx.timeout)
		if f.timesOut {
			// What an on-call user needs: a hung backend named within one
			// timeout, not after every wave of requests timed out in turn.
			bound := mx.timeout + mx.refresh + time.Second
			r.check(t, mx.gaps, "detect≤timeout", detected && r.detect <= bound, "reported after %s, want within %s (timeout + refresh + 1s)", r.detect.Round(time.Millisecond), bound)
		}
		if detected {
			mx.checkFailing(t, p, f, r, before, start, queries, baseline, lastGood, narrow)
		}
	}
	mx.recoverFrom(t, p, f, r, baseline)

	close(stopHeap)
	if pk := <-peak; pk > heapBase {
		r.heapPeak = pk - heapBase
	}
	if f.huge {
		r.check(t, mx.gaps, "memory", r.heapPeak <= mx.maxHeapGrowth, "heap grew by %d MiB, more than %d MiB", r.heapPeak>>20, mx.maxHeapGrowth>>20)
	}
}

// checkFailing checks what perch shows while the fault lasts: the cause
// and since when, stale rows keeping their last values, the frame, and
// no secret anywhere.
func (mx *matrix) checkFailing(t *testing.T, p *pipeline, f fault, r *result, before sources.Health, start time.Time, queries int64,
	baseline, lastGood map[sources.WorkloadID]sources.Summary, narrow *uiloop.Loop) {
	h := p.health()
	msg := h.Err.Error()
	t.Logf("after %s the health error says: %.300s", r.detect.Round(time.Millisecond), msg)
	r.check(t, mx.gaps, "cause", containsAny(msg, f.cause), "health error does not say %q: %.300s", f.cause, msg)
	r.check(t, mx.gaps, "since", h.ErrSince.After(before.LastOK) && !h.ErrSince.After(start.Add(r.detect)),
		"ErrSince %s must lie after the last good round (%s) and before detection", h.ErrSince.Format(time.StampMilli), before.LastOK.Format(time.StampMilli))

	// The rows: all stale, last values kept (never a stale value as fresh).
	rows := p.rows()
	var bad []string
	for id := range baseline {
		now, ok := rows[id]
		if !ok {
			bad = append(bad, id.Name+" gone")
			continue
		}
		if !now.Stale {
			bad = append(bad, id.Name+" not stale")
		}
		old := lastGood[id]
		if f.partial && f.kept != nil {
			if m, lost := lostValue(old.Latest, now.Latest); lost {
				bad = append(bad, fmt.Sprintf("%s %s lost (was %v)", id.Name, m, old.Latest[m]))
			}
			for _, m := range f.kept {
				if old.Latest[m] != now.Latest[m] && !(old.Latest[m] != old.Latest[m] && now.Latest[m] != now.Latest[m]) {
					bad = append(bad, fmt.Sprintf("%s %s %v→%v", id.Name, m, old.Latest[m], now.Latest[m]))
				}
			}
			continue
		}
		if m, same := sameValues(old.Latest, now.Latest); !same {
			bad = append(bad, fmt.Sprintf("%s %s %v→%v", id.Name, m, old.Latest[m], now.Latest[m]))
		}
	}
	if h.LastOK.After(before.LastOK) {
		bad = append(bad, "a good round arrived after the flip: the fault did not hold")
	}
	r.check(t, mx.gaps, "stale+kept", len(bad) == 0, "rows: %v", bad)

	// The frame: the header says what and since when; rows carry "!".
	var frame, shape string
	shown := waitFor(2*time.Second, func() bool {
		frame = p.ui.Frame()
		shape = p.ui.BadShape(frame)
		shown, stale := p.countRows()
		return headerSays(frame, mx.source, f.cause) && shown > 0 && stale == shown && shape == ""
	})
	r.check(t, mx.gaps, "frame", shown, "the 200-column frame must show \"%s degraded since …\" with %q and \"!\" on every row, in exactly 200×%d cells (%s); frame:\n%s",
		mx.source, f.cause, p.ui.Height(), shape, frame)
	r.cause120 = waitFor(time.Second, func() bool { return headerSays(narrow.Frame(), mx.source, f.cause) })

	leaks := strings.Contains(msg, mx.secret) || strings.Contains(frame, mx.secret) || strings.Contains(narrow.Frame(), mx.secret)
	r.check(t, mx.gaps, "no secret", !leaks, "the secret appears in the health error or a frame: %.300s", msg)
	if f.secretQuoted && !strings.Contains(msg, "Authorization") && !strings.Contains(msg, "redacted") {
		t.Logf("%s: the error does not quote the echoed request, so the secret check proves little: %.300s", f.name, msg)
	}
	if !f.timesOut { // for the others the next failing round takes seconds
		r.check(t, mx.gaps, "ErrSince steady", mx.errSinceSteady(p, queries, h.ErrSince), "ErrSince moved while the fault lasted")
	}
}

// recoverFrom flips the proxy back and checks that perch recovers by
// itself: health ok, same rows, no stale marks, UI responsive throughout.
func (mx *matrix) recoverFrom(t *testing.T, p *pipeline, f fault, r *result, baseline map[sources.WorkloadID]sources.Summary) {
	start := time.Now()
	if err := p.proxy.Set(faultproxy.Healthy); err != nil {
		t.Fatal(err)
	}
	// The backoff is capped at max(1 min, refresh); the faults here last
	// seconds, so recovery must come long before the cap.
	const recoverBound = 20 * time.Second
	recovered := waitFor(recoverBound, func() bool {
		h := p.health()
		return h.Err == nil && h.LastOK.After(start) && p.store.Len() == len(baseline)
	})
	r.recover = time.Since(start)
	r.check(t, mx.gaps, "recover", recovered, "no recovery within %s: err=%v, %d workloads (want %d)", recoverBound, p.health().Err, p.store.Len(), len(baseline))
	// The header may say "stale" (no good round within 3 refreshes: rounds
	// are slow on a loaded machine) but no longer "degraded".
	fresh := waitFor(2*time.Second+mx.refresh, func() bool {
		_, stale := p.countRows()
		h := firstLine(p.ui.Frame())
		return stale == 0 && strings.Contains(h, mx.source+" ") && !strings.Contains(h, "degraded") && !strings.Contains(h, "down")
	})
	r.check(t, mx.gaps, "fresh again", fresh, "rows still marked stale or header still degraded after recovery: %.200q", firstLine(p.ui.Frame()))
	r.ui = p.ui.Reset()
	checkUI(t, mx.gaps, r, f.huge)
}

// checkUI checks the UI loop's timing of the phase that just ended: the
// time it lost by itself, beyond the whole process's stall.
func checkUI(t *testing.T, gaps map[string]string, r *result, huge bool) {
	t.Helper()
	ownGap := r.ui.GapMax - r.ui.StallMax
	ownKey := r.ui.KeyMax - r.ui.StallMax
	ownCall := max(r.ui.UpdateMax, r.ui.RenderMax) - r.ui.StallMax
	r.check(t, gaps, "ui", ownGap <= maxOwnGap && ownKey <= maxKey && ownCall <= maxUpdate && r.ui.Frames > 0,
		"UI loop, beyond a process stall of %s: longest gap between frames %s (max %s), slowest key %s (max %s), slowest Update/Render %s (max %s)",
		r.ui.StallMax, ownGap, maxOwnGap, ownKey, maxKey, ownCall, maxUpdate)
	if huge {
		r.check(t, gaps, "stall", r.ui.StallMax <= maxStall, "the whole process stalled for %s (max %s) while the answers were decoded", r.ui.StallMax, maxStall)
	}
}

// errSinceSteady waits for one more full round (or 3 s) and checks that
// ErrSince still marks the start of the failure.
func (mx *matrix) errSinceSteady(p *pipeline, queriesBefore int64, since time.Time) bool {
	waitFor(3*time.Second, func() bool { return p.queries() >= queriesBefore+2*mx.perRound })
	h := p.health()
	return h.Err != nil && h.ErrSince.Equal(since)
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func firstLine(frame string) string {
	line, _, _ := strings.Cut(frame, "\n")
	return line
}

// headerSays: the header names the failing source, that it is degraded,
// since when, and the cause.
func headerSays(frame, source string, cause []string) bool {
	h := firstLine(frame)
	return strings.Contains(h, source+" degraded since") && containsAny(h, cause)
}

// countRows counts the overview rows of the first UI's frame and those
// marked stale.
func (p *pipeline) countRows() (shown, stale int) { return p.ui.OverviewRows() }

// ---- the table ----

var (
	tablesMu sync.Mutex
	tables   = map[string][]*result{} // by source
	titles   = map[string]string{}
)

// report logs a matrix's table and keeps its rows for the combined one.
func report(t *testing.T, source, title string, rs []*result) {
	t.Log("\n" + title + "\n" + matrixTable(rs, false))
	tablesMu.Lock()
	defer tablesMu.Unlock()
	tables[source], titles[source] = rs, title
}

// combinedTable is every matrix that ran, source by source.
func combinedTable() string {
	tablesMu.Lock()
	defer tablesMu.Unlock()
	if len(tables) == 0 {
		return ""
	}
	var names []string
	for s := range tables {
		names = append(names, s)
	}
	order := map[string]int{"prometheus": 0, "influxdb": 1, "jaeger": 2}
	sort.Slice(names, func(i, j int) bool { return order[names[i]] < order[names[j]] })
	var b strings.Builder
	b.WriteString("fault matrix: source × fault\n")
	var all []*result
	for _, s := range names {
		fmt.Fprintf(&b, "  %s\n", titles[s])
		all = append(all, tables[s]...)
	}
	b.WriteString(matrixTable(all, true))
	return b.String()
}

func matrixTable(rs []*result, withSource bool) string {
	var b strings.Builder
	src := func(s string) string {
		if withSource {
			return fmt.Sprintf("%-11s", s)
		}
		return ""
	}
	fmt.Fprintf(&b, "%s%-24s %-6s %8s %8s %9s %8s %8s %8s %9s  %s\n", src("source"), "fault", "result", "detect", "recover", "frame gap", "stall", "key max", "heap +", "cause@120", "gaps/failures")
	for _, r := range rs {
		res := "pass"
		notes := append(append([]string(nil), r.failed...), r.gaps...)
		switch {
		case len(r.failed) > 0:
			res = "FAIL"
		case len(r.gaps) > 0:
			res = "GAP"
		}
		detect := "-"
		if r.detect > 0 {
			detect = r.detect.Round(10 * time.Millisecond).String()
		}
		c120 := "no"
		if r.cause120 {
			c120 = "yes"
		}
		fmt.Fprintf(&b, "%s%-24s %-6s %8s %8s %9s %8s %8s %7dM %9s  %s\n", src(r.source), r.name, res, detect, r.recover.Round(10*time.Millisecond),
			r.ui.GapMax.Round(time.Millisecond), r.ui.StallMax.Round(time.Millisecond), r.ui.KeyMax.Round(10*time.Microsecond), r.heapPeak>>20, c120, strings.Join(notes, ", "))
	}
	return b.String()
}

// parallelMatrix runs the source matrices side by side: each has its own
// server, proxy, pipeline and UIs, and one after the other they would take
// minutes. Heap numbers stay meaningful because the huge rows take hugeMu;
// goroutine leaks are checked by TestMain once every test is done.
func parallelMatrix(t *testing.T) { t.Parallel() }
