package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
)

const mib = 1 << 20

// shopCluster is a small cluster: a Deployment with an HPA and three pods
// (one pending), a StatefulSet with two pods, a DaemonSet with one, a bare
// pod and a Job pod (neither is a workload row).
func shopCluster() *fakeCluster {
	core := fake.NewClientset(
		deployment("shop", "web", 3, 3, 2),
		replicaSet("shop", "web-7d9f", "web"),
		pod("shop", "web-7d9f-aaaaa", "ReplicaSet", "web-7d9f", corev1.PodRunning, true, 250, 256),
		pod("shop", "web-7d9f-bbbbb", "ReplicaSet", "web-7d9f", corev1.PodRunning, true, 250, 256),
		pod("shop", "web-7d9f-ccccc", "ReplicaSet", "web-7d9f", corev1.PodPending, false, 250, 256),
		hpa("shop", "web", "Deployment", "web", 2, 10),
		statefulSet("shop", "db", 2, 2, 2),
		pod("shop", "db-0", "StatefulSet", "db", corev1.PodRunning, true, 1000, 1024),
		pod("shop", "db-1", "StatefulSet", "db", corev1.PodRunning, true, 1000, 1024),
		daemonSet("kube-system", "agent", 1, 1, 1),
		pod("kube-system", "agent-x1y2z", "DaemonSet", "agent", corev1.PodRunning, true, 50, 64),
		pod("shop", "debug", "", "", corev1.PodRunning, true, 100, 100),
		pod("shop", "migrate-q8d7x", "Job", "migrate", corev1.PodSucceeded, false, 500, 512),
		node("node-1", true), node("node-2", false),
	)
	m := newMetricsClient(
		podMetrics("shop", "web-7d9f-aaaaa", 100, 300), // memory above its request: cost uses usage
		podMetrics("shop", "web-7d9f-bbbbb", 400, 100), // cpu above its request
		podMetrics("shop", "db-0", 200, 900),
		podMetrics("shop", "db-1", 300, 800),
		podMetrics("kube-system", "agent-x1y2z", 10, 20),
	)
	return &fakeCluster{core: core, metrics: m}
}

func TestInitialSyncAggregatesWorkloads(t *testing.T) {
	s := newTestSource(t, Config{AllNamespaces: true}, map[string]*fakeCluster{"prod": shopCluster()})
	out := runSource(t, s)
	u := waitFor(t, out, "a complete update with usage", func(u sources.Update) bool {
		v := values(u)
		_, usage := v[sources.WorkloadID{Cluster: "prod", Namespace: "shop", Name: "web"}][sources.CPUUsage]
		return loaded(u) && usage
	})
	if u.Err != nil {
		t.Fatalf("unexpected error: %v", u.Err)
	}
	if !u.Full {
		t.Error("update is not Full")
	}
	var ids []string
	for _, w := range u.Workloads {
		ids = append(ids, w.ID.String()+" "+string(w.Kind))
		if w.Platform != sources.Kubernetes {
			t.Errorf("%s: platform %q", w.ID, w.Platform)
		}
	}
	want := "prod/kube-system/agent DaemonSet,prod/shop/db StatefulSet,prod/shop/web Deployment"
	if got := strings.Join(ids, ","); got != want {
		t.Fatalf("inventory = %s, want %s", got, want)
	}
	v := values(u)
	web := v[sources.WorkloadID{Cluster: "prod", Namespace: "shop", Name: "web"}]
	check := func(name string, got, want float64) {
		t.Helper()
		if !near(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("web desired", web[sources.ReplicasDesired], 3)
	check("web current", web[sources.ReplicasCurrent], 3)
	check("web ready", web[sources.ReplicasReady], 2)
	check("web min", web[sources.ReplicasMin], 2)
	check("web max", web[sources.ReplicasMax], 10)
	// The pending pod is not bound to a node: it holds no resources.
	check("web cpu request", web[sources.CPURequest], 0.5)
	check("web mem request", web[sources.MemRequest], 512*mib)
	check("web cpu usage", web[sources.CPUUsage], 0.5)
	check("web mem usage", web[sources.MemUsage], 400*mib)
	// OpenCost: per pod max(request, usage).
	wantCost := prices.KubeHourly(0.25, 0.1, 256*mib, 300*mib) + prices.KubeHourly(0.25, 0.4, 256*mib, 100*mib)
	check("web cost", web[sources.CostRate], wantCost)

	db := v[sources.WorkloadID{Cluster: "prod", Namespace: "shop", Name: "db"}]
	check("db cpu request", db[sources.CPURequest], 2)
	check("db cost", db[sources.CostRate], prices.KubeHourly(1, 0.2, 1024*mib, 900*mib)+prices.KubeHourly(1, 0.3, 1024*mib, 800*mib))
	if _, ok := db[sources.ReplicasMin]; ok {
		t.Error("db has no HPA but reports a minimum")
	}
	agent := v[sources.WorkloadID{Cluster: "prod", Namespace: "kube-system", Name: "agent"}]
	check("agent desired", agent[sources.ReplicasDesired], 1)
	for _, smp := range u.Samples {
		if !smp.T.Equal(t0) {
			t.Fatalf("sample stamped %v, want the source clock %v", smp.T, t0)
		}
	}
	st := s.Status()
	if len(st) != 1 || st[0].Nodes != 2 || st[0].NodesReady != 1 || st[0].Pods != 8 || st[0].Workloads != 3 ||
		!st[0].Synced || st[0].Usage != "usage: metrics.k8s.io" || len(st[0].Namespaces) != 1 || st[0].Namespaces[0] != "" {
		t.Errorf("status = %+v", st)
	}
}

func TestWithoutMetricsUsageIsUnknownAndCostUsesRequests(t *testing.T) {
	fc := shopCluster()
	fc.metrics = nil
	s := newTestSource(t, Config{AllNamespaces: true, Metrics: MetricsOff}, map[string]*fakeCluster{"prod": fc})
	u := waitFor(t, runSource(t, s), "complete", func(u sources.Update) bool { return loaded(u) })
	web := values(u)[sources.WorkloadID{Cluster: "prod", Namespace: "shop", Name: "web"}]
	if _, ok := web[sources.CPUUsage]; ok {
		t.Error("cpu usage reported without metrics")
	}
	if want := 2 * prices.KubeHourly(0.25, 0, 256*mib, 0); !near(web[sources.CostRate], want) {
		t.Errorf("cost = %v, want %v", web[sources.CostRate], want)
	}
	if got := s.Status()[0].Usage; got != "usage: off" {
		t.Errorf("usage note = %q", got)
	}
}

func TestMissingMetricsAPIIsANoteNotAnError(t *testing.T) {
	fc := shopCluster()
	fc.metrics.err = apierrors.NewNotFound(schema.GroupResource{Group: "metrics.k8s.io", Resource: "pods"}, "")
	s := newTestSource(t, Config{AllNamespaces: true}, map[string]*fakeCluster{"prod": fc})
	out := runSource(t, s)
	u := waitFor(t, out, "complete", func(u sources.Update) bool { return loaded(u) })
	if u.Err != nil {
		t.Fatalf("a cluster without metrics-server is not an error: %v", u.Err)
	}
	u = waitFor(t, out, "the note", func(u sources.Update) bool {
		return s.Status()[0].Usage == "usage: metrics.k8s.io not installed" && u.Partial != nil
	})
	if u.Err != nil || !strings.Contains(u.Partial.Error(), "metrics.k8s.io not installed") {
		t.Errorf("err = %v, partial = %v: want only a Partial saying metrics.k8s.io is not installed", u.Err, u.Partial)
	}
	// metrics-server installed later: the limit clears by itself.
	fc.metrics.mu.Lock()
	fc.metrics.err = nil
	fc.metrics.mu.Unlock()
	s.slots[0].c.fetchMetrics(context.Background())
	waitFor(t, out, "the limit to clear", func(u sources.Update) bool {
		return loaded(u) && u.Partial == nil && u.Err == nil
	})
}

func TestWatchUpdatesAreSeenAndOnlyDirtyWorkloadsRecompute(t *testing.T) {
	fc := shopCluster()
	fc.metrics = nil
	s := newTestSource(t, Config{AllNamespaces: true, Metrics: MetricsOff}, map[string]*fakeCluster{"prod": fc})
	out := runSource(t, s)
	waitFor(t, out, "complete", func(u sources.Update) bool { return loaded(u) })
	for range 3 { // let the initial add notifications drain
		<-out
	}
	c := s.slots[0].c
	c.mu.Lock()
	before := c.computed
	c.mu.Unlock()

	ctx := context.Background()
	web := id("prod", "shop", "web")
	d := deployment("shop", "web", 5, 5, 2)
	d.ResourceVersion = "2"
	if _, err := fc.core.AppsV1().Deployments("shop").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fc.core.CoreV1().Pods("shop").Delete(ctx, "web-7d9f-bbbbb", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	u := waitFor(t, out, "the scale-up and the deleted pod", func(u sources.Update) bool {
		w := values(u)[web]
		return w[sources.ReplicasDesired] == 5 && near(w[sources.CPURequest], 0.25)
	})
	if len(u.Workloads) != 3 {
		t.Errorf("inventory has %d workloads, want 3", len(u.Workloads))
	}
	c.mu.Lock()
	recomputed := c.computed - before
	c.mu.Unlock()
	if recomputed < 1 || recomputed > 2 {
		t.Errorf("recomputed %d workloads for changes to one, want 1 or 2 (one per round)", recomputed)
	}

	// A new Deployment appears, the StatefulSet goes away.
	if _, err := fc.core.AppsV1().Deployments("shop").Create(ctx, deployment("shop", "api", 1, 0, 0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fc.core.AppsV1().StatefulSets("shop").Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "api added and db removed", func(u sources.Update) bool {
		names := map[string]bool{}
		for _, w := range u.Workloads {
			names[w.ID.Name] = true
		}
		return u.Full && names["api"] && !names["db"] && len(u.Workloads) == 3
	})
}

func id(cluster, ns, name string) sources.WorkloadID {
	return sources.WorkloadID{Cluster: cluster, Namespace: ns, Name: name}
}

// forbid makes every cluster-wide list and watch of the fake fail with 403,
// like an API server whose account may only read some namespaces.
func forbid(core *fake.Clientset, allowed ...string) {
	ok := map[string]bool{}
	for _, ns := range allowed {
		ok[ns] = true
	}
	react := func(a k8stesting.Action) (bool, runtime.Object, error) {
		if ok[a.GetNamespace()] {
			return false, nil, nil
		}
		gr := a.GetResource().GroupResource()
		return true, nil, apierrors.NewForbidden(gr, "", errors.New("User \"system:serviceaccount:team-a:perch\" cannot list resource"))
	}
	core.PrependReactor("list", "*", react)
	core.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watchInterface, error) {
		h, _, err := react(a)
		return h, nil, err
	})
}

func TestForbiddenClusterWideFallsBackToNamespaces(t *testing.T) {
	core := fake.NewClientset(
		deployment("team-a", "web", 1, 1, 1),
		replicaSet("team-a", "web-5c6d", "web"),
		pod("team-a", "web-5c6d-xxxxx", "ReplicaSet", "web-5c6d", corev1.PodRunning, true, 100, 128),
		deployment("team-b", "other", 1, 1, 1),
		node("node-1", true),
	)
	forbid(core, "team-a")
	fc := &fakeCluster{core: core, namespace: "team-a"}
	s := newTestSource(t, Config{AllNamespaces: true, Metrics: MetricsOff}, map[string]*fakeCluster{"prod": fc})
	u := waitFor(t, runSource(t, s), "a complete update with team-a's deployment", func(u sources.Update) bool {
		return loaded(u) && len(u.Workloads) == 1
	})
	if u.Workloads[0].ID != id("prod", "team-a", "web") {
		t.Fatalf("workload = %v", u.Workloads[0].ID)
	}
	if got := values(u)[id("prod", "team-a", "web")][sources.CPURequest]; !near(got, 0.1) {
		t.Errorf("cpu request = %v, want 0.1 (the pod must be read in team-a)", got)
	}
	// RBAC limits are what perch cannot see, not a failure: Partial, no Err,
	// and the rows it does send stay fresh in the store.
	if u.Err != nil {
		t.Fatalf("err = %v, want none (forbidden resources are a Partial limit)", u.Err)
	}
	if u.Partial == nil || !errors.Is(u.Partial, ErrPartial) {
		t.Fatalf("partial = %v, want the forbidden resources", u.Partial)
	}
	st := store.New()
	st.Apply(u)
	if sum := st.Summaries(t0, 0); len(sum) != 1 || sum[0].Stale {
		t.Errorf("rows of a partial round must stay fresh: %+v", sum)
	}
	if h := st.Health(); len(h) != 1 || h[0].Err != nil || h[0].Partial == nil {
		t.Errorf("health = %+v, want no error and the partial note", h)
	}
	msg := u.Partial.Error()
	for _, want := range []string{"context prod", "forbidden", "pods", "deployments.apps", "jobs.batch", "in all namespaces", "nodes at cluster scope"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "team-a:") {
		t.Errorf("team-a is readable but reported: %q", msg)
	}
	if ns := s.Status()[0].Namespaces; len(ns) != 1 || ns[0] != "team-a" {
		t.Errorf("watched namespaces = %q, want [team-a]", ns)
	}
}

func TestNamespaceOptionAndContextNamespace(t *testing.T) {
	objs := []runtime.Object{deployment("a", "one", 1, 1, 1), deployment("b", "two", 1, 1, 1)}
	for _, tc := range []struct {
		name   string
		cfg    Config
		ctxNS  string
		expect string
	}{
		{"namespace option", Config{Namespace: "b"}, "a", "two"},
		{"context namespace like kubectl", Config{}, "a", "one"},
		{"all namespaces", Config{AllNamespaces: true}, "a", "one,two"},
		{"no context namespace means all", Config{}, "", "one,two"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Metrics = MetricsOff
			fc := &fakeCluster{core: fake.NewClientset(objs...), namespace: tc.ctxNS}
			s := newTestSource(t, tc.cfg, map[string]*fakeCluster{"c": fc})
			u := waitFor(t, runSource(t, s), "complete", func(u sources.Update) bool { return loaded(u) })
			var names []string
			for _, w := range u.Workloads {
				names = append(names, w.ID.Name)
			}
			if got := strings.Join(names, ","); got != tc.expect {
				t.Errorf("workloads = %s, want %s", got, tc.expect)
			}
		})
	}
}

func TestSeveralContextsAtOnce(t *testing.T) {
	a := &fakeCluster{core: fake.NewClientset(deployment("shop", "web", 2, 2, 2))}
	b := &fakeCluster{core: fake.NewClientset(deployment("shop", "web", 7, 7, 6))}
	s := newTestSource(t, Config{Metrics: MetricsOff, Contexts: []string{"eu", "us"}},
		map[string]*fakeCluster{"eu": a, "us": b, "gone": nil})
	u := waitFor(t, runSource(t, s), "both clusters", func(u sources.Update) bool {
		return loaded(u) && len(u.Workloads) == 2
	})
	v := values(u)
	if v[id("eu", "shop", "web")][sources.ReplicasDesired] != 2 || v[id("us", "shop", "web")][sources.ReplicasDesired] != 7 {
		t.Errorf("values = %v", v)
	}
	// The third context cannot connect: reported, the others still work.
	if u.Err == nil || !strings.Contains(u.Err.Error(), "context gone") || !errors.Is(u.Err, ErrPartial) {
		t.Errorf("err = %v, want a partial error about context gone", u.Err)
	}
	if _, err := s.Pods(context.Background(), id("gone", "shop", "web")); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("pods of a failing context: %v", err)
	}
}

func TestPodsAndWarningsComeFromTheCache(t *testing.T) {
	fc := shopCluster()
	now := t0
	for _, e := range []*corev1.Event{
		warningEvent("shop", "e1", "Pod", "web-7d9f-ccccc", "FailedScheduling", "0/2 nodes are available", now.Add(-time.Minute), corev1.EventTypeWarning),
		warningEvent("shop", "e2", "Deployment", "web", "ReplicaSetCreateError", "quota", now.Add(-2*time.Minute), corev1.EventTypeWarning),
		warningEvent("shop", "e3", "Pod", "web-7d9f-gonez", "BackOff", "Back-off restarting failed container", now.Add(-3*time.Minute), corev1.EventTypeWarning),
		warningEvent("shop", "e4", "Pod", "db-0", "Unhealthy", "probe failed", now.Add(-time.Minute), corev1.EventTypeWarning),
		warningEvent("shop", "e5", "Pod", "web-7d9f-aaaaa", "Pulled", "normal event", now.Add(-time.Minute), corev1.EventTypeNormal),
		warningEvent("shop", "e6", "Pod", "web-7d9f-aaaaa", "BackOff", "too old", now.Add(-2*time.Hour), corev1.EventTypeWarning),
		warningEvent("shop", "e7", "HorizontalPodAutoscaler", "web", "FailedGetResourceMetric", "no metrics", now.Add(-4*time.Minute), corev1.EventTypeWarning),
	} {
		if _, err := fc.core.CoreV1().Events("shop").Create(context.Background(), e, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s := newTestSource(t, Config{AllNamespaces: true}, map[string]*fakeCluster{"prod": fc})
	out := runSource(t, s)
	waitFor(t, out, "usage", func(u sources.Update) bool {
		_, ok := values(u)[id("prod", "shop", "web")][sources.CPUUsage]
		return ok
	})
	reads := len(fc.core.Actions())
	pods, err := s.Pods(context.Background(), id("prod", "shop", "web"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 3 {
		t.Fatalf("got %d pods, want 3", len(pods))
	}
	p := pods[0]
	if p.Name != "web-7d9f-aaaaa" || p.Phase != sources.PodRunning || !p.Ready || p.Restarts != 1 || p.Node != "node-1" ||
		!near(p.CPURequest, 0.25) || !near(p.CPUUsage, 0.1) || !near(p.MemUsage, 300*mib) || !p.Created.Equal(t0.Add(-time.Hour)) ||
		p.Owner != id("prod", "shop", "web") {
		t.Errorf("pod = %+v", p)
	}
	if pods[2].Phase != sources.PodPending || pods[2].Ready {
		t.Errorf("pending pod = %+v", pods[2])
	}
	ws, err := s.Events(context.Background(), id("prod", "shop", "web"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		got = append(got, w.Object+" "+w.Reason)
	}
	want := "Pod/web-7d9f-ccccc FailedScheduling,Deployment/web ReplicaSetCreateError,Pod/web-7d9f-gonez BackOff,HorizontalPodAutoscaler/web FailedGetResourceMetric"
	if strings.Join(got, ",") != want {
		t.Errorf("warnings = %s\nwant       %s", strings.Join(got, ","), want)
	}
	if ws[0].Count != 3 || ws[0].Message != "0/2 nodes are available" {
		t.Errorf("warning = %+v", ws[0])
	}
	if after := len(fc.core.Actions()); after != reads {
		t.Errorf("Pods and Warnings made %d API requests, want none", after-reads)
	}
	if a, ok, err := s.Autoscaler(context.Background(), id("prod", "shop", "web")); err != nil || !ok || a.Min != 2 || a.Max != 10 || a.TargetCPU != 60 {
		t.Errorf("autoscaler = %+v %v %v", a, ok, err)
	}
	if _, ok, err := s.Autoscaler(context.Background(), id("prod", "shop", "db")); err != nil || ok {
		t.Errorf("db has no HPA: %v %v", ok, err)
	}
	if _, err := s.Pods(context.Background(), id("prod", "shop", "nope")); err == nil {
		t.Error("unknown workload: no error")
	}
}

func TestDeploymentAndStatefulSetWithTheSameName(t *testing.T) {
	core := fake.NewClientset(deployment("x", "cache", 1, 1, 1), statefulSet("x", "cache", 3, 3, 3))
	s := newTestSource(t, Config{Metrics: MetricsOff}, map[string]*fakeCluster{"c": {core: core}})
	u := waitFor(t, runSource(t, s), "complete", func(u sources.Update) bool { return loaded(u) })
	v := values(u)
	if len(u.Workloads) != 2 || v[id("c", "x", "cache")][sources.ReplicasDesired] != 1 ||
		v[id("c", "x", "cache (StatefulSet)")][sources.ReplicasDesired] != 3 {
		t.Errorf("workloads = %v values = %v", u.Workloads, v)
	}
}

func TestUnreachableClusterIsReportedAndRunKeepsGoing(t *testing.T) {
	core := fake.NewClientset()
	refused := errors.New(`Get "https://10.0.0.1:6443/api/v1/pods": dial tcp 10.0.0.1:6443: connect: connection refused`)
	core.PrependReactor("list", "*", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, refused })
	core.PrependWatchReactor("*", func(k8stesting.Action) (bool, watchInterface, error) { return true, nil, refused })
	s := newTestSource(t, Config{Metrics: MetricsOff}, map[string]*fakeCluster{"down": {core: core}})
	u := waitFor(t, runSource(t, s), "an error", func(u sources.Update) bool { return u.Err != nil })
	if !strings.Contains(u.Err.Error(), "connection refused") || !strings.Contains(u.Err.Error(), "context down") {
		t.Errorf("err = %v", u.Err)
	}
	if strings.Count(u.Err.Error(), "connection refused") != 1 {
		t.Errorf("the same failure is reported once per cluster, got %q", u.Err)
	}
	if errors.Is(u.Err, ErrPartial) || u.Full {
		t.Errorf("no data was delivered: partial=%v full=%v", errors.Is(u.Err, ErrPartial), u.Full)
	}
	if !u.Complete {
		t.Error("a failing cluster must not hold back the first complete round")
	}
}

func TestRunWithoutKubeconfigRetries(t *testing.T) {
	dir := t.TempDir()
	s, err := New(Config{Getenv: func(k string) string {
		if k == "HOME" {
			return dir
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out := make(chan sources.Update, 4)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()
	select {
	case u := <-out:
		if !errors.Is(u.Err, ErrNoKubeconfig) || !strings.Contains(u.Err.Error(), dir) {
			t.Errorf("err = %v", u.Err)
		}
	case <-ctx.Done():
		t.Fatal("no error update")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}

func TestCheckHealth(t *testing.T) {
	s := newTestSource(t, Config{Metrics: MetricsOff}, map[string]*fakeCluster{"c": {core: fake.NewClientset()}})
	if err := s.CheckHealth(context.Background()); err == nil {
		t.Error("health before Run: no error")
	}
	waitFor(t, runSource(t, s), "complete", func(u sources.Update) bool { return loaded(u) })
	if err := s.CheckHealth(context.Background()); err != nil {
		t.Errorf("health: %v", err)
	}
}

func TestUsageKeepsNanocores(t *testing.T) {
	core := fake.NewClientset(
		deployment("x", "web", 1, 1, 1), replicaSet("x", "web-1", "web"),
		pod("x", "web-1-aaaaa", "ReplicaSet", "web-1", corev1.PodRunning, true, 100, 64),
	)
	pm := podMetrics("x", "web-1-aaaaa", 0, 80)
	pm.Containers[0].Usage[corev1.ResourceCPU] = resource.MustParse("50015608n") // as metrics-server reports it
	s := newTestSource(t, Config{}, map[string]*fakeCluster{"c": {core: core, metrics: newMetricsClient(pm)}})
	u := waitFor(t, runSource(t, s), "usage", func(u sources.Update) bool {
		_, ok := values(u)[id("c", "x", "web")][sources.CPUUsage]
		return ok
	})
	if got := values(u)[id("c", "x", "web")][sources.CPUUsage]; !near(got, 0.050015608) {
		t.Errorf("cpu usage = %v, want 0.050015608 (no rounding to millicores)", got)
	}
}
