package integration

// Jobs, CronJob roll-up and Knative Services against the real control
// plane. kwok runs the Jobs' pods to completion (its pod-complete stage);
// the test, not perch, installs minimal Knative Serving CRDs and stands a
// labelled Deployment in for a revision's (no Knative controller here).

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/kube"
	"github.com/perch-dev/perch/store"
)

// createNamespace makes a namespace for one test.
func createNamespace(t *testing.T, name string) {
	t.Helper()
	if _, err := env.admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// batchJob is a Job of n pods on the kwok nodes (kwok completes them).
func batchJob(name string, n int32, nodeType string) *batchv1.Job {
	tpl := template(name)
	tpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	tpl.Spec.NodeSelector = map[string]string{"type": nodeType}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       batchv1.JobSpec{Parallelism: &n, Completions: &n, Template: tpl},
	}
}

func TestJobPodsAndCompletionAreSeen(t *testing.T) {
	const ns = "batch-it"
	ctx := context.Background()
	createNamespace(t, ns)
	s, out := start(t, kube.Config{Kubeconfig: env.kubeconfig, Context: "admin", Namespace: ns, Metrics: kube.MetricsOff, Knative: kube.KnativeOff})
	waitFor(t, out, "complete", 30*time.Second, func(u sources.Update) bool { return u.Complete })

	// A Job whose pods cannot be scheduled: active, pending, holding nothing.
	if _, err := env.admin.BatchV1().Jobs(ns).Create(ctx, batchJob("stuck", 2, "no-such-node"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stuck := id("admin", ns, "stuck")
	u := waitFor(t, out, "the stuck Job's two pending pods", 30*time.Second, func(u sources.Update) bool {
		w := values(u)[stuck]
		return w[sources.ReplicasDesired] == 2 && w[sources.ReplicasCurrent] == 2
	})
	if w := values(u)[stuck]; w[sources.ReplicasReady] != 0 || w[sources.CostRate] != 0 {
		t.Errorf("pending pods are not ready and cost nothing: %v", w)
	}
	for _, w := range u.Workloads {
		if w.ID == stuck && w.Kind != kube.KindJob {
			t.Errorf("stuck is a %q row", w.Kind)
		}
	}
	pods, err := s.Pods(ctx, stuck)
	if err != nil || len(pods) != 2 || pods[0].Phase != sources.PodPending {
		t.Errorf("stuck pods = %+v, %v", pods, err)
	}

	// A Job of three pods that kwok runs to completion.
	if _, err := env.admin.BatchV1().Jobs(ns).Create(ctx, batchJob("crunch", 3, "kwok"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crunch := id("admin", ns, "crunch")
	began := time.Now()
	waitFor(t, out, "crunch complete", 60*time.Second, func(u sources.Update) bool {
		w, ok := values(u)[crunch]
		js, _, _ := s.JobStatus(ctx, crunch)
		return ok && w[sources.ReplicasDesired] == 0 && w[sources.ReplicasCurrent] == 0 && js.Complete == 1
	})
	t.Logf("crunch's completion seen %s after it was created", time.Since(began).Round(time.Millisecond))
	js, ok, err := s.JobStatus(ctx, crunch)
	if err != nil || !ok || js.SucceededPods != 3 || js.ActivePods != 0 || js.Completions != 3 || js.LastEnd.IsZero() {
		t.Errorf("crunch status = %+v %v %v", js, ok, err)
	}
	pods, err = s.Pods(ctx, crunch)
	if err != nil || len(pods) != 3 {
		t.Fatalf("crunch pods = %+v, %v", pods, err)
	}
	for _, p := range pods {
		if p.Phase != sources.PodSucceeded || p.Owner != crunch || !strings.HasPrefix(p.Node, "kwok-node-") {
			t.Errorf("crunch pod = %+v", p)
		}
	}

	// A Job that a (suspended, so idle) CronJob owns is rolled up under it.
	cj, err := env.admin.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "report"},
		Spec:       batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: new(bool), JobTemplate: batchv1.JobTemplateSpec{Spec: batchJob("x", 1, "kwok").Spec}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	*cj.Spec.Suspend = true
	if _, err := env.admin.BatchV1().CronJobs(ns).Update(ctx, cj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	manual := batchJob("report-manual-1", 1, "kwok")
	manual.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "report", UID: cj.UID, Controller: new(bool)}}
	*manual.OwnerReferences[0].Controller = true
	if _, err := env.admin.BatchV1().Jobs(ns).Create(ctx, manual, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	report := id("admin", ns, "report")
	u = waitFor(t, out, "the CronJob's run complete", 60*time.Second, func(u sources.Update) bool {
		js, _, _ := s.JobStatus(ctx, report)
		return js.Complete == 1 && js.SucceededPods == 1
	})
	kinds := map[string]sources.Kind{}
	for _, w := range u.Workloads {
		kinds[w.ID.Name] = w.Kind
	}
	if kinds["report"] != kube.KindCronJob || kinds["report-manual-1"] != "" {
		t.Errorf("rows = %v, want the CronJob's Job rolled up under report", kinds)
	}

	// Deleting the stuck Job removes its row.
	fg := metav1.DeletePropagationBackground
	if err := env.admin.BatchV1().Jobs(ns).Delete(ctx, "stuck", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "the stuck Job's row gone", 30*time.Second, func(u sources.Update) bool {
		_, ok := values(u)[stuck]
		return u.Full && !ok
	})
}

var (
	crdGVR         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	knServicesGVR  = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "services"}
	knRevisionsGVR = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "revisions"}
)

func adminDynamic(t *testing.T) dynamic.Interface {
	t.Helper()
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: env.kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: "admin"}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

// knativeCRD is a minimal stand-in for one of Knative Serving's CRDs: the
// group, names and a structural schema that keeps every field.
func knativeCRD(plural, kind string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": plural + ".serving.knative.dev"},
		"spec": map[string]any{
			"group": "serving.knative.dev", "scope": "Namespaced",
			"names": map[string]any{"plural": plural, "singular": strings.ToLower(kind), "kind": kind, "listKind": kind + "List"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
}

// installKnativeCRDs creates the CRDs, waits until they are established,
// and removes them when the test ends.
func installKnativeCRDs(t *testing.T, dyn dynamic.Interface) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, crd := range []*unstructured.Unstructured{knativeCRD("services", "Service"), knativeCRD("revisions", "Revision")} {
		if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		name := crd.GetName()
		t.Cleanup(func() {
			_ = dyn.Resource(crdGVR).Delete(context.Background(), name, metav1.DeleteOptions{})
		})
		for {
			got, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err == nil && established(got) {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("CRD %s not established: %v", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// createRetrying creates a custom resource, retrying while its freshly
// established endpoint is not served yet.
func createRetrying(t *testing.T, dyn dynamic.Interface, gvr schema.GroupVersionResource, ns string, obj *unstructured.Unstructured) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{})
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("creating %s %s: %v", gvr.Resource, obj.GetName(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestKnativeServiceFromCRDsAndPartialWithout(t *testing.T) {
	const ns = "kn-it"
	ctx := context.Background()
	createNamespace(t, ns)
	// A revision's Deployment as Knative makes it: labelled with its service.
	two := int32(2)
	tpl := template("hello")
	tpl.Labels["serving.knative.dev/service"] = "hello"
	if _, err := env.admin.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hello-00001-deployment",
			Labels: map[string]string{"serving.knative.dev/service": "hello", "serving.knative.dev/revision": "hello-00001"}},
		Spec: appsv1.DeploymentSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "hello"}}, Template: tpl},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Without the CRDs: a Partial note, no error, the rest as usual.
	s, out := start(t, kube.Config{Kubeconfig: env.kubeconfig, Context: "admin", Namespace: ns, Metrics: kube.MetricsOff,
		KnativeRecheck: 500 * time.Millisecond})
	dep := id("admin", ns, "hello-00001-deployment")
	u := waitFor(t, out, "the Deployment, ready", 30*time.Second, func(u sources.Update) bool {
		return u.Complete && values(u)[dep][sources.ReplicasReady] == 2
	})
	if u.Err != nil || u.Partial == nil || strings.Count(u.Partial.Error(), "Knative Serving (serving.knative.dev/v1) not installed") != 1 ||
		!errors.Is(u.Partial, kube.ErrPartial) {
		t.Fatalf("err = %v, partial = %v: want no error and one line saying Knative is not installed", u.Err, u.Partial)
	}
	st := store.New()
	st.Apply(u)
	if sum := st.Summaries(u.At, 0); len(sum) != 1 || sum[0].Stale {
		t.Errorf("rows = %+v, want the Deployment, fresh", sum)
	}
	reads := s.Requests().Reads

	// The test installs the CRDs and the service; perch picks them up
	// without a restart.
	dyn := adminDynamic(t)
	installKnativeCRDs(t, dyn)
	installed := time.Now()
	createRetrying(t, dyn, knServicesGVR, ns, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": map[string]any{"name": "hello"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"image": "example/hello:1"}}}}},
		"status": map[string]any{"url": "http://hello." + ns + ".example.com", "latestReadyRevisionName": "hello-00001",
			"latestCreatedRevisionName": "hello-00001", "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}},
	}})
	revision := func(desired int64) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
			"metadata": map[string]any{"name": "hello-00001", "labels": map[string]any{"serving.knative.dev/service": "hello"},
				"annotations": map[string]any{"autoscaling.knative.dev/min-scale": "0", "autoscaling.knative.dev/max-scale": "5"}},
			"status": map[string]any{"desiredReplicas": desired, "actualReplicas": desired},
		}}
	}
	createRetrying(t, dyn, knRevisionsGVR, ns, revision(2))
	hello := id("admin", ns, "hello")
	u = waitFor(t, out, "the Knative service", 30*time.Second, func(u sources.Update) bool {
		w, ok := values(u)[hello]
		return u.Complete && ok && w[sources.ReplicasCurrent] == 2 && w[sources.ReplicasMax] == 5
	})
	t.Logf("Knative service shown %s after the CRDs were installed (%d discovery and list requests meanwhile)",
		time.Since(installed).Round(time.Millisecond), s.Requests().Reads-reads)
	if u.Err != nil || u.Partial != nil {
		t.Errorf("with Knative installed: err = %v, partial = %v", u.Err, u.Partial)
	}
	if len(u.Workloads) != 1 || u.Workloads[0].Platform != sources.Knative || u.Workloads[0].Kind != sources.Function {
		t.Errorf("rows = %v, want only hello (knative), its Deployment folded in", u.Workloads)
	}
	v := values(u)[hello]
	p := cost.Defaults()
	for name, c := range map[string]struct{ got, want float64 }{
		"desired": {v[sources.ReplicasDesired], 2}, "ready": {v[sources.ReplicasReady], 2}, "min": {v[sources.ReplicasMin], 0},
		"cpu request": {v[sources.CPURequest], 0.2}, "cost": {v[sources.CostRate], 2 * p.KubeHourly(0.1, 0, 64*mib, 0)},
	} {
		if !near(c.got, c.want) {
			t.Errorf("hello %s = %v, want %v", name, c.got, c.want)
		}
	}
	if ks, ok, err := s.Knative(ctx, hello); err != nil || !ok || ks.URL != "http://hello."+ns+".example.com" || len(ks.Revisions) != 1 {
		t.Errorf("knative status = %+v %v %v", ks, ok, err)
	}

	// Scale to zero: the autoscaler wants none and the pods go; the row
	// stays, at zero replicas and zero cost.
	if _, err := env.admin.AppsV1().Deployments(ns).Patch(ctx, "hello-00001-deployment", types.MergePatchType,
		[]byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(knRevisionsGVR).Namespace(ns).Patch(ctx, "hello-00001", types.MergePatchType,
		[]byte(`{"status":{"desiredReplicas":0,"actualReplicas":0}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "hello scaled to zero", 30*time.Second, func(u sources.Update) bool {
		w, ok := values(u)[hello]
		return ok && w[sources.ReplicasCurrent] == 0 && w[sources.ReplicasDesired] == 0 && w[sources.CostRate] == 0 && len(u.Workloads) == 1
	})

	// Knative uninstalled: back to the note and the plain Deployment, no restart.
	for _, crd := range []string{"services.serving.knative.dev", "revisions.serving.knative.dev"} {
		if err := dyn.Resource(crdGVR).Delete(ctx, crd, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	u = waitFor(t, out, "Knative gone again", 60*time.Second, func(u sources.Update) bool {
		_, ok := values(u)[dep]
		return u.Complete && ok && u.Partial != nil && strings.Contains(u.Partial.Error(), "Knative Serving (serving.knative.dev/v1) not installed")
	})
	if u.Err != nil || strings.Contains(u.Partial.Error(), "not served") || len(u.Workloads) != 1 {
		t.Errorf("after uninstall: err = %v, partial = %v, rows = %v", u.Err, u.Partial, u.Workloads)
	}
}
