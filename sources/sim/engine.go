package sim

import (
	"math"
	"slices"
	"time"

	"github.com/perch-dev/perch/sources"
)

// The controller grid: replica counts are decided every syncStep (the HPA
// sync period) from the demand at earlier grid points. gridPts is how many
// grid points the deepest rule (HPA with its 5 min scale-down
// stabilisation, seen 30 s back for readiness) needs.
const (
	syncStep = 15 * time.Second
	syncSec  = 15.0
	gridPts  = 31
	daySec   = 86400.0

	incidentStart = float64(IncidentOffset / time.Second)
	incidentLen   = float64(IncidentDuration / time.Second)
	incidentRamp  = 30.0

	stabilization = 20 // HPA scale-down window in sync periods (5 min)

	retryFactor = 0.3 // extra load on the incident target from retries at full incident
	// queueing: utilisation relative to the request at which latency explodes
	saturation = 1.6
	cpuLimit   = 2.0 // pods may use up to this multiple of their request
)

// ---------------------------------------------------------------- hashing

// mix is the splitmix64 finaliser.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// hash combines a (well mixed) workload key, a stream id and a bucket.
func hash(key, stream uint64, bucket int64) uint64 {
	return mix(key ^ (uint64(bucket)*0x9e3779b97f4a7c15 + stream*0xd1b54a32d192ed03))
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) * (1.0 / (1 << 53)) }

// smooth is value noise in [0, 1): hash values at integer x, smoothstep
// interpolation in between.
func smooth(key, stream uint64, x float64) float64 {
	b, fr := smoothAt(x)
	return noiseAt(key, stream, b, fr)
}

// smoothAt splits x into a bucket and a smoothstep weight.
func smoothAt(x float64) (int64, float64) {
	f := math.Floor(x)
	fr := x - f
	return int64(f), fr * fr * (3 - 2*fr)
}

func noiseAt(key, stream uint64, b int64, fr float64) float64 {
	a := unit(hash(key, stream, b))
	c := unit(hash(key, stream, b+1))
	return a + (c-a)*fr
}

// Noise streams.
const (
	stNoiseSlow uint64 = iota + 1
	stNoiseFast
	stBurst
	stActive
	stLatency
	stError
	stMemory
)

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// --------------------------------------------------------------- time model

// clock is everything about an instant that does not depend on a workload.
type clock struct {
	tt     float64 // seconds since the epoch
	minute int64
	hod    float64 // hour of day relative to the epoch
	c      float64 // diurnal shape in [0,1]: 0 at 04:00, 1 at 16:00
	inc    float64 // incident level in [0,1]
	// traffic noise buckets and weights, shared by all workloads
	slowB, fastB   int64
	slowFr, fastFr float64
}

func newClock(tt float64) clock {
	sod := math.Mod(tt, daySec)
	if sod < 0 {
		sod += daySec
	}
	hod := sod / 3600
	c := clock{tt: tt, minute: int64(math.Floor(tt / 60)), hod: hod,
		c: 0.5 - 0.5*math.Cos(2*math.Pi*(hod-4)/24)}
	c.slowB, c.slowFr = smoothAt(tt / 300)
	c.fastB, c.fastFr = smoothAt(tt / 30)
	if x := sod - incidentStart; x >= 0 && x < incidentLen {
		c.inc = math.Min(1, math.Min(x/incidentRamp, (incidentLen-x)/incidentRamp))
	}
	return c
}

// incMult is the mean latency multiplier of an incident target.
func (c *clock) incMult() float64 { return 1 + 4*c.inc }

func (s *Sim) secs(t time.Time) float64 { return float64(t.Sub(s.start)) / float64(time.Second) }

// syncIndex is the controller grid point at or before t.
func (s *Sim) syncIndex(t time.Time) int64 {
	return floorDiv(int64(t.Sub(s.start)), int64(syncStep))
}

// ext is the external request rate of a workload.
func ext(sp *spec, c *clock) float64 {
	if sp.ext == 0 {
		return 0
	}
	if sp.winLen > 0 {
		x := c.hod*3600 - sp.winStart
		if x < 0 || x >= sp.winLen {
			return 0
		}
	}
	d := sp.night + (1-sp.night)*c.c
	if sp.sparseLo+sp.sparseHi > 0 && unit(hash(sp.key, stActive, c.minute)) >= sp.sparseLo+sp.sparseHi*d {
		return 0
	}
	n := 1 + sp.noise*(1.4*noiseAt(sp.key, stNoiseSlow, c.slowB, c.slowFr)+0.6*noiseAt(sp.key, stNoiseFast, c.fastB, c.fastFr)-1)
	v := sp.ext * d * n
	if sp.burstP > 0 {
		if h := hash(sp.key, stBurst, c.minute); unit(h) < sp.burstP {
			v *= 2 + 3*unit(mix(h))
		}
	}
	return v
}

// loadInto computes the request rate at c of every workload in order
// (callers before callees) into l, indexed by workload.
func (s *Sim) loadInto(c *clock, order []int32, l []float64) {
	for _, w := range order {
		sp := &s.specs[w]
		v := ext(sp, c)
		for _, e := range sp.callers {
			v += float64(e.calls * l[e.from])
		}
		if sp.incident {
			v *= 1 + retryFactor*c.inc
		}
		l[w] = v
	}
}

// nominal is the mean latency without queueing.
func (sp *spec) nominal(c *clock) float64 {
	return sp.nl0 + float64((c.incMult()-1)*sp.nl1)
}

// demand is what the autoscaler looks at: CPU cores for the HPA, in-flight
// requests for functions.
func (sp *spec) demand(load float64, c *clock) float64 {
	inflight := float64(load * sp.nominal(c))
	if sp.scaler == scaleHPA || sp.scaler == scaleFixed {
		return float64(load*sp.cpuPerReq) + float64(inflight*sp.cpuPerInflight)
	}
	if sp.scaler == scaleLambda {
		// warm environments follow the peaks, not the mean, of concurrency
		c := inflight * 1.25
		return c + 2*math.Sqrt(c)
	}
	return inflight
}

// ------------------------------------------------------------------ scalers
//
// Every rule takes dem, the workload's demand on the controller grid with
// dem[j] at sync point k-j, and answers for sync point k.

func ceilInt(x float64) int { return int(math.Ceil(x - 1e-9)) }

func clampInt(v, lo, hi int) int { return max(lo, min(v, hi)) }

// gridNeed is how many grid points the workload's own rules read.
func (sp *spec) gridNeed() int {
	switch sp.scaler {
	case scaleHPA:
		return sp.createDelay + sp.startup + stabilization + 8
	case scaleKPA:
		return 4 + sp.createDelay + max(5, sp.lag+4)
	case scaleLambda:
		return 4 + sp.createDelay + 20
	}
	return 0
}

// recommend is the HPA recommendation at k: the mean CPU of the window
// 60-105 s earlier (metrics pipeline lag) over the target.
func (sp *spec) recommend(dem []float64) int {
	avg := (dem[4] + dem[5] + dem[6] + dem[7]) / 4
	return clampInt(ceilInt(avg/(sp.target*sp.cpuBasis)), sp.min, sp.max)
}

// desired is the controller's decision at k.
func (sp *spec) desired(dem []float64) int {
	switch sp.scaler {
	case scaleHPA:
		// scale-down stabilisation: the highest recommendation of 5 minutes
		d := 0
		for j := 0; j <= stabilization; j++ {
			d = max(d, sp.recommend(dem[j:]))
		}
		return d
	case scaleKPA:
		lo := max(sp.min, 1)
		if sp.scaleToZero {
			idle := true
			for j := 0; j <= 4; j++ { // no traffic in the last 60 s
				if dem[j] > 0 {
					idle = false
					break
				}
			}
			if idle {
				return 0
			}
		}
		L := sp.lag
		avg := (dem[L] + dem[L+1] + dem[L+2] + dem[L+3]) / 4
		return clampInt(ceilInt(avg/sp.target), lo, sp.max)
	case scaleLambda:
		// warm environments: the peak concurrency of the last 5 minutes
		m := 0.0
		for j := range 20 {
			m = math.Max(m, dem[j])
		}
		return clampInt(ceilInt(m), sp.min, sp.max)
	default:
		return sp.fixed
	}
}

func (sp *spec) current(dem []float64) int { return sp.desired(dem[sp.createDelay:]) }

// started counts the instances started in the minute (four sync periods)
// covered by curs, the replicas at the last five sync points.
func started(curs [5]int) int {
	n := 0
	for j := range 4 {
		n += max(0, curs[j]-curs[j+1])
	}
	return n
}

// ------------------------------------------------------------------- state

// state is one workload at one instant.
type state struct {
	v                   [sources.NumMetrics]float64
	has                 uint32
	own50, own95, own99 float64 // own latency, callees excluded
	ownErr              float64
	load                float64
	desired             int
	cur, rdy            int
	cold                bool // requests waiting for a cold start
	// per pod, for PodsAt
	servingCPU, inflight float64
}

func (st *state) set(m sources.Metric, v float64) {
	st.v[m] = v
	st.has |= 1 << m
}

// scratch is reusable working memory for one evaluation.
type scratch struct {
	l    []float64 // load per workload
	dem  []float64 // demand per workload x grid point
	st   []state
	in   []bool // membership of the current order
	memo map[int64][]float64
}

func newScratch(n int) *scratch {
	return &scratch{l: make([]float64, n), dem: make([]float64, n*gridPts), st: make([]state, n), in: make([]bool, n)}
}

// eval computes the state at t of every workload in order (which must be
// closed under callers); latency and errors aggregate callees that are in
// order too.
func (s *Sim) eval(t time.Time, order []int32, sc *scratch) {
	k := s.syncIndex(t)
	full := len(order) == len(s.specs)
	for j := range gridPts {
		order := order
		if full && sc.memo == nil {
			order = s.gridOrder[j]
		}
		if len(order) == 0 {
			break
		}
		c := newClock(float64(k-int64(j)) * syncSec)
		var l []float64
		if full && sc.memo != nil {
			if m, ok := sc.memo[k-int64(j)]; ok {
				l = m
			} else {
				l = make([]float64, len(s.specs))
				s.loadInto(&c, order, l)
				sc.memo[k-int64(j)] = l
			}
		} else {
			l = sc.l
			s.loadInto(&c, order, l)
		}
		for _, w := range order {
			sc.dem[int(w)*gridPts+j] = s.specs[w].demand(l[w], &c)
		}
	}
	if full && sc.memo != nil {
		for key := range sc.memo {
			if key <= k-gridPts || key > k+4*gridPts {
				delete(sc.memo, key)
			}
		}
	}
	c := newClock(s.secs(t))
	s.loadInto(&c, order, sc.l)
	for _, w := range order {
		sc.in[w] = true
		s.stateAt(w, &c, sc.l[w], sc.dem[int(w)*gridPts:int(w+1)*gridPts], &sc.st[w])
	}
	for i := len(order) - 1; i >= 0; i-- {
		s.finish(order[i], sc)
	}
	for _, w := range order {
		sc.in[w] = false
	}
}

// stateAt computes the replicas, resources and own latency of one workload.
func (s *Sim) stateAt(w int32, c *clock, load float64, dem []float64, st *state) {
	sp := &s.specs[w]
	*st = state{load: load}
	var curs [5]int // replicas at the last five sync points, newest first
	if sp.scaler == scaleHPA && sp.createDelay == 1 && sp.startup == 2 {
		// the common case, sharing the recommendations
		var rec [stabilization + 4]int
		for j := range rec {
			rec[j] = sp.recommend(dem[j:])
		}
		window := func(j int) int { return slices.Max(rec[j : j+stabilization+1]) }
		st.desired, st.cur = window(0), window(1)
		st.rdy = min(st.cur, window(2), window(3))
	} else {
		st.desired = sp.desired(dem)
		n := sp.startup + 1
		if sp.function() {
			n = len(curs) // cold starts look one minute back
		}
		for j := range n {
			curs[j] = sp.current(dem[j:])
		}
		st.cur, st.rdy = curs[0], slices.Min(curs[:sp.startup+1])
	}
	cur, rdy := float64(st.cur), float64(st.rdy)

	nl := sp.nominal(c)
	inflight := float64(load * nl)
	st.inflight = inflight
	var u float64 // utilisation relative to the saturation point
	switch sp.scaler {
	case scaleHPA, scaleFixed:
		cpu := sp.demand(load, c)
		if rdy > 0 {
			u = cpu / (rdy * sp.cpuBasis) / saturation
		}
	case scaleKPA:
		if rdy > 0 {
			u = inflight / (rdy * sp.target) * 0.6 / saturation
		}
	}
	if sp.w.Platform != sources.Lambda {
		cpu := float64(load*sp.cpuPerReq) + float64(inflight*sp.cpuPerInflight)
		st.servingCPU = math.Min(cpu, rdy*sp.cpuReq*cpuLimit)
		cpuU := st.servingCPU + sp.cpuIdle*cur
		memNoise := 1 + 0.04*(2*smooth(sp.key, stMemory, c.tt/900)-1)
		memU := sp.memBase * memNoise * cur
		if rdy > 0 {
			memU += inflight * sp.memPerInflight
		}
		cpuR, memR := sp.cpuReq*cur, sp.memReq*cur
		st.set(sources.CPUUsage, cpuU)
		st.set(sources.CPURequest, cpuR)
		st.set(sources.MemUsage, memU)
		st.set(sources.MemRequest, memR)
		st.set(sources.CostRate, s.prices.KubeHourly(cpuR, cpuU, memR, memU))
	} else {
		st.set(sources.MemRequest, sp.memReq)
	}
	st.set(sources.ReplicasDesired, float64(st.desired))
	st.set(sources.ReplicasCurrent, cur)
	st.set(sources.ReplicasReady, rdy)
	if sp.scaler != scaleFixed {
		st.set(sources.ReplicasMin, float64(sp.min))
		st.set(sources.ReplicasMax, float64(sp.max))
	}
	st.set(sources.RequestRate, load)
	if sp.function() {
		st.set(sources.ColdStarts, 0)
		st.set(sources.Concurrency, 0)
		if sp.w.Platform == sources.Lambda {
			st.set(sources.CostRate, 0)
		}
	}
	if load <= 0 {
		return
	}

	// Own latency: M/M/1-ish queueing on the utilisation, smooth noise.
	u = math.Min(u, 0.92)
	q := 1 / (1 - u)
	base := sp.svc * q * (1 + 0.08*(2*smooth(sp.key, stLatency, c.tt/60)-1))
	m50, m95, m99 := 1.0, 2.2+0.8*u, 3.5+2*u
	if sp.incident && c.inc > 0 {
		m50 *= 1 + 2*c.inc
		m95 *= 1 + 5*c.inc
		m99 *= 1 + 7*c.inc
	}
	st.own50, st.own95, st.own99 = base*m50, base*m95, base*m99
	// Cold starts.
	if sp.function() {
		var frac float64
		switch {
		case sp.scaler == scaleLambda:
			n := float64(started(curs)) + load*60*2e-4 // plus recycled environments
			st.set(sources.ColdStarts, n)
			frac = math.Min(1, n/(load*60))
		default:
			st.set(sources.ColdStarts, float64(started(curs)))
			if st.rdy == 0 {
				frac = 1
			}
		}
		if frac > 0 {
			st.cold = true
			st.own50 += sp.cold * 0.5 * math.Min(1, frac/0.5)
			st.own95 += sp.cold * 0.95 * math.Min(1, frac/0.05)
			st.own99 += sp.cold * math.Min(1, frac/0.01)
		}
	}
	// Own errors.
	e := sp.err0 * (1 + 0.5*(2*smooth(sp.key, stError, c.tt/120)-1))
	if u > 0.5 {
		e += (u - 0.5) * 0.3
	}
	if sp.incident {
		e += 0.06 * c.inc
	}
	st.ownErr = e
}

// contribution is what a callee adds to the caller's latency quantile q
// when a caller request makes calls calls to it: with f = min(calls, 1) of
// the requests involved, the caller's top 1-q come from the callee's top
// (1-q)/f, i.e. its quantile 1-(1-q)/f. Non-decreasing in q, so the
// caller's p50 <= p95 <= p99 whenever the callee's are.
func contribution(q, calls float64, cs *state) float64 {
	f, n := math.Min(calls, 1), math.Max(calls, 1)
	c50, c95, c99 := cs.v[sources.LatencyP50], cs.v[sources.LatencyP95], cs.v[sources.LatencyP99]
	if tail := 1 - q; f >= tail {
		return n * quantile(c50, c95, c99, 1-tail/f)
	} else {
		return n * f / tail * quantile(c50, c95, c99, 0)
	}
}

// meanLatency is the mean of a log-normal with these p50 and p99.
func meanLatency(p50, p99 float64) float64 {
	sigma := math.Log(p99/p50) / 2.326
	return p50 * math.Exp(sigma*sigma/2)
}

// finish adds the callees' latency and errors (callees are finished first).
func (s *Sim) finish(w int32, sc *scratch) {
	sp := &s.specs[w]
	st := &sc.st[w]
	if st.load <= 0 {
		return
	}
	p50, p95, p99, e := st.own50, st.own95, st.own99, st.ownErr
	for _, cl := range sp.callees {
		if !sc.in[cl.to] {
			continue
		}
		cs := &sc.st[cl.to]
		if cs.has&(1<<sources.LatencyP99) == 0 {
			continue
		}
		p50 += contribution(0.5, cl.calls, cs)
		p95 += contribution(0.95, cl.calls, cs)
		p99 += contribution(0.99, cl.calls, cs)
		e += math.Min(1, cl.calls) * cs.v[sources.ErrorRatio] * 0.8
	}
	st.set(sources.LatencyP50, p50)
	st.set(sources.LatencyP95, p95)
	st.set(sources.LatencyP99, p99)
	st.set(sources.ErrorRatio, math.Min(1, e))
	if sp.function() {
		mean := meanLatency(p50, p99)
		st.set(sources.Concurrency, st.load*mean)
		if sp.w.Platform == sources.Lambda {
			st.set(sources.CostRate, s.prices.LambdaHourly(st.load, mean, sp.w.MemoryMB))
		}
	}
}

// emit appends the samples of one workload.
func (s *Sim) emit(w int32, t time.Time, st *state, out []sources.Sample) []sources.Sample {
	id := s.specs[w].w.ID
	for m := range sources.NumMetrics {
		if st.has&(1<<m) != 0 {
			out = append(out, sources.Sample{ID: id, Metric: m, T: t, V: st.v[m]})
		}
	}
	return out
}
