package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/perch-dev/perch/sources"
)

// podLookback bounds how far back PodsAt searches for when a pod appeared.
const podLookback = 26 * time.Hour

// lambdaRecycle is roughly how long a Lambda execution environment lives.
const lambdaRecycle = 2 * time.Hour

// longAgo marks a pod that has existed for longer than the lookback.
const longAgo = math.MinInt64

// k8s' SafeEncodeString alphabet (no vowels, no confusable digits).
const podAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func encode(h uint64, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = podAlphabet[h%uint64(len(podAlphabet))]
		h /= uint64(len(podAlphabet))
	}
	return string(b)
}

// ancestors returns roots and everything that calls them, transitively, in
// topological order.
func (s *Sim) ancestors(roots []int32) []int32 {
	seen := make([]bool, len(s.specs))
	stack := append([]int32(nil), roots...)
	for _, r := range roots {
		seen[r] = true
	}
	for len(stack) > 0 {
		w := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range s.specs[w].callers {
			if !seen[e.from] {
				seen[e.from] = true
				stack = append(stack, e.from)
			}
		}
	}
	var order []int32
	for _, w := range s.topo {
		if seen[w] {
			order = append(order, w)
		}
	}
	return order
}

// latencyClosure is what eval needs for w's latency: w, its synchronous
// callees (transitively) and all their callers.
func (s *Sim) latencyClosure(w int32) []int32 {
	seen := make([]bool, len(s.specs))
	seen[w] = true
	desc := []int32{w}
	for i := 0; i < len(desc); i++ {
		for _, c := range s.specs[desc[i]].callees {
			if !seen[c.to] {
				seen[c.to] = true
				desc = append(desc, c.to)
			}
		}
	}
	return s.ancestors(desc)
}

// Pods implements sources.PodLister: the pods (function instances) at Clock().
func (s *Sim) Pods(ctx context.Context, id sources.WorkloadID) ([]sources.Pod, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, ok := s.index[id]; !ok {
		return nil, fmt.Errorf("sim: unknown workload %s", id)
	}
	return s.PodsAt(id, s.clock()), nil
}

// PodsAt lists the pods (function instances) of a workload at t, oldest
// replica slot first; nil for an unknown workload. The count equals
// ReplicasCurrent and the ready ones ReplicasReady at t; per-pod CPU and
// memory add up to the workload's series.
func (s *Sim) PodsAt(id sources.WorkloadID, t time.Time) []sources.Pod {
	w, ok := s.index[id]
	if !ok {
		return nil
	}
	sp := &s.specs[w]
	order := s.ancestors([]int32{w})
	sc := s.getScratch()
	defer s.pool.Put(sc)
	s.eval(t, order, sc)
	st := sc.st[w]
	pods := make([]sources.Pod, 0, st.cur)
	if st.cur == 0 {
		return pods
	}
	gens := s.generations(w, order, s.syncIndex(t), st.cur, sc)

	template := encode(hash(sp.key, 0x7e1, 0), 10)
	// Per-pod shares of the serving load, summing to 1 over ready pods.
	weights := make([]float64, st.cur)
	var sum float64
	for i := range st.rdy {
		weights[i] = 0.85 + 0.3*unit(hash(sp.key, 0x5a1e, int64(i)))
		sum += weights[i]
	}
	memInflight := 0.0
	if st.rdy > 0 {
		memInflight = st.inflight * sp.memPerInflight
	}
	memBase := 0.0
	if sp.w.Platform != sources.Lambda {
		memBase = (st.v[sources.MemUsage] - memInflight) / float64(st.cur)
	}
	used := map[string]bool{}
	for i := range st.cur {
		gen := gens[i]
		h := hash(sp.key, 0x90d0+uint64(i), gen)
		p := sources.Pod{Owner: id, Phase: sources.PodRunning, Ready: i < st.rdy}
		if gen == longAgo {
			p.Created = s.start.Add(-time.Duration(1+h%20)*24*time.Hour - time.Duration(h>>8%86400)*time.Second)
			if p.Created.After(t) { // asked about a time long before the epoch
				p.Created = t.Add(-podLookback - time.Duration(h>>8%86400)*time.Second)
			}
		} else {
			p.Created = s.start.Add(time.Duration(gen) * syncStep)
		}
		if !p.Ready && t.Sub(p.Created) < 10*time.Second {
			p.Phase = sources.PodPending
		}
		for {
			switch {
			case sp.w.Kind == sources.StatefulSet:
				p.Name = sp.w.ID.Name + "-" + strconv.Itoa(i)
			case sp.w.Kind == sources.DaemonSet:
				p.Name = sp.w.ID.Name + "-" + encode(h, 5)
			case sp.w.Platform == sources.Knative:
				p.Name = sp.w.ID.Name + "-00001-deployment-" + template + "-" + encode(h, 5)
			default:
				p.Name = sp.w.ID.Name + "-" + template + "-" + encode(h, 5)
			}
			if !used[p.Name] {
				break
			}
			h = mix(h)
		}
		used[p.Name] = true
		switch {
		case sp.w.Kind == sources.DaemonSet:
			p.Node = "node-" + strconv.Itoa(i%s.nodes+1)
		case sp.w.Platform != sources.Lambda:
			p.Node = "node-" + strconv.Itoa(int(mix(h)%uint64(s.nodes))+1)
		}
		switch r := unit(mix(h ^ 0x4e57)); {
		case r < 0.85:
		case r < 0.96:
			p.Restarts = 1
		default:
			p.Restarts = 2 + int(mix(h)%3)
		}
		p.MemRequest = sp.memReq
		if sp.w.Platform != sources.Lambda {
			p.CPURequest = sp.cpuReq
			p.CPUUsage = sp.cpuIdle
			p.MemUsage = memBase
			if p.Ready {
				share := weights[i] / sum
				p.CPUUsage += st.servingCPU * share
				p.MemUsage += memInflight * share
			}
		}
		pods = append(pods, p)
	}
	return pods
}

// generations finds, for each of the n replica slots at sync point k, the
// sync point at which its pod appeared (the slot is the pod's index when
// replicas are added and removed last-in first-out).
func (s *Sim) generations(w int32, order []int32, k int64, n int, sc *scratch) []int64 {
	sp := &s.specs[w]
	gens := make([]int64, n)
	longLived := 0
	switch sp.scaler {
	case scaleFixed:
		longLived = n
	case scaleHPA, scaleKPA:
		longLived = min(n, sp.min)
	}
	for i := range gens {
		gens[i] = longAgo
	}
	open := n - longLived
	if open == 0 {
		return gens
	}
	assigned := make([]bool, n)
	var dem []float64
	extend := func(to int) {
		for j := len(dem); j < to; j++ {
			c := newClock(float64(k-int64(j)) * syncSec)
			s.loadInto(&c, order, sc.l)
			dem = append(dem, sp.demand(sc.l[w], &c))
		}
	}
	maxJ := int(podLookback / syncStep)
	if sp.scaler == scaleLambda {
		// AWS recycles execution environments after a few hours.
		for i := range n {
			period := int64(lambdaRecycle/syncStep) + int64(hash(sp.key, 0x2ec, int64(i))%120)
			off := int64(hash(sp.key, 0x2ed, int64(i)) % uint64(period))
			gens[i] = floorDiv(k-off, period)*period + off
		}
		// no need to look further back than the oldest recycling
		oldest := slices.Min(gens)
		maxJ = min(maxJ, int(k-oldest)+1)
	}
	for j := 0; j < maxJ && open > 0; j++ {
		if len(dem) < j+1+gridPts {
			extend(max(2*len(dem), j+1+gridPts+32))
		}
		prev := sp.current(dem[j+1:]) // replicas at k-j-1
		for i := max(prev, longLived); i < n; i++ {
			if !assigned[i] {
				assigned[i] = true
				if g := k - int64(j); gens[i] == longAgo || g > gens[i] {
					gens[i] = g
				}
				open--
			}
		}
	}
	return gens
}

// AllPods lists the pods of every workload now (sources.AllPodLister).
func (s *Sim) AllPods(ctx context.Context) ([]sources.Pod, error) {
	now := s.clock()
	var out []sources.Pod
	for _, w := range s.Workloads() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out = append(out, s.PodsAt(w.ID, now)...)
	}
	return out, nil
}
