package kube

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/perch-dev/perch/sources"
)

// realisticPod is a pod as the API server returns it: labels, annotations,
// managed fields, a projected token volume, conditions and statuses. The
// transform must throw nearly all of it away.
func realisticPod(ns, deploy, rs string, i int) corev1.Pod {
	name := fmt.Sprintf("%s-%05d", rs, i)
	created := metav1.NewTime(t0.Add(-time.Duration(i) * time.Second))
	fields := []byte(`{"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:app":{},"f:pod-template-hash":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"1\"}":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:resources":{".":{},"f:requests":{".":{},"f:cpu":{},"f:memory":{}}},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:enableServiceLinks":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}`)
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, GenerateName: rs + "-", Namespace: ns, UID: "8f2b6c1e-0000-4000-8000-000000000000",
			ResourceVersion: fmt.Sprint(1000 + i), CreationTimestamp: created,
			Labels:          map[string]string{"app": deploy, "pod-template-hash": "7d9f8c6b4", "team": "shop"},
			Annotations:     map[string]string{"kwok.x-k8s.io/usage-cpu": "120m", "kubectl.kubernetes.io/restartedAt": "2026-11-20T10:00:00Z"},
			OwnerReferences: ownerRef("ReplicaSet", rs),
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", Time: &created,
					FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: fields}},
				{Manager: "kwok", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", Time: &created,
					FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: fields}, Subresource: "status"},
			},
		},
		Spec: corev1.PodSpec{
			NodeName: fmt.Sprintf("kwok-node-%d", i%10), ServiceAccountName: "default", SchedulerName: "default-scheduler",
			Containers: []corev1.Container{{
				Name: "app", Image: "registry.k8s.io/pause:3.10", ImagePullPolicy: corev1.PullIfNotPresent,
				Env: []corev1.EnvVar{{Name: "MODE", Value: "serve"}, {Name: "PORT", Value: "8080"}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")}},
				VolumeMounts:           []corev1.VolumeMount{{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
				TerminationMessagePath: "/dev/termination-log",
			}},
			Volumes: []corev1.Volume{{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(3607))}}}}}}},
			Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, HostIP: "10.0.0.1", PodIP: fmt.Sprintf("10.244.%d.%d", i/250, i%250), StartTime: &created,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: created},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: created},
				{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: created},
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: created},
			},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, Started: ptr(true), Image: "registry.k8s.io/pause:3.10",
				ImageID: "registry.k8s.io/pause@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a",
				State:   corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: created}}}},
		},
	}
}

// syntheticCluster serves deployments (20 pods each) from a fake clientset
// whose pod list is generated on every call, so after the sync only perch's
// own cache holds pods.
func syntheticCluster(pods int) *fakeCluster {
	const perDeploy = 20
	var objs []k8sruntime.Object
	deploys := (pods + perDeploy - 1) / perDeploy
	for d := range deploys {
		name := fmt.Sprintf("svc-%04d", d)
		objs = append(objs, deployment("shop", name, perDeploy, perDeploy, perDeploy), replicaSet("shop", name+"-7d9f8c6b4", name))
	}
	core := fake.NewClientset(objs...)
	core.PrependReactor("list", "pods", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		list := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "5000"}, Items: make([]corev1.Pod, 0, pods)}
		for i := range pods {
			d := fmt.Sprintf("svc-%04d", i/perDeploy)
			list.Items = append(list.Items, realisticPod("shop", d, d+"-7d9f8c6b4", i))
		}
		return true, list, nil
	})
	return &fakeCluster{core: core}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkFirstComplete10kPods measures the informer-store path at 10,000
// pods: time from Run to the first complete Update, to the first with the
// pods in, and the heap perch's caches keep per pod after the sync.
func BenchmarkFirstComplete10kPods(b *testing.B) {
	const pods = 10_000
	var totalFirst, totalWait time.Duration
	var perPod float64
	for b.Loop() {
		fc := syntheticCluster(pods)
		s := newTestSource(b, Config{Metrics: MetricsOff, Refresh: time.Hour}, map[string]*fakeCluster{"bench": fc})
		before := heapInUse()
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan sources.Update, 1)
		done := make(chan error, 1)
		start := time.Now()
		var firstWait time.Duration
		go func() { done <- s.Run(ctx, out) }()
		var u sources.Update
		for u = range out {
			if u.Complete && firstWait == 0 {
				firstWait = time.Since(start)
			}
			if loaded(u) {
				break
			}
		}
		totalFirst += firstWait
		totalWait += time.Since(start)
		if len(u.Workloads) != pods/20 {
			b.Fatalf("got %d workloads", len(u.Workloads))
		}
		u = sources.Update{}
		perPod += float64(heapInUse()-before) / pods
		cancel()
		<-done
	}
	b.ReportMetric(float64(totalFirst.Milliseconds())/float64(b.N), "ms/first-complete")
	b.ReportMetric(float64(totalWait.Milliseconds())/float64(b.N), "ms/pods-loaded")
	b.ReportMetric(perPod/float64(b.N), "heap-B/pod")
}

// BenchmarkRound10kPods compares a round after one pod changed with a round
// that recomputes everything (what perch would do without dirty tracking).
func BenchmarkRound10kPods(b *testing.B) {
	fc := syntheticCluster(10_000)
	s := newTestSource(b, Config{Metrics: MetricsOff, Refresh: time.Hour}, map[string]*fakeCluster{"bench": fc})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan sources.Update, 1)
	go func() { _ = s.Run(ctx, out) }()
	for u := range out {
		if loaded(u) {
			break
		}
	}
	c := s.slots[0].c
	var wl []sources.Workload
	var smp []sources.Sample
	b.Run("one-dirty", func(b *testing.B) {
		for b.Loop() {
			c.mu.Lock()
			c.dirty[wkKey{sources.Deployment, "shop", "svc-0042"}] = struct{}{}
			c.mu.Unlock()
			wl, smp = c.refresh(t0, wl[:0], smp[:0])
		}
	})
	b.Run("all-dirty", func(b *testing.B) {
		for b.Loop() {
			c.mu.Lock()
			c.allDirty = true
			c.mu.Unlock()
			wl, smp = c.refresh(t0, wl[:0], smp[:0])
		}
	})
}
