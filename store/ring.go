package store

import (
	"math"
	"time"
)

// ring is a fixed-size, time-aligned buffer of bucket means. Bucket b holds
// samples with t in [b*step, (b+1)*step). Memory is len(vals)*5 bytes,
// fixed at creation: history is bounded by design, not by pruning.
type ring struct {
	step   int64 // seconds per bucket
	head   int64 // newest bucket number written
	used   bool  // false until the first sample
	vals   []float32
	counts []uint8 // samples averaged into the bucket, saturating
}

func newRing(step time.Duration, buckets int) *ring {
	return &ring{step: int64(step / time.Second), vals: make([]float32, buckets), counts: make([]uint8, buckets)}
}

func (r *ring) bucket(t time.Time) int64 {
	u := t.Unix()
	b := u / r.step
	if u < 0 && u%r.step != 0 {
		b--
	}
	return b
}

func (r *ring) slot(b int64) int {
	n := int64(len(r.vals))
	return int(((b % n) + n) % n)
}

// add averages v into the bucket of t. Samples older than the ring's span
// are dropped; a newer bucket clears the slots it skips over.
func (r *ring) add(t time.Time, v float64) { r.addN(t, v, 1) }

// addN merges a mean v of n samples into the bucket of t.
func (r *ring) addN(t time.Time, v float64, n uint8) {
	if math.IsNaN(v) || math.IsInf(v, 0) || n == 0 {
		return
	}
	b := r.bucket(t)
	size := int64(len(r.vals))
	switch {
	case !r.used:
		r.head, r.used = b, true
	case b > r.head:
		for c, i := r.head+1, 0; c <= b && i < len(r.vals); c, i = c+1, i+1 {
			s := r.slot(c)
			r.counts[s] = 0
		}
		r.head = b
	case b <= r.head-size:
		return
	}
	s := r.slot(b)
	c := r.counts[s]
	if c == 0 {
		r.vals[s] = float32(v)
	} else {
		r.vals[s] += (float32(v) - r.vals[s]) * float32(n) / float32(int(c)+int(n))
	}
	r.counts[s] = uint8(min(int(c)+int(n), math.MaxUint8))
}

// foldInto merges every bucket this ring holds into dst (a coarser ring),
// oldest first, weighted by their sample counts.
func (r *ring) foldInto(dst *ring) {
	if !r.used {
		return
	}
	for b := r.head - int64(len(r.vals)) + 1; b <= r.head; b++ {
		s := r.slot(b)
		if r.counts[s] != 0 {
			dst.addN(time.Unix(b*r.step, 0), float64(r.vals[s]), r.counts[s])
		}
	}
}

// at returns the bucket value of b, NaN when empty or out of the span.
func (r *ring) at(b int64) float64 {
	if !r.used || b > r.head || b <= r.head-int64(len(r.vals)) {
		return math.NaN()
	}
	s := r.slot(b)
	if r.counts[s] == 0 {
		return math.NaN()
	}
	return float64(r.vals[s])
}

// oldest is the start time of the oldest bucket the ring can still hold.
func (r *ring) oldest() time.Time {
	return time.Unix((r.head-int64(len(r.vals))+1)*r.step, 0)
}

// Agg chooses how buckets that fall into one output point are combined.
type Agg uint8

// Aggregations.
const (
	Mean Agg = iota
	Max
)

// resample fills out[i] with the aggregate of the buckets overlapping the
// i-th of len(out) equal slices of [from, to). Empty slices are NaN; when
// there are more points than buckets, points repeat their bucket. Integer
// nanosecond arithmetic keeps this cheap: it runs for every sparkline.
func (r *ring) resample(from, to time.Time, out []float64, agg Agg) {
	n := int64(len(out))
	if n == 0 {
		return
	}
	stepNs := r.step * int64(time.Second)
	fromNs := from.UnixNano()
	span := to.UnixNano() - fromNs
	oldest := r.head - int64(len(r.vals)) + 1
	for i := int64(0); i < n; i++ {
		t0 := fromNs + span*i/n
		t1 := fromNs + span*(i+1)/n - 1
		b0, b1 := floorDiv(t0, stepNs), floorDiv(t1, stepNs)
		if b1 < b0 {
			b1 = b0
		}
		acc, cnt := math.NaN(), 0
		if r.used {
			for b := max(b0, oldest); b <= min(b1, r.head); b++ {
				s := r.slot(b)
				if r.counts[s] == 0 {
					continue
				}
				v := float64(r.vals[s])
				switch {
				case cnt == 0:
					acc = v
				case agg == Max:
					acc = math.Max(acc, v)
				default:
					acc += v
				}
				cnt++
			}
		}
		if agg == Mean && cnt > 1 {
			acc /= float64(cnt)
		}
		out[i] = acc
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
