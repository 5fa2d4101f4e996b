package faultmatrix

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/perch-dev/perch/internal/faultproxy"
	"github.com/perch-dev/perch/internal/uiloop"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/jaeger"
	"github.com/perch-dev/perch/sources/sim"
	"github.com/perch-dev/perch/sources/simtrace"
)

// The Jaeger pipeline's settings.
const (
	jaegerTimeout = 2 * time.Second
	jaegerRefresh = 250 * time.Millisecond // Run's health check of the query service
	jaegerSecret  = "jaeger-matrix-secret-3f9b04"
	traceWorkload = "checkout"
	// jaegerMaxSpans is lowered from the default 50,000 (as the other
	// matrices lower their caps) so the cap is reached within the timeout
	// under -race.
	jaegerMaxSpans = 1000
)

// jaegerServer is Jaeger v2 all-in-one (scripts/stack/jaeger.sh,
// in-memory storage).
var jaegerServer = &server{name: "jaeger", seed: seedJaeger}

// jaegerEnv is the running Jaeger and what it holds.
type jaegerEnv struct {
	query   string // the query service's URL
	sim     *sim.Sim
	id      sources.WorkloadID // checkout
	through int                // traces sent through checkout
}

func jaegerStack(t testing.TB) *jaegerEnv { return jaegerServer.get(t).(*jaegerEnv) }

// seedJaeger sends the simulator's traces of the last ten minutes over
// OTLP/HTTP and waits until a search finds them.
func seedJaeger(out, _ string) (any, error) {
	env := &jaegerEnv{}
	var otlp string
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "query="); ok {
			env.query = v
		}
		if v, ok := strings.CutPrefix(f, "otlp_http="); ok {
			otlp = v
		}
	}
	if env.query == "" || otlp == "" {
		return nil, fmt.Errorf("jaeger.sh start printed no urls: %q", out)
	}
	s, err := sim.New(sim.Config{Clock: time.Now})
	if err != nil {
		return nil, err
	}
	env.sim = s
	for _, w := range s.Workloads() {
		if w.ID.Name == traceWorkload {
			env.id = w.ID
		}
	}
	now := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	trs, err := simtrace.Collect(ctx, s, now.Add(-10*time.Minute), now, 10)
	if err != nil {
		return nil, err
	}
	for _, tr := range trs {
		for _, sp := range tr.Spans {
			if sp.Service == traceWorkload {
				env.through++
				break
			}
		}
	}
	f, err := simtrace.NewFeeder(otlp, s.Workloads())
	if err != nil {
		return nil, err
	}
	if _, err := f.Send(ctx, trs); err != nil {
		return nil, err
	}
	// The batch processor flushes every 100 ms: wait until a search
	// finds every trace through checkout.
	// No keep-alive connection may outlive the seeding (leakcheck).
	defer http.DefaultTransport.(*http.Transport).CloseIdleConnections() // the feeder's
	src, err := jaeger.New(jaeger.Config{URL: env.query})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	for {
		got, err := src.Traces(ctx, sources.TraceQuery{ID: env.id, Start: now.Add(-15 * time.Minute), End: now.Add(time.Minute), Limit: jaeger.MaxLimit})
		if err == nil && len(got) >= env.through {
			return env, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("jaeger did not store the %d traces through %s: %d found, %v", env.through, traceWorkload, len(got), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// simRows feeds the simulator's rows for one workload, as a metrics
// source would. It is not a TraceFinder, so the traces page asks Jaeger.
type simRows struct {
	sim   *sim.Sim
	id    sources.WorkloadID
	every time.Duration
}

func (r *simRows) Name() string { return "demo" }

func (r *simRows) Run(ctx context.Context, out chan<- sources.Update) error {
	for _, w := range r.sim.Workloads() {
		if w.ID == r.id {
			select {
			case out <- sources.Update{Source: r.Name(), At: time.Now(), Workloads: []sources.Workload{w}, Full: true}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	for {
		now := time.Now()
		var mine []sources.Sample
		for _, s := range r.sim.At(now) {
			if s.ID == r.id {
				mine = append(mine, s)
			}
		}
		select {
		case out <- sources.Update{Source: r.Name(), At: now, Samples: mine, Complete: true}:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// startJaeger runs the Jaeger source against the real query service
// behind a fault proxy, next to the simulator's row for checkout.
func startJaeger(t testing.TB, timeout, refresh time.Duration, width, height int) (*pipeline, *jaegerEnv) {
	t.Helper()
	env := jaegerStack(t)
	ctx, cancel := context.WithCancel(context.Background())
	px, err := faultproxy.Start(ctx, strings.TrimPrefix(env.query, "http://"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	src, err := jaeger.New(jaeger.Config{URL: px.URL(), BearerToken: jaegerSecret, Timeout: timeout, Refresh: refresh, MaxSpans: jaegerMaxSpans})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	rows := &simRows{sim: env.sim, id: env.id, every: max(refresh, 100*time.Millisecond)}
	calls := func() int64 { return int64(src.Calls()) }
	return startFeeding(t, ctx, cancel, px, src, calls, refresh, timeout, width, height, rows), env
}

var jaegerTimedOut = []string{"timed out after 2s"}

func jaegerFaults() []fault {
	now := time.Now()
	return []fault{
		{name: "refuse", mode: faultproxy.Refuse, cause: []string{"connection refused"}},
		{name: "reset", mode: faultproxy.Reset, cause: []string{"connection reset", "EOF", "broken pipe"}},
		{name: "hang", mode: faultproxy.Hang, cause: jaegerTimedOut, timesOut: true},
		{name: "slow 10s", mode: faultproxy.Slow(10 * time.Second), cause: jaegerTimedOut, timesOut: true},
		{name: "slow 500ms", mode: faultproxy.Slow(500 * time.Millisecond), quiet: true},
		{name: "500 json", mode: faultproxy.Respond(500, "application/json", `{"error":{"code":500,"message":"memory store: trace index is corrupt"}}`),
			cause: []string{"trace index is corrupt"}},
		{name: "502", mode: faultproxy.Status(502), cause: []string{"502"}},
		{name: "503", mode: faultproxy.Status(503), cause: []string{"503"}},
		{name: "401 echoing the request", mode: faultproxy.Echo(401), cause: []string{"401"}, secretQuoted: true},
		{name: "cut mid-body", mode: faultproxy.CutMidBody, cause: []string{"unexpected EOF", "answer cut short"}},
		{name: "garbage", mode: faultproxy.Garbage, cause: []string{"invalid character"}},
		{name: "truncated json", mode: faultproxy.Truncate, cause: []string{"answer cut short"}},
		// Valid OTLP answers to the trace search only: 100,000 spans
		// (~45 MB, under the 64 MiB body cap), and one span with a 100 MB
		// attribute (over it). A timeout is an acceptable outcome for the
		// second: reading 64 MiB under -race takes about the timeout.
		{name: "huge 100k spans", mode: faultproxy.Huge(jaegerV3Answer(100_000, now)).OnPath("/api/v3/traces"),
			cause: append([]string{fmt.Sprintf("more than %d spans (max_spans)", jaegerMaxSpans)}, jaegerTimedOut...), huge: true},
		{name: "huge 100 MB attribute", mode: faultproxy.Huge(jaegerFatSpan(100<<20, now)).OnPath("/api/v3/traces"),
			cause: append([]string{"answer larger than 64 MiB"}, jaegerTimedOut...), huge: true},
	}
}

// jaegerGaps: none known.
var jaegerGaps = map[string]string{}

// jaegerMaxHeap is what one trace search may use: answers are decoded span
// by span, but one JSON value (a 100 MB attribute) is buffered whole up to
// the 64 MiB body cap; ×4 leaves room for the decoder's buffer growth.
const jaegerMaxHeap = 64 << 20 * 4

// TestJaegerFaultMatrix: Jaeger is asked on demand, from the traces page
// (t in the detail view). For every fault the page must name the error,
// the UI must keep rendering and answering keys while the search waits
// (esc leaves a hung search), Run's health check must put the cause in
// the header, and once Jaeger is healthy again a new search must list the
// traces. Huge answers must be capped and said so, with bounded memory.
func TestJaegerFaultMatrix(t *testing.T) {
	parallelMatrix(t)
	p, env := startJaeger(t, jaegerTimeout, jaegerRefresh, 200, 50)
	narrow := p.addUI(t, 120, 40)
	defer p.stop()
	if !waitFor(30*time.Second, func() bool { h := p.health(); return h.Err == nil && !h.LastOK.IsZero() && p.store.Len() == 1 }) {
		t.Fatalf("the pipeline never became healthy through the proxy: %+v", p.health())
	}
	uis := []*uiloop.Loop{p.ui, narrow}
	// Overview → detail of the only row.
	pressAll(uis, tea.KeyPressMsg{Code: tea.KeyEnter})
	if !waitFor(5*time.Second, func() bool { return inDetail(p.ui.Frame()) && inDetail(narrow.Frame()) }) {
		t.Fatalf("enter did not open the detail view:\n%s", p.ui.Frame())
	}
	// A first search while healthy: the list the recoveries must show again.
	pressAll(uis, key("t"))
	var listed int
	if !waitFor(15*time.Second, func() bool { listed = tracesListed(p.ui.Frame()); return listed > 0 }) {
		t.Fatalf("no traces listed while healthy:\n%s", p.ui.Frame())
	}
	t.Logf("jaeger baseline: %d traces through %s sent, the page lists %d", env.through, traceWorkload, listed)

	var results []*result
	for _, f := range jaegerFaults() {
		r := &result{source: "jaeger", name: f.name}
		results = append(results, r)
		if !t.Run(f.name, func(t *testing.T) { runJaegerFault(t, p, uis, f, r) }) && len(r.failed) == 0 {
			r.failed = append(r.failed, "aborted")
		}
	}
	report(t, "jaeger", fmt.Sprintf("jaeger × fault (Jaeger v2 all-in-one, v3 API, timeout %s, health every %s; the traces page asks on demand)",
		jaegerTimeout, jaegerRefresh), results)
}

func runJaegerFault(t *testing.T, p *pipeline, uis []*uiloop.Loop, f fault, r *result) {
	defer lockRow(f.huge)()
	gaps := jaegerGaps
	if !waitFor(20*time.Second, func() bool { return p.health().Err == nil }) {
		t.Fatalf("not healthy before the fault: %v", p.health().Err)
	}
	back(t, uis)
	before := p.health()
	for _, u := range uis {
		u.Reset()
	}
	runtime.GC()
	heapBase := heapInUse()
	stopHeap := make(chan struct{})
	peak := heapPeak(stopHeap)

	start := time.Now()
	if err := p.proxy.Set(f.mode); err != nil {
		t.Fatal(err)
	}
	pressAll(uis, key("t"))
	pressed := time.Now()
	if f.timesOut {
		// While the search hangs the page says so, and esc leaves it at
		// once: nothing waits for Jaeger but the search itself.
		time.Sleep(300 * time.Millisecond)
		frame := p.ui.Frame()
		r.check(t, gaps, "loading", strings.Contains(frame, "searching traces"), "the page must say it is searching while Jaeger hangs:\n%s", frame)
		escAt := time.Now()
		pressAll(uis, tea.KeyPressMsg{Code: tea.KeyEscape})
		left := waitFor(time.Second, func() bool { f, fresh := p.ui.FreshFrame(); return fresh && inDetail(f) })
		r.check(t, gaps, "esc while hung", left, "esc did not leave the traces page within 1s (took %s):\n%s", time.Since(escAt), p.ui.Frame())
		back(t, uis) // both in the detail view again
		pressAll(uis, key("t"))
		pressed = time.Now()
	}
	if f.quiet {
		listedOK := waitFor(3*jaegerTimeout, func() bool { return tracesListed(p.ui.Frame()) > 0 })
		r.check(t, gaps, "no error", listedOK && pageError(p.ui.Frame()) == "", "a Jaeger answering within the timeout must list the traces:\n%s", p.ui.Frame())
		r.check(t, gaps, "header ok", p.health().Err == nil, "Run's health check failed although Jaeger answers within the timeout: %v", p.health().Err)
	} else {
		bound := jaegerTimeout + 3*time.Second
		if f.huge {
			bound += 10 * time.Second // generating and decoding tens of MB under -race
		}
		var msg string
		shown := waitFor(bound, func() bool { msg = pageError(p.ui.Frame()); return msg != "" })
		r.detect = time.Since(pressed)
		t.Logf("after %s the traces page says: %.300s", r.detect.Round(time.Millisecond), msg)
		r.check(t, gaps, "error", shown, "the traces page shows no error within %s:\n%s", bound, p.ui.Frame())
		if shown {
			r.check(t, gaps, "cause", containsAny(squash(msg), squashAll(f.cause)) && strings.Contains(msg, "jaeger"),
				"the page's error must name jaeger and say %q: %.400s", f.cause, msg)
			if f.timesOut {
				r.check(t, gaps, "detect≤timeout", r.detect <= jaegerTimeout+time.Second, "the search failed after %s, want within the timeout %s + 1s", r.detect.Round(time.Millisecond), jaegerTimeout)
			}
			if f.huge { // only the search fails: the narrow page must show it
				r.cause120 = waitFor(2*time.Second, func() bool { return containsAny(squash(pageError(uis[1].Frame())), squashAll(f.cause)) })
			}
		}
		if !f.huge {
			// Run's health check: the header names the cause and since when.
			hb := jaegerRefresh + jaegerTimeout + 3*time.Second
			header := waitFor(hb, func() bool { return headerSays(p.ui.Frame(), "jaeger", f.cause) })
			r.check(t, gaps, "header", header, "the header must say \"jaeger degraded since …\" with %q within %s: %.200q", f.cause, hb, firstLine(p.ui.Frame()))
			r.cause120 = waitFor(time.Second, func() bool { return headerSays(uis[1].Frame(), "jaeger", f.cause) })
			shape := p.ui.BadShape(p.ui.Frame())
			r.check(t, gaps, "frame", shape == "" && uis[1].BadShape(uis[1].Frame()) == "", "the frame must keep its size (%s):\n%s", shape, p.ui.Frame())
			h := p.health()
			r.check(t, gaps, "since", h.Err != nil && h.ErrSince.After(before.LastOK) && !h.ErrSince.Before(start.Add(-time.Second)),
				"ErrSince %s must lie after the last good check (%s)", h.ErrSince.Format(time.StampMilli), before.LastOK.Format(time.StampMilli))
		}
	}
	secretSeen := false
	for _, u := range uis {
		secretSeen = secretSeen || strings.Contains(u.Frame(), jaegerSecret)
	}
	if h := p.health(); h.Err != nil {
		secretSeen = secretSeen || strings.Contains(h.Err.Error(), jaegerSecret)
	}
	r.check(t, gaps, "no secret", !secretSeen, "the bearer token appears in a frame or the health error:\n%s", p.ui.Frame())

	// Recovery: a new search after Jaeger is back lists the traces again,
	// and Run's health check turns the header back to ok by itself.
	rs := time.Now()
	if err := p.proxy.Set(faultproxy.Healthy); err != nil {
		t.Fatal(err)
	}
	back(t, uis)
	pressAll(uis, key("t"))
	listed := waitFor(20*time.Second, func() bool { return tracesListed(p.ui.Frame()) > 0 })
	r.recover = time.Since(rs)
	r.check(t, gaps, "recover", listed, "a search after recovery listed no traces within 20s:\n%s", p.ui.Frame())
	ok := waitFor(20*time.Second, func() bool {
		h := firstLine(p.ui.Frame())
		return p.health().Err == nil && strings.Contains(h, "jaeger ") && !strings.Contains(h, "jaeger degraded") && !strings.Contains(h, "jaeger down")
	})
	r.check(t, gaps, "header ok again", ok, "the header still says jaeger is failing: %.200q", firstLine(p.ui.Frame()))
	r.ui = p.ui.Reset()
	uis[1].Reset()
	checkUI(t, gaps, r, f.huge)

	close(stopHeap)
	if pk := <-peak; pk > heapBase {
		r.heapPeak = pk - heapBase
	}
	if f.huge {
		r.check(t, gaps, "memory", r.heapPeak <= jaegerMaxHeap, "heap grew by %d MiB, more than %d MiB", r.heapPeak>>20, jaegerMaxHeap>>20)
	}
}

func key(s string) tea.KeyPressMsg { return tea.KeyPressMsg{Code: []rune(s)[0], Text: s} }

func pressAll(uis []*uiloop.Loop, k tea.KeyPressMsg) {
	for _, u := range uis {
		u.Press(k)
	}
}

// back returns every UI from the traces page to the detail view. Esc in
// the detail view would go on to the overview, so esc is pressed only on
// a frame that shows the traces page and was rendered after the last key.
func back(t *testing.T, uis []*uiloop.Loop) {
	t.Helper()
	if !waitFor(5*time.Second, func() bool {
		done := true
		for _, u := range uis {
			f, fresh := u.FreshFrame()
			if fresh && inTraces(f) {
				u.Press(tea.KeyPressMsg{Code: tea.KeyEscape})
				fresh = false
			}
			done = done && fresh && inDetail(f)
		}
		return done
	}) {
		t.Fatalf("esc did not return to the detail view:\n%s\n%s", uis[0].Frame(), uis[1].Frame())
	}
}

// inTraces: the traces page is in front (its title line).
func inTraces(frame string) bool {
	lines := strings.SplitN(frame, "\n", 3)
	return len(lines) > 1 && strings.Contains(lines[1], " TRACES ")
}

// inDetail: the detail view is in front (the footer offers t for traces).
func inDetail(frame string) bool {
	return !inTraces(frame) && strings.Contains(lastLine(frame), "t traces")
}

func lastLine(frame string) string { return frame[strings.LastIndex(frame, "\n")+1:] }

var slowestRE = regexp.MustCompile(`slowest (\d+)`)

// tracesListed is the number of slowest traces the traces page lists (0
// when it shows an error, is loading or is not in front).
func tracesListed(frame string) int {
	if !inTraces(frame) || pageError(frame) != "" {
		return 0
	}
	m := slowestRE.FindStringSubmatch(strings.SplitN(frame, "\n", 3)[1])
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// pageError is the error the traces page shows, its wrapped lines joined,
// or "".
func pageError(frame string) string {
	if !inTraces(frame) {
		return ""
	}
	lines := strings.Split(frame, "\n")
	var b strings.Builder
	for i, l := range lines[2 : len(lines)-1] {
		switch {
		case strings.HasPrefix(l, " ✖ ") && i == 0:
			b.WriteString(strings.TrimSpace(strings.TrimPrefix(l, " ✖ ")))
		case b.Len() > 0 && strings.HasPrefix(l, "   ") && strings.TrimSpace(l) != "":
			b.WriteString(" " + strings.TrimSpace(l))
		case b.Len() > 0:
			return b.String()
		}
	}
	return b.String()
}

// squash drops all white space: the page wraps the error wherever it fits.
func squash(s string) string { return strings.Join(strings.Fields(s), "") }

func squashAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = squash(s)
	}
	return out
}

// jaegerV3Answer is a valid answer of the v3 search API (OTLP JSON) with
// n spans of checkout, five per trace, about 400 bytes each, streamed.
func jaegerV3Answer(n int, at time.Time) faultproxy.Body {
	const perTrace = 5
	base := at.Add(-5 * time.Minute).UnixNano()
	return faultproxy.Body{
		Name:        fmt.Sprintf("jaeger v3 answer %d spans", n),
		ContentType: "application/json",
		Write: func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 64<<10)
			if _, err := bw.WriteString(`{"result":{"resourceSpans":[`); err != nil {
				return err
			}
			line := make([]byte, 0, 4096)
			for tr := 0; tr*perTrace < n; tr++ {
				line = line[:0]
				if tr > 0 {
					line = append(line, ',')
				}
				line = append(line, `{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeSpans":[{"scope":{"name":"faultmatrix"},"spans":[`...)
				start := base + int64(tr)*1_000_000
				for s := range perTrace {
					if s > 0 {
						line = append(line, ',')
					}
					line = append(line, `{"traceId":"`...)
					line = appendHexID(line, uint64(tr)+1, 32)
					line = append(line, `","spanId":"`...)
					line = appendHexID(line, uint64(tr)<<8|uint64(s)+1, 16)
					if s > 0 {
						line = append(line, `","parentSpanId":"`...)
						line = appendHexID(line, uint64(tr)<<8|1, 16)
					}
					line = append(line, `","name":"POST /checkout/step-`...)
					line = strconv.AppendInt(line, int64(s), 10)
					line = append(line, `","kind":2,"startTimeUnixNano":"`...)
					line = strconv.AppendInt(line, start+int64(s)*1000, 10)
					line = append(line, `","endTimeUnixNano":"`...)
					line = strconv.AppendInt(line, start+int64(s)*1000+int64(1+tr%977)*1_000_000, 10)
					line = append(line, `","attributes":[{"key":"http.method","value":{"stringValue":"POST"}},{"key":"http.route","value":{"stringValue":"/checkout/{cart}/confirm"}},{"key":"http.status_code","value":{"intValue":"200"}},{"key":"user_agent.original","value":{"stringValue":"Mozilla/5.0 (X11; Linux x86_64) perch-faultmatrix"}}],"status":{}}`...)
				}
				line = append(line, `]}]}`...)
				if _, err := bw.Write(line); err != nil {
					return err
				}
			}
			if _, err := bw.WriteString(`]}}`); err != nil {
				return err
			}
			return bw.Flush()
		},
	}
}

// appendHexID appends x in hex, zero-padded to width digits (Appends, not
// Fprintf: the generator must outrun the client).
func appendHexID(b []byte, x uint64, width int) []byte {
	var digits [16]byte
	d := strconv.AppendUint(digits[:0], x, 16)
	for range width - len(d) {
		b = append(b, '0')
	}
	return append(b, d...)
}

// jaegerFatSpan is a valid v3 answer of one span whose one attribute is
// size bytes long: few spans, many bytes.
func jaegerFatSpan(size int, at time.Time) faultproxy.Body {
	return faultproxy.Body{
		Name:        fmt.Sprintf("jaeger v3 answer with a %d B attribute", size),
		ContentType: "application/json",
		Write: func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 64<<10)
			ts := strconv.FormatInt(at.Add(-time.Minute).UnixNano(), 10)
			if _, err := bw.WriteString(`{"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeSpans":[{"spans":[{"traceId":"0000000000000000000000000000fa75","spanId":"00000000000000f1","name":"POST /checkout","startTimeUnixNano":"` +
				ts + `","endTimeUnixNano":"` + ts + `","attributes":[{"key":"payload","value":{"stringValue":"`); err != nil {
				return err
			}
			chunk := []byte(strings.Repeat("x", 64<<10))
			for left := size; left > 0; left -= len(chunk) {
				if _, err := bw.Write(chunk[:min(len(chunk), left)]); err != nil {
					return err
				}
			}
			if _, err := bw.WriteString(`"}}]}]}]}]}}`); err != nil {
				return err
			}
			return bw.Flush()
		},
	}
}
