package kube

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/perch-dev/perch/sources"
)

// AllPods lists every pod perch watches, in every connected context and
// namespace, from the informer caches: it makes no API request
// (sources.AllPodLister). Pods come sorted by context, namespace and name.
//
// Owner is the pod's workload row. A pod that belongs to no row (a bare
// pod, a ReplicaSet's without Deployment, a Job's while jobs may not be
// read) gets Owner{Cluster, Namespace, Name: ""}: an empty name rather than
// the pod's own, so no caller takes it for a row it could open, while the
// cluster and namespace still group and filter it.
//
// Contexts that are not connected are named in the error; the pods of the
// others are returned with it.
func (s *Source) AllPods(ctx context.Context) ([]sources.Pod, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	slots := s.slots // sorted by context name
	s.mu.Unlock()
	if len(slots) == 0 {
		return nil, errors.New("kube: not started")
	}
	var out []sources.Pod
	var errs []error
	for _, sl := range slots {
		c, err := sl.get()
		if c == nil {
			if err == nil {
				err = errors.New("not connected yet")
			}
			errs = append(errs, fmt.Errorf("context %s: %w", sl.name, err))
			continue
		}
		out = c.appendAllPods(out)
		if !c.podsLoaded() {
			errs = append(errs, fmt.Errorf("context %s: %w", sl.name, errPodsLoading))
		}
	}
	if len(errs) > 0 {
		return out, s.secrets.redact(&RoundError{Errs: errs, Partial: len(out) > 0})
	}
	return out, nil
}

// podsLoaded reports whether the pods are in (the rows are no estimates).
func (c *cluster) podsLoaded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.podsSynced
}

// appendAllPods appends every cached pod of this cluster, sorted.
func (c *cluster) appendAllPods(out []sources.Pod) []sources.Pod {
	c.mu.Lock()
	defer c.mu.Unlock()
	first := len(out)
	// Pods of one controller share their owner: resolve it once (each
	// resolution looks the ReplicaSet or Job up by a key it must build).
	type controller struct{ ns, kind, name, knService string }
	owners := make(map[controller]sources.WorkloadID, len(c.states))
	for _, sc := range c.scopes[resPods] {
		objs := sc.inf.GetIndexer().List()
		out = slices.Grow(out, len(objs))
		for _, obj := range objs {
			p, ok := obj.(*podObj)
			if !ok {
				continue
			}
			ctl := controller{p.Namespace, p.OwnerKind, p.OwnerName, p.KnService}
			owner, known := owners[ctl]
			if !known {
				owner = sources.WorkloadID{Cluster: c.name, Namespace: p.Namespace}
				if k, ok := c.podOwnerLocked(p); ok {
					if st := c.states[k]; st != nil {
						owner = st.id
					}
				}
				if p.OwnerKind != "" {
					owners[ctl] = owner
				}
			}
			out = append(out, c.podLocked(p, owner))
		}
	}
	slices.SortFunc(out[first:], func(a, b sources.Pod) int {
		return cmp.Or(cmp.Compare(a.Owner.Namespace, b.Owner.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}
