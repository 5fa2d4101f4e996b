package influxdb

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/perch-dev/perch/sources"
)

// Range limits.
const (
	defaultPoints = 200    // points when the caller gives no step
	maxPoints     = 11_000 // the most windows one range query asks for
)

// rangeStep is the aggregateWindow period for a range: the caller's step
// (a chart's width decides it), at least 1 s and at most maxPoints
// windows, in whole seconds.
func rangeStep(rq sources.RangeQuery) time.Duration {
	span := rq.End.Sub(rq.Start)
	step := rq.Step
	if step <= 0 {
		step = span / defaultPoints
	}
	step = max(step, span/maxPoints, time.Second)
	return step.Round(time.Second)
}

// Range returns one metric of one function over [Start, End], one point
// per aggregateWindow window (every = the step). The query is narrowed to
// the function on the server and runs once per call.
func (s *Source) Range(ctx context.Context, rq sources.RangeQuery) ([]sources.Sample, error) {
	if rq.Metric >= sources.NumMetrics {
		return nil, fmt.Errorf("%s: range: unknown metric %d", s.label(), rq.Metric)
	}
	if !rq.End.After(rq.Start) {
		return nil, fmt.Errorf("%s: range: end must be after start", s.label())
	}
	every := rangeStep(rq)
	// Windows are aligned to the epoch (as window() does): whole windows
	// only, so the newest point is the last complete window (never a
	// partial one, which would read as a drop, nor one in the future).
	start := rq.Start.Truncate(every)
	stop := rq.End.Truncate(every)
	if !stop.After(start) {
		stop = start.Add(every)
	}
	if o, ok := s.cfg.Overrides[rq.Metric.String()]; ok && o != "" {
		out, err := s.rangeOverride(ctx, rq, start, stop, every)
		return out, s.red.wrap(err)
	}
	active, err := s.presets(ctx, window{start: start, stop: stop, inventory: s.cfg.Clock().Add(-s.cfg.Inventory)}, s.cfg.Clock())
	if err != nil {
		return nil, s.red.wrap(err)
	}
	s.mu.Lock()
	k, seen := s.known[rq.ID]
	s.mu.Unlock()
	has := func(p string) bool {
		for _, a := range active {
			if a == p {
				return true
			}
		}
		return false
	}
	// The per-invocation data first (as in a round), CloudWatch next.
	if has(PresetInvocations) && (!seen || k.presets&fromInvocations != 0) {
		out, err := s.rangeInvocations(ctx, rq, k, start, stop, every)
		if err != nil || len(out) > 0 {
			return out, s.red.wrap(err)
		}
	}
	if has(PresetCloudWatchLambda) && (!seen || k.presets&fromCloudWatch != 0) {
		out, err := s.rangeCloudWatch(ctx, rq, k, start, stop, every)
		return out, s.red.wrap(err)
	}
	return nil, nil
}

// narrow is the Flux predicate selecting one function's series.
func narrow(nameTag, name, nsTag, ns string) string {
	p := "r." + nameTag + " == " + fluxString(name)
	if nsTag != "" {
		p += " and r." + nsTag + " == " + fluxString(ns)
	}
	return p
}

// series is one function's points of a range result by yield and time.
type series map[string]map[time.Time]float64

func (s series) add(yield string, t time.Time, v float64) {
	m := s[yield]
	if m == nil {
		m = map[time.Time]float64{}
		s[yield] = m
	}
	m[t] += v
}

func (s series) times(yields ...string) []time.Time {
	seen := map[time.Time]bool{}
	for _, y := range yields {
		for t := range s[y] {
			seen[t] = true
		}
	}
	out := make([]time.Time, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

func (s series) get(yield string, t time.Time) (float64, bool) {
	v, ok := s[yield][t]
	return v, ok
}

// rangeInvocations computes the metric per window from the
// per-invocation schema.
func (s *Source) rangeInvocations(ctx context.Context, rq sources.RangeQuery, k known, start, stop time.Time, every time.Duration) ([]sources.Sample, error) {
	pred := narrow(tagFunction, rq.ID.Name, k.invNsTag, rq.ID.Namespace)
	base := func(field string) string {
		return fromRange(s.cfg.Bucket, start, stop) + "\n" +
			"  |> filter(fn: (r) => r._measurement == " + fluxString(InvocationsMeasurement) +
			" and r._field == " + fluxString(field) + " and " + pred + ")\n"
	}
	group := "  |> group(columns: " + fluxStrings(invocationGroup) + ")\n"
	ev := fluxDuration(every)
	agg := func(fn string, empty bool, yield string) string {
		return fmt.Sprintf("  |> aggregateWindow(every: %s, createEmpty: %t, fn: %s)\n  |> yield(name: %q)\n", ev, empty, fn, yield)
	}
	counted := func(field, pred, yield string) string {
		return base(field) + "  |> filter(fn: (r) => " + pred + ")\n" + group + agg("count", false, yield)
	}
	invocations := base(fieldDuration) + group + agg("count", true, yCount)
	var flux string
	switch rq.Metric {
	case sources.LatencyP50, sources.LatencyP95, sources.LatencyP99:
		q := [...]float64{0.5, 0.95, 0.99}[rq.Metric-sources.LatencyP50]
		flux = base(fieldDuration) + group + agg(quantileFn(q), false, "q")
	case sources.RequestRate:
		flux = invocations
	case sources.Concurrency, sources.CostRate:
		flux = "d = " + base(fieldDuration) + group +
			"d" + agg("count", true, yCount) + "d" + agg("mean", false, yMean) +
			base(fieldMemory) + agg("last", false, yMemory)
	case sources.ErrorRatio:
		if seen := k.presets != 0; seen && !k.hasStatus {
			return nil, nil // the function writes no status: unknown, not 0
		}
		flux = invocations + counted(fieldStatus, "r._value !~ "+failedStatus, yFailed)
	case sources.ColdStarts:
		if seen := k.presets != 0; seen && !k.hasCold {
			return nil, nil
		}
		flux = invocations + counted(fieldColdStart, "r._value == true", yCold)
	case sources.MemRequest:
		flux = base(fieldMemory) + agg("last", false, yMemory)
	default:
		return nil, nil
	}
	rows, err := s.rangeRows(ctx, "range "+rq.Metric.String(), flux)
	if err != nil {
		return nil, err
	}
	pts := series{}
	for _, r := range rows {
		if id, _, _, ok := s.invocationID(r.tags); !ok || id != rq.ID {
			continue
		}
		v, ok := number(r.value)
		if !ok {
			continue
		}
		pts.add(r.result, r.t, v)
	}
	sec := every.Seconds()
	var out []sources.Sample
	emit := func(t time.Time, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, sources.Sample{ID: rq.ID, Metric: rq.Metric, T: t, V: v})
		}
	}
	switch rq.Metric {
	case sources.LatencyP50, sources.LatencyP95, sources.LatencyP99:
		for _, t := range pts.times("q") {
			v, _ := pts.get("q", t)
			emit(t, v/1000)
		}
	case sources.RequestRate:
		for _, t := range pts.times(yCount) {
			v, _ := pts.get(yCount, t)
			emit(t, v/sec)
		}
	case sources.Concurrency, sources.CostRate:
		mem := s.cfg.LambdaMemoryMB
		if k.memMB > 0 {
			mem = k.memMB
		}
		for _, t := range pts.times(yCount) {
			n, _ := pts.get(yCount, t)
			mean, hasMean := pts.get(yMean, t)
			if m, ok := pts.get(yMemory, t); ok && m > 0 {
				mem = m
			}
			rps := n / sec
			if rq.Metric == sources.Concurrency {
				if n == 0 {
					emit(t, 0)
				} else if hasMean {
					emit(t, rps*mean/1000)
				}
				continue
			}
			platform := k.platform
			if platform == "" {
				platform = sources.Lambda
			}
			if platform != sources.Lambda {
				continue
			}
			if n > 0 && !hasMean {
				continue
			}
			emit(t, s.cfg.Prices.LambdaHourly(rps, mean/1000, mem))
		}
	case sources.ErrorRatio:
		for _, t := range pts.times(yCount) {
			n, _ := pts.get(yCount, t)
			f, _ := pts.get(yFailed, t)
			if n > 0 {
				emit(t, math.Min(f/n, 1))
			}
		}
	case sources.ColdStarts:
		for _, t := range pts.times(yCount) {
			c, _ := pts.get(yCold, t)
			emit(t, c/(sec/60))
		}
	case sources.MemRequest:
		for _, t := range pts.times(yMemory) {
			v, _ := pts.get(yMemory, t)
			emit(t, v*(1<<20))
		}
	}
	return out, nil
}

// rangeCloudWatch computes the metric per window from Telegraf's
// CloudWatch fields (each window's mean of the per-period statistics).
func (s *Source) rangeCloudWatch(ctx context.Context, rq sources.RangeQuery, k known, start, stop time.Time, every time.Duration) ([]sources.Sample, error) {
	nsTag := tagRegion // Telegraf tags every point with its region
	if rq.ID.Namespace == string(sources.Lambda) && k.cwNsTag == "" {
		nsTag = "" // no region tag: the namespace was defaulted
	}
	pred := narrow(tagFunctionName, rq.ID.Name, nsTag, rq.ID.Namespace)
	flux := fromRange(s.cfg.Bucket, start, stop) + "\n" +
		"  |> filter(fn: (r) => ((r._measurement == " + fluxString(CloudWatchLambdaMeasurement) + " and " + fieldIn(cwLambdaFields) + ")" +
		" or (r._measurement == " + fluxString(CloudWatchInsightsMeasurement) + " and " + fieldIn(cwInsightsFields) + ")) and " + pred + ")\n" +
		"  |> filter(fn: (r) => not exists r.resource and not exists r.executed_version)\n" +
		"  |> aggregateWindow(every: " + fluxDuration(every) + ", createEmpty: false, fn: mean)\n" +
		"  |> yield(name: \"" + yCW + "\")\n"
	rows, err := s.rangeRows(ctx, "range "+rq.Metric.String(), flux)
	if err != nil {
		return nil, err
	}
	pts := series{}
	for _, r := range rows {
		if id, _, ok := s.cloudWatchID(r.tags); !ok || id != rq.ID {
			continue
		}
		if v, ok := number(r.value); ok {
			pts.add(r.field, r.t, v)
		}
	}
	period := s.cfg.CloudWatchPeriod.Seconds()
	var out []sources.Sample
	emit := func(t time.Time, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, sources.Sample{ID: rq.ID, Metric: rq.Metric, T: t, V: v})
		}
	}
	mem := s.cfg.LambdaMemoryMB
	if k.memMB > 0 {
		mem = k.memMB
	}
	for _, t := range pts.times(cwLambdaFields...) {
		inv, _ := pts.get(cwInvocations, t)
		switch rq.Metric {
		case sources.RequestRate:
			emit(t, inv/period)
		case sources.ErrorRatio:
			e, _ := pts.get(cwErrors, t)
			th, _ := pts.get(cwThrottles, t)
			if inv+th > 0 {
				emit(t, (e+th)/(inv+th))
			}
		case sources.Concurrency:
			if v, ok := pts.get(cwConcurrent, t); ok {
				emit(t, v)
			}
		case sources.LatencyP50, sources.LatencyP95, sources.LatencyP99:
			f := []string{cwDurationP50, cwDurationP95, cwDurationP99}[rq.Metric-sources.LatencyP50]
			if v, ok := pts.get(f, t); ok {
				emit(t, v/1000)
			}
		case sources.ColdStarts:
			if v, ok := pts.get(cwInitCount, t); ok {
				emit(t, v/period*60)
			}
		case sources.CostRate:
			avg, ok := pts.get(cwDurationAvg, t)
			if !ok && inv > 0 {
				continue
			}
			m := mem
			if v, ok := pts.get(cwMemory, t); ok && v > 0 {
				m = v
			}
			emit(t, s.cfg.Prices.LambdaHourly(inv/period, avg/1000, m))
		case sources.MemRequest:
			if v, ok := pts.get(cwMemory, t); ok {
				emit(t, v*(1<<20))
			}
		}
	}
	return out, nil
}

// rangeOverride runs an override over the range and keeps the function's rows.
func (s *Source) rangeOverride(ctx context.Context, rq sources.RangeQuery, start, stop time.Time, every time.Duration) ([]sources.Sample, error) {
	m := rq.Metric.String()
	rows, err := s.rangeRows(ctx, "range override "+m, s.overrideFlux(m, start, stop, every))
	if err != nil {
		return nil, err
	}
	byT := map[time.Time]float64{}
	for _, r := range rows {
		var id sources.WorkloadID
		var ok bool
		if r.tags[tagFunction] != "" {
			id, _, _, ok = s.invocationID(r.tags)
		} else {
			id, _, ok = s.cloudWatchID(r.tags)
		}
		if !ok || id != rq.ID {
			continue
		}
		if v, ok := number(r.value); ok {
			byT[r.t] = v
		}
	}
	out := make([]sources.Sample, 0, len(byT))
	for t, v := range byT {
		out = append(out, sources.Sample{ID: rq.ID, Metric: rq.Metric, T: t, V: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T.Before(out[j].T) })
	return out, nil
}

func (s *Source) rangeRows(ctx context.Context, name, flux string) ([]row, error) {
	rows, truncated, err := s.query(ctx, query{name: name, flux: flux})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.label(), err)
	}
	if truncated {
		return rows, fmt.Errorf("%s: %s: more than %d rows (max_series): %w", s.label(), name, s.cfg.MaxSeries, ErrPartial)
	}
	return rows, nil
}
