// Package influxfeed turns the simulator's serverless functions into data
// perch's InfluxDB source reads, and writes it with the client's write
// API: per-invocation points in the generic schema (measurement
// function_invocations) and CloudWatch-shaped Lambda statistics as
// Telegraf's CloudWatch input writes them (cloudwatch_aws_lambda and
// cloudwatch_lambda_insights).
//
// It is the writer behind `perch demo-feed` and the integration tests;
// the source itself never writes. Synthesis is deterministic: the same
// simulator, seed and times give the same points.
package influxfeed

import (
	"math"
	"sort"
	"time"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/sim"
)

// Invocation is one function call in the generic schema.
type Invocation struct {
	ID         sources.WorkloadID // Namespace → namespace tag, Name → function tag
	Platform   sources.Platform
	Runtime    string
	T          time.Time
	DurationMS float64
	MemoryMB   float64
	ColdStart  bool
	Status     string // "ok" or "error"
}

// CloudWatchPoint is one period of one Lambda function as Telegraf's
// CloudWatch input stores it (stamped at the period's start).
type CloudWatchPoint struct {
	Region, Function string
	T                time.Time
	Invocations      float64 // Invocations Sum
	Errors           float64 // Errors Sum
	Throttles        float64 // Throttles Sum
	DurationAvgMS    float64 // Duration Average
	ConcurrentMax    float64 // ConcurrentExecutions Maximum
	// Lambda Insights.
	MemoryMB  float64 // total_memory Maximum
	InitCount float64 // init_duration SampleCount (cold starts)
}

// Synth draws invocations from a simulator's function metrics.
type Synth struct {
	sim       *sim.Sim
	seed      uint64
	maxRPS    float64
	functions []sources.Workload
	index     map[sources.WorkloadID]int
}

// NewSynth prepares the functions of s (Knative, OpenFaaS, Lambda...).
// maxRPS caps the invocations written per function and second (0 = no
// cap): the simulator's busiest functions run hundreds per second, too
// many points for a demo; above the cap the rate is scaled down while
// latencies, error and cold-start shares keep their values.
func NewSynth(s *sim.Sim, seed int64, maxRPS float64) *Synth {
	g := &Synth{sim: s, seed: mix(uint64(seed) ^ 0x1f1ed), maxRPS: maxRPS, index: map[sources.WorkloadID]int{}}
	for _, w := range s.Workloads() {
		if w.Kind == sources.Function {
			g.index[w.ID] = len(g.functions)
			g.functions = append(g.functions, w)
		}
	}
	return g
}

// Functions lists the functions the synthesizer writes.
func (g *Synth) Functions() []sources.Workload {
	return append([]sources.Workload(nil), g.functions...)
}

// state is one function's simulated metrics at an instant.
type state struct {
	rps, errRatio, p50, p95, p99, coldPerMin, concurrency float64
	hasLatency                                            bool
}

func (g *Synth) states(t time.Time) []state {
	out := make([]state, len(g.functions))
	have := make([][3]bool, len(g.functions))
	for _, smp := range g.sim.At(t) {
		i, ok := g.index[smp.ID]
		if !ok || math.IsNaN(smp.V) {
			continue
		}
		st := &out[i]
		switch smp.Metric {
		case sources.RequestRate:
			st.rps = smp.V
		case sources.ErrorRatio:
			st.errRatio = smp.V
		case sources.LatencyP50:
			st.p50, have[i][0] = smp.V, true
		case sources.LatencyP95:
			st.p95, have[i][1] = smp.V, true
		case sources.LatencyP99:
			st.p99, have[i][2] = smp.V, true
		case sources.ColdStarts:
			st.coldPerMin = smp.V
		case sources.Concurrency:
			st.concurrency = smp.V
		}
	}
	for i := range out {
		out[i].hasLatency = have[i][0] && have[i][1] && have[i][2] && out[i].p50 > 0
	}
	return out
}

// Invocations returns every function's invocations in [from, to), drawn
// step by step from the simulator's state at each step's start, sorted by
// time. Times within one function are distinct (InfluxDB keeps one point
// per series and timestamp).
func (g *Synth) Invocations(from, to time.Time, step time.Duration) []Invocation {
	if step <= 0 {
		step = sim.FineStep
	}
	var out []Invocation
	for t := from; t.Before(to); t = t.Add(step) {
		dt := min(step, to.Sub(t))
		sts := g.states(t)
		k := t.UnixNano() / int64(time.Millisecond)
		for i, st := range sts {
			if st.rps <= 0 || !st.hasLatency {
				continue
			}
			w := g.functions[i]
			h := hash(g.seed, uint64(i)+1, k)
			rate := st.rps
			if g.maxRPS > 0 {
				rate = min(rate, g.maxRPS)
			}
			n := int(rate*dt.Seconds() + unit(h))
			if n <= 0 {
				continue
			}
			cold := min(n, int(st.coldPerMin*dt.Minutes()+unit(mix(h^0xc01d))))
			for j := range n {
				hj := hash(h, 0x1a7, int64(j))
				// Evenly spread with jitter inside each slot: strictly increasing.
				off := (float64(j) + 0.999*unit(mix(hj^0x71))) / float64(n)
				inv := Invocation{
					ID: w.ID, Platform: w.Platform, Runtime: w.Runtime,
					T:          t.Add(time.Duration(off * float64(dt))),
					DurationMS: math.Round(quantile(st.p50, st.p95, st.p99, unit(hj))*1e6) / 1e3,
					MemoryMB:   w.MemoryMB,
					ColdStart:  j < cold,
					Status:     "ok",
				}
				if unit(mix(hj^0xe77)) < st.errRatio {
					inv.Status = "error"
				}
				out = append(out, inv)
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].T.Before(out[b].T) })
	return out
}

// CloudWatch returns one point per complete minute in [from, to) for
// every Lambda function with traffic, from the simulator's state at each
// minute's start (uncapped: these are aggregates), stamped at the
// minute's start as CloudWatch does.
func (g *Synth) CloudWatch(from, to time.Time) []CloudWatchPoint {
	var out []CloudWatchPoint
	for t := from.Truncate(time.Minute); !t.Add(time.Minute).After(to); t = t.Add(time.Minute) {
		if t.Before(from) {
			continue
		}
		sts := g.states(t)
		k := t.UnixNano() / int64(time.Minute)
		for i, st := range sts {
			w := g.functions[i]
			if w.Platform != sources.Lambda || st.rps <= 0 {
				continue
			}
			h := hash(g.seed^0xc1, uint64(i)+1, k)
			inv := math.Floor(st.rps*60 + unit(h))
			if inv <= 0 {
				continue
			}
			p := CloudWatchPoint{
				Region: w.ID.Namespace, Function: w.ID.Name, T: t,
				Invocations:   inv,
				Errors:        math.Floor(inv*st.errRatio + unit(mix(h^0xe))),
				ConcurrentMax: math.Ceil(st.concurrency),
				MemoryMB:      w.MemoryMB,
				InitCount:     math.Floor(st.coldPerMin + unit(mix(h^0xc))),
			}
			if st.hasLatency {
				p.DurationAvgMS = math.Round(lognormalMean(st.p50, st.p99)*1e6) / 1e3
			}
			out = append(out, p)
		}
	}
	return out
}

// quantile draws a duration (seconds) from the simulator's latency
// distribution at probability u: linear below the median, geometric
// between p50, p95 and p99, then a short linear tail (as sim draws its
// trace durations).
func quantile(p50, p95, p99, u float64) float64 {
	p95 = math.Max(p95, p50)
	p99 = math.Max(p99, p95)
	geo := func(a, b, f float64) float64 {
		if a <= 0 || b <= a {
			return a
		}
		return a * math.Pow(b/a, f)
	}
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

// lognormalMean is the mean of a log-normal with these p50 and p99: how
// the simulator bills Lambda, served as CloudWatch's Duration Average.
func lognormalMean(p50, p99 float64) float64 {
	if p50 <= 0 || p99 <= p50 {
		return p50
	}
	sigma := math.Log(p99/p50) / 2.326
	return p50 * math.Exp(sigma*sigma/2)
}

// splitmix64 finalizer and helpers: deterministic draws from (key, stream, index).
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func hash(key, stream uint64, i int64) uint64 { return mix(key ^ mix(stream^mix(uint64(i)))) }

// unit maps h to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) * (1.0 / (1 << 53)) }
