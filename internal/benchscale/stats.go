package main

import (
	"math"
	"sort"
)

// spread is the median, minimum and maximum of repeated measurements
// (NaN values, i.e. failed measurements, are left out; N counts the rest).
type spread struct {
	Median, Min, Max float64
	N                int
}

func summarize(xs []float64) spread {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return spread{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	sort.Float64s(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return spread{Median: med, Min: v[0], Max: v[n-1], N: n}
}

// distribute splits total into len(weights) positive integers proportional
// to the weights (largest remainder), each at least 1. It needs
// total >= len(weights) and positive weights.
func distribute(total int, weights []float64) []int {
	n := len(weights)
	out := make([]int, n)
	if n == 0 {
		return out
	}
	rest := total - n
	var sum float64
	for _, w := range weights {
		sum += w
	}
	type rem struct {
		i    int
		frac float64
	}
	rems := make([]rem, n)
	given := 0
	for i, w := range weights {
		share := float64(rest) * w / sum
		whole := math.Floor(share)
		out[i] = 1 + int(whole)
		given += int(whole)
		rems[i] = rem{i, share - whole}
	}
	// Hand out what rounding down left, largest remainders first (ties by
	// index so the split is deterministic).
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].frac > rems[b].frac })
	for k := 0; given < rest; k++ {
		out[rems[k%n].i]++
		given++
	}
	return out
}
