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

	mu        sync.Mutex
	scopes    [numRes][]*scope
	problems  map[string]problem // by resource/namespace
	fallback  []string           // namespaces to use when all-namespace reads are forbidden
	watchNS   []string           // namespaces watched ("" = all)
	dirty     map[wkKey]struct{}
	allDirty  bool
	invDirty  bool
	synced    bool // the first full sync is done
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

// waitSynced wakes the source once every informer has its initial list.
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
		done := c.allSyncedLocked()
		if done {
			c.synced, c.allDirty, c.invDirty = true, true, true
		}
		c.mu.Unlock()
		if done {
			c.wake()
			return
		}
	}
}

func (c *cluster) allSyncedLocked() bool {
	if c.knPending {
		return false
	}
	for _, list := range c.scopes {
		for _, s := range list {
			if !s.inf.HasSynced() {
				return false
			}
		}
	}
	return true
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
	for _, list := range c.scopes {
		for _, s := range list {
			if err, _ := s.status(); err == nil && !s.inf.HasSynced() {
				return false
			}
		}
	}
	return true
}
