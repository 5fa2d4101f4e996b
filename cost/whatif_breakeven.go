package cost

import "math"

// Break-even search grid: rates from BreakEvenFrom up by BreakEvenStep.
const (
	BreakEvenFrom = 1e-3
	BreakEvenStep = 1.05
)

// breakEven finds the lowest mean rate at which option k costs at least as
// much as the right-sized always-on option. The always-on cost rises in
// steps (one more replica), so the two curves can cross more than once: the
// rates are walked on a grid 5% apart from BreakEvenFrom up, and the first
// grid step where pay-per-use is no longer cheaper is narrowed by bisection.
// A crossing narrower than one grid step can be missed.
func (m *model) breakEven(now *sizing, k OptionKind) BreakEven {
	be := BreakEven{Option: k, RPS: math.NaN()}
	if !now.ok(RightSized) {
		be.Note = "needs the right-sized cost: " + now.rightMissing
		return be
	}
	if !now.ok(k) {
		be.Note = now.option(k).Missing
		return be
	}
	diff := func(r float64) float64 {
		s := m.sizeFor(m.scaled(r), 1<<k)
		return s.hourly(k) - s.hourly(RightSized)
	}
	lo, hi := 0.0, BreakEvenFrom
	d := diff(lo)
	switch {
	case math.IsNaN(d):
		be.Note = "not enough data"
		return be
	case d >= 0:
		be.RPS, be.Note = 0, "never cheaper"
		return be
	}
	for {
		d = diff(hi)
		if math.IsNaN(d) {
			be.Note = "not enough data"
			return be
		}
		if d >= 0 {
			break
		}
		lo, hi = hi, hi*BreakEvenStep
		if hi > MaxBreakEvenRPS {
			be.RPS, be.Note = math.Inf(1), "cheaper at any rate"
			return be
		}
	}
	for range 40 {
		if hi-lo <= 1e-9*hi {
			break
		}
		mid := (lo + hi) / 2
		if diff(mid) >= 0 {
			hi = mid
		} else {
			lo = mid
		}
	}
	be.RPS = hi
	return be
}
