package sim

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/perch-dev/perch/sources"
)

const (
	defaultTraceWindow = 15 * time.Minute
	defaultTraceLimit  = 20
	maxTraceLimit      = 500
	maxCandidates      = 400
	maxSpans           = 64
)

// Traces implements sources.TraceFinder: synthetic traces of a workload
// drawn from the latency model, newest first. Candidate traces sit on an
// absolute grid (one per step, at a hash-chosen offset; the step is the
// smallest power-of-two seconds giving at most 400 candidates in the
// window), so the same query always yields the same traces. During the incident, traces
// through payments carry a slow bank-gateway span.
func (s *Sim) Traces(ctx context.Context, q sources.TraceQuery) ([]sources.Trace, error) {
	w, ok := s.index[q.ID]
	if !ok {
		return nil, fmt.Errorf("sim: unknown workload %s", q.ID)
	}
	end := q.End
	if end.IsZero() {
		end = s.clock()
	}
	start := q.Start
	if start.IsZero() {
		start = end.Add(-defaultTraceWindow)
	}
	if end.Before(start) {
		return nil, fmt.Errorf("sim: trace window end %v before start %v", end, start)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultTraceLimit
	}
	limit = min(limit, maxTraceLimit)
	step := time.Second
	for end.Sub(start)/step > maxCandidates {
		step *= 2
	}
	order := s.latencyClosure(w)
	sc := s.getScratch()
	defer s.pool.Put(sc)
	sp := &s.specs[w]

	var out []sources.Trace
	for n := floorDiv(int64(end.Sub(s.start)), int64(step)); len(out) < limit; n-- {
		slot := s.start.Add(time.Duration(n) * step)
		if slot.Add(step).Before(start) || slot.Add(step).Equal(start) {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := hash(sp.key^uint64(step), 0x7ace, n)
		tc := slot.Add(time.Duration(unit(h) * float64(step)))
		if tc.Before(start) || tc.After(end) {
			continue
		}
		s.eval(tc, order, sc)
		if sc.st[w].load <= 0 {
			continue
		}
		tr := s.trace(w, tc, h, sc)
		if tr.Duration < q.MinDuration {
			continue
		}
		out = append(out, tr)
	}
	return out, nil
}

// quantile draws a duration from the distribution with the given
// percentiles at probability u.
func quantile(p50, p95, p99, u float64) float64 {
	geo := func(a, b, f float64) float64 { return a * math.Pow(b/a, f) }
	switch {
	case u < 0.5:
		return p50 * (0.45 + 1.1*u)
	case u < 0.95:
		return geo(p50, p95, (u-0.5)/0.45)
	case u < 0.99:
		return geo(p95, p99, (u-0.95)/0.04)
	default:
		return p99 * (1 + 50*(u-0.99))
	}
}

func secDur(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }

type traceBuilder struct {
	s  *Sim
	sc *scratch
	tr *sources.Trace
	h  uint64
}

func (b *traceBuilder) id(n int) string {
	return fmt.Sprintf("%016x", hash(b.h, 0x5fa, int64(n)))
}

func (s *Sim) trace(w int32, t time.Time, h uint64, sc *scratch) sources.Trace {
	tr := sources.Trace{
		ID:          fmt.Sprintf("%016x%016x", mix(h), mix(h^0xbeef)),
		RootService: s.specs[w].w.ID.Name,
		Start:       t,
	}
	b := &traceBuilder{s: s, sc: sc, tr: &tr, h: h}
	d := b.span(w, "", t, unit(mix(h^0x9)), 0)
	tr.RootOperation = tr.Spans[0].Operation
	tr.Duration = d
	return tr
}

// span appends the span of one workload and its callees, which run one
// after the other, and returns its duration.
func (b *traceBuilder) span(w int32, parent string, start time.Time, u float64, depth int) time.Duration {
	sp := &b.s.specs[w]
	st := &b.sc.st[w]
	n := len(b.tr.Spans)
	hs := hash(b.h, 0x5b, int64(n))
	id := b.id(n)
	op := sp.ops[int(hs%uint64(len(sp.ops)))]
	b.tr.Spans = append(b.tr.Spans, sources.Span{
		ID: id, ParentID: parent, Service: sp.w.ID.Name, Operation: op, Start: start,
		Tags: map[string]string{"k8s.namespace": sp.w.ID.Namespace, "platform": string(sp.w.Platform)},
	})
	own := secDur(quantile(st.own50, st.own95, st.own99, u))
	failed := unit(mix(hs^0xe)) < st.ownErr
	cursor := start.Add(own / 10)
	if st.cold {
		b.tr.Spans[n].Tags["faas.coldstart"] = "true"
	}
	if sp.downstream != "" && len(b.tr.Spans) < maxSpans {
		// most of the own time is the external call
		ext := own * 7 / 10
		b.tr.Spans = append(b.tr.Spans, sources.Span{
			ID: b.id(len(b.tr.Spans)), ParentID: id, Service: sp.downstream, Operation: sp.downstreamOp,
			Start: cursor, Duration: ext, Error: failed && sp.incident,
			Tags: map[string]string{"peer.service": sp.downstream, "span.kind": "client"},
		})
		cursor = cursor.Add(ext)
	}
	total := own
	if depth < 5 {
		for ci, cl := range sp.callees {
			if b.sc.st[cl.to].load <= 0 {
				continue
			}
			hc := hash(hs, 0xca11, int64(ci))
			calls := int(cl.calls)
			if unit(hc) < cl.calls-float64(calls) {
				calls++
			}
			for c := 0; c < min(calls, 3) && len(b.tr.Spans) < maxSpans; c++ {
				cu := 0.5*u + 0.5*unit(mix(hc+uint64(c)))
				child := len(b.tr.Spans)
				d := b.span(cl.to, id, cursor, cu, depth+1)
				cursor = cursor.Add(d)
				total += d
				if b.tr.Spans[child].Error && unit(mix(hc^0xf)) < 0.8 {
					failed = true
				}
			}
		}
	}
	code := "200"
	if failed {
		code = "50" + strconv.Itoa(2+int(hs%3))
	}
	b.tr.Spans[n].Duration = total
	b.tr.Spans[n].Error = failed
	b.tr.Spans[n].Tags["http.status_code"] = code
	return total
}
