package kube

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/perch-dev/perch/sources"
)

// scope is one informer: one resource in one namespace ("" = all
// namespaces, or the whole cluster for nodes).
type scope struct {
	def    *resourceDef
	ns     string
	inf    cache.SharedIndexInformer
	cancel context.CancelFunc

	mu  sync.Mutex
	err error // the last list/watch failure, nil after a success
	ok  bool  // a list or watch has succeeded
}

func (s *scope) status() (err error, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err, s.ok
}

// where describes the scope for messages.
func (s *scope) where() string {
	switch {
	case !s.def.namespaced:
		return "at cluster scope"
	case s.ns == "":
		return "in all namespaces"
	default:
		return "in namespace " + s.ns
	}
}

// problem is a resource perch may not or cannot read.
type problem struct {
	def  *resourceDef
	ns   string
	what string // "forbidden" or "not served"
	err  error
}

func (p problem) Error() string {
	name, where := p.parts()
	if p.what == "forbidden" {
		return fmt.Sprintf("forbidden: cannot list/watch %s %s", name, where)
	}
	return fmt.Sprintf("%s %s: %s", name, where, p.what)
}

// parts names the resource and where it was read.
func (p problem) parts() (name, where string) {
	name, namespaced := "pods.metrics.k8s.io", true
	if p.def != nil {
		name, namespaced = p.def.name, p.def.namespaced
	}
	switch {
	case !namespaced:
		where = "at cluster scope"
	case p.ns != "":
		where = "in namespace " + p.ns
	default:
		where = "in all namespaces"
	}
	return name, where
}

// usage is one pod's measured usage.
type usage struct {
	cpu int64 // nanocores (metrics-server reports e.g. 50015608n)
	mem int64 // bytes
}

// wlState is the cached result for one workload.
type wlState struct {
	id   sources.WorkloadID
	kind sources.Kind
	v    [sources.NumMetrics]float64 // NaN = not reported
}

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
		if !def.namespaced {
			c.startScope(def, "")
			continue
		}
		for _, ns := range c.watchNS {
			c.startScope(def, ns)
		}
	}
	go c.waitSynced(ctx)
	if c.cl.metrics != nil {
		go c.pollMetrics(ctx)
	}
}

// startScope starts one informer. c.mu must be held.
func (c *cluster) startScope(def *resourceDef, ns string) {
	sctx, cancel := context.WithCancel(c.ctx)
	s := &scope{def: def, ns: ns, cancel: cancel}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			if def.fieldSelector != "" {
				o.FieldSelector = def.fieldSelector
			}
			obj, err := def.list(ctx, c.cl.core, ns, o)
			c.observe(s, err)
			return obj, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			if def.fieldSelector != "" {
				o.FieldSelector = def.fieldSelector
			}
			w, err := def.watch(ctx, c.cl.core, ns, o)
			c.observe(s, err)
			return w, err
		},
	}
	s.inf = cache.NewSharedIndexInformerWithOptions(
		cache.ToListWatcherWithWatchListSemantics(lw, c.cl.watchListClient), def.example,
		cache.SharedIndexInformerOptions{Indexers: def.indexers, ObjectDescription: def.name})
	_ = s.inf.SetTransform(def.transform) // cannot fail before Run
	_ = s.inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		c.observe(s, err) // replaces client-go's default handler, which logs
	})
	_, _ = s.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.touch(def.res, nil, obj) },
		UpdateFunc: func(old, obj any) { c.touch(def.res, old, obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			c.touch(def.res, obj, nil)
		},
	})
	c.scopes[def.res] = append(c.scopes[def.res], s)
	go s.inf.RunWithContext(sctx)
}

// observe records the outcome of one list or watch call. A forbidden
// all-namespaces read falls back to the configured namespaces; a forbidden
// or unserved resource stops its informer (no retry storm) and is reported.
func (c *cluster) observe(s *scope, err error) {
	if err == nil {
		s.mu.Lock()
		s.err, s.ok = nil, true
		s.mu.Unlock()
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	forbidden, notServed := apierrors.IsForbidden(err), apierrors.IsNotFound(err)
	if !forbidden && !notServed {
		s.mu.Lock()
		s.err = fmt.Errorf("%s %s: %w", s.def.name, s.where(), err)
		s.mu.Unlock()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.removeScope(s) {
		return // already handled
	}
	p := problem{def: s.def, ns: s.ns, what: "forbidden", err: err}
	if notServed {
		p.what = "not served by this cluster"
	}
	c.problems[s.def.name+"/"+s.ns] = p
	if forbidden && s.def.namespaced && s.ns == "" {
		for _, ns := range c.fallback {
			c.startScope(s.def, ns)
		}
	}
	c.allDirty, c.invDirty = true, true
	if c.wake != nil {
		c.wake()
	}
}

// removeScope stops s and drops it from the active scopes. c.mu must be held.
func (c *cluster) removeScope(s *scope) bool {
	list := c.scopes[s.def.res]
	for i, x := range list {
		if x == s {
			s.cancel()
			c.scopes[s.def.res] = append(list[:i:i], list[i+1:]...)
			return true
		}
	}
	return false
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
	for _, list := range c.scopes {
		for _, s := range list {
			if err, _ := s.status(); err == nil && !s.inf.HasSynced() {
				return false
			}
		}
	}
	return true
}

// touch marks the workloads an object change affects.
func (c *cluster) touch(r res, objs ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, obj := range objs {
		switch o := obj.(type) {
		case *podObj:
			if k, ok := c.podOwnerLocked(o); ok {
				c.dirty[k] = struct{}{}
			}
		case *workloadObj:
			c.dirty[wkKey{o.Kind, o.Namespace, o.Name}] = struct{}{}
		case *rsObj:
			if o.OwnerKind == "Deployment" {
				c.dirty[wkKey{sources.Deployment, o.Namespace, o.OwnerName}] = struct{}{}
			}
			if d := trimSuffix(o.Name); d != "" {
				c.dirty[wkKey{sources.Deployment, o.Namespace, d}] = struct{}{}
			}
		case *hpaObj:
			if k, ok := hpaTarget(o); ok {
				c.dirty[k] = struct{}{}
			}
		}
	}
	switch r {
	case resDeployments, resStatefulSets, resDaemonSets:
		if len(objs) == 2 && (objs[0] == nil || objs[1] == nil) {
			c.invDirty = true // added or deleted
		}
	}
}

// podOwnerLocked resolves a pod's workload, checking the ReplicaSet's own
// owner when the ReplicaSet is known.
func (c *cluster) podOwnerLocked(p *podObj) (wkKey, bool) {
	k, ok := podWorkload(p)
	if !ok || p.OwnerKind != "ReplicaSet" {
		return k, ok
	}
	if rs := c.replicaSet(p.Namespace, p.OwnerName); rs != nil {
		if rs.OwnerKind != "Deployment" {
			return wkKey{}, false
		}
		return wkKey{sources.Deployment, p.Namespace, rs.OwnerName}, true
	}
	return k, true
}

func (c *cluster) getFrom(r res, ns, name string) any {
	for _, s := range c.scopes[r] {
		if s.ns != "" && s.ns != ns {
			continue
		}
		if obj, ok, _ := s.inf.GetIndexer().GetByKey(ns + "/" + name); ok {
			return obj
		}
	}
	return nil
}

func (c *cluster) byIndex(r res, index, key, ns string) []any {
	var out []any
	for _, s := range c.scopes[r] {
		if s.ns != "" && s.ns != ns {
			continue
		}
		objs, _ := s.inf.GetIndexer().ByIndex(index, key)
		out = append(out, objs...)
	}
	return out
}

func (c *cluster) replicaSet(ns, name string) *rsObj {
	rs, _ := c.getFrom(resReplicaSets, ns, name).(*rsObj)
	return rs
}

func (c *cluster) workloadObject(k wkKey) *workloadObj {
	r := resDeployments
	switch k.Kind {
	case sources.StatefulSet:
		r = resStatefulSets
	case sources.DaemonSet:
		r = resDaemonSets
	}
	w, _ := c.getFrom(r, k.Namespace, k.Name).(*workloadObj)
	return w
}

// podsOfLocked lists the pods of a workload from the informer cache.
func (c *cluster) podsOfLocked(k wkKey) []*podObj {
	objs := c.byIndex(resPods, idxWorkload, k.String(), k.Namespace)
	pods := make([]*podObj, 0, len(objs))
	for _, obj := range objs {
		p, ok := obj.(*podObj)
		if !ok {
			continue
		}
		if k.Kind == sources.Deployment {
			if owner, ok := c.podOwnerLocked(p); !ok || owner != k {
				continue // a ReplicaSet with a look-alike name owned by something else
			}
		}
		pods = append(pods, p)
	}
	return pods
}

func (c *cluster) hpaOfLocked(k wkKey) *hpaObj {
	var best *hpaObj
	for _, obj := range c.byIndex(resHPAs, idxTarget, k.String(), k.Namespace) {
		if h, ok := obj.(*hpaObj); ok && (best == nil || h.Name < best.Name) {
			best = h
		}
	}
	return best
}

// counts reports whether a pod holds node resources (OpenCost counts
// running pods; pending ones once they are bound to a node).
func counts(p *podObj) bool {
	switch p.Phase {
	case "Running":
		return true
	case "Pending", "":
		return p.Node != ""
	}
	return false
}

// computeLocked recomputes one workload's values from the caches.
func (c *cluster) computeLocked(k wkKey) *wlState {
	c.computed++
	w := c.workloadObject(k)
	if w == nil {
		return nil
	}
	st := &wlState{kind: k.Kind}
	for i := range st.v {
		st.v[i] = math.NaN()
	}
	st.v[sources.ReplicasDesired] = float64(w.Desired)
	st.v[sources.ReplicasCurrent] = float64(w.Current)
	st.v[sources.ReplicasReady] = float64(w.Ready)
	if h := c.hpaOfLocked(k); h != nil {
		st.v[sources.ReplicasMin] = float64(h.Min)
		st.v[sources.ReplicasMax] = float64(h.Max)
	}
	var cpuReq, memReq, cpuUse, memUse int64
	var costRate float64
	prices := c.src.cfg.Prices
	for _, p := range c.podsOfLocked(k) {
		if !counts(p) {
			continue
		}
		cpuReq += p.CPUReq
		memReq += p.MemReq
		u := c.usage[p.Namespace+"/"+p.Name] // zero when not measured yet
		cpuUse += u.cpu
		memUse += u.mem
		costRate += prices.KubeHourly(float64(p.CPUReq)/1000, float64(u.cpu)/1e9, float64(p.MemReq), float64(u.mem))
	}
	st.v[sources.CPURequest] = float64(cpuReq) / 1000
	st.v[sources.MemRequest] = float64(memReq)
	if c.metricsOK {
		st.v[sources.CPUUsage] = float64(cpuUse) / 1e9
		st.v[sources.MemUsage] = float64(memUse)
	}
	st.v[sources.CostRate] = costRate
	return st
}

// allWorkloadKeysLocked lists every workload object in the caches.
func (c *cluster) allWorkloadKeysLocked() []wkKey {
	var keys []wkKey
	for _, r := range []res{resDeployments, resStatefulSets, resDaemonSets} {
		for _, s := range c.scopes[r] {
			for _, obj := range s.inf.GetIndexer().List() {
				if w, ok := obj.(*workloadObj); ok {
					keys = append(keys, wkKey{w.Kind, w.Namespace, w.Name})
				}
			}
		}
	}
	return keys
}

var kindOrder = map[sources.Kind]int{sources.Deployment: 0, sources.StatefulSet: 1, sources.DaemonSet: 2}

// refresh recomputes what changed since the last round and appends this
// cluster's inventory and samples. Only dirty workloads are recomputed;
// the rest reuse their cached values.
func (c *cluster) refresh(now time.Time, workloads []sources.Workload, samples []sources.Sample) ([]sources.Workload, []sources.Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.allDirty {
		c.states = map[wkKey]*wlState{}
		for _, k := range c.allWorkloadKeysLocked() {
			c.dirty[k] = struct{}{}
		}
		c.allDirty, c.invDirty = false, true
	}
	for k := range c.dirty {
		st := c.computeLocked(k)
		if st == nil {
			if _, had := c.states[k]; had {
				delete(c.states, k)
				c.invDirty = true
			}
			continue
		}
		if old, had := c.states[k]; had {
			st.id = old.id
		} else {
			c.invDirty = true
		}
		c.states[k] = st
	}
	clear(c.dirty)
	if c.invDirty {
		c.rebuildInventoryLocked()
	}
	workloads = append(workloads, c.inventory...)
	for _, w := range c.inventory {
		st := c.states[c.ids[w.ID]]
		for m, v := range st.v {
			if !math.IsNaN(v) {
				samples = append(samples, sources.Sample{ID: w.ID, Metric: sources.Metric(m), T: now, V: v})
			}
		}
	}
	return workloads, samples
}

// rebuildInventoryLocked assigns row ids (a Deployment and a StatefulSet
// of the same name get distinct rows) and sorts the inventory.
func (c *cluster) rebuildInventoryLocked() {
	keys := make([]wkKey, 0, len(c.states))
	for k := range c.states {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return kindOrder[a.Kind] < kindOrder[b.Kind]
	})
	clear(c.ids)
	c.inventory = c.inventory[:0]
	for _, k := range keys {
		id := sources.WorkloadID{Cluster: c.name, Namespace: k.Namespace, Name: k.Name}
		if _, taken := c.ids[id]; taken {
			id.Name = k.Name + " (" + string(k.Kind) + ")"
		}
		c.ids[id] = k
		c.states[k].id = id
		c.inventory = append(c.inventory, sources.Workload{ID: id, Kind: k.Kind, Platform: sources.Kubernetes})
	}
	sort.Slice(c.inventory, func(i, j int) bool { return c.inventory[i].ID.Less(c.inventory[j].ID) })
	c.invDirty = false
}

// problemErrors lists what keeps this cluster from being complete:
// connection failures, forbidden and unserved resources.
func (c *cluster) problemErrors() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	seen := map[string]bool{}
	for _, list := range c.scopes {
		for _, s := range list {
			if err, _ := s.status(); err != nil {
				// One unreachable server fails every informer the same way:
				// report it once.
				msg := rootCause(err)
				if !seen[msg] {
					seen[msg] = true
					errs = append(errs, err)
				}
			}
		}
	}
	// Group forbidden and unserved resources by where, so a namespace-bound
	// account reads as one line naming every resource it may not list.
	type group struct {
		what, where string
		names       []string
	}
	var groups []*group
	byWhere := map[string]*group{}
	keys := make([]string, 0, len(c.problems))
	for k := range c.problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := c.problems[k]
		name, where := p.parts()
		g := byWhere[p.what+"|"+where]
		if g == nil {
			g = &group{what: p.what, where: where}
			byWhere[p.what+"|"+where] = g
			groups = append(groups, g)
		}
		g.names = append(g.names, name)
	}
	for _, g := range groups {
		if g.what == "forbidden" {
			errs = append(errs, fmt.Errorf("forbidden: cannot list/watch %s %s", strings.Join(g.names, ", "), g.where))
		} else {
			errs = append(errs, fmt.Errorf("%s %s: %s", strings.Join(g.names, ", "), g.where, g.what))
		}
	}
	return errs
}

// rootCause strips the resource prefix so identical transport errors dedupe.
func rootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}
