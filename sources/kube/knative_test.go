package kube

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/perch-dev/perch/sources"
)

func knService(ns, name, latest string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Service",
		"metadata": map[string]any{"name": name, "namespace": ns, "resourceVersion": "1",
			"annotations": map[string]any{"serving.knative.dev/creator": "admin"}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"image": "example/hello:1"}}}}},
		"status": map[string]any{
			"url": "http://" + name + "." + ns + ".example.com", "latestReadyRevisionName": latest, "latestCreatedRevisionName": latest,
			"conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
		},
	}}
}

// knRevision makes a revision; desired < 0 leaves the autoscaler's counts out.
func knRevision(ns, name, service string, desired int64, annotations map[string]any) *unstructured.Unstructured {
	status := map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}
	if desired >= 0 {
		status["desiredReplicas"], status["actualReplicas"] = desired, desired
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
		"metadata": map[string]any{"name": name, "namespace": ns, "resourceVersion": "1",
			"labels": map[string]any{knServiceLabel: service}, "annotations": annotations},
		"status": status,
	}}
}

// knDeployment is a revision's Deployment with its ReplicaSet and n pods,
// labelled like Knative does.
func knDeployment(ns, revision, service string, n int32) []runtime.Object {
	d := deployment(ns, revision+"-deployment", n, n, n)
	d.Labels = map[string]string{knServiceLabel: service, "serving.knative.dev/revision": revision}
	objs := []runtime.Object{d, replicaSet(ns, revision+"-deployment-5d8f", revision+"-deployment")}
	for i := range n {
		p := pod(ns, revision+"-deployment-5d8f-"+string(rune('a'+i))+"bcde", "ReplicaSet", revision+"-deployment-5d8f", corev1.PodRunning, true, 100, 128)
		p.Labels[knServiceLabel] = service
		objs = append(objs, p)
	}
	return objs
}

// knativeCluster serves the given core objects and Knative resources;
// installed says whether discovery finds serving.knative.dev/v1.
func knativeCluster(installed *atomic.Bool, core []runtime.Object, kn ...runtime.Object) *fakeCluster {
	cs := fake.NewClientset(core...)
	cs.Resources = []*metav1.APIResourceList{{GroupVersion: knGroupVersion, APIResources: []metav1.APIResource{
		{Name: "services", Namespaced: true, Kind: "Service"}, {Name: "revisions", Namespaced: true, Kind: "Revision"}}}}
	cs.PrependReactor("get", "resource", func(k8stesting.Action) (bool, runtime.Object, error) {
		if installed.Load() {
			return false, nil, nil // the fake discovery answers from Resources
		}
		return true, nil, apierrors.NewNotFound(schema.GroupResource{}, knGroupVersion)
	})
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{knServicesGVR: "ServiceList", knRevisionsGVR: "RevisionList"}, kn...)
	return &fakeCluster{core: cs, dynamic: dyn}
}

// discoveries counts discovery requests for Knative.
func discoveries(fc *fakeCluster) int {
	n := 0
	for _, a := range fc.core.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "resource" {
			n++
		}
	}
	return n
}

func TestKnativeServiceIsAWorkloadAndScalesToZero(t *testing.T) {
	var installed atomic.Bool
	installed.Store(true)
	core := append(knDeployment("apps", "hello-00002", "hello", 2), deployment("apps", "plain", 1, 1, 1),
		warningEvent("apps", "e1", "Revision", "hello-00002", "ContainerMissing", "image not found", t0.Add(-time.Minute), corev1.EventTypeWarning),
		warningEvent("apps", "e2", "Service", "hello", "InternalError", "route not ready", t0.Add(-2*time.Minute), corev1.EventTypeWarning),
		warningEvent("apps", "e3", "Deployment", "plain", "Unrelated", "not hello's", t0.Add(-time.Minute), corev1.EventTypeWarning))
	fc := knativeCluster(&installed, core,
		knService("apps", "hello", "hello-00002"),
		knRevision("apps", "hello-00001", "hello", 0, nil),
		knRevision("apps", "hello-00002", "hello", 2, map[string]any{"autoscaling.knative.dev/min-scale": "0", "autoscaling.knative.dev/max-scale": "10"}),
	)
	s := newTestSource(t, Config{Metrics: MetricsOff}, map[string]*fakeCluster{"c": fc})
	out := runSource(t, s)
	hello := id("c", "apps", "hello")
	u := waitFor(t, out, "the Knative service", func(u sources.Update) bool {
		_, ok := values(u)[hello]
		return loaded(u) && ok
	})
	if u.Err != nil || u.Partial != nil {
		t.Fatalf("err = %v, partial = %v", u.Err, u.Partial)
	}
	rows := map[sources.WorkloadID]sources.Workload{}
	for _, w := range u.Workloads {
		rows[w.ID] = w
	}
	if len(rows) != 2 || rows[hello].Platform != sources.Knative || rows[hello].Kind != sources.Function ||
		rows[id("c", "apps", "plain")].Platform != sources.Kubernetes {
		t.Fatalf("rows = %v, want hello (knative; its revision's Deployment folded in) and plain", u.Workloads)
	}
	v := values(u)[hello]
	want := map[sources.Metric]float64{
		sources.ReplicasDesired: 2, sources.ReplicasCurrent: 2, sources.ReplicasReady: 2, sources.ReplicasMin: 0, sources.ReplicasMax: 10,
		sources.CPURequest: 0.2, sources.CostRate: 2 * prices.KubeHourly(0.1, 0, 128*mib, 0),
	}
	for m, w := range want {
		if got, ok := v[m]; !ok || !near(got, w) {
			t.Errorf("%s = %v (%v), want %v", m, got, ok, w)
		}
	}
	ctx := context.Background()
	pods, err := s.Pods(ctx, hello)
	if err != nil || len(pods) != 2 || pods[0].Owner != hello {
		t.Errorf("pods = %+v, %v", pods, err)
	}
	ks, ok, err := s.Knative(ctx, hello)
	if err != nil || !ok || ks.URL != "http://hello.apps.example.com" || ks.Ready != "True" || ks.LatestReady != "hello-00002" ||
		len(ks.Revisions) != 2 || ks.Revisions[1].Desired != 2 {
		t.Errorf("knative status = %+v %v %v", ks, ok, err)
	}
	ws, err := s.Events(ctx, hello)
	if err != nil || len(ws) != 2 || ws[0].Object != "Revision/hello-00002" || ws[1].Object != "Service/hello" {
		t.Errorf("hello warnings = %+v, %v", ws, err)
	}
	if _, ok, err := s.Knative(ctx, id("c", "apps", "plain")); ok || err != nil {
		t.Errorf("plain is no Knative service: %v %v", ok, err)
	}

	// Scale to zero: the autoscaler wants none, the pods go. The row stays,
	// at zero replicas and zero cost.
	rev := knRevision("apps", "hello-00002", "hello", 0, map[string]any{"autoscaling.knative.dev/min-scale": "0"})
	rev.SetResourceVersion("2")
	if _, err := fc.dynamic.Resource(knRevisionsGVR).Namespace("apps").Update(ctx, rev, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if err := fc.core.CoreV1().Pods("apps").Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	u = waitFor(t, out, "hello at zero", func(u sources.Update) bool {
		w, ok := values(u)[hello]
		return ok && w[sources.ReplicasCurrent] == 0 && w[sources.ReplicasDesired] == 0 && w[sources.CostRate] == 0
	})
	if _, hasMax := values(u)[hello][sources.ReplicasMax]; hasMax || len(u.Workloads) != 2 {
		t.Errorf("after scale to zero: %v, %v", values(u)[hello], u.Workloads)
	}

	// The service is deleted: its revision's Deployment is an ordinary row again.
	if err := fc.dynamic.Resource(knServicesGVR).Namespace("apps").Delete(ctx, "hello", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "the Deployment back", func(u sources.Update) bool {
		_, dep := values(u)[id("c", "apps", "hello-00002-deployment")]
		_, svc := values(u)[hello]
		return dep && !svc
	})
}

func TestKnativeMissingIsAPartialLimitAndIsPickedUpLater(t *testing.T) {
	var installed atomic.Bool
	fc := knativeCluster(&installed, append(knDeployment("apps", "hello-00001", "hello", 1), deployment("apps", "plain", 1, 1, 1)),
		knService("apps", "hello", "hello-00001"), knRevision("apps", "hello-00001", "hello", -1, nil))
	s := newTestSource(t, Config{Metrics: MetricsOff, KnativeRecheck: 100 * time.Millisecond}, map[string]*fakeCluster{"c": fc})
	out := runSource(t, s)
	u := waitFor(t, out, "complete", func(u sources.Update) bool { return loaded(u) })
	if u.Err != nil {
		t.Fatalf("a missing CRD is not an error: %v", u.Err)
	}
	if u.Partial == nil || !errors.Is(u.Partial, ErrPartial) || strings.Count(u.Partial.Error(), "Knative Serving (serving.knative.dev/v1) not installed") != 1 {
		t.Fatalf("partial = %v, want one line saying Knative Serving is not installed", u.Partial)
	}
	// Everything else works: without the service, the revision's Deployment is a row.
	if _, ok := values(u)[id("c", "apps", "hello-00001-deployment")]; !ok || len(u.Workloads) != 2 {
		t.Errorf("rows = %v", u.Workloads)
	}
	time.Sleep(350 * time.Millisecond)
	if n := discoveries(fc); n < 2 || n > 6 {
		t.Errorf("%d discovery requests in ~0.4 s at a 100 ms recheck: want a few, not one per round", n)
	}
	installed.Store(true)
	u = waitFor(t, out, "the Knative service after install", func(u sources.Update) bool {
		w, ok := values(u)[id("c", "apps", "hello")]
		return loaded(u) && ok && w[sources.ReplicasCurrent] == 1
	})
	if u.Partial != nil || u.Err != nil || len(u.Workloads) != 2 {
		t.Errorf("after install: partial = %v, err = %v, rows = %v", u.Partial, u.Err, u.Workloads)
	}
	// Without a revision that reports the autoscaler, desired is the pod count.
	if got := values(u)[id("c", "apps", "hello")][sources.ReplicasDesired]; got != 1 {
		t.Errorf("desired = %v, want 1", got)
	}
	n := discoveries(fc)
	time.Sleep(350 * time.Millisecond)
	if after := discoveries(fc); after != n {
		t.Errorf("discovery asked %d more times once Knative was found", after-n)
	}
}

func TestKnativeOffNeverAsks(t *testing.T) {
	var installed atomic.Bool
	installed.Store(true)
	fc := knativeCluster(&installed, knDeployment("apps", "hello-00001", "hello", 1), knService("apps", "hello", "hello-00001"))
	s := newTestSource(t, Config{Metrics: MetricsOff, Knative: KnativeOff}, map[string]*fakeCluster{"c": fc})
	u := waitFor(t, runSource(t, s), "complete", func(u sources.Update) bool { return loaded(u) })
	if u.Partial != nil || discoveries(fc) != 0 || len(fc.dynamic.Actions()) != 0 {
		t.Errorf("knative off: partial = %v, %d discoveries, %d dynamic requests", u.Partial, discoveries(fc), len(fc.dynamic.Actions()))
	}
	if len(u.Workloads) != 1 || u.Workloads[0].ID.Name != "hello-00001-deployment" {
		t.Errorf("rows = %v %+v", u.Workloads, u)
	}
}

func TestKnativeRevisionTransform(t *testing.T) {
	r := knRevision("apps", "hello-00003", "hello", 4, map[string]any{"autoscaling.knative.dev/minScale": "1", "autoscaling.knative.dev/max-scale": "x"})
	obj, err := slimKnRevision(r)
	if err != nil {
		t.Fatal(err)
	}
	s := obj.(*knRevisionObj)
	if s.Name != "hello-00003" || s.Service != "hello" || s.Desired != 4 || s.Actual != 4 || s.MinScale != 1 || s.MaxScale != -1 || s.Ready != "True" {
		t.Errorf("slim revision = %+v", s)
	}
	if s.Labels != nil || s.Annotations != nil {
		t.Errorf("transform kept metadata: %+v", s.ObjectMeta)
	}
	if again, _ := slimKnRevision(s); again != any(s) {
		t.Error("transform is not idempotent")
	}
	r = knRevision("apps", "hello-00004", "hello", -1, nil)
	unstructured.SetNestedField(r.Object, 2.0, "status", "desiredReplicas")
	obj, _ = slimKnRevision(r)
	if s := obj.(*knRevisionObj); s.Desired != 2 || s.Actual != -1 {
		t.Errorf("counts as floats or missing: %+v", s)
	}
}

// stagedDiscovery serves the Knative resources listed in served.
type stagedDiscovery struct {
	discovery.DiscoveryInterfaces
	served atomic.Value // []string
	calls  atomic.Int32
}

func (d *stagedDiscovery) ServerResourcesForGroupVersionWithContext(_ context.Context, gv string) (*metav1.APIResourceList, error) {
	d.calls.Add(1)
	names, _ := d.served.Load().([]string)
	if gv != knGroupVersion || len(names) == 0 {
		return nil, apierrors.NewNotFound(schema.GroupResource{}, gv)
	}
	list := &metav1.APIResourceList{GroupVersion: gv}
	for _, n := range names {
		list.APIResources = append(list.APIResources, metav1.APIResource{Name: n, Namespaced: true})
	}
	return list, nil
}

func TestKnativeCRDsInstalledOneAfterTheOther(t *testing.T) {
	var installed atomic.Bool
	installed.Store(true)
	fc := knativeCluster(&installed, knDeployment("apps", "hello-00001", "hello", 1),
		knService("apps", "hello", "hello-00001"),
		knRevision("apps", "hello-00001", "hello", 1, map[string]any{"autoscaling.knative.dev/max-scale": "3"}))
	d := &stagedDiscovery{DiscoveryInterfaces: fc.core.Discovery()}
	d.served.Store([]string{"services"}) // the revisions CRD is not established yet
	fc.discovery = d
	s := newTestSource(t, Config{Metrics: MetricsOff, KnativeRecheck: 50 * time.Millisecond}, map[string]*fakeCluster{"c": fc})
	out := runSource(t, s)
	hello := id("c", "apps", "hello")
	u := waitFor(t, out, "the service without revisions", func(u sources.Update) bool {
		_, ok := values(u)[hello]
		return loaded(u) && ok
	})
	if _, ok := values(u)[hello][sources.ReplicasMax]; ok || u.Partial != nil {
		t.Errorf("no revisions yet: values %v, partial %v", values(u)[hello], u.Partial)
	}
	d.served.Store([]string{"services", "revisions"})
	waitFor(t, out, "the revision's bounds", func(u sources.Update) bool {
		return values(u)[hello][sources.ReplicasMax] == 3
	})
	n := d.calls.Load()
	time.Sleep(200 * time.Millisecond)
	if more := d.calls.Load() - n; more != 0 {
		t.Errorf("discovery asked %d more times with everything found", more)
	}
}
