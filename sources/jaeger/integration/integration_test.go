// Package integration tests perch's Jaeger source and trace views against
// a real Jaeger v2 all-in-one with in-memory storage (v1.76.0, built by
// scripts/stack/jaeger.sh into .cache/stack and started on loopback).
// The simulator's traces of the daily incident are sent over OTLP/HTTP by
// sources/simtrace; perch must find the slowest one (the request stuck on
// the slow bank-gateway call), the failed ones, and lay the waterfall out
// at the spans' own timings, through the v1 and the v3 API.
//
// The test never skips: without the Jaeger binary it fails and says how
// to build it (scripts/stack/jaeger.sh install, or make deps).
package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/jaeger"
	"github.com/perch-dev/perch/sources/sim"
	"github.com/perch-dev/perch/sources/simtrace"
	"github.com/perch-dev/perch/themes"
	"github.com/perch-dev/perch/views/traces"
)

const workload = "checkout"

// env is the running stack and what was sent to it, set up by TestMain.
var env struct {
	query, otlp string
	sim         *sim.Sim
	checkout    sources.WorkloadID
	from, to    time.Time       // the search window (whole seconds)
	sent        []sources.Trace // everything sent
	through     []sources.Trace // sent traces with a checkout span starting in the window
	big, odd    sources.Trace   // 6000 spans; an orphan and clock skew
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: jaeger integration: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

func script(args ...string) (string, error) {
	path := filepath.Join(repoRoot(), "scripts", "stack", "jaeger.sh")
	cmd := exec.Command(path, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("jaeger.sh %s: %v: %s%s", strings.Join(args, " "), err, errb.String(), out.String())
	}
	return out.String(), nil
}

func setup(m *testing.M) (int, error) {
	bin := filepath.Join(repoRoot(), ".cache", "stack", "jaeger-v1.76.0", "bin", "jaeger")
	if _, err := os.Stat(bin); err != nil {
		return 0, fmt.Errorf("no Jaeger binary at %s: build it with `scripts/stack/jaeger.sh install` (make deps; ~10 min once); "+
			"this test needs a real server and never skips", bin)
	}
	dir, err := os.MkdirTemp("", "perch-jaeger-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	t0 := time.Now()
	out, err := script("start", dir)
	if err != nil {
		return 0, err
	}
	defer func() {
		if _, err := script("stop", dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	for _, line := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(line, "query="); ok {
			env.query = v
		}
		if v, ok := strings.CutPrefix(line, "otlp_http="); ok {
			env.otlp = v
		}
	}
	if env.query == "" || env.otlp == "" {
		return 0, fmt.Errorf("jaeger.sh start printed no urls: %q", out)
	}
	started := time.Since(t0)

	// Yesterday's incident, so every time is in the past.
	now := time.Now().UTC()
	s, err := sim.New(sim.Config{Start: now.Truncate(24 * time.Hour).Add(-24 * time.Hour), Clock: func() time.Time { return now }})
	if err != nil {
		return 0, err
	}
	env.sim = s
	for _, w := range s.Workloads() {
		if w.ID.Name == workload {
			env.checkout = w.ID
		}
	}
	inc, _ := s.IncidentWindow(s.Start())
	env.from, env.to = inc.Add(3*time.Minute), inc.Add(8*time.Minute)
	ctx := context.Background()
	sent, err := simtrace.Collect(ctx, s, env.from, env.to, 30)
	if err != nil {
		return 0, err
	}
	env.big = bigTrace(env.from.Add(time.Minute), 6000)
	env.odd = oddTrace(env.from.Add(2 * time.Minute))
	env.sent = append(sent, env.big, env.odd)
	for _, tr := range sent {
		for _, sp := range tr.Spans {
			if sp.Service == workload && !sp.Start.Before(env.from) && !sp.Start.After(env.to) {
				env.through = append(env.through, tr)
				break
			}
		}
	}
	f, err := simtrace.NewFeeder(env.otlp, s.Workloads())
	if err != nil {
		return 0, err
	}
	t1 := time.Now()
	spans, err := f.Send(ctx, env.sent)
	if err != nil {
		return 0, err
	}
	if err := waitStored(ctx); err != nil {
		return 0, err
	}
	fmt.Fprintf(os.Stderr, "jaeger at %s: started in %v; %d traces (%d spans, %d through %s) sent and stored in %v\n",
		env.query, started.Round(time.Millisecond), len(env.sent), spans, len(env.through), workload, time.Since(t1).Round(time.Millisecond))
	return m.Run(), nil
}

// waitStored polls until Jaeger's search finds every trace through
// checkout and the big and odd traces are complete (the batch processor
// flushes every 100 ms).
func waitStored(ctx context.Context) error {
	src, err := jaeger.New(jaeger.Config{URL: env.query, API: jaeger.APIV1, SearchDepth: jaeger.MaxSearchDepth})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		trs, err := src.Traces(ctx, sources.TraceQuery{ID: env.checkout, Start: env.from, End: env.to, Limit: jaeger.MaxLimit})
		big, errBig := src.Trace(ctx, env.big.ID)
		odd, errOdd := src.Trace(ctx, env.odd.ID)
		switch {
		case err != nil:
			last = err
		case errBig != nil || errOdd != nil:
			last = errors.Join(errBig, errOdd)
		case len(trs) < len(env.through) || len(big.Spans) < len(env.big.Spans) || len(odd.Spans) < len(env.odd.Spans):
			last = fmt.Errorf("stored %d/%d traces, big %d/%d spans", len(trs), len(env.through), len(big.Spans), len(env.big.Spans))
		default:
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("jaeger did not store what was sent within 30 s: %v", last)
}

// bigTrace is one trace of n spans: a job fanning out to n-1 steps.
func bigTrace(at time.Time, n int) sources.Trace {
	tr := sources.Trace{ID: "00000000000000000000000000b16b16"}
	root := "b16b000000000000"
	tr.Spans = append(tr.Spans, sources.Span{ID: root, Service: "batch-job", Operation: "run", Start: at, Duration: time.Duration(n) * time.Millisecond})
	for i := 1; i < n; i++ {
		tr.Spans = append(tr.Spans, sources.Span{ID: fmt.Sprintf("b16b%012x", i), ParentID: root, Service: "batch-job",
			Operation: "step", Start: at.Add(time.Duration(i) * time.Millisecond), Duration: 900 * time.Microsecond})
	}
	return tr
}

// oddTrace has a span whose parent never arrives and a child that starts
// 40 ms before its parent (the child's host clock is behind).
func oddTrace(at time.Time) sources.Trace {
	return sources.Trace{ID: "000000000000000000000000000dd0dd", Spans: []sources.Span{
		{ID: "dd00000000000001", Service: "legacy", Operation: "GET /", Start: at, Duration: 200 * time.Millisecond},
		{ID: "dd00000000000002", ParentID: "dd00000000000001", Service: "legacy-db", Operation: "query", Start: at.Add(-40 * time.Millisecond), Duration: 100 * time.Millisecond},
		{ID: "dd00000000000003", ParentID: "dd000000000000ff", Service: "legacy", Operation: "callback", Start: at.Add(300 * time.Millisecond), Duration: 50 * time.Millisecond},
	}}
}

func newSource(t *testing.T, api string) *jaeger.Source {
	t.Helper()
	s, err := jaeger.New(jaeger.Config{URL: env.query, API: api, Cluster: env.checkout.Cluster})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// own is checkout's longest span in a trace: what "slowest" ranks by.
func own(tr sources.Trace) time.Duration {
	var d time.Duration
	for _, s := range tr.Spans {
		if s.Service == workload {
			d = max(d, s.Duration)
		}
	}
	return d
}

func sentByID() map[string]sources.Trace {
	m := map[string]sources.Trace{}
	for _, tr := range env.sent {
		m[tr.ID] = tr
	}
	return m
}

// tolerance is the API's time resolution: v1 has microseconds.
func tolerance(api string) time.Duration {
	if api == jaeger.APIV1 {
		return time.Microsecond
	}
	return 0
}

func within(a, b, tol time.Duration) bool { return a-b <= tol && b-a <= tol }

func TestSlowestTraceIsTheOneWithTheSlowGatewayCall(t *testing.T) {
	want := append([]sources.Trace(nil), env.through...)
	sort.SliceStable(want, func(i, j int) bool { return own(want[i]) > own(want[j]) })
	for _, api := range []string{jaeger.APIV1, jaeger.APIV3} {
		t.Run(api, func(t *testing.T) {
			src := newSource(t, api)
			start := time.Now()
			got, err := src.Traces(context.Background(), sources.TraceQuery{ID: env.checkout, Start: env.from, End: env.to, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d traces in %v (%d HTTP calls)", api, len(got), time.Since(start).Round(time.Millisecond), src.Calls())
			if len(got) < 5 {
				t.Fatalf("%d traces", len(got))
			}
			for i := range 5 {
				if !within(own(got[i]), own(want[i]), tolerance(api)) {
					t.Errorf("slowest #%d: %s %v, want %s %v", i, got[i].ID, own(got[i]), want[i].ID, own(want[i]))
				}
			}
			if got[0].ID != want[0].ID {
				t.Fatalf("slowest trace %s, want %s", got[0].ID, want[0].ID)
			}
			// The slowest trace is stuck in payments' call to the bank gateway.
			var slowest sources.Span
			for _, s := range got[0].Spans {
				if s.Service != workload && s.Service != "frontend" && s.Service != "ingress-nginx" && s.Service != "payments" && s.Duration > slowest.Duration {
					slowest = s
				}
			}
			if slowest.Service != "bank-gateway" || slowest.Tags["span.kind"] != "client" {
				t.Errorf("slowest downstream span is %s (%v), want the bank-gateway client call", slowest.Service, slowest.Tags["span.kind"])
			}
			if slowest.Tags["resource.k8s.namespace.name"] != "" {
				t.Errorf("bank-gateway is external but has namespace %q", slowest.Tags["resource.k8s.namespace.name"])
			}
			for _, s := range got[0].Spans {
				if s.Service == workload && s.Tags["resource.k8s.namespace.name"] != "shop" {
					t.Errorf("checkout span without its namespace: %v", s.Tags)
				}
			}
		})
	}
}

func TestWaterfallOffsetsEqualTheSpanTimings(t *testing.T) {
	sent := sentByID()
	for _, api := range []string{jaeger.APIV1, jaeger.APIV3} {
		t.Run(api, func(t *testing.T) {
			got, err := newSource(t, api).Traces(context.Background(), sources.TraceQuery{ID: env.checkout, Start: env.from, End: env.to, Limit: 1})
			if err != nil || len(got) == 0 {
				t.Fatalf("%v %v", got, err)
			}
			tr := got[0]
			orig := sent[tr.ID]
			origin := orig.Spans[0].Start
			for _, s := range orig.Spans {
				if s.Start.Before(origin) {
					origin = s.Start
				}
			}
			byID := map[string]sources.Span{}
			for _, s := range orig.Spans {
				byID[s.ID] = s
			}
			w := traces.NewWaterfall(traces.DefaultStyles(themes.Dark()))
			w.SetSize(80, 24)
			w.SetData(traces.WaterfallData{Trace: tr})
			rows := w.Rows()
			if len(rows) != len(orig.Spans) {
				t.Fatalf("%d rows, sent %d spans", len(rows), len(orig.Spans))
			}
			tol := tolerance(api)
			for _, r := range rows {
				s, ok := byID[r.SpanID]
				if !ok {
					t.Fatalf("row for unknown span %s", r.SpanID)
				}
				if !within(r.Offset, s.Start.Sub(origin), tol) || !within(r.Duration, s.Duration, tol) {
					t.Errorf("%s %s: offset %v duration %v, sent %v %v", s.Service, s.Operation, r.Offset, r.Duration, s.Start.Sub(origin), s.Duration)
				}
				if s.Service == "bank-gateway" && !r.Critical {
					t.Errorf("the bank-gateway call is not on the critical path")
				}
				if r.Error != s.Error {
					t.Errorf("%s: error %v, sent %v", s.Service, r.Error, s.Error)
				}
			}
			frame := w.View()
			golden.CheckFrame(t, frame, 80, 24)
			if !strings.Contains(ansi.Strip(frame), "bank-gateway") {
				t.Errorf("waterfall does not show the gateway:\n%s", ansi.Strip(frame))
			}
			t.Logf("%s waterfall of %s:\n%s", api, tr.ID, ansi.Strip(frame))
		})
	}
}

func TestFailedTraces(t *testing.T) {
	want := map[string]bool{}
	for _, tr := range env.through {
		if tr.HasError() {
			want[tr.ID] = true
		}
	}
	if len(want) == 0 {
		t.Fatal("the incident window sent no failed trace: the fixture is too small")
	}
	for _, api := range []string{jaeger.APIV1, jaeger.APIV3} {
		t.Run(api, func(t *testing.T) {
			limit := len(env.through) + 1 // every trace fits: the failed set is exact
			got, err := newSource(t, api).Traces(context.Background(), sources.TraceQuery{ID: env.checkout, Start: env.from, End: env.to, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			gotFailed := map[string]bool{}
			for _, tr := range got {
				if tr.HasError() {
					gotFailed[tr.ID] = true
				}
			}
			if len(gotFailed) != len(want) {
				t.Errorf("%d failed traces, want %d", len(gotFailed), len(want))
			}
			for id := range want {
				if !gotFailed[id] {
					t.Errorf("failed trace %s not found", id)
				}
			}
			// The list view's failed tab shows exactly those.
			l := traces.NewList(traces.DefaultStyles(themes.Dark()))
			l.SetSize(80, 24)
			l.SetData(traces.ListData{Workload: env.checkout, Start: env.from, End: env.to, Traces: got})
			golden.CheckFrame(t, l.View(), 80, 24)
			if !strings.Contains(ansi.Strip(l.View()), fmt.Sprintf("failed %d", len(want))) {
				t.Errorf("list title does not count %d failed:\n%s", len(want), ansi.Strip(l.View()))
			}
		})
	}
}

func TestBigTraceAndBrokenTrees(t *testing.T) {
	for _, api := range []string{jaeger.APIV1, jaeger.APIV3} {
		t.Run(api, func(t *testing.T) {
			src := newSource(t, api)
			start := time.Now()
			big, err := src.Trace(context.Background(), env.big.ID)
			if err != nil {
				t.Fatal(err)
			}
			fetched := time.Since(start)
			if len(big.Spans) != len(env.big.Spans) {
				t.Fatalf("%d spans, sent %d", len(big.Spans), len(env.big.Spans))
			}
			w := traces.NewWaterfall(traces.DefaultStyles(themes.Dark()))
			w.SetSize(80, 24)
			start = time.Now()
			w.SetData(traces.WaterfallData{Trace: big})
			frame := w.View()
			t.Logf("%s: 6000-span trace fetched in %v, laid out and drawn in %v", api, fetched.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			golden.CheckFrame(t, frame, 80, 24)
			if !strings.Contains(ansi.Strip(frame), "6000 spans: showing the first 5000 by start time") {
				t.Errorf("no cap message:\n%s", ansi.Strip(frame))
			}

			odd, err := src.Trace(context.Background(), env.odd.ID)
			if err != nil {
				t.Fatal(err)
			}
			w.SetData(traces.WaterfallData{Trace: odd})
			var orphan, skew bool
			for _, r := range w.Rows() {
				orphan = orphan || (r.SpanID == "dd00000000000003" && r.Orphan)
				skew = skew || (r.SpanID == "dd00000000000002" && r.Skew && r.Offset == 0)
			}
			if !orphan || !skew {
				t.Errorf("orphan %v, skew %v: %+v", orphan, skew, w.Rows())
			}
			golden.CheckFrame(t, w.View(), 80, 24)
		})
	}
}

func TestUnknownTraceAndServerDown(t *testing.T) {
	for _, api := range []string{jaeger.APIV1, jaeger.APIV3} {
		_, err := newSource(t, api).Trace(context.Background(), "0123456789abcdef0123456789abcdef")
		if !errors.Is(err, jaeger.ErrTraceNotFound) || !strings.Contains(err.Error(), "trace 0123456789abcdef0123456789abcdef: trace not found") {
			t.Errorf("%s: unknown trace: %v", api, err)
		}
	}
	// An unknown service is no error, just nothing.
	got, err := newSource(t, jaeger.APIV3).Traces(context.Background(), sources.TraceQuery{ID: sources.WorkloadID{Name: "no-such-service"}, Start: env.from, End: env.to})
	if err != nil || len(got) != 0 {
		t.Errorf("unknown service: %d traces, %v", len(got), err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	down, _ := jaeger.New(jaeger.Config{URL: "http://" + addr, Timeout: 2 * time.Second})
	_, err = down.Traces(context.Background(), sources.TraceQuery{ID: env.checkout})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("jaeger down: %v", err)
	}
	w := traces.NewWaterfall(traces.DefaultStyles(themes.Dark()))
	w.SetSize(80, 24)
	w.SetData(traces.WaterfallData{Err: err})
	if !strings.Contains(strings.Join(strings.Fields(ansi.Strip(w.View())), " "), "connection refused") {
		t.Errorf("the view does not show the error:\n%s", ansi.Strip(w.View()))
	}
}

// The views read the tags the source writes for logs and resources.
func TestTagConventionsAgree(t *testing.T) {
	if traces.LogTagPrefix != jaeger.LogTagPrefix || traces.ResourceTagPrefix != jaeger.ResourceTagPrefix {
		t.Fatalf("views/traces reads %q/%q, the source writes %q/%q", traces.LogTagPrefix, traces.ResourceTagPrefix, jaeger.LogTagPrefix, jaeger.ResourceTagPrefix)
	}
}

func TestServicesAndRun(t *testing.T) {
	for _, api := range []string{jaeger.APIV1, jaeger.APIV3} {
		src, _ := jaeger.New(jaeger.Config{URL: env.query, API: api, Cluster: "demo", ListServices: true, Refresh: time.Hour,
			Clock: func() time.Time { return env.to }})
		svcs, err := src.Services(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"checkout", "payments", "bank-gateway", "batch-job", "legacy"} {
			if !contains(svcs, want) {
				t.Errorf("%s: services %v lack %s", api, svcs, want)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan sources.Update, 1)
		go src.Run(ctx, out)
		u := <-out
		cancel()
		if u.Err != nil || !u.Complete {
			t.Fatalf("%s: update %+v", api, u)
		}
		found := false
		for _, w := range u.Workloads {
			if w.ID == env.checkout {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: workloads %v lack %v (namespace from k8s.namespace.name)", api, u.Workloads, env.checkout)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
