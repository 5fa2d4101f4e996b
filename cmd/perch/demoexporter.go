package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/promexport"
	"github.com/perch-dev/perch/sources/sim"
)

// runDemoExporter serves the simulator under real exporter metric names
// (kube-state-metrics, cAdvisor, Istio, OpenFaaS, Knative, CloudWatch) so a
// real Prometheus can scrape it; --history writes OpenMetrics for promtool.
// --only keeps the series of one side (functions or Kubernetes workloads),
// e.g. for the scale benchmark, whose Kubernetes side is a real cluster.
func runDemoExporter(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("perch demo-exporter", e.stderr)
	listen := fs.String("listen", "127.0.0.1:9464", "address to serve /metrics on")
	seed := fs.Int64("seed", 1, "simulator seed")
	workloads := fs.Int("workloads", 0, "simulate N workloads instead of the built-in set")
	history := fs.String("history", "", "write this much history (e.g. 2h) as OpenMetrics to FILE given by --out, then exit")
	out := fs.String("out", "", "file for --history (default stdout)")
	only := fs.String("only", "", "serve only `functions` (Knative, OpenFaaS, Lambda) or only kubernetes workloads (default both)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := sim.New(sim.Config{Seed: *seed, Workloads: *workloads, Prices: cost.Defaults()})
	if err != nil {
		return usageError{err}
	}
	filter, err := newWorkloadFilter(*only, s.Workloads())
	if err != nil {
		return usageError{err}
	}
	if *history != "" {
		d, err := time.ParseDuration(*history)
		if err != nil || d <= 0 {
			return usageError{fmt.Errorf("--history %q: want a positive duration like 2h", *history)}
		}
		w := e.stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return fmt.Errorf("demo-exporter: %w", err)
			}
			defer f.Close()
			w = f
		}
		now := time.Now().Truncate(time.Minute)
		if filter == nil {
			return promexport.WriteHistory(w, s, now.Add(-d), now, 15*time.Second)
		}
		fw := &filterWriter{f: filter, w: w}
		if err := promexport.WriteHistory(fw, s, now.Add(-d), now, 15*time.Second); err != nil {
			return err
		}
		return fw.Flush()
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("demo-exporter: %w", err)
	}
	var h http.Handler = promexport.NewHandler(s, time.Now)
	if filter != nil {
		h = filteredHandler{inner: h, f: filter}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(e.stderr, "perch demo-exporter: serving the simulator on http://%s/metrics%s\n", ln.Addr(), filter.describe())
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("demo-exporter: %w", err)
	}
	return nil
}

// workloadFilter keeps the exposition lines of one side of the simulator.
// promexport renders every series of a workload with that workload's name
// in a label value: the name itself (deployment, kn_service_name,
// dimension_FunctionName...), or the name followed by "-" or "." (pods,
// ReplicaSets, Knative revisions, OpenFaaS "name.namespace", Istio's
// "name.ns.svc.cluster.local"). Simulator names are unique and generated
// ones end in their index, so no kept name starts with a dropped one.
type workloadFilter struct {
	only string
	kept int
	drop map[string]struct{} // names of the workloads left out
}

// newWorkloadFilter returns nil (no filtering) for only == "".
func newWorkloadFilter(only string, ws []sources.Workload) (*workloadFilter, error) {
	var keepFunctions bool
	switch only {
	case "":
		return nil, nil
	case "functions":
		keepFunctions = true
	case "kubernetes":
	default:
		return nil, fmt.Errorf("--only %q: want functions or kubernetes", only)
	}
	f := &workloadFilter{only: only, drop: map[string]struct{}{}}
	for _, w := range ws {
		if w.Platform.IsServerless() == keepFunctions {
			f.kept++
		} else {
			f.drop[w.ID.Name] = struct{}{}
		}
	}
	return f, nil
}

func (f *workloadFilter) describe() string {
	if f == nil {
		return ""
	}
	return " (only " + f.only + ": " + strconv.Itoa(f.kept) + " workloads)"
}

// keep reports whether a line of the text format (or OpenMetrics) stays:
// comments and lines without labels always do.
func (f *workloadFilter) keep(line []byte) bool {
	if len(line) == 0 || line[0] == '#' {
		return true
	}
	open := bytes.IndexByte(line, '{')
	if open < 0 {
		return true
	}
	rest := line[open+1:]
	for {
		q := bytes.IndexByte(rest, '"')
		if q < 0 {
			return true
		}
		rest = rest[q+1:]
		end := closingQuote(rest)
		if end < 0 {
			return true // malformed: leave it to the scraper to complain
		}
		if f.dropped(rest[:end]) {
			return false
		}
		rest = rest[end+1:]
		if len(rest) > 0 && rest[0] == '}' {
			return true
		}
	}
}

// closingQuote is the index of the quote ending a label value (after
// backslash escapes), or -1.
func closingQuote(b []byte) int {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// dropped reports whether a label value names a dropped workload or
// something derived from it (name-..., name....).
func (f *workloadFilter) dropped(v []byte) bool {
	if _, ok := f.drop[string(v)]; ok {
		return true
	}
	for i, c := range v {
		if c == '-' || c == '.' {
			if _, ok := f.drop[string(v[:i])]; ok {
				return true
			}
		}
	}
	return false
}

// filterWriter passes the kept lines of what is written through to w.
// Flush writes a last line without newline.
type filterWriter struct {
	f       *workloadFilter
	w       io.Writer
	pending []byte
}

func (fw *filterWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(fw.pending) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			fw.pending = append(fw.pending, p...)
			return n, nil
		}
		fw.pending = append(fw.pending, p[:i+1]...)
		if err := fw.emit(fw.pending); err != nil {
			return 0, err
		}
		fw.pending, p = fw.pending[:0], p[i+1:]
	}
	start := 0
	for {
		i := bytes.IndexByte(p[start:], '\n')
		if i < 0 {
			break
		}
		if err := fw.emit(p[start : start+i+1]); err != nil {
			return 0, err
		}
		start += i + 1
	}
	fw.pending = append(fw.pending, p[start:]...)
	return n, nil
}

func (fw *filterWriter) emit(line []byte) error {
	if !fw.f.keep(bytes.TrimSuffix(line, []byte("\n"))) {
		return nil
	}
	_, err := fw.w.Write(line)
	return err
}

// Flush writes what is left of an unterminated last line.
func (fw *filterWriter) Flush() error {
	if len(fw.pending) == 0 {
		return nil
	}
	err := fw.emit(fw.pending)
	fw.pending = fw.pending[:0]
	return err
}

// filteredHandler serves the inner handler's answer with only the kept
// lines (and the right Content-Length); non-200 answers pass unchanged.
type filteredHandler struct {
	inner http.Handler
	f     *workloadFilter
}

func (h filteredHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &bufferedResponse{header: http.Header{}, code: http.StatusOK}
	h.inner.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	if rec.code == http.StatusOK {
		var out bytes.Buffer
		out.Grow(len(body) / 2)
		fw := &filterWriter{f: h.f, w: &out}
		_, _ = fw.Write(body)
		_ = fw.Flush()
		body = out.Bytes()
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	if rec.code == http.StatusOK || w.Header().Get("Content-Length") != "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(rec.code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// bufferedResponse records an answer so it can be filtered before sending.
type bufferedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(code int)        { b.code = code }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
