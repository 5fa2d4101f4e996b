package kube

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/perch-dev/perch/sources"
)

// Knative Serving is optional: perch asks discovery whether the cluster
// serves serving.knative.dev/v1 and, only then, watches Services and
// Revisions with dynamic informers. A Knative Service becomes a row of
// platform Knative whose replicas are its revisions' pods (zero when it
// scaled to zero); the revisions' Deployments get no rows of their own.

// Knative modes.
const (
	KnativeAuto = "auto" // watch Knative Serving when the cluster serves it
	KnativeOff  = "off"  // never look
)

const (
	knGroupVersion = "serving.knative.dev/v1"
	// knServiceLabel is set by Knative on a revision, its Deployment and
	// its pods.
	knServiceLabel = "serving.knative.dev/service"
	// kindKnative is the kind of a Knative Service row, as the Prometheus
	// source's Knative presets name it.
	kindKnative = sources.Function
)

var (
	knServicesGVR  = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "services"}
	knRevisionsGVR = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "revisions"}
)

// Scale bounds of a revision (autoscaling.knative.dev annotations; the
// camel-case spellings are the older ones).
var (
	knMinScaleKeys = []string{"autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/minScale"}
	knMaxScaleKeys = []string{"autoscaling.knative.dev/max-scale", "autoscaling.knative.dev/maxScale"}
)

// knativeProblemKey is the problem reported while Knative is not installed.
const knativeProblemKey = "knative"

func knKey(ns, name string) wkKey { return wkKey{kindKnative, ns, name} }

// knServiceObj is what perch keeps of a Knative Service.
type knServiceObj struct {
	metav1.ObjectMeta
	Ready                     string // the Ready condition: True, False, Unknown or ""
	LatestReady, LatestCreate string // revision names
	URL                       string
}

// knRevisionObj is what perch keeps of a Knative Revision.
type knRevisionObj struct {
	metav1.ObjectMeta
	Service string // serving.knative.dev/service label
	Ready   string
	// Desired and Actual are the autoscaler's replica counts, -1 when the
	// revision does not report them.
	Desired, Actual int32
	// MinScale and MaxScale are the revision's scale bounds, -1 when unset
	// (MaxScale 0 means unbounded).
	MinScale, MaxScale int32
}

func (s *knServiceObj) GetObjectKind() schema.ObjectKind  { return schema.EmptyObjectKind }
func (r *knRevisionObj) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (s *knServiceObj) DeepCopyObject() runtime.Object {
	c := *s
	s.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

func (r *knRevisionObj) DeepCopyObject() runtime.Object {
	c := *r
	r.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

// slimUnstructuredMeta copies the identity fields of a custom resource.
func slimUnstructuredMeta(u *unstructured.Unstructured) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: u.GetName(), Namespace: u.GetNamespace(), ResourceVersion: u.GetResourceVersion(),
		CreationTimestamp: u.GetCreationTimestamp(), DeletionTimestamp: u.GetDeletionTimestamp(),
	}
}

func slimKnService(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	s := &knServiceObj{ObjectMeta: slimUnstructuredMeta(u), Ready: readyCondition(u)}
	s.LatestReady, _, _ = unstructured.NestedString(u.Object, "status", "latestReadyRevisionName")
	s.LatestCreate, _, _ = unstructured.NestedString(u.Object, "status", "latestCreatedRevisionName")
	s.URL, _, _ = unstructured.NestedString(u.Object, "status", "url")
	return s, nil
}

func slimKnRevision(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	r := &knRevisionObj{
		ObjectMeta: slimUnstructuredMeta(u), Service: u.GetLabels()[knServiceLabel], Ready: readyCondition(u),
		Desired: nestedCount(u, "status", "desiredReplicas"), Actual: nestedCount(u, "status", "actualReplicas"),
		MinScale: annotationCount(u, knMinScaleKeys), MaxScale: annotationCount(u, knMaxScaleKeys),
	}
	return r, nil
}

// readyCondition is the status of the object's Ready condition.
func readyCondition(u *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Ready" {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}

// nestedCount reads a non-negative integer field, -1 when absent or not a
// count (JSON numbers decode as int64, or float64 when written as 2.0).
func nestedCount(u *unstructured.Unstructured, fields ...string) int32 {
	v, ok, _ := unstructured.NestedFieldNoCopy(u.Object, fields...)
	if !ok {
		return -1
	}
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case float64:
		n = int64(x)
	default:
		return -1
	}
	if n < 0 || n > 1<<30 {
		return -1
	}
	return int32(n)
}

func annotationCount(u *unstructured.Unstructured, keys []string) int32 {
	ann := u.GetAnnotations()
	for _, k := range keys {
		if v, ok := ann[k]; ok {
			if n, err := strconv.ParseInt(v, 10, 32); err == nil && n >= 0 {
				return int32(n)
			}
		}
	}
	return -1
}

func revisionServiceIndex(obj any) ([]string, error) {
	if r, ok := obj.(*knRevisionObj); ok && r.Service != "" {
		return []string{knKey(r.Namespace, r.Service).String()}, nil
	}
	return nil, nil
}

// watchKnative asks discovery for Knative Serving until it is found, then
// starts its informers. While it is missing, the cluster reports so as a
// permanent limit (not an error) and asks again every KnativeRecheck, so a
// later install is picked up without a restart. It asks again at once
// when its informers find a CRD gone.
func (c *cluster) watchKnative(ctx context.Context) {
	recheck := c.src.cfg.KnativeRecheck
	fails := 0
	for {
		wait := recheck
		if !c.knativeComplete() {
			found, err := c.discoverKnative(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				// The API server is unreachable or refuses us: the
				// informers report that; ask again soon.
				fails++
				wait = backoff(fails, time.Second, recheck)
			default:
				fails = 0
				c.setKnative(found)
			}
		}
		c.mu.Lock()
		c.knPending = false
		c.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-c.knPoke:
			t.Stop()
		}
	}
}

// knativeComplete reports whether every Knative resource has informers.
func (c *cluster) knativeComplete() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.knRunning[resKnServices] && c.knRunning[resKnRevisions]
}

// discoverKnative reports which Knative resources the cluster serves (one
// GET of /apis/serving.knative.dev/v1). A 404 is "not installed", not an
// error.
func (c *cluster) discoverKnative(ctx context.Context) ([]*resourceDef, error) {
	dctx, cancel := context.WithTimeout(ctx, c.src.cfg.Timeout)
	defer cancel()
	list, err := c.cl.core.Discovery().ServerResourcesForGroupVersionWithContext(dctx, knGroupVersion)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var found []*resourceDef
	for _, r := range list.APIResources {
		switch r.Name {
		case knServicesGVR.Resource:
			found = append(found, resources[resKnServices])
		case knRevisionsGVR.Resource:
			found = append(found, resources[resKnRevisions])
		}
	}
	return found, nil
}

// setKnative starts informers for the Knative resources discovery found
// that have none yet (the two CRDs may appear one after the other), or
// records that Knative is not installed when Services are not served.
func (c *cluster) setKnative(found []*resourceDef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	served := map[res]*resourceDef{}
	for _, d := range found {
		served[d.res] = d
	}
	if served[resKnServices] == nil {
		for _, r := range []res{resKnServices, resKnRevisions} {
			c.resetKnativeLocked(r)
		}
		if _, known := c.problems[knativeProblemKey]; !known {
			c.problems[knativeProblemKey] = problem{text: "Knative Serving (" + knGroupVersion + ") not installed"}
			c.allDirty = true // the services' rows go, their Deployments' come back
			c.wakeLocked()
		}
		return
	}
	if _, known := c.problems[knativeProblemKey]; known {
		delete(c.problems, knativeProblemKey)
		c.wakeLocked()
	}
	for _, r := range []res{resKnServices, resKnRevisions} {
		d := served[r]
		if d == nil || c.knRunning[r] {
			continue
		}
		c.resetKnativeLocked(r)
		for _, ns := range c.watchNS {
			c.startScope(d, ns)
		}
		c.knRunning[r] = true
		c.allDirty = true // the new informers' objects arrive as adds; recompute all once
		c.wakeLocked()
	}
}

// resetKnativeLocked stops a Knative resource's informers and forgets what
// they reported (left from an install whose CRDs went away).
func (c *cluster) resetKnativeLocked(r res) {
	for _, s := range append([]*scope(nil), c.scopes[r]...) {
		c.removeScope(s)
	}
	for key, p := range c.problems {
		if p.def != nil && p.def.res == r {
			delete(c.problems, key)
		}
	}
	c.knRunning[r] = false
}

// knServiceLocked returns the Knative service ns/name from the cache.
func (c *cluster) knServiceLocked(ns, name string) *knServiceObj {
	s, _ := c.getFrom(resKnServices, ns, name).(*knServiceObj)
	return s
}

// ownedByKnativeLocked reports whether a revision's Deployment belongs to a
// Knative service row (then it gets no row of its own).
func (c *cluster) ownedByKnativeLocked(w *workloadObj) bool {
	return w.KnService != "" && c.knServiceLocked(w.Namespace, w.KnService) != nil
}

func (c *cluster) revisionsOfLocked(k wkKey) []*knRevisionObj {
	var out []*knRevisionObj
	for _, obj := range c.byIndex(resKnRevisions, idxService, k.String(), k.Namespace) {
		if r, ok := obj.(*knRevisionObj); ok {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// alive reports whether a pod is one of the service's current replicas:
// not finished and not being deleted.
func alive(p *podObj) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	switch p.Phase {
	case "Running", "Pending", "":
		return true
	}
	return false
}

// knativeReplicasLocked sets a Knative service row's replicas: current and
// ready as counted from its pods (or its revisions' Deployments while the
// pods load), desired from its revisions' autoscaler (current when no
// revision reports one), bounds from the newest revision. Zero pods is a
// valid state: the service scaled to zero.
func (c *cluster) knativeReplicasLocked(k wkKey, current, ready int, st *wlState) {
	st.v[sources.ReplicasCurrent] = float64(current)
	st.v[sources.ReplicasReady] = float64(ready)
	desired, reported := 0, false
	for _, r := range c.revisionsOfLocked(k) {
		if r.Desired >= 0 {
			desired += int(r.Desired)
			reported = true
		}
	}
	if !reported {
		desired = current
	}
	st.v[sources.ReplicasDesired] = float64(desired)
	if r := c.newestRevisionLocked(k); r != nil {
		if r.MinScale >= 0 {
			st.v[sources.ReplicasMin] = float64(r.MinScale)
		}
		if r.MaxScale > 0 {
			st.v[sources.ReplicasMax] = float64(r.MaxScale)
		}
	}
}

// knativePodCounts counts a service's current (alive) and ready pods.
func knativePodCounts(pods []*podObj) (current, ready int) {
	for _, p := range pods {
		if alive(p) {
			current++
			if p.Ready {
				ready++
			}
		}
	}
	return current, ready
}

// revisionDeploymentsLocked lists the Deployments of a service's
// revisions (Knative names each "<revision>-deployment").
func (c *cluster) revisionDeploymentsLocked(k wkKey) []*workloadObj {
	var out []*workloadObj
	for _, r := range c.revisionsOfLocked(k) {
		if w, ok := c.getFrom(resDeployments, k.Namespace, r.Name+"-deployment").(*workloadObj); ok && w.KnService == k.Name {
			out = append(out, w)
		}
	}
	return out
}

// newestRevisionLocked is the service's latest ready revision, else its
// latest created one.
func (c *cluster) newestRevisionLocked(k wkKey) *knRevisionObj {
	svc := c.knServiceLocked(k.Namespace, k.Name)
	if svc == nil {
		return nil
	}
	for _, name := range []string{svc.LatestReady, svc.LatestCreate} {
		if name == "" {
			continue
		}
		if r, _ := c.getFrom(resKnRevisions, k.Namespace, name).(*knRevisionObj); r != nil {
			return r
		}
	}
	return nil
}

// KnativeRevision is one revision of a Knative service.
type KnativeRevision struct {
	Name  string
	Ready string // the Ready condition: True, False, Unknown or ""
	// Desired and Actual are the autoscaler's replicas, -1 when unknown.
	Desired, Actual int
}

// KnativeStatus describes a Knative service row.
type KnativeStatus struct {
	URL                       string
	Ready                     string
	LatestReady, LatestCreate string
	Revisions                 []KnativeRevision // by name
}

// Knative returns a Knative service row's state from the cache. ok is false
// for other rows.
func (s *Source) Knative(ctx context.Context, id sources.WorkloadID) (KnativeStatus, bool, error) {
	if err := ctx.Err(); err != nil {
		return KnativeStatus{}, false, err
	}
	c, err := s.clusterOf(id)
	if err != nil {
		return KnativeStatus{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.ids[id]
	if !ok {
		return KnativeStatus{}, false, fmt.Errorf("kube: unknown workload %s", id)
	}
	svc := c.knServiceLocked(k.Namespace, k.Name)
	if k.Kind != kindKnative || svc == nil {
		return KnativeStatus{}, false, nil
	}
	st := KnativeStatus{URL: svc.URL, Ready: svc.Ready, LatestReady: svc.LatestReady, LatestCreate: svc.LatestCreate}
	for _, r := range c.revisionsOfLocked(k) {
		st.Revisions = append(st.Revisions, KnativeRevision{Name: r.Name, Ready: r.Ready, Desired: int(r.Desired), Actual: int(r.Actual)})
	}
	return st, true, nil
}
