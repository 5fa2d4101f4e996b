package promexport

import (
	"time"

	"github.com/perch-dev/perch/sources"
)

// wctr is one workload's counters.
type wctr struct {
	ok, errs float64      // requests by outcome
	hist     [2][]float64 // cumulative bucket counts, [0] success / all, [1] errors
	hsum     [2]float64   // in the histogram's unit
	hcount   [2]float64
	cpu      []float64 // CPU seconds per pod ordinal
	// Pods: present ordinals, and how often each ordinal has started in
	// this counter period (a restarted pod is a new pod: new name, CPU
	// counter from zero, as cAdvisor shows it).
	present int
	gen     []int
	period  int64 // counter period index, part of pod names
}

func (c *wctr) clone() wctr {
	out := *c
	for k := range c.hist {
		out.hist[k] = append([]float64(nil), c.hist[k]...)
	}
	out.cpu = append([]float64(nil), c.cpu...)
	out.gen = append([]int(nil), c.gen...)
	return out
}

// arrive applies the pod set of st (workload i) at a grid point: ordinals
// that start get a new generation and a zero CPU counter.
func (m *model) arrive(c *wctr, i int, st *state) {
	if m.wls[i].shape == shapeLambda {
		return
	}
	cur := int(st.val(i, sources.ReplicasCurrent) + 0.5)
	for len(c.cpu) < cur {
		c.cpu = append(c.cpu, 0)
		c.gen = append(c.gen, 0)
	}
	for p := c.present; p < cur; p++ {
		c.gen[p]++
		c.cpu[p] = 0
	}
	c.present = max(cur, 0)
}

// add integrates the rates of st (workload i) over dt seconds.
func (m *model) add(c *wctr, i int, st *state, dt float64) {
	x := &m.wls[i]
	if x.shape == shapeLambda || dt <= 0 {
		return
	}
	if x.hist != nil {
		for k := range c.hist {
			if len(c.hist[k]) < len(x.hist.bounds) {
				c.hist[k] = make([]float64, len(x.hist.bounds))
			}
		}
	}
	rps := st.val(i, sources.RequestRate)
	e := st.val(i, sources.ErrorRatio)
	n := rps * dt
	c.ok += n * (1 - e)
	c.errs += n * e
	if x.hist != nil && n > 0 {
		p50, ok50 := st.get(i, sources.LatencyP50)
		p95, ok95 := st.get(i, sources.LatencyP95)
		p99, ok99 := st.get(i, sources.LatencyP99)
		if ok50 && ok95 && ok99 {
			d := newDist(p50, p95, p99)
			shares := [2]float64{1, 0}
			if x.splitCodes {
				shares = [2]float64{1 - e, e}
			}
			mean := d.mean() * x.hist.scale
			for k, share := range shares {
				if share <= 0 {
					continue
				}
				nk := n * share
				for b, le := range x.hist.bounds {
					c.hist[k][b] += nk * d.cdf(le/x.hist.scale)
				}
				c.hsum[k] += nk * mean
				c.hcount[k] += nk
			}
		}
	}
	if cur := c.present; cur > 0 {
		per := st.val(i, sources.CPUUsage) / float64(cur) * dt
		for p := range cur {
			c.cpu[p] += per
		}
	}
}

// accum computes counters as a pure function of t: the rates at each
// 15 s grid point g (aligned to the simulation epoch) apply on [g, g+15s),
// pods start and stop at grid points, and everything restarts every hour.
// A period is left-open (A, A+1h], so the sample at A+1h still holds the
// whole hour and a scrape grid aligned to the hour loses nothing at the
// reset. It caches its progress, so calls with growing t are cheap.
type accum struct {
	m      *model
	anchor time.Time
	k      int // the last grid point applied (-1: none)
	prefix []wctr
	states map[int64]*state
}

func newAccum(m *model) *accum {
	return &accum{m: m, states: map[int64]*state{}}
}

// anchorOf is the start of the counter period holding t.
func (a *accum) anchorOf(t time.Time) time.Time {
	d := t.Sub(a.m.start) - 1
	n := d / counterPeriod
	if d < 0 && d%counterPeriod != 0 {
		n--
	}
	return a.m.start.Add(n * counterPeriod)
}

// state returns the simulator's state at t (cached briefly).
func (a *accum) state(t time.Time) *state {
	key := t.UnixNano()
	if st, ok := a.states[key]; ok {
		return st
	}
	st := a.m.stateAt(t)
	if len(a.states) > 8 {
		for k := range a.states {
			if k < key-int64(4*gridStep) || k > key+int64(4*gridStep) {
				delete(a.states, k)
			}
		}
	}
	a.states[key] = st
	return st
}

// at returns every workload's counters and pods at t.
func (a *accum) at(t time.Time) []wctr {
	anchor := a.anchorOf(t)
	kf := int(t.Sub(anchor) / gridStep) // the last grid point <= t
	if !anchor.Equal(a.anchor) || kf < a.k || a.prefix == nil {
		a.anchor, a.k = anchor, -1
		a.prefix = make([]wctr, len(a.m.wls))
		period := int64(anchor.Sub(a.m.start) / counterPeriod)
		for i := range a.prefix {
			a.prefix[i].period = period
		}
	}
	full := gridStep.Seconds()
	for a.k < kf {
		if a.k >= 0 {
			st := a.state(anchor.Add(time.Duration(a.k) * gridStep))
			for i := range a.prefix {
				a.m.add(&a.prefix[i], i, st, full)
			}
		}
		a.k++
		st := a.state(anchor.Add(time.Duration(a.k) * gridStep))
		for i := range a.prefix {
			a.m.arrive(&a.prefix[i], i, st)
		}
	}
	g := anchor.Add(time.Duration(kf) * gridStep)
	st := a.state(g)
	out := make([]wctr, len(a.prefix))
	partial := t.Sub(g).Seconds()
	for i := range a.prefix {
		out[i] = a.prefix[i].clone()
		a.m.add(&out[i], i, st, partial)
	}
	return out
}
