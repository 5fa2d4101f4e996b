package kube

import (
	"context"
	"time"
)

// BulkDeferLimit is the longest the pods and events lists wait for the
// dashboard's first frame (DeferBulkUntil) after a cluster connects.
const BulkDeferLimit = 5 * time.Second

// DeferBulkUntil makes every cluster start its pods and events informers
// only once ready is closed, or BulkDeferLimit after it connects. At 10,000
// pods those lists are most of the start's work, for the API server and for
// perch: deferred, they do not compete with the other sources' first
// answers, and the rows show estimates from the pod templates meanwhile
// (estimate.go). Call it before Run (sources.BulkDeferrer).
func (s *Source) DeferBulkUntil(ready <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bulkReady = ready
}

// bulkGate returns a channel closed when a cluster connecting now may
// start its bulk lists.
func (s *Source) bulkGate(ctx context.Context) <-chan struct{} {
	s.mu.Lock()
	ready := s.bulkReady
	s.mu.Unlock()
	gate := make(chan struct{})
	if ready == nil {
		close(gate)
		return gate
	}
	limit := s.bulkLimit
	go func() {
		t := time.NewTimer(limit)
		defer t.Stop()
		select {
		case <-ready:
		case <-t.C:
		case <-ctx.Done():
			return
		}
		close(gate)
	}()
	return gate
}
