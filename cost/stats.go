package cost

import (
	"math"
	"slices"
)

// Mean is the mean of the known (finite) values, NaN when there are none.
func Mean(xs []float64) float64 {
	var sum float64
	n := 0
	for _, x := range xs {
		if finite(x) {
			sum += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// Peak is the largest known value, NaN when there are none.
func Peak(xs []float64) float64 {
	m := math.NaN()
	for _, x := range xs {
		if finite(x) && !(x <= m) {
			m = x
		}
	}
	return m
}

// Quantile is the q-quantile (0..1) of the known values, linearly
// interpolated between ranks; NaN when there are none.
func Quantile(xs []float64, q float64) float64 {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if finite(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	slices.Sort(v)
	q = math.Min(math.Max(q, 0), 1)
	pos := q * float64(len(v)-1)
	lo := int(pos)
	if lo >= len(v)-1 {
		return v[len(v)-1]
	}
	return v[lo] + (pos-float64(lo))*(v[lo+1]-v[lo])
}

// PerReplica divides a workload total by its replica count point by point:
// NaN where either is unknown or there are no replicas.
func PerReplica(total, replicas []float64) []float64 {
	out := make([]float64, min(len(total), len(replicas)))
	for i := range out {
		if finite(total[i]) && replicas[i] > 0 && finite(replicas[i]) {
			out[i] = total[i] / replicas[i]
		} else {
			out[i] = math.NaN()
		}
	}
	return out
}

// MeanDuration estimates the mean request duration from latency quantiles:
// the mean of a log-normal through p50 and p99 when both are known (latency
// is right-skewed, so the mean sits above the median), else the first known
// of p50, p95, p99. NaN when none is known.
func MeanDuration(p50, p95, p99 float64) float64 {
	if p50 > 0 && finite(p50) && p99 >= p50 && finite(p99) {
		sigma := math.Log(p99/p50) / 2.326 // z(0.99)
		return p50 * math.Exp(sigma*sigma/2)
	}
	for _, v := range []float64{p50, p95, p99} {
		if known(v) {
			return v
		}
	}
	return math.NaN()
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
