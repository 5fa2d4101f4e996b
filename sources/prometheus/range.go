package prometheus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/perch-dev/perch/sources"
)

// maxPoints is Prometheus's limit of points per series in a range query.
const maxPoints = 11_000

// Range returns one metric of one workload over [Start, End] at Step (a
// chart's width decides the step). The column's expression is narrowed to
// the workload on the server. Cost is computed from its inputs.
func (s *Source) Range(ctx context.Context, rq sources.RangeQuery) ([]sources.Sample, error) {
	if rq.Metric >= sources.NumMetrics {
		return nil, fmt.Errorf("prometheus %s: range: unknown metric %d", s.cfg.Name, rq.Metric)
	}
	if !rq.End.After(rq.Start) {
		return nil, fmt.Errorf("prometheus %s: range: end must be after start", s.cfg.Name)
	}
	step := rq.Step
	if step <= 0 {
		step = rq.End.Sub(rq.Start) / 200
	}
	if minStep := rq.End.Sub(rq.Start) / maxPoints; step < minStep {
		step = minStep
	}
	step = max(step, time.Second)
	r := v1.Range{Start: rq.Start, End: rq.End, Step: step}
	active, err := s.presets(ctx, s.cfg.Clock())
	if err != nil {
		return nil, s.red.Error(err)
	}
	f := filter{ns: rq.ID.Namespace, wl: rq.ID.Name}
	if s.cfg.ClusterLabel != "" {
		f.cluster = rq.ID.Cluster
	}
	metric := rq.Metric.String()
	if _, over := s.cfg.Overrides[metric]; rq.Metric != sources.CostRate || over {
		expr, ok := s.rangeExpr(active, metric, f)
		if !ok {
			return nil, nil
		}
		pts, err := s.rangePoints(ctx, "range "+metric, expr, r)
		if err != nil {
			return nil, s.red.Error(err)
		}
		return toSamples(rq.ID, rq.Metric, pts), nil
	}
	out, err := s.rangeCost(ctx, active, rq.ID, f, r)
	return out, s.red.Error(err)
}

// rangeExpr is the metric's expression for one workload: the override, or
// the active presets' columns joined with "or" (functions first, like the
// instant merge), each guarded to exactly that workload.
func (s *Source) rangeExpr(active []*preset, metric string, f filter) (string, bool) {
	q := newQctx(s.cfg, f)
	guard := s.guard(f)
	if o, ok := s.cfg.Overrides[metric]; ok {
		return fmt.Sprintf("(%s) and on (%s) %s", o, q.labels(labelNamespace, labelWorkload), guard), true
	}
	ordered := append([]*preset(nil), active...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].priority > ordered[j].priority })
	var parts []string
	for _, p := range ordered {
		for _, c := range p.columns() {
			if c.metric == metric {
				parts = append(parts, "("+c.expr(q)+")")
			}
		}
	}
	if len(parts) == 0 {
		return "", false
	}
	return fmt.Sprintf("(%s) and on (%s) %s", strings.Join(parts, " or "), q.labels(labelNamespace, labelWorkload), guard), true
}

// guard is a one-series vector carrying the workload's identity labels.
func (s *Source) guard(f filter) string {
	e := "vector(1)"
	e = fmt.Sprintf(`label_replace(%s, %q, %s, "", "")`, e, labelNamespace, strconv.Quote(f.ns))
	e = fmt.Sprintf(`label_replace(%s, %q, %s, "", "")`, e, labelWorkload, strconv.Quote(f.wl))
	if s.cfg.ClusterLabel != "" && f.cluster != "" {
		e = fmt.Sprintf(`label_replace(%s, %q, %s, "", "")`, e, s.cfg.ClusterLabel, strconv.Quote(f.cluster))
	}
	return e
}

type point struct {
	t time.Time
	v float64
}

// rangePoints runs one range query and returns the first series' points
// (the guard leaves one workload; duplicates by kind are merged, first wins).
func (s *Source) rangePoints(ctx context.Context, name, expr string, r v1.Range) ([]point, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	s.queries.Add(1)
	val, _, _, err := s.api.QueryRange(ctx, expr, r, v1.WithTimeout(serverTimeout(s.cfg.Timeout)))
	if err != nil {
		return nil, &QueryError{Name: name, Query: expr, Err: describe(s.timedOut(err))}
	}
	m, ok := val.(model.Matrix)
	if !ok {
		return nil, &QueryError{Name: name, Query: expr, Err: errors.New("expected a range vector")}
	}
	seen := map[model.Time]bool{}
	var pts []point
	for _, ss := range m {
		for _, p := range ss.Values {
			v := float64(p.Value)
			if seen[p.Timestamp] || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			seen[p.Timestamp] = true
			pts = append(pts, point{p.Timestamp.Time(), v})
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].t.Before(pts[j].t) })
	return pts, nil
}

func toSamples(id sources.WorkloadID, m sources.Metric, pts []point) []sources.Sample {
	out := make([]sources.Sample, len(pts))
	for i, p := range pts {
		out[i] = sources.Sample{ID: id, Metric: m, T: p.t, V: p.v}
	}
	return out
}

// rangeCost computes CostRate at every step from the inputs the instant
// rounds use: a Lambda bill, or max(request, usage) × prices.
func (s *Source) rangeCost(ctx context.Context, active []*preset, id sources.WorkloadID, f filter, r v1.Range) ([]sources.Sample, error) {
	s.mu.Lock()
	platform := s.platforms[id]
	s.mu.Unlock()
	fetch := func(metric string) (map[time.Time]float64, error) {
		expr, ok := s.rangeExpr(active, metric, f)
		if !ok {
			return nil, nil
		}
		pts, err := s.rangePoints(ctx, "range "+metric+" (for cost)", expr, r)
		if err != nil {
			return nil, err
		}
		out := make(map[time.Time]float64, len(pts))
		for _, p := range pts {
			out[p.t] = p.v
		}
		return out, nil
	}
	kube := []string{sources.CPURequest.String(), sources.CPUUsage.String(), sources.MemRequest.String(), sources.MemUsage.String()}
	lambda := []string{sources.RequestRate.String(), colLambdaDuration, colLambdaMemory}
	load := func(inputs []string) ([]map[time.Time]float64, map[time.Time]bool, error) {
		series := make([]map[time.Time]float64, len(inputs))
		times := map[time.Time]bool{}
		for i, in := range inputs {
			m, err := fetch(in)
			if err != nil {
				return nil, nil, err
			}
			series[i] = m
			for t := range m {
				times[t] = true
			}
		}
		return series, times, nil
	}
	if platform == "" {
		// Not seen in a round yet: a function if the Lambda preset knows it.
		if _, ok := s.rangeExpr(active, colLambdaDuration, f); ok {
			if m, err := fetch(sources.RequestRate.String()); err == nil && len(m) > 0 {
				if d, err := fetch(colLambdaDuration); err == nil && len(d) > 0 {
					platform = sources.Lambda
				}
			}
		}
	}
	inputs := kube
	if platform == sources.Lambda {
		inputs = lambda
	}
	series, times, err := load(inputs)
	if err != nil {
		return nil, err
	}
	get := func(i int, t time.Time) float64 {
		if v, ok := series[i][t]; ok {
			return v
		}
		return math.NaN()
	}
	var ts []time.Time
	for t := range times {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	out := make([]sources.Sample, 0, len(ts))
	for _, t := range ts {
		var v float64
		if platform == sources.Lambda {
			rps := get(0, t)
			if math.IsNaN(rps) {
				continue
			}
			mem := get(2, t)
			if math.IsNaN(mem) || mem <= 0 {
				mem = s.cfg.LambdaMemoryMB
			}
			v = s.cfg.Prices.LambdaHourly(rps, get(1, t), mem)
		} else {
			v = s.cfg.Prices.KubeHourly(get(0, t), get(1, t), get(2, t), get(3, t))
		}
		out = append(out, sources.Sample{ID: id, Metric: sources.CostRate, T: t, V: v})
	}
	return out, nil
}
