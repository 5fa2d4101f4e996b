package kube

import (
	"context"
	"fmt"
	"sort"
	"time"

	"k8s.io/client-go/tools/cache"

	"github.com/perch-dev/perch/sources"
)

// Pods lists the pods of one workload from the informer cache: no API
// call per request.
func (s *Source) Pods(ctx context.Context, id sources.WorkloadID) ([]sources.Pod, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.clusterOf(id)
	if err != nil {
		return nil, err
	}
	return c.pods(id)
}

func (c *cluster) pods(id sources.WorkloadID) ([]sources.Pod, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.ids[id]
	if !ok {
		return nil, fmt.Errorf("kube: unknown workload %s", id)
	}
	ps := c.podsOfLocked(k)
	out := make([]sources.Pod, 0, len(ps))
	for _, p := range ps {
		out = append(out, c.podLocked(p, id))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if !c.podsSynced {
		return out, &RoundError{Errs: []error{fmt.Errorf("context %s: %w", c.name, errPodsLoading)}, Partial: true}
	}
	return out, nil
}

// podLocked converts a cached pod for the pods view.
func (c *cluster) podLocked(p *podObj, owner sources.WorkloadID) sources.Pod {
	phase := sources.PodPhase(p.Phase)
	if phase == "" {
		phase = sources.PodUnknown
	}
	var u usage
	if c.usage != nil {
		u = c.usage[p.Namespace+"/"+p.Name]
	}
	return sources.Pod{
		Name: p.Name, Owner: owner, Phase: phase, Ready: p.Ready, Restarts: int(p.Restarts), Node: p.Node,
		Created:    p.CreationTimestamp.Time,
		CPURequest: float64(p.CPUReq) / 1000, MemRequest: float64(p.MemReq),
		CPUUsage: float64(u.cpu) / 1e9, MemUsage: float64(u.mem),
	}
}

// Events lists the workload's warning events of the last EventWindow,
// newest first, at most MaxWarnings, from the informer cache
// (sources.EventLister).
func (s *Source) Events(ctx context.Context, id sources.WorkloadID) ([]sources.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.clusterOf(id)
	if err != nil {
		return nil, err
	}
	return c.warnings(id, s.cfg.Clock().Add(-s.cfg.EventWindow))
}

func (c *cluster) warnings(id sources.WorkloadID, since time.Time) ([]sources.Event, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.ids[id]
	if !ok {
		return nil, fmt.Errorf("kube: unknown workload %s", id)
	}
	var out []sources.Event
	for _, obj := range c.byIndex(resEvents, cache.NamespaceIndex, k.Namespace, k.Namespace) {
		e, ok := obj.(*eventObj)
		if !ok || !e.Warning || e.Last.Before(since) || !c.concernsLocked(e, k) {
			continue
		}
		out = append(out, sources.Event{Object: e.ObjKind + "/" + e.ObjName, Reason: e.Reason, Message: e.Message, Count: int(e.Count), Last: e.Last})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Last.Equal(out[j].Last) {
			return out[i].Last.After(out[j].Last)
		}
		return out[i].Object < out[j].Object
	})
	if len(out) > MaxWarnings {
		out = out[:MaxWarnings]
	}
	if !c.scopesSyncedLocked(resEvents) {
		return out, &RoundError{Errs: []error{fmt.Errorf("context %s: %w", c.name, errEventsLoading)}, Partial: true}
	}
	return out, nil
}

// concernsLocked reports whether an event's object is the workload or one
// of its parts. Pods and ReplicaSets that are gone are matched by name.
func (c *cluster) concernsLocked(e *eventObj, k wkKey) bool {
	ns := k.Namespace
	if e.ObjNamespace != "" && e.ObjNamespace != ns {
		return false
	}
	switch e.ObjKind {
	case string(k.Kind):
		return e.ObjName == k.Name
	case "ReplicaSet":
		if k.Kind != sources.Deployment {
			return false
		}
		if rs := c.replicaSet(ns, e.ObjName); rs != nil {
			return rs.OwnerKind == "Deployment" && rs.OwnerName == k.Name
		}
		return trimSuffix(e.ObjName) == k.Name
	case "Pod":
		if p, _ := c.getFrom(resPods, ns, e.ObjName).(*podObj); p != nil {
			owner, ok := c.podOwnerLocked(p)
			return ok && owner == k
		}
		switch k.Kind {
		case sources.Deployment, KindCronJob:
			return trimSuffix(trimSuffix(e.ObjName)) == k.Name
		default:
			return trimSuffix(e.ObjName) == k.Name
		}
	case "Job":
		if k.Kind != KindCronJob {
			return false
		}
		if j := c.job(ns, e.ObjName); j != nil {
			return j.CronJob == k.Name
		}
		return trimSuffix(e.ObjName) == k.Name
	case "Revision":
		if k.Kind != kindKnative {
			return false
		}
		if r, _ := c.getFrom(resKnRevisions, ns, e.ObjName).(*knRevisionObj); r != nil {
			return r.Service == k.Name
		}
		return trimSuffix(e.ObjName) == k.Name
	case "Service", "Configuration", "Route":
		// A Knative service's own objects share its name.
		return k.Kind == kindKnative && e.ObjName == k.Name
	case "HorizontalPodAutoscaler":
		if h, _ := c.getFrom(resHPAs, ns, e.ObjName).(*hpaObj); h != nil {
			t, ok := hpaTarget(h)
			return ok && t == k
		}
	}
	return false
}

// Autoscaler describes the HPA that scales a workload.
type Autoscaler struct {
	Name             string
	Min, Max         int
	Current, Desired int
	// TargetCPU and CurrentCPU are CPU utilisation in percent of requests
	// (0 when the HPA does not scale on CPU or has no reading yet).
	TargetCPU, CurrentCPU int
}

// Autoscaler returns the workload's HPA from the cache, if it has one.
func (s *Source) Autoscaler(ctx context.Context, id sources.WorkloadID) (Autoscaler, bool, error) {
	if err := ctx.Err(); err != nil {
		return Autoscaler{}, false, err
	}
	c, err := s.clusterOf(id)
	if err != nil {
		return Autoscaler{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.ids[id]
	if !ok {
		return Autoscaler{}, false, fmt.Errorf("kube: unknown workload %s", id)
	}
	h := c.hpaOfLocked(k)
	if h == nil {
		return Autoscaler{}, false, nil
	}
	return Autoscaler{Name: h.Name, Min: int(h.Min), Max: int(h.Max), Current: int(h.Current), Desired: int(h.Desired),
		TargetCPU: int(h.TargetCPU), CurrentCPU: int(h.CurrentCPU)}, true, nil
}
