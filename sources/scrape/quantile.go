package scrape

import (
	"math"
	"sort"
)

// bucket is one cumulative histogram bucket: observations <= le.
type bucket struct{ le, count float64 }

// quantile is Prometheus' histogram_quantile on classic buckets: find the
// bucket holding rank q·total and interpolate linearly inside it (from 0
// for the first bucket); a rank in the +Inf bucket answers the highest
// finite bound. NaN when there is no +Inf bucket or no observation.
func quantile(q float64, in []bucket) float64 {
	switch {
	case math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(1)
	}
	bs := append([]bucket(nil), in...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	// Merge equal bounds (same le from several series already summed by
	// the caller, but be safe) and force monotonic counts, as Prometheus
	// does for buckets scraped at slightly different times.
	merged := bs[:0]
	for _, b := range bs {
		if math.IsNaN(b.le) || math.IsNaN(b.count) {
			continue
		}
		if n := len(merged); n > 0 && merged[n-1].le == b.le {
			merged[n-1].count += b.count
			continue
		}
		merged = append(merged, b)
	}
	bs = merged
	if len(bs) < 2 || !math.IsInf(bs[len(bs)-1].le, 1) {
		return math.NaN()
	}
	for i := 1; i < len(bs); i++ {
		bs[i].count = math.Max(bs[i].count, bs[i-1].count)
	}
	total := bs[len(bs)-1].count
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	b := sort.Search(len(bs)-1, func(i int) bool { return bs[i].count >= rank })
	if b == len(bs)-1 {
		return bs[len(bs)-2].le
	}
	if b == 0 && bs[0].le <= 0 {
		return bs[0].le
	}
	start, end, count := 0.0, bs[b].le, bs[b].count
	if b > 0 {
		start = bs[b-1].le
		count -= bs[b-1].count
		rank -= bs[b-1].count
	}
	if count <= 0 {
		return end
	}
	return start + (end-start)*(rank/count)
}
