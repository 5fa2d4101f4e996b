package prometheus

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/perch-dev/perch/sources"
)

// entry accumulates one workload's values during a round.
type entry struct {
	w        sources.Workload
	prio     int
	vals     [sources.NumMetrics]float64
	has      [sources.NumMetrics]bool
	duration float64 // Lambda average duration, s
	hasDur   bool
	memMB    float64
	hasMem   bool
}

// assemble merges the results (in plan order) into workloads and samples.
func (s *Source) assemble(plan []query, results []result, ts time.Time) ([]sources.Workload, []sources.Sample) {
	entries := map[sources.WorkloadID]*entry{}
	failed := failedColumns(plan, results)
	for i, r := range results {
		if r.err != nil {
			continue
		}
		q := plan[i]
		for _, smp := range r.vec {
			s.merge(entries, q, smp)
		}
	}
	ids := make([]sources.WorkloadID, 0, len(entries))
	for id := range entries {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].Less(ids[j]) })

	workloads := make([]sources.Workload, 0, len(ids))
	samples := make([]sources.Sample, 0, len(ids)*6)
	platforms := make(map[sources.WorkloadID]sources.Platform, len(ids))
	for _, id := range ids {
		e := entries[id]
		s.cost(e, failed)
		if e.hasMem {
			e.w.MemoryMB = e.memMB
			if e.w.Platform == sources.Lambda && !e.has[sources.MemRequest] {
				// A function's configured memory is what it reserves.
				e.vals[sources.MemRequest], e.has[sources.MemRequest] = e.memMB*(1<<20), true
			}
		}
		workloads = append(workloads, e.w)
		platforms[id] = e.w.Platform
		for m := sources.Metric(0); m < sources.NumMetrics; m++ {
			if e.has[m] {
				samples = append(samples, sources.Sample{ID: id, Metric: m, T: ts, V: e.vals[m]})
			}
		}
	}
	s.mu.Lock()
	s.platforms = platforms
	s.mu.Unlock()
	return workloads, samples
}

func (s *Source) idOf(ls model.Metric) (sources.WorkloadID, bool) {
	id := sources.WorkloadID{
		Cluster:   s.cfg.Cluster,
		Namespace: string(ls[labelNamespace]),
		Name:      string(ls[labelWorkload]),
	}
	if s.cfg.ClusterLabel != "" {
		if c := string(ls[model.LabelName(s.cfg.ClusterLabel)]); c != "" {
			id.Cluster = c
		}
	}
	return id, id.Name != ""
}

func (s *Source) merge(entries map[sources.WorkloadID]*entry, q query, smp *model.Sample) {
	if smp == nil || smp.Histogram != nil {
		return
	}
	v := float64(smp.Value)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return // no traffic (0/0) or no data: unknown, not zero
	}
	id, ok := s.idOf(smp.Metric)
	if !ok {
		return
	}
	metric := q.override
	if metric == "" {
		metric = string(smp.Metric[labelMetric])
	}
	e := entries[id]
	if e == nil {
		e = &entry{w: sources.Workload{ID: id}, prio: -1}
		entries[id] = e
	}
	// Identity: the preset with the highest priority names the platform.
	platform, kind, prio := sources.Platform(""), sources.Kind(""), -1
	if q.preset != nil {
		platform, kind, prio = q.preset.platform, q.preset.kind, q.preset.priority
		if kind == "" {
			kind = parseKind(string(smp.Metric[labelKind]))
		}
	} else {
		// An override may say what it is; otherwise it only adds values.
		if p := string(smp.Metric[labelPlatform]); p != "" {
			platform, prio = sources.Platform(p), 0
		}
		if k := parseKind(string(smp.Metric[labelKind])); k != "" {
			kind = k
		}
	}
	if prio > e.prio || (prio == e.prio && e.w.Kind == "" && kind != "") {
		e.prio = prio
		e.w.Platform = platform
		if kind != "" {
			e.w.Kind = kind
		}
	}
	if e.w.Platform == "" {
		e.w.Platform = sources.Kubernetes
	}
	if e.w.Kind == "" {
		if e.w.Platform.IsServerless() {
			e.w.Kind = sources.Function
		} else if kind != "" {
			e.w.Kind = kind
		} else {
			e.w.Kind = sources.Deployment
		}
	}
	switch metric {
	case colLambdaDuration:
		e.duration, e.hasDur = v, true
	case colLambdaMemory:
		e.memMB, e.hasMem = v, true
	default:
		m, ok := sources.ParseMetric(metric)
		if !ok {
			return
		}
		e.vals[m], e.has[m] = v, true
	}
}

func parseKind(s string) sources.Kind {
	switch strings.ToLower(s) {
	case "deployment":
		return sources.Deployment
	case "statefulset":
		return sources.StatefulSet
	case "daemonset":
		return sources.DaemonSet
	case "function":
		return sources.Function
	}
	return ""
}

// failedColumns names the columns (metric names, as in the queries'
// perch_metric tags or overrides) whose query failed this round.
func failedColumns(plan []query, results []result) map[string]bool {
	failed := map[string]bool{}
	for i, r := range results {
		if r.err == nil {
			continue
		}
		q := plan[i]
		if q.override != "" {
			failed[q.override] = true
			continue
		}
		for _, f := range q.preset.families {
			if f.name != q.name {
				continue
			}
			for _, c := range f.cols {
				failed[c.metric] = true
			}
		}
	}
	return failed
}

// costInputs are the columns cost is derived from.
var costInputs = []string{
	sources.CostRate.String(), // an override, which replaces the estimate
	sources.CPURequest.String(), sources.CPUUsage.String(), sources.MemRequest.String(), sources.MemUsage.String(),
	sources.ReplicasCurrent.String(),
	sources.RequestRate.String(), sources.LatencyP50.String(), colLambdaDuration, colLambdaMemory,
}

// cost fills CostRate from the workload's resources or its Lambda bill,
// unless an override supplied it. When one of its inputs failed this round
// it leaves cost unknown: an estimate from the queries that answered would
// replace the last good value with a wrong one. The check is by column, not
// by platform, so it errs on the side of sending no cost.
func (s *Source) cost(e *entry, failed map[string]bool) {
	if e.has[sources.CostRate] {
		return
	}
	for _, in := range costInputs {
		if failed[in] {
			return
		}
	}
	p := s.cfg.Prices
	if e.w.Platform == sources.Lambda {
		if !e.has[sources.RequestRate] {
			return
		}
		dur := e.duration
		if !e.hasDur && e.has[sources.LatencyP50] {
			dur = e.vals[sources.LatencyP50]
		}
		mem := s.cfg.LambdaMemoryMB
		if e.hasMem && e.memMB > 0 {
			mem = e.memMB
		}
		e.vals[sources.CostRate] = p.LambdaHourly(e.vals[sources.RequestRate], dur, mem)
		e.has[sources.CostRate] = true
		return
	}
	if e.has[sources.ReplicasCurrent] && e.vals[sources.ReplicasCurrent] == 0 && e.w.Platform != sources.AppEngine {
		// No pods now (scaled to zero): nothing requested or in use. CPU
		// usage, a rate over the window, may still show pods that ran.
		for _, m := range []sources.Metric{sources.CPURequest, sources.MemRequest, sources.CPUUsage, sources.MemUsage} {
			if !e.has[m] {
				e.vals[m], e.has[m] = 0, true
			}
		}
	}
	if !(e.has[sources.CPURequest] || e.has[sources.CPUUsage] || e.has[sources.MemRequest] || e.has[sources.MemUsage]) {
		return
	}
	val := func(m sources.Metric) float64 {
		if e.has[m] {
			return e.vals[m]
		}
		return math.NaN()
	}
	e.vals[sources.CostRate] = p.KubeHourly(val(sources.CPURequest), val(sources.CPUUsage), val(sources.MemRequest), val(sources.MemUsage))
	e.has[sources.CostRate] = true
}
