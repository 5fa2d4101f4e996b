package kube

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/perch-dev/perch/sources"
)

// requests is a pod spec with one container requesting cpu (millicores)
// and mem (MiB).
func requests(cpuMilli, memMiB int64) corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(cpuMilli, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(memMiB<<20, resource.BinarySI),
		}}}}}
}

// slowPodsCluster: a Deployment whose status counts three pods (one not
// yet bound to a node), a StatefulSet and a Job, each with requests in its
// pod template, and a pods list that answers only once release is closed.
func slowPodsCluster(release <-chan struct{}) *fakeCluster {
	web := deployment("shop", "web", 3, 3, 2)
	web.Spec.Template.Spec = requests(250, 256)
	db := statefulSet("shop", "db", 2, 2, 2)
	db.Spec.Template.Spec = requests(1000, 1024)
	migrate := job("shop", "migrate", "", 2, 4, 2, 1, 1, 0, "")
	migrate.Spec.Template.Spec = requests(500, 512)
	core := fake.NewClientset(
		web, replicaSet("shop", "web-7d9f", "web"),
		pod("shop", "web-7d9f-aaaaa", "ReplicaSet", "web-7d9f", corev1.PodRunning, true, 250, 256),
		pod("shop", "web-7d9f-bbbbb", "ReplicaSet", "web-7d9f", corev1.PodRunning, true, 250, 256),
		pod("shop", "web-7d9f-ccccc", "ReplicaSet", "web-7d9f", corev1.PodPending, false, 250, 256),
		db,
		pod("shop", "db-0", "StatefulSet", "db", corev1.PodRunning, true, 1000, 1024),
		pod("shop", "db-1", "StatefulSet", "db", corev1.PodRunning, true, 1000, 1024),
		migrate,
		pod("shop", "migrate-aaaaa", "Job", "migrate", corev1.PodRunning, true, 500, 512),
		pod("shop", "migrate-bbbbb", "Job", "migrate", corev1.PodRunning, false, 500, 512),
		node("node-1", true),
	)
	wrap := func(core kubernetes.Interface) kubernetes.Interface { return slowPods{core, release} }
	return &fakeCluster{core: core, wrap: wrap}
}

// slowPods holds every pods list until release is closed. (A blocking
// reactor would not do: the fake clientset runs reactors under one lock,
// so it would hold every other list back too.)
type slowPods struct {
	kubernetes.Interface
	release <-chan struct{}
}

func (s slowPods) CoreV1() typedcorev1.CoreV1Interface {
	return slowCore{s.Interface.CoreV1(), s.release}
}

type slowCore struct {
	typedcorev1.CoreV1Interface
	release <-chan struct{}
}

func (c slowCore) Pods(ns string) typedcorev1.PodInterface {
	return slowPodList{c.CoreV1Interface.Pods(ns), c.release}
}

type slowPodList struct {
	typedcorev1.PodInterface
	release <-chan struct{}
}

func (p slowPodList) List(ctx context.Context, o metav1.ListOptions) (*corev1.PodList, error) {
	select {
	case <-p.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return p.PodInterface.List(ctx, o)
}

func TestFirstRoundEstimatesFromTemplatesWhilePodsLoad(t *testing.T) {
	release := make(chan struct{})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	// An hour between ticks: the round with the pods must go out when
	// they arrive, not at the next tick.
	s := newTestSource(t, Config{Metrics: MetricsOff, Refresh: time.Hour}, map[string]*fakeCluster{"prod": slowPodsCluster(release)})
	out := runSource(t, s)
	web := sources.WorkloadID{Cluster: "prod", Namespace: "shop", Name: "web"}
	db := sources.WorkloadID{Cluster: "prod", Namespace: "shop", Name: "db"}
	migrate := sources.WorkloadID{Cluster: "prod", Namespace: "shop", Name: "migrate"}

	u := waitFor(t, out, "a complete round", func(u sources.Update) bool { return u.Complete })
	if !errors.Is(u.Partial, errPodsLoading) {
		t.Fatalf("the round before the pods must say its values are estimates; partial = %v", u.Partial)
	}
	if u.Err != nil || len(u.Workloads) != 3 {
		t.Fatalf("err = %v, %d workloads, want 3 and no error", u.Err, len(u.Workloads))
	}
	v := values(u)
	gib := float64(1 << 30)
	for _, c := range []struct {
		id               sources.WorkloadID
		replicas         float64
		cpu, mem, hourly float64
	}{
		// Template requests × the replicas the status counts, the pod
		// not yet on a node included.
		{web, 3, 0.75, 3 * 256 * mib, 3 * prices.KubeHourly(0.25, 0, 256*mib, 0)},
		{db, 2, 2, 2 * gib, 2 * prices.KubeHourly(1, 0, gib, 0)},
		{migrate, 2, 1, 2 * 512 * mib, 2 * prices.KubeHourly(0.5, 0, 512*mib, 0)},
	} {
		got := v[c.id]
		if got[sources.ReplicasCurrent] != c.replicas || !near(got[sources.CPURequest], c.cpu) ||
			!near(got[sources.MemRequest], c.mem) || !near(got[sources.CostRate], c.hourly) {
			t.Errorf("%s estimate = %v, want %v replicas, %v cores, %v bytes, %v/h", c.id.Name, got, c.replicas, c.cpu, c.mem, c.hourly)
		}
	}
	if _, err := s.Pods(context.Background(), web); !errors.Is(err, errPodsLoading) || !errors.Is(err, ErrPartial) {
		t.Errorf("Pods while loading: err = %v, want a partial 'pods still loading'", err)
	}
	if _, err := s.AllPods(context.Background()); !errors.Is(err, errPodsLoading) {
		t.Errorf("AllPods while loading: err = %v, want 'pods still loading'", err)
	}

	close(release)
	u = waitFor(t, out, "the round with the pods", loaded)
	if u.Partial != nil || u.Err != nil {
		t.Errorf("partial = %v, err = %v after the pods are in", u.Partial, u.Err)
	}
	v = values(u)
	// The pending pod without a node holds no resources: the pods' own
	// figures replace the estimate.
	if got := v[web][sources.CPURequest]; !near(got, 0.5) {
		t.Errorf("web cpu request from pods = %v, want 0.5", got)
	}
	if got := v[web][sources.CostRate]; !near(got, 2*prices.KubeHourly(0.25, 0, 256*mib, 0)) {
		t.Errorf("web cost from pods = %v", got)
	}
	if got := v[db][sources.CPURequest]; !near(got, 2) {
		t.Errorf("db cpu request from pods = %v, want 2", got)
	}
	pods, err := s.Pods(context.Background(), web)
	if err != nil || len(pods) != 3 {
		t.Errorf("Pods after loading: %d pods, err = %v", len(pods), err)
	}
}

func TestTemplateRequestsKeptByTransforms(t *testing.T) {
	spec := requests(300, 128)
	spec.InitContainers = requests(1000, 64).Containers // a plain init container: its 1000m is the most at any time
	d := deployment("ns", "d", 1, 1, 1)
	d.Spec.Template.Spec = spec
	s := statefulSet("ns", "s", 1, 1, 1)
	s.Spec.Template.Spec = spec
	ds := daemonSet("ns", "ds", 1, 1, 1)
	ds.Spec.Template.Spec = spec
	for _, obj := range []any{d, s, ds} {
		got, _ := transformOf(t, obj).(*workloadObj)
		if got == nil || got.PodCPUReq != 1000 || got.PodMemReq != 128*mib {
			t.Errorf("%T: template requests %+v, want 1000m and 128Mi", obj, got)
		}
	}
	j := job("ns", "j", "", 1, 1, 1, 0, 0, 0, "")
	j.Spec.Template.Spec = spec
	if got, _ := transformOf(t, j).(*jobObj); got == nil || got.PodCPUReq != 1000 || got.PodMemReq != 128*mib {
		t.Errorf("job template requests %+v", got)
	}
}

// transformOf runs the transform the resource's informer uses.
func transformOf(t *testing.T, obj any) any {
	t.Helper()
	var fn func(any) (any, error)
	switch obj.(type) {
	case *appsv1.Deployment:
		fn = slimDeployment
	case *appsv1.StatefulSet:
		fn = slimStatefulSet
	case *appsv1.DaemonSet:
		fn = slimDaemonSet
	default:
		fn = slimJob
	}
	out, err := fn(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeferBulkUntilHoldsThePodsList(t *testing.T) {
	for _, c := range []struct {
		name    string
		release bool          // close ready
		limit   time.Duration // the source's own limit
	}{
		{"ready closed", true, time.Hour},
		{"own limit", false, 300 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			open := make(chan struct{})
			close(open) // the pods list itself answers at once
			fc := slowPodsCluster(open)
			s := newTestSource(t, Config{Metrics: MetricsOff, Refresh: time.Hour}, map[string]*fakeCluster{"prod": fc})
			s.bulkLimit = c.limit
			ready := make(chan struct{})
			s.DeferBulkUntil(ready)
			out := runSource(t, s)
			u := waitFor(t, out, "a complete round", func(u sources.Update) bool { return u.Complete })
			if !errors.Is(u.Partial, sources.ErrLoading) {
				t.Fatalf("first round partial = %v, want the estimates' note", u.Partial)
			}
			for _, a := range fc.core.Actions() {
				if a.GetResource().Resource == "pods" || a.GetResource().Resource == "events" {
					t.Fatalf("%s %s before the first frame", a.GetVerb(), a.GetResource().Resource)
				}
			}
			if c.release {
				close(ready)
			}
			// Without ready, only the source's own limit lets the pods in
			// (the refresh tick is an hour away).
			waitFor(t, out, "the round with the pods", loaded)
			listed := false
			for _, a := range fc.core.Actions() {
				listed = listed || (a.GetVerb() == "list" && a.GetResource().Resource == "pods")
			}
			if !listed {
				t.Error("the pods were never listed")
			}
		})
	}
}

func TestKnativeEstimateFromRevisionDeployments(t *testing.T) {
	var installed atomic.Bool
	installed.Store(true)
	core := knDeployment("apps", "hello-00002", "hello", 2)
	core[0].(*appsv1.Deployment).Spec.Template.Spec = requests(100, 128)
	fc := knativeCluster(&installed, core,
		knService("apps", "hello", "hello-00002"),
		knRevision("apps", "hello-00001", "hello", 0, nil),
		knRevision("apps", "hello-00002", "hello", 2, map[string]any{"autoscaling.knative.dev/max-scale": "10"}),
	)
	release := make(chan struct{})
	defer close(release)
	fc.wrap = func(core kubernetes.Interface) kubernetes.Interface { return slowPods{core, release} }
	s := newTestSource(t, Config{Metrics: MetricsOff, Refresh: time.Hour}, map[string]*fakeCluster{"c": fc})
	u := waitFor(t, runSource(t, s), "a complete round", func(u sources.Update) bool { return u.Complete })
	if !errors.Is(u.Partial, errPodsLoading) {
		t.Fatalf("partial = %v, want the estimates' note", u.Partial)
	}
	if len(u.Workloads) != 1 || u.Workloads[0].Platform != sources.Knative {
		t.Fatalf("rows = %v, want the Knative service alone (its revision's Deployment folded in)", u.Workloads)
	}
	got := values(u)[id("c", "apps", "hello")]
	want := map[sources.Metric]float64{
		sources.ReplicasDesired: 2, sources.ReplicasCurrent: 2, sources.ReplicasReady: 2, sources.ReplicasMax: 10,
		sources.CPURequest: 0.2, sources.MemRequest: 256 * mib, sources.CostRate: 2 * prices.KubeHourly(0.1, 0, 128*mib, 0),
	}
	for m, w := range want {
		if !near(got[m], w) {
			t.Errorf("%v = %v, want %v", m, got[m], w)
		}
	}
}

func TestPodsForbiddenKeepsTheEstimatesAndSaysSo(t *testing.T) {
	web := deployment("shop", "web", 2, 2, 2)
	web.Spec.Template.Spec = requests(250, 256)
	core := fake.NewClientset(web, replicaSet("shop", "web-7d9f", "web"),
		pod("shop", "web-7d9f-aaaaa", "ReplicaSet", "web-7d9f", corev1.PodRunning, true, 250, 256),
		node("node-1", true))
	denied := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New(`User "viewer" cannot list resource "pods"`))
	core.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, denied })
	core.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watchInterface, error) { return true, nil, denied })
	s := newTestSource(t, Config{AllNamespaces: true, Metrics: MetricsOff}, map[string]*fakeCluster{"prod": {core: core}})
	u := waitFor(t, runSource(t, s), "a round that knows pods are forbidden", func(u sources.Update) bool {
		return loaded(u) && u.Partial != nil && strings.Contains(u.Partial.Error(), "forbidden")
	})
	msg := u.Partial.Error()
	if !strings.Contains(msg, "pods cannot be read: requests and cost estimated from pod templates") {
		t.Errorf("partial = %q, want it to say the values are estimates", msg)
	}
	v := values(u)[sources.WorkloadID{Cluster: "prod", Namespace: "shop", Name: "web"}]
	if !near(v[sources.CPURequest], 0.5) || !near(v[sources.CostRate], 2*prices.KubeHourly(0.25, 0, 256*mib, 0)) {
		t.Errorf("values = %v, want the template estimate for 2 replicas, not zero", v)
	}
}
