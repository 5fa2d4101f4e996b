package kube

import (
	"math"
	"sort"
	"time"

	"github.com/perch-dev/perch/sources"
)

// wlState is the cached result for one workload.
type wlState struct {
	id   sources.WorkloadID
	kind sources.Kind
	v    [sources.NumMetrics]float64 // NaN = not reported
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
		case *jobObj:
			c.dirty[jobKey(o)] = struct{}{}
		case *knServiceObj:
			c.dirty[knKey(o.Namespace, o.Name)] = struct{}{}
		case *knRevisionObj:
			if o.Service != "" {
				c.dirty[knKey(o.Namespace, o.Service)] = struct{}{}
			}
		}
	}
	addedOrDeleted := len(objs) == 2 && (objs[0] == nil || objs[1] == nil)
	switch r {
	case resDeployments, resStatefulSets, resDaemonSets, resJobs:
		if addedOrDeleted {
			c.invDirty = true
		}
	case resKnServices:
		if addedOrDeleted {
			// The service takes over (or gives back) its revisions' pods
			// and Deployments: recompute everything.
			c.allDirty = true
		}
	}
}

// podOwnerLocked resolves a pod's workload row: the Knative service of a
// revision's pod (when the service is known), the CronJob of a Job's pod,
// and a ReplicaSet's own owner when the ReplicaSet is known.
func (c *cluster) podOwnerLocked(p *podObj) (wkKey, bool) {
	if p.KnService != "" && c.knServiceLocked(p.Namespace, p.KnService) != nil {
		return knKey(p.Namespace, p.KnService), true
	}
	k, ok := podWorkload(p)
	if !ok {
		return k, ok
	}
	switch p.OwnerKind {
	case "ReplicaSet":
		if rs := c.replicaSet(p.Namespace, p.OwnerName); rs != nil {
			if rs.OwnerKind != "Deployment" {
				return wkKey{}, false
			}
			return wkKey{sources.Deployment, p.Namespace, rs.OwnerName}, true
		}
	case "Job":
		if j := c.job(p.Namespace, p.OwnerName); j != nil {
			return jobKey(j), true
		}
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
	var objs []any
	if k.Kind == KindCronJob {
		for _, j := range c.jobsOfLocked(k) {
			objs = append(objs, c.byIndex(resPods, idxWorkload, wkKey{KindJob, j.Namespace, j.Name}.String(), k.Namespace)...)
		}
	} else {
		objs = c.byIndex(resPods, idxWorkload, k.String(), k.Namespace)
	}
	pods := make([]*podObj, 0, len(objs))
	for _, obj := range objs {
		p, ok := obj.(*podObj)
		if !ok {
			continue
		}
		// The index files pods by name; the owner check drops a look-alike
		// ReplicaSet owned by something else, and a revision's pods once
		// their Knative service claims them.
		if owner, ok := c.podOwnerLocked(p); !ok || owner != k {
			continue
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

// computeLocked recomputes one workload's values from the caches; nil
// when the workload has no row (gone, or a revision's Deployment that its
// Knative service shows).
func (c *cluster) computeLocked(k wkKey) *wlState {
	c.computed++
	st := &wlState{kind: k.Kind}
	for i := range st.v {
		st.v[i] = math.NaN()
	}
	switch k.Kind {
	case KindJob, KindCronJob:
		if !c.jobReplicasLocked(k, st) {
			return nil
		}
	case kindKnative:
		if c.knServiceLocked(k.Namespace, k.Name) == nil {
			return nil
		}
	default:
		if !c.controllerReplicasLocked(k, st) {
			return nil
		}
	}
	if !c.podsSynced || c.podsUnreadableLocked() {
		c.estimateLocked(k, st)
		return st
	}
	pods := c.podsOfLocked(k)
	if k.Kind == kindKnative {
		current, ready := knativePodCounts(pods)
		c.knativeReplicasLocked(k, current, ready, st)
	}
	c.podCostLocked(pods, st)
	return st
}

// controllerReplicasLocked sets a Deployment's, StatefulSet's or
// DaemonSet's replicas from its status and its HPA's bounds.
func (c *cluster) controllerReplicasLocked(k wkKey, st *wlState) bool {
	w := c.workloadObject(k)
	if w == nil || c.ownedByKnativeLocked(w) {
		return false
	}
	st.v[sources.ReplicasDesired] = float64(w.Desired)
	st.v[sources.ReplicasCurrent] = float64(w.Current)
	st.v[sources.ReplicasReady] = float64(w.Ready)
	if h := c.hpaOfLocked(k); h != nil {
		st.v[sources.ReplicasMin] = float64(h.Min)
		st.v[sources.ReplicasMax] = float64(h.Max)
	}
	return true
}

// podCostLocked sets requests, usage and cost from the pods that hold
// node resources.
func (c *cluster) podCostLocked(pods []*podObj, st *wlState) {
	var cpuReq, memReq, cpuUse, memUse int64
	var costRate float64
	prices := c.src.cfg.Prices
	for _, p := range pods {
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
	for _, s := range c.scopes[resJobs] {
		for _, obj := range s.inf.GetIndexer().List() {
			if j, ok := obj.(*jobObj); ok {
				keys = append(keys, jobKey(j)) // a CronJob's repeats; callers dedupe
			}
		}
	}
	for _, s := range c.scopes[resKnServices] {
		for _, obj := range s.inf.GetIndexer().List() {
			if svc, ok := obj.(*knServiceObj); ok {
				keys = append(keys, knKey(svc.Namespace, svc.Name))
			}
		}
	}
	return keys
}

var kindOrder = map[sources.Kind]int{sources.Deployment: 0, sources.StatefulSet: 1, sources.DaemonSet: 2,
	KindCronJob: 3, KindJob: 4, kindKnative: 5}

// refresh recomputes what changed since the last round and appends this
// cluster's inventory and samples. Only dirty workloads are recomputed;
// the rest reuse their cached values.
func (c *cluster) refresh(now time.Time, workloads []sources.Workload, samples []sources.Sample) ([]sources.Workload, []sources.Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stageDone = false
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
		platform := sources.Kubernetes
		if k.Kind == kindKnative {
			platform = sources.Knative
		}
		c.inventory = append(c.inventory, sources.Workload{ID: id, Kind: k.Kind, Platform: platform})
	}
	sort.Slice(c.inventory, func(i, j int) bool { return c.inventory[i].ID.Less(c.inventory[j].ID) })
	c.invDirty = false
}
