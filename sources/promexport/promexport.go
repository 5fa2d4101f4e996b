// Package promexport serves perch's simulator as a real Prometheus
// exporter, under the metric names of the exporters perch's Prometheus
// presets read: kube-state-metrics and cAdvisor (replicas, HPAs, pods and
// their owners, requests, CPU and memory), Istio (requests and a classic
// duration histogram with Istio's buckets), the OpenFaaS gateway, Knative
// Serving (OpenTelemetry-era kn_* names) and AWS Lambda as YACE exports it
// from CloudWatch (with Lambda Insights' memory size and init count).
//
// Gauges are the simulator's values at the scrape time. Counters are the
// integral of the simulator's rates over its 15 s grid and restart every
// hour, on the hour of the simulation epoch (as if exporters and pods
// restarted), so they are a pure function of time: a live scrape and a
// backfilled history agree sample for sample. Pods start and stop on the
// grid as the simulator's current replicas change; a started pod is a new
// pod (new name, CPU counter from zero), as cAdvisor shows it.
// Latency histograms count requests by the CDF of the distribution with
// the simulator's p50/p95/p99.
//
// NewHandler serves the current state; WriteHistory writes a past window
// as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`.
package promexport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/perch-dev/perch/sources/sim"
)

// ContentType is the Prometheus text exposition format served by NewHandler.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// MaxFrames bounds WriteHistory ((to-from)/step + 1).
const MaxFrames = 200_000

// Handler serves the simulator's state at clock() on every GET (any path).
type Handler struct {
	m     *model
	clock func() time.Time

	mu  sync.Mutex
	acc *accum
}

// NewHandler returns an http.Handler serving s at clock() (nil: time.Now)
// in the Prometheus text format.
func NewHandler(s *sim.Sim, clock func() time.Time) http.Handler {
	if clock == nil {
		clock = time.Now
	}
	m := newModel(s)
	return &Handler{m: m, clock: clock, acc: newAccum(m)}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var buf bytes.Buffer
	h.Write(&buf, h.clock())
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(buf.Bytes())
}

// Write writes the exposition of the state at t to w.
func (h *Handler) Write(w io.Writer, t time.Time) {
	h.mu.Lock()
	ctr := h.acc.at(t)
	h.mu.Unlock()
	st := h.m.stateAt(t)
	ts := newTextSink()
	h.m.emit(st, ctr, ts)
	ts.writeTo(w)
}

// textSink renders the Prometheus text format, family by family.
type textSink struct {
	bufs []bytes.Buffer
}

func newTextSink() *textSink { return &textSink{bufs: make([]bytes.Buffer, len(families))} }

func (t *textSink) buf(f *fam) *bytes.Buffer {
	b := &t.bufs[famIndex[f]]
	if b.Len() == 0 {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typeName())
	}
	return b
}

func (t *textSink) sample(f *fam, labels string, v float64) {
	b := t.buf(f)
	writeLine(b, f.name, labels, "", v)
}

func (t *textSink) hist(f *fam, labels string, h *histSpec, cum []float64, sum, count float64) {
	b := t.buf(f)
	for i, le := range h.les {
		var v float64
		if i < len(cum) {
			v = cum[i]
		}
		writeLine(b, f.name+"_bucket", labels, `le="`+le+`"`, v)
	}
	writeLine(b, f.name+"_bucket", labels, `le="+Inf"`, count)
	writeLine(b, f.name+"_sum", labels, "", sum)
	writeLine(b, f.name+"_count", labels, "", count)
}

func (t *textSink) writeTo(w io.Writer) {
	for i := range t.bufs {
		_, _ = w.Write(t.bufs[i].Bytes())
	}
}

func writeLine(b *bytes.Buffer, name, labels, extra string, v float64) {
	b.WriteString(name)
	if labels != "" || extra != "" {
		b.WriteByte('{')
		b.WriteString(labels)
		if labels != "" && extra != "" {
			b.WriteByte(',')
		}
		b.WriteString(extra)
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(formatValue(v))
	b.WriteByte('\n')
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// WriteHistory writes the simulator's series at from, from+step, ... <= to
// as OpenMetrics text (each family's lines together, every series' points
// in time order, counters typed without _total, a final # EOF), ready for
// `promtool tsdb create-blocks-from openmetrics`. The series are those
// NewHandler serves, so a Prometheus that scrapes the handler after a
// backfill continues the same series.
func WriteHistory(w io.Writer, s *sim.Sim, from, to time.Time, step time.Duration) error {
	if s == nil {
		return errors.New("promexport: nil simulator")
	}
	if step <= 0 {
		return errors.New("promexport: step must be positive")
	}
	if to.Before(from) {
		return errors.New("promexport: to is before from")
	}
	frames := int(to.Sub(from)/step) + 1
	if frames > MaxFrames {
		return fmt.Errorf("promexport: %d frames is too many (max %d); use a larger step", frames, MaxFrames)
	}
	m := newModel(s)
	acc := newAccum(m)
	hs := newHistorySink(frames)
	for i := range frames {
		t := from.Add(time.Duration(i) * step)
		hs.frame = int32(i)
		hs.times = append(hs.times, t.UnixMilli())
		m.emit(acc.state(t), acc.at(t), hs)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	hs.writeOpenMetrics(bw)
	return bw.Flush()
}

// historySink keeps every series' points of every frame.
type historySink struct {
	frame  int32
	times  []int64 // unix ms per frame
	series []map[string]*hseries
}

type hseries struct {
	pts []hpoint
	h   *histSpec
}

type hpoint struct {
	frame int32
	v     float64   // gauge or counter value; histogram count
	cum   []float64 // histogram buckets
	sum   float64
}

func newHistorySink(frames int) *historySink {
	hs := &historySink{times: make([]int64, 0, frames), series: make([]map[string]*hseries, len(families))}
	for i := range hs.series {
		hs.series[i] = map[string]*hseries{}
	}
	return hs
}

func (hs *historySink) get(f *fam, labels string) *hseries {
	m := hs.series[famIndex[f]]
	s := m[labels]
	if s == nil {
		s = &hseries{}
		m[labels] = s
	}
	return s
}

func (hs *historySink) sample(f *fam, labels string, v float64) {
	s := hs.get(f, labels)
	s.pts = append(s.pts, hpoint{frame: hs.frame, v: v})
}

func (hs *historySink) hist(f *fam, labels string, h *histSpec, cum []float64, sum, count float64) {
	s := hs.get(f, labels)
	s.h = h
	c := make([]float64, len(h.bounds))
	copy(c, cum)
	s.pts = append(s.pts, hpoint{frame: hs.frame, v: count, cum: c, sum: sum})
}

func (hs *historySink) writeOpenMetrics(w *bufio.Writer) {
	var line bytes.Buffer
	for fi, f := range families {
		m := hs.series[fi]
		if len(m) == 0 {
			continue
		}
		typ := f.typeName()
		fmt.Fprintf(w, "# TYPE %s %s\n# HELP %s %s\n", f.omName(), typ, f.omName(), f.help)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s := m[k]
			for _, p := range s.pts {
				ts := omTime(hs.times[p.frame])
				line.Reset()
				switch f.typ {
				case histogram:
					for i, le := range s.h.les {
						omLine(&line, f.name+"_bucket", k, `le="`+le+`"`, p.cum[i], ts)
					}
					omLine(&line, f.name+"_bucket", k, `le="+Inf"`, p.v, ts)
					omLine(&line, f.name+"_count", k, "", p.v, ts)
					omLine(&line, f.name+"_sum", k, "", p.sum, ts)
				default:
					omLine(&line, f.name, k, "", p.v, ts)
				}
				_, _ = w.Write(line.Bytes())
			}
		}
	}
	_, _ = w.WriteString("# EOF\n")
}

func omLine(b *bytes.Buffer, name, labels, extra string, v float64, ts string) {
	b.WriteString(name)
	if labels != "" || extra != "" {
		b.WriteByte('{')
		b.WriteString(labels)
		if labels != "" && extra != "" {
			b.WriteByte(',')
		}
		b.WriteString(extra)
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(formatValue(v))
	b.WriteByte(' ')
	b.WriteString(ts)
	b.WriteByte('\n')
}

// omTime renders unix milliseconds as OpenMetrics seconds.
func omTime(ms int64) string {
	sec, frac := ms/1000, ms%1000
	if frac < 0 {
		sec, frac = sec-1, frac+1000
	}
	if frac == 0 {
		return strconv.FormatInt(sec, 10)
	}
	return fmt.Sprintf("%d.%03d", sec, frac)
}
