package sources

import (
	"context"
	"time"
)

// Event is one recent warning about a workload or one of its parts
// (a pod that cannot be scheduled, a crash loop, an autoscaler that
// cannot read its metric).
type Event struct {
	Object  string // Kind/name of the involved object, e.g. Pod/web-7d9f-x2v4q
	Reason  string // e.g. FailedScheduling, BackOff
	Message string
	Count   int
	Last    time.Time
}

// EventLister lists a workload's recent warning events, newest first.
type EventLister interface {
	Events(ctx context.Context, id WorkloadID) ([]Event, error)
}

// AllPodLister lists every pod the source can see, across workloads,
// namespaces and clusters (Pod.Owner says where each belongs).
type AllPodLister interface {
	AllPods(ctx context.Context) ([]Pod, error)
}
