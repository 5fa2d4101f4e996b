package sources

import (
	"errors"
	"math"
	"time"
)

// Summary is the latest state of one workload, what an overview row shows.
// Values that are unknown are NaN (never a misleading zero).
type Summary struct {
	Workload
	Source string
	// Latest value per metric, NaN when never seen.
	Latest [NumMetrics]float64
	// Updated is when the newest sample arrived.
	Updated time.Time
	// Stale is set when the source that owns this row is failing or silent.
	Stale bool
	// IdleShare is the share of the cost paid for requested but unused
	// resources (0..1), NaN when unknown; filled by whoever knows prices.
	IdleShare float64
	// Sparklines over the recent window, oldest first, NaN for gaps.
	ReplicasTrend []float64
	LatencyTrend  []float64
}

// Value returns the latest value of m.
func (s *Summary) Value(m Metric) float64 { return s.Latest[m] }

// Has reports whether m has a value.
func (s *Summary) Has(m Metric) bool { return !math.IsNaN(s.Latest[m]) }

// CostPerMillion is dollars per one million requests at the current rate,
// NaN when there is no traffic or no cost.
func (s *Summary) CostPerMillion() float64 {
	cost, rps := s.Latest[CostRate], s.Latest[RequestRate]
	if math.IsNaN(cost) || math.IsNaN(rps) || rps <= 0 {
		return math.NaN()
	}
	return cost / (rps * 3600) * 1e6
}

// Health is what the dashboard knows about one source.
type Health struct {
	Source string
	// LastOK is when the source last delivered data without error.
	LastOK time.Time
	// Err is the latest error, nil after a good round.
	Err error
	// ErrSince is when the current run of failures began.
	ErrSince time.Time
	// Rounds counts complete rounds received (see Update.Complete).
	Rounds int
	// Partial is what the source last said it cannot see (Update.Partial).
	Partial error
}

// Settled reports whether the source has completed a round whose values
// are not provisional (see ErrLoading): what a snapshot waits for.
func (h Health) Settled() bool {
	return h.Rounds > 0 && !errors.Is(h.Partial, ErrLoading)
}

// State classifies the health at now given the source's expected interval.
func (h Health) State(now time.Time, interval time.Duration) HealthState {
	switch {
	case h.Err != nil && h.LastOK.IsZero():
		return HealthDown
	case h.Err != nil:
		return HealthDegraded
	case h.LastOK.IsZero():
		return HealthUnknown
	case interval > 0 && now.Sub(h.LastOK) > 3*interval:
		return HealthStale
	default:
		return HealthOK
	}
}

// HealthState is a coarse classification for the header.
type HealthState uint8

// Health states.
const (
	HealthUnknown HealthState = iota
	HealthOK
	HealthStale
	HealthDegraded
	HealthDown
)

func (s HealthState) String() string {
	return [...]string{"waiting", "ok", "stale", "degraded", "down"}[s]
}
