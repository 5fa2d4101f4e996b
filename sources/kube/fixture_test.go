package kube

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
)

// Builders for the API objects the tests feed to fake clientsets.

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func ownerRef(kind, name string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID("u-" + name), Controller: ptr(true)}}
}

func deployment(ns, name string, desired, current, ready int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1",
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "3"}},
		Spec:   appsv1.DeploymentSpec{Replicas: ptr(desired)},
		Status: appsv1.DeploymentStatus{Replicas: current, ReadyReplicas: ready, AvailableReplicas: ready},
	}
}

func statefulSet(ns, name string, desired, current, ready int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1"},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr(desired)},
		Status:     appsv1.StatefulSetStatus{Replicas: current, ReadyReplicas: ready},
	}
}

func daemonSet(ns, name string, desired, current, ready int32) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1"},
		Status:     appsv1.DaemonSetStatus{DesiredNumberScheduled: desired, CurrentNumberScheduled: current, NumberReady: ready},
	}
}

func replicaSet(ns, name, deploy string) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1"}}
	if deploy != "" {
		rs.OwnerReferences = ownerRef("Deployment", deploy)
	}
	return rs
}

// pod makes a pod owned by kind/owner with one container requesting cpu
// (millicores) and mem (MiB).
func pod(ns, name, kind, owner string, phase corev1.PodPhase, ready bool, cpuMilli, memMiB int64) *corev1.Pod {
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, ResourceVersion: "1", CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour)),
			Labels:        map[string]string{"app": owner, "pod-template-hash": "abc"},
			Annotations:   map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-26T10:00:00Z"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate}},
		},
		Spec: corev1.PodSpec{
			NodeName: "node-1",
			Containers: []corev1.Container{{
				Name: "app", Image: "example/app:1", Command: []string{"/app", "--serve"},
				Env: []corev1.EnvVar{{Name: "A", Value: "b"}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    *resource.NewMilliQuantity(cpuMilli, resource.DecimalSI),
					corev1.ResourceMemory: *resource.NewQuantity(memMiB<<20, resource.BinarySI),
				}},
			}},
		},
		Status: corev1.PodStatus{
			Phase:             phase,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: cond}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: 1, Ready: ready}},
		},
	}
	if kind != "" {
		p.OwnerReferences = ownerRef(kind, owner)
	}
	if phase == corev1.PodPending {
		p.Spec.NodeName = ""
	}
	return p
}

func hpa(ns, name, kind, target string, lo, hi int32) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: kind, Name: target, APIVersion: "apps/v1"},
			MinReplicas:    ptr(lo), MaxReplicas: hi,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(60))}}}},
		},
	}
}

func node(name string, ready bool) *corev1.Node {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1", Labels: map[string]string{corev1.LabelInstanceTypeStable: "m5.large"}},
		Status: corev1.NodeStatus{
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi")},
		},
	}
}

func warningEvent(ns, name, kind, obj, reason, msg string, last time.Time, typ string) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1"},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: obj, Namespace: ns},
		Reason:         reason, Message: msg, Type: typ, Count: 3, LastTimestamp: metav1.NewTime(last),
	}
}

func podMetrics(ns, name string, cpuMilli, memMiB int64) *metricsv1beta1.PodMetrics {
	return &metricsv1beta1.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(cpuMilli, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(memMiB<<20, resource.BinarySI),
		}}},
	}
}

// metricsClient serves a settable list of PodMetrics through a reactor
// (the generated fake does not map PodMetrics to the "pods" resource).
type metricsClient struct {
	*metricsfake.Clientset
	mu    sync.Mutex
	items []metricsv1beta1.PodMetrics
	err   error
	calls int
}

func newMetricsClient(items ...*metricsv1beta1.PodMetrics) *metricsClient {
	m := &metricsClient{Clientset: metricsfake.NewSimpleClientset()}
	m.set(items...)
	m.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.calls++
		if m.err != nil {
			return true, nil, m.err
		}
		ns := a.GetNamespace()
		list := &metricsv1beta1.PodMetricsList{}
		for _, it := range m.items {
			if ns == "" || it.Namespace == ns {
				list.Items = append(list.Items, it)
			}
		}
		return true, list, nil
	})
	return m
}

func (m *metricsClient) set(items ...*metricsv1beta1.PodMetrics) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items = m.items[:0]
	for _, it := range items {
		m.items = append(m.items, *it)
	}
}

// fakeCluster is one context backed by fake clientsets.
type fakeCluster struct {
	core      *fake.Clientset
	metrics   *metricsClient                 // nil: metrics off
	namespace string                         // the context's namespace
	dynamic   *dynamicfake.FakeDynamicClient // nil: no custom resources (Knative off)
	discovery discovery.DiscoveryInterfaces  // nil: the fake clientset's
	// wrap, when set, wraps the core client (to slow one resource down).
	wrap func(kubernetes.Interface) kubernetes.Interface
}

// withDiscovery replaces a clientset's discovery client.
type withDiscovery struct {
	*fake.Clientset
	disc discovery.DiscoveryInterfaces
}

func (w withDiscovery) Discovery() discovery.DiscoveryInterfaces { return w.disc }

// newTestSource builds a source over fake clusters, by context name.
func newTestSource(t testing.TB, cfg Config, clusters map[string]*fakeCluster) *Source {
	t.Helper()
	if cfg.Refresh == 0 {
		cfg.Refresh = 20 * time.Millisecond
	}
	if cfg.Clock == nil {
		cfg.Clock = func() time.Time { return t0 }
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.resolveFn = func() ([]string, error) {
		var names []string
		for n := range clusters {
			names = append(names, n)
		}
		return names, nil
	}
	s.connectFn = func(name string) (*clients, error) {
		fc, ok := clusters[name]
		if !ok {
			return nil, fmt.Errorf("context %q does not exist in the kubeconfig", name)
		}
		if fc == nil {
			return nil, fmt.Errorf("context %q: connection refused", name)
		}
		cl := &clients{core: fc.core, server: "https://" + name + ".test", namespace: fc.namespace, watchListClient: fc.core}
		if fc.metrics != nil {
			cl.metrics = fc.metrics
		}
		if fc.dynamic != nil {
			cl.dynamic = fc.dynamic
		}
		if fc.discovery != nil {
			cl.core = withDiscovery{fc.core, fc.discovery}
		}
		if fc.wrap != nil {
			cl.core = fc.wrap(cl.core)
		}
		return cl, nil
	}
	return s
}

// runSource runs s and returns the update channel; the source stops with the test.
func runSource(t testing.TB, s *Source) <-chan sources.Update {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan sources.Update, 16)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != context.Canceled {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return out
}

// waitFor returns the first update satisfying ok, failing after 10 s.
func waitFor(t testing.TB, ch <-chan sources.Update, what string, ok func(sources.Update) bool) sources.Update {
	t.Helper()
	deadline := time.After(10 * time.Second)
	var last sources.Update
	for {
		select {
		case u := <-ch:
			last = u
			if ok(u) {
				return u
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s; last update: %d workloads, complete=%v, err=%v", what, len(last.Workloads), last.Complete, last.Err)
		}
	}
}

// values indexes an update's samples by workload and metric.
func values(u sources.Update) map[sources.WorkloadID]map[sources.Metric]float64 {
	out := map[sources.WorkloadID]map[sources.Metric]float64{}
	for _, s := range u.Samples {
		if out[s.ID] == nil {
			out[s.ID] = map[sources.Metric]float64{}
		}
		out[s.ID][s.Metric] = s.V
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

var prices = cost.Defaults()

type watchInterface = watch.Interface

// loaded reports whether u is a complete round with the pods in (not
// estimates from the pod templates).
func loaded(u sources.Update) bool { return u.Complete && !errors.Is(u.Partial, errPodsLoading) }
