package sources

import (
	"context"
	"errors"
	"time"
)

// Source is the contract every backend implements. Run streams updates to
// out until ctx ends, then returns ctx.Err() (or a fatal setup error). Run
// never closes out; it reports recoverable failures as an Update with Err
// set and keeps trying, so one broken backend never stops the dashboard.
type Source interface {
	Name() string
	Run(ctx context.Context, out chan<- Update) error
}

// Update is what a source emits: an inventory change, samples, or an error.
// Fields are independent; any may be empty.
type Update struct {
	Source string
	// At is when the source produced the update (its clock).
	At time.Time
	// Workloads are upserted into the inventory. When Full is set they
	// replace every workload this source reported before (removals).
	Workloads []Workload
	Full      bool
	Samples   []Sample
	// Err is a failure of this round; previously known data stays, marked stale.
	Err error
	// Partial says what the source cannot see although the round worked
	// (a forbidden namespace or resource, a missing CRD or metrics API).
	// The data sent is good, so rows are not marked stale. Set it on the
	// Complete update of every round it holds for; a Complete update
	// without it clears it.
	Partial error
	// Complete marks the last update of a full round: everything the
	// source knows as of At has been sent (snapshots and "first complete
	// frame" wait for it).
	Complete bool
}

// ErrLoading is wrapped by an Update.Partial whose values are provisional:
// the source shows what it can while a bulk load is under way (the kube
// source's pod lists: rows are estimated from the pod templates), and a
// later Complete round without it replaces them. Use errors.Is.
var ErrLoading = errors.New("still loading")

// BulkDeferrer is implemented by sources with bulk loading the first frame
// does not need (the kube source's pod and event lists). The dashboard
// calls DeferBulkUntil before Run and closes ready once every source has
// shown a first round, so that load does not compete with the others' first
// answers for the machine's CPU. A source starts that work on its own after
// a short limit all the same.
type BulkDeferrer interface {
	DeferBulkUntil(ready <-chan struct{})
}

// HealthChecker is implemented by sources that can cheaply probe their backend.
type HealthChecker interface {
	CheckHealth(ctx context.Context) error
}

// RangeQuery asks for one metric of one workload over [Start, End] at Step.
type RangeQuery struct {
	ID         WorkloadID
	Metric     Metric
	Start, End time.Time
	Step       time.Duration
}

// RangeQuerier serves history on demand (e.g. a detail chart older than the store).
type RangeQuerier interface {
	Range(ctx context.Context, q RangeQuery) ([]Sample, error)
}

// PodLister lists the pods (or function instances) of one workload.
type PodLister interface {
	Pods(ctx context.Context, id WorkloadID) ([]Pod, error)
}

// TraceQuery selects traces of one workload in a time window.
type TraceQuery struct {
	ID          WorkloadID
	Start, End  time.Time
	MinDuration time.Duration
	Limit       int
}

// TraceFinder finds traces for a workload.
type TraceFinder interface {
	Traces(ctx context.Context, q TraceQuery) ([]Trace, error)
}
