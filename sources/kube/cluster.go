package kube

import (
	"context"
	"sync"
	"time"

	"github.com/perch-dev/perch/sources"
)

// cluster watches one kubeconfig context.
type cluster struct {
	name string
	src  *Source
	cl   *clients

	ctx  context.Context
	wake func() // tells the source loop something worth emitting happened

	mu       sync.Mutex
	scopes   [numRes][]*scope
	problems map[string]problem // by resource/namespace
	fallback []string           // namespaces to use when all-namespace reads are forbidden
	watchNS  []string           // namespaces watched ("" = all)
	dirty    map[wkKey]struct{}
	allDirty bool
	invDirty bool
	synced   bool // the informers the first round needs have synced (gatesFirstRound)
	// podsSynced: the pods are in too; until then rows are estimates.
	podsSynced bool
	// stageDone: a sync stage finished since the last round, which goes
	// out now rather than at the next tick.
	stageDone bool
	states    map[wkKey]*wlState
	ids       map[sources.WorkloadID]wkKey
	inventory []sources.Workload // sorted by ID

	// Usage from metrics.k8s.io, by namespace/name; nil when unavailable.
	usage       map[string]usage
	metricsNote string // what the status line says about usage
	metricsOK   bool

	// Knative Serving: knPending until discovery first answered (the
	// first complete round waits for it); knRunning says which of its
	// resources have informers (started once discovery found them).
	knPending bool
	knRunning [numRes]bool
	knPoke    chan struct{} // asks watchKnative to look now

	computed int // workloads recomputed so far (tests check incrementality)

	// bulkGate is closed when the pods and events informers may start
	// (bulk.go).
	bulkGate <-chan struct{}
}

func newCluster(src *Source, name string, cl *clients) *cluster {
	c := &cluster{
		name: name, src: src, cl: cl,
		problems: map[string]problem{},
		dirty:    map[wkKey]struct{}{},
		states:   map[wkKey]*wlState{},
		ids:      map[sources.WorkloadID]wkKey{},
	}
	cfg := src.cfg
	switch {
	case cfg.Namespace != "":
		c.watchNS = []string{cfg.Namespace}
	case !cfg.AllNamespaces && cl.namespace != "":
		c.watchNS = []string{cl.namespace}
	default:
		c.watchNS = []string{""}
	}
	fb := cfg.Namespaces
	if len(fb) == 0 && cl.namespace != "" {
		fb = []string{cl.namespace}
	}
	c.fallback = dedupe(fb)
	switch {
	case cl.metrics == nil:
		c.metricsNote = "usage: off"
	default:
		c.metricsNote = "usage: waiting for metrics.k8s.io"
	}
	return c
}

func dedupe(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// start runs every informer until ctx ends.
func (c *cluster) start(ctx context.Context, wake func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ctx, c.wake = ctx, wake
	c.bulkGate = c.src.bulkGate(ctx)
	for _, def := range resources {
		if def.custom() {
			continue // started by watchKnative once discovery finds them
		}
		if !def.namespaced {
			c.startScope(def, "")
			continue
		}
		for _, ns := range c.watchNS {
			c.startScope(def, ns)
		}
	}
	if c.src.cfg.Knative != KnativeOff && c.cl.dynamic != nil {
		c.knPending, c.knPoke = true, make(chan struct{}, 1)
		go c.watchKnative(ctx)
	}
	go c.waitSynced(ctx)
	if c.cl.metrics != nil {
		go c.pollMetrics(ctx)
	}
}

// The first round waits only for the informers the overview reads
// besides pods: workloads, ReplicaSets, HPAs, Jobs, nodes (and Knative's
// discovery). Pods are most of a big cluster's start (at 10,000 pods, most
// of the API server's and perch's work before the first frame): until
// they are in, rows show estimates from the pod templates (estimate.go)
// and the round says so. Events only feed the pods page, which says when
// they are still loading.
func gatesFirstRound(r res) bool { return r != resPods && r != resEvents }

// waitSynced wakes the source when the first round may go, and again when
// the pods are in (their round goes out at once, not at the next tick).
func (c *cluster) waitSynced(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		stage := false
		if !c.synced && !c.knPending && c.resSyncedLocked(gatesFirstRound) {
			c.synced, c.allDirty, c.invDirty, stage = true, true, true, true
		}
		if c.synced && !c.podsSynced && c.scopesSyncedLocked(resPods) {
			// Every row's values change from estimates to the pods' own.
			c.podsSynced, c.allDirty, stage = true, true, true
		}
		done := c.podsSynced
		if stage {
			c.stageDone = true
		}
		c.mu.Unlock()
		if stage {
			c.wake()
		}
		if done {
			return
		}
	}
}

// resSyncedLocked reports whether every informer of the resources picked
// has its initial list (a resource with no informer left, e.g. forbidden
// without fallback, counts as synced).
func (c *cluster) resSyncedLocked(pick func(res) bool) bool {
	for r, list := range c.scopes {
		if !pick(res(r)) {
			continue
		}
		for _, s := range list {
			if !s.inf.HasSynced() {
				return false
			}
		}
	}
	return true
}

// scopesSyncedLocked reports whether every informer of r has its initial list.
func (c *cluster) scopesSyncedLocked(r res) bool {
	return c.resSyncedLocked(func(x res) bool { return x == r })
}

// settled reports whether the cluster has synced or is failing, so a
// first complete round need not wait for it.
func (c *cluster) settled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.synced {
		return true
	}
	if c.knPending {
		return false
	}
	for r, list := range c.scopes {
		if !gatesFirstRound(res(r)) {
			continue
		}
		for _, s := range list {
			if err, _ := s.status(); err == nil && !s.inf.HasSynced() {
				return false
			}
		}
	}
	return true
}
