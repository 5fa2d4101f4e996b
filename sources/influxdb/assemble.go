package influxdb

import (
	"math"
	"sort"
	"time"

	"github.com/perch-dev/perch/sources"
)

// Assembling a round: rows of every query → workloads, samples and cost.

// invStats is one function's per-invocation statistics.
type invStats struct {
	platform       sources.Platform
	nsTag, runtime string
	seen           time.Time // newest point in the inventory window
	q              [3]float64
	hasQ           [3]bool
	mean           float64
	hasMean        bool
	count          float64
	hasCount       bool
	failed, cold   float64
	// hasStatus and hasCold: the function writes those fields at all
	// (zero failures is then 0, not unknown).
	hasStatus, hasCold bool
	mem                float64
	memAt              time.Time
	hasMem             bool
}

// cwEntry is one function's CloudWatch fields.
type cwEntry struct {
	nsTag  string
	fields map[string]cwPoint
}

// cwPoint is the newest value of one CloudWatch field.
type cwPoint struct {
	v float64
	t time.Time
}

// acc is one workload's merged values.
type acc struct {
	w      sources.Workload
	vals   [sources.NumMetrics]float64
	prio   [sources.NumMetrics]int // 0 = unset
	avgDur float64                 // mean duration, s
	durP   int
	memMB  float64
	memP   int
	known  known
}

func (a *acc) set(m sources.Metric, v float64, prio int) {
	if math.IsNaN(v) || math.IsInf(v, 0) || prio < a.prio[m] {
		return
	}
	a.vals[m], a.prio[m] = v, prio
}

type assembly struct {
	s   *Source
	now time.Time
	// incomplete holds the families that failed or were cut at
	// max_series this round. A value whose absence would read as zero
	// (no count row: no traffic) or that combines families (cost) is
	// not derived from an incomplete family: the store keeps the last
	// good one, marked stale, instead of showing a made-up zero.
	incomplete map[string]bool
	inv        map[sources.WorkloadID]*invStats
	cw         map[sources.WorkloadID]*cwEntry
	over       map[sources.WorkloadID]map[sources.Metric]cwPoint
	ovW        map[sources.WorkloadID]sources.Workload
	known      map[sources.WorkloadID]known
}

func (s *Source) newAssembly(now time.Time) *assembly {
	return &assembly{
		s: s, now: now,
		incomplete: map[string]bool{},
		inv:        map[sources.WorkloadID]*invStats{},
		cw:         map[sources.WorkloadID]*cwEntry{},
		over:       map[sources.WorkloadID]map[sources.Metric]cwPoint{},
		ovW:        map[sources.WorkloadID]sources.Workload{},
		known:      map[sources.WorkloadID]known{},
	}
}

// invocationID names a function of the per-invocation schema.
func (s *Source) invocationID(tags map[string]string) (sources.WorkloadID, sources.Platform, string, bool) {
	name := tags[tagFunction]
	platform := platformOf(tags[tagPlatform])
	ns, nsTag := tags[tagNamespace], tagNamespace
	if ns == "" {
		ns, nsTag = tags[tagRegion], tagRegion
	}
	if ns == "" {
		ns, nsTag = string(platform), ""
	}
	return sources.WorkloadID{Cluster: s.cfg.Cluster, Namespace: ns, Name: name}, platform, nsTag, name != ""
}

// cloudWatchID names a Lambda function of the CloudWatch data.
func (s *Source) cloudWatchID(tags map[string]string) (sources.WorkloadID, string, bool) {
	name := tags[tagFunctionName]
	ns, nsTag := tags[tagRegion], tagRegion
	if ns == "" {
		ns, nsTag = string(sources.Lambda), ""
	}
	return sources.WorkloadID{Cluster: s.cfg.Cluster, Namespace: ns, Name: name}, nsTag, name != ""
}

func (a *assembly) stats(tags map[string]string) *invStats {
	id, platform, nsTag, ok := a.s.invocationID(tags)
	if !ok {
		return nil
	}
	st := a.inv[id]
	if st == nil {
		st = &invStats{platform: platform, nsTag: nsTag}
		a.inv[id] = st
	}
	return st
}

// add files one query's rows.
func (a *assembly) add(q query, rows []row) {
	switch {
	case q.preset == PresetInvocations:
		for _, r := range rows {
			a.addInvocation(r)
		}
	case q.preset == PresetCloudWatchLambda:
		for _, r := range rows {
			id, nsTag, ok := a.s.cloudWatchID(r.tags)
			v, isNum := number(r.value)
			if !ok || !isNum {
				continue
			}
			e := a.cw[id]
			if e == nil {
				e = &cwEntry{nsTag: nsTag, fields: map[string]cwPoint{}}
				a.cw[id] = e
			}
			if old, dup := e.fields[r.field]; !dup || r.t.After(old.t) {
				e.fields[r.field] = cwPoint{v: v, t: r.t}
			}
		}
	default:
		for _, r := range rows {
			a.addOverride(q.override, r)
		}
	}
}

func (a *assembly) addInvocation(r row) {
	st := a.stats(r.tags)
	if st == nil {
		return
	}
	v, isNum := number(r.value)
	switch r.result {
	case yP50, yP95, yP99:
		i := map[string]int{yP50: 0, yP95: 1, yP99: 2}[r.result]
		if isNum {
			st.q[i], st.hasQ[i] = v, true
		}
	case yMean:
		if isNum {
			st.mean, st.hasMean = v, true
		}
	case yCount:
		if isNum {
			st.count += v
			st.hasCount = true
		}
	case yFailed:
		if isNum {
			st.failed += v
		}
	case yCold:
		if isNum {
			st.cold += v
		}
	case yIdentity:
		switch r.field {
		case fieldDuration:
			if r.t.After(st.seen) || st.seen.IsZero() {
				st.seen = r.t
				if rt := r.tags[tagRuntime]; rt != "" {
					st.runtime = rt
				}
			}
		case fieldMemory:
			if isNum && v > 0 && (!st.hasMem || r.t.After(st.memAt)) {
				st.mem, st.memAt, st.hasMem = v, r.t, true
			}
		case fieldStatus:
			st.hasStatus = true
		case fieldColdStart:
			st.hasCold = true
		}
	}
}

// addOverride keeps the newest row per function of an override.
func (a *assembly) addOverride(m sources.Metric, r row) {
	v, ok := number(r.value)
	if !ok {
		return
	}
	var id sources.WorkloadID
	var w sources.Workload
	if r.tags[tagFunction] != "" {
		iid, platform, _, _ := a.s.invocationID(r.tags)
		id, w = iid, sources.Workload{ID: iid, Kind: sources.Function, Platform: platform, Runtime: r.tags[tagRuntime]}
	} else if r.tags[tagFunctionName] != "" {
		cid, _, _ := a.s.cloudWatchID(r.tags)
		id, w = cid, sources.Workload{ID: cid, Kind: sources.Function, Platform: sources.Lambda}
	} else {
		return
	}
	mm := a.over[id]
	if mm == nil {
		mm = map[sources.Metric]cwPoint{}
		a.over[id] = mm
		a.ovW[id] = w
	}
	if old, dup := mm[m]; !dup || !r.t.Before(old.t) {
		mm[m] = cwPoint{v: v, t: r.t}
	}
}

// finish merges the presets and overrides into workloads and samples.
func (a *assembly) finish() ([]sources.Workload, []sources.Sample) {
	accs := map[sources.WorkloadID]*acc{}
	get := func(id sources.WorkloadID, w sources.Workload) *acc {
		x := accs[id]
		if x == nil {
			x = &acc{w: w}
			accs[id] = x
		}
		return x
	}
	cfg := a.s.cfg
	// CloudWatch first: the per-invocation data wins where both have a column.
	period := cfg.CloudWatchPeriod.Seconds()
	cwComplete := !a.incomplete[famCloudWatch]
	for id, e := range a.cw {
		fields := e.fields
		x := get(id, sources.Workload{ID: id, Kind: sources.Function, Platform: sources.Lambda})
		x.known.presets |= fromCloudWatch
		x.known.platform = sources.Lambda
		x.known.cwNsTag = e.nsTag
		fresh := func(f string) (float64, bool) {
			p, ok := fields[f]
			if !ok || a.now.Sub(p.t) > cfg.CloudWatchLookback {
				return 0, false
			}
			return p.v, true
		}
		inv, hasInv := fresh(cwInvocations)
		errs, _ := fresh(cwErrors)
		thr, _ := fresh(cwThrottles)
		// No recent invocations_sum means an idle function, unless the
		// answer was incomplete.
		idle := (!hasInv || inv == 0) && (hasInv || cwComplete)
		if hasInv || cwComplete {
			x.set(sources.RequestRate, inv/period, prioCloudWatch)
		}
		if inv+thr > 0 {
			// Throttled requests were refused: they count as failed ones.
			x.set(sources.ErrorRatio, (errs+thr)/(inv+thr), prioCloudWatch)
		}
		if v, ok := fresh(cwConcurrent); ok {
			x.set(sources.Concurrency, v, prioCloudWatch)
		} else if idle {
			x.set(sources.Concurrency, 0, prioCloudWatch)
		}
		for i, f := range []string{cwDurationP50, cwDurationP95, cwDurationP99} {
			if v, ok := fresh(f); ok {
				x.set(sources.LatencyP50+sources.Metric(i), v/1000, prioCloudWatch)
			}
		}
		if v, ok := fresh(cwDurationAvg); ok && prioCloudWatch >= x.durP {
			x.avgDur, x.durP = v/1000, prioCloudWatch
		}
		if v, ok := fresh(cwInitCount); ok {
			x.set(sources.ColdStarts, v/period*60, prioCloudWatch)
		} else if idle {
			x.set(sources.ColdStarts, 0, prioCloudWatch)
		}
		if p, ok := fields[cwMemory]; ok && p.v > 0 && prioCloudWatch >= x.memP {
			x.memMB, x.memP = p.v, prioCloudWatch
		}
	}
	winSec := cfg.Window.Seconds()
	latComplete, trafComplete := !a.incomplete[famLatency], !a.incomplete[famTraffic]
	for id, st := range a.inv {
		x := accs[id]
		if x == nil {
			x = get(id, sources.Workload{ID: id, Kind: sources.Function, Platform: st.platform})
		}
		// The per-invocation schema names the platform and runtime.
		x.w.Platform = st.platform
		if st.runtime != "" {
			x.w.Runtime = st.runtime
		}
		x.known.presets |= fromInvocations
		x.known.platform = st.platform
		x.known.invNsTag = st.nsTag
		x.known.hasStatus, x.known.hasCold = st.hasStatus, st.hasCold
		for i := range 3 {
			if st.hasQ[i] && st.count > 0 {
				x.set(sources.LatencyP50+sources.Metric(i), st.q[i]/1000, prioInvocations)
			}
		}
		// No count row means no invocations in the window, unless the
		// latency family failed or was cut: then the traffic is unknown.
		knownCount := st.hasCount || latComplete
		rps := st.count / winSec
		if knownCount {
			x.set(sources.RequestRate, rps, prioInvocations)
			if st.count == 0 {
				x.set(sources.Concurrency, 0, prioInvocations)
			}
		}
		if st.count > 0 && st.hasMean {
			x.avgDur, x.durP = st.mean/1000, prioInvocations
			// Little's law: requests in flight = arrival rate × time in system.
			x.set(sources.Concurrency, rps*st.mean/1000, prioInvocations)
		}
		if st.hasStatus && st.count > 0 && trafComplete {
			// Every point is one invocation with all its fields; no failed
			// row means none failed, so the traffic family must be whole.
			x.set(sources.ErrorRatio, min(st.failed/st.count, 1), prioInvocations)
		}
		if trafComplete && (st.hasCold || (st.count == 0 && knownCount)) {
			x.set(sources.ColdStarts, st.cold/(winSec/60), prioInvocations)
		}
		if st.hasMem && prioInvocations >= x.memP {
			x.memMB, x.memP = st.mem, prioInvocations
		}
	}
	for id, mm := range a.over {
		x := accs[id]
		if x == nil {
			x = get(id, a.ovW[id])
		}
		for m, p := range mm {
			x.set(m, p.v, prioOverride)
		}
	}
	// A function the per-invocation data covers (this round or the last)
	// keeps its last values for the columns of a failed invocations
	// family: CloudWatch's lower-priority ones would replace them with
	// another measure, or with the zero of an idle function.
	if !latComplete || !trafComplete {
		a.s.mu.Lock()
		prev := a.s.known
		a.s.mu.Unlock()
		var drop []sources.Metric
		if !latComplete {
			drop = append(drop, sources.RequestRate, sources.LatencyP50, sources.LatencyP95, sources.LatencyP99, sources.Concurrency, sources.ErrorRatio)
		}
		if !trafComplete {
			drop = append(drop, sources.ErrorRatio, sources.ColdStarts)
		}
		for id, x := range accs {
			if x.known.presets&fromInvocations == 0 && prev[id].presets&fromInvocations == 0 {
				continue
			}
			for _, m := range drop {
				if x.prio[m] < prioInvocations {
					x.prio[m] = 0
				}
			}
		}
	}

	ids := make([]sources.WorkloadID, 0, len(accs))
	for id := range accs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].Less(ids[j]) })
	workloads := make([]sources.Workload, 0, len(ids))
	samples := make([]sources.Sample, 0, len(ids)*8)
	for _, id := range ids {
		x := accs[id]
		if x.memMB > 0 {
			x.w.MemoryMB = x.memMB
			x.known.memMB = x.memMB
			x.set(sources.MemRequest, x.memMB*(1<<20), max(x.memP, 1))
		}
		a.cost(x)
		a.known[id] = x.known
		workloads = append(workloads, x.w)
		for m := sources.Metric(0); m < sources.NumMetrics; m++ {
			if x.prio[m] > 0 {
				samples = append(samples, sources.Sample{ID: id, Metric: m, T: a.now, V: x.vals[m]})
			}
		}
	}
	return workloads, samples
}

// cost fills CostRate for Lambda functions (billed per request and
// GB-second) unless an override supplied it. Other platforms bill by
// instance, which per-invocation data does not show. A round with an
// incomplete family computes no cost: its rate, duration and memory may
// come from different families than the last good round's, and a cost
// made of some of them would jump (to the request fee alone when the
// duration is missing); the last good cost stays, marked stale.
func (a *assembly) cost(x *acc) {
	if x.prio[sources.CostRate] > 0 || x.w.Platform != sources.Lambda || x.prio[sources.RequestRate] == 0 || len(a.incomplete) > 0 {
		return
	}
	dur := x.avgDur
	if x.durP == 0 && x.prio[sources.LatencyP50] > 0 {
		dur = x.vals[sources.LatencyP50]
	}
	mem := a.s.cfg.LambdaMemoryMB
	if x.memMB > 0 {
		mem = x.memMB
	}
	x.set(sources.CostRate, a.s.cfg.Prices.LambdaHourly(x.vals[sources.RequestRate], dur, mem), max(x.prio[sources.RequestRate], 1))
}
