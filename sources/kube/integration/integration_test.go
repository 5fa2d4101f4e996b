// Package integration tests perch's Kubernetes source against a real
// control plane: etcd + kube-apiserver + kube-controller-manager +
// kube-scheduler + kwok fake nodes (+ metrics-server), built from the Go
// module proxy and started by scripts/stack/kubernetes.sh, plus a second
// bare API server for the several-contexts test.
//
// The test never skips: when the binaries cannot be built or the servers
// do not start, it fails and says why. Build them first with
// `scripts/stack/kubernetes.sh build` (make deps does).
package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authentication/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/kube"
	"github.com/perch-dev/perch/store"
)

const (
	mib     = 1 << 20
	refresh = 300 * time.Millisecond
)

// env is the running stack, set up once by TestMain.
var env struct {
	dir, dir2    string // the full cluster and the bare second API server
	kubeconfig   string // the full cluster's (contexts admin and audited)
	admin        kubernetes.Interface
	admin2       kubernetes.Interface
	metricsReady chan error
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: kubernetes integration: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "stack", "kubernetes.sh")
}

func run(args ...string) (string, error) {
	cmd := exec.Command(script(), args...)
	cmd.Env = append(os.Environ(), "KUBE_WATCH_PID="+strconv.Itoa(os.Getpid()))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("kubernetes.sh %s: %v: %s%s", strings.Join(args, " "), err, errb.String(), out.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func adminClient(kubeconfig, context string) (kubernetes.Interface, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}

func setup(m *testing.M) (code int, err error) {
	start := time.Now()
	if _, err := run("build"); err != nil {
		return 0, fmt.Errorf("building the control plane failed (run scripts/stack/kubernetes.sh build; this test needs real servers and never skips): %w", err)
	}
	if env.dir, err = os.MkdirTemp("", "perch-kube-*"); err != nil {
		return 0, err
	}
	if env.dir2, err = os.MkdirTemp("", "perch-kube2-*"); err != nil {
		return 0, err
	}
	defer func() {
		stopped := make(chan struct{})
		go func() {
			_, _ = run("down", env.dir2)
			close(stopped)
		}()
		_, _ = run("down", env.dir)
		<-stopped
		if code == 0 && err == nil {
			os.RemoveAll(env.dir)
			os.RemoveAll(env.dir2)
		} else {
			fmt.Fprintf(os.Stderr, "kubernetes integration: logs kept in %s and %s\n", env.dir, env.dir2)
		}
	}()
	second := make(chan error, 1)
	go func() {
		_, err := run("up-minimal", env.dir2)
		second <- err
	}()
	if env.kubeconfig, err = run("up", env.dir, "2"); err != nil {
		return 0, err
	}
	if err := <-second; err != nil {
		return 0, fmt.Errorf("second API server: %w", err)
	}
	if env.admin, err = adminClient(env.kubeconfig, "admin"); err != nil {
		return 0, err
	}
	if env.admin2, err = adminClient(filepath.Join(env.dir2, "kubeconfig"), "admin"); err != nil {
		return 0, err
	}
	env.metricsReady = make(chan error, 1)
	go func() {
		_, err := run("metrics", env.dir)
		env.metricsReady <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := fixtures(ctx); err != nil {
		return 0, fmt.Errorf("creating the test workloads: %w", err)
	}
	fmt.Fprintf(os.Stderr, "kubernetes integration: stack ready in %.1fs\n", time.Since(start).Seconds())
	return m.Run(), nil
}

func requests(cpu string, mem int64) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: *resource.NewQuantity(mem, resource.BinarySI)}}
}

func template(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app},
			// kwok reports these to metrics-server as the pods' usage.
			Annotations: map[string]string{"kwok.x-k8s.io/usage-cpu": "50m", "kwok.x-k8s.io/usage-memory": "80Mi"}},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{"type": "kwok"},
			TerminationGracePeriodSeconds: new(int64),
			Containers:                    []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10", Resources: requests("100m", 64*mib)}},
		},
	}
}

// fixtures: team-a/web (Deployment, 3 pods, HPA 2..5), team-b/db
// (StatefulSet, 2 pods), and on the second server shop/api (2 replicas
// wanted, no controller there to make pods).
func fixtures(ctx context.Context) error {
	for _, ns := range []string{"team-a", "team-b"} {
		if _, err := env.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	sel := func(app string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	}
	three, two := int32(3), int32(2)
	if _, err := env.admin.AppsV1().Deployments("team-a").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"},
		Spec:       appsv1.DeploymentSpec{Replicas: &three, Selector: sel("web"), Template: template("web")},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	disabled := autoscalingv2.DisabledPolicySelect
	if _, err := env.admin.AutoscalingV2().HorizontalPodAutoscalers("team-a").Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    &two, MaxReplicas: 5,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: &disabled}, ScaleDown: &autoscalingv2.HPAScalingRules{SelectPolicy: &disabled}},
		},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := env.admin.AppsV1().StatefulSets("team-b").Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "team-b"},
		Spec: appsv1.StatefulSetSpec{Replicas: &two, Selector: sel("db"), Template: template("db"), ServiceName: "db",
			PodManagementPolicy: appsv1.ParallelPodManagement},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := env.admin2.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := env.admin2.AppsV1().Deployments("shop").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"},
		Spec:       appsv1.DeploymentSpec{Replicas: &two, Selector: sel("api"), Template: template("api")},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for {
		d, err1 := env.admin.AppsV1().Deployments("team-a").Get(ctx, "web", metav1.GetOptions{})
		s, err2 := env.admin.AppsV1().StatefulSets("team-b").Get(ctx, "db", metav1.GetOptions{})
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if d.Status.ReadyReplicas == 3 && s.Status.ReadyReplicas == 2 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pods not ready: web %d/3, db %d/2 (logs: %s/logs)", d.Status.ReadyReplicas, s.Status.ReadyReplicas, env.dir)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// start runs a source until the test ends.
func start(t *testing.T, cfg kube.Config) (*kube.Source, <-chan sources.Update) {
	t.Helper()
	if cfg.Refresh == 0 {
		cfg.Refresh = refresh
	}
	s, err := kube.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan sources.Update, 64)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return s, out
}

func waitFor(t *testing.T, ch <-chan sources.Update, what string, timeout time.Duration, ok func(sources.Update) bool) sources.Update {
	t.Helper()
	deadline := time.After(timeout)
	var last sources.Update
	for {
		select {
		case u := <-ch:
			last = u
			if ok(u) {
				return u
			}
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s; last update: %d workloads, complete=%v, err=%v",
				timeout, what, len(last.Workloads), last.Complete, last.Err)
		}
	}
}

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

func id(cluster, ns, name string) sources.WorkloadID {
	return sources.WorkloadID{Cluster: cluster, Namespace: ns, Name: name}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func scale(t *testing.T, n int32) {
	t.Helper()
	patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, err := env.admin.AppsV1().Deployments("team-a").Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{})
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("scaling web to %d: %v", n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// restoreWeb puts web back to 3 ready pods for the next test.
func restoreWeb(t *testing.T) {
	scale(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		d, err := env.admin.AppsV1().Deployments("team-a").Get(ctx, "web", metav1.GetOptions{})
		if err == nil && d.Status.ReadyReplicas == 3 && d.Status.Replicas == 3 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("web did not return to 3 ready pods")
}

func TestInitialSyncThenOnlyWatches(t *testing.T) {
	s, out := start(t, kube.Config{Kubeconfig: env.kubeconfig, Context: "admin", AllNamespaces: true, Metrics: kube.MetricsOff})
	began := time.Now()
	u := waitFor(t, out, "the first complete update", 30*time.Second, func(u sources.Update) bool { return u.Complete })
	t.Logf("first complete update %s after start, %+v", time.Since(began).Round(time.Millisecond), s.Requests())
	if u.Err != nil {
		t.Fatalf("err = %v", u.Err)
	}
	kinds := map[sources.WorkloadID]sources.Kind{}
	for _, w := range u.Workloads {
		kinds[w.ID] = w.Kind
	}
	web, db := id("admin", "team-a", "web"), id("admin", "team-b", "db")
	if kinds[web] != sources.Deployment || kinds[db] != sources.StatefulSet {
		t.Fatalf("inventory = %v", u.Workloads)
	}
	v := values(u)
	p := cost.Defaults()
	for name, c := range map[string]struct{ got, want float64 }{
		"web desired": {v[web][sources.ReplicasDesired], 3}, "web ready": {v[web][sources.ReplicasReady], 3},
		"web min": {v[web][sources.ReplicasMin], 2}, "web max": {v[web][sources.ReplicasMax], 5},
		"web cpu request": {v[web][sources.CPURequest], 0.3}, "web mem request": {v[web][sources.MemRequest], 3 * 64 * mib},
		"web cost": {v[web][sources.CostRate], 3 * p.KubeHourly(0.1, 0, 64*mib, 0)},
		"db ready": {v[db][sources.ReplicasReady], 2}, "db cpu request": {v[db][sources.CPURequest], 0.2},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", name, c.got, c.want)
		}
	}
	if _, ok := v[web][sources.CPUUsage]; ok {
		t.Error("usage reported with metrics off")
	}
	pods, err := s.Pods(context.Background(), web)
	if err != nil || len(pods) != 3 {
		t.Fatalf("pods = %v, %v", pods, err)
	}
	for _, p := range pods {
		if p.Phase != sources.PodRunning || !p.Ready || !strings.HasPrefix(p.Node, "kwok-node-") || !near(p.CPURequest, 0.1) {
			t.Errorf("pod = %+v", p)
		}
	}
	// After the sync perch only watches: rounds make no requests.
	before := s.Requests()
	for range 5 {
		<-out
	}
	if after := s.Requests(); after != before {
		t.Errorf("requests grew from %+v to %+v over 5 refreshes without changes", before, after)
	}
	if before.Refused != 0 || before.Watches < 8 {
		t.Errorf("requests = %+v: want a watch (or list+watch) per resource and nothing refused", before)
	}
}

func TestScaleAndDeletePodAreSeen(t *testing.T) {
	s, out := start(t, kube.Config{Kubeconfig: env.kubeconfig, Context: "admin", AllNamespaces: true, Metrics: kube.MetricsOff})
	web := id("admin", "team-a", "web")
	waitFor(t, out, "complete", 30*time.Second, func(u sources.Update) bool { return u.Complete })
	t.Cleanup(func() { restoreWeb(t) })
	scale(t, 4)
	waitFor(t, out, "web scaled to 4 and ready", 30*time.Second, func(u sources.Update) bool {
		w := values(u)[web]
		return w[sources.ReplicasDesired] == 4 && w[sources.ReplicasReady] == 4 && near(w[sources.CPURequest], 0.4)
	})
	pods, err := s.Pods(context.Background(), web)
	if err != nil || len(pods) != 4 {
		t.Fatalf("pods = %d, %v", len(pods), err)
	}
	victim := pods[0].Name
	if err := env.admin.CoreV1().Pods("team-a").Delete(context.Background(), victim, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pods, err = s.Pods(context.Background(), web)
		gone := err == nil
		for _, p := range pods {
			if p.Name == victim {
				gone = false
			}
		}
		if gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deleted pod %s still listed: %v", victim, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestTwoContextsAtOnce(t *testing.T) {
	// Two kubeconfig files merged through KUBECONFIG, like kubectl.
	east := writeKubeconfig(t, "east", env.dir, "", "")
	west := writeKubeconfig(t, "west", env.dir2, "", "")
	getenv := func(k string) string {
		if k == "KUBECONFIG" {
			return east + string(os.PathListSeparator) + west
		}
		return ""
	}
	_, out := start(t, kube.Config{Contexts: []string{"east", "west", "nowhere"}, AllNamespaces: true, Metrics: kube.MetricsOff, Getenv: getenv})
	u := waitFor(t, out, "both clusters", 30*time.Second, func(u sources.Update) bool { return u.Complete && len(u.Workloads) == 3 })
	v := values(u)
	if v[id("east", "team-a", "web")][sources.ReplicasReady] != 3 || v[id("east", "team-b", "db")][sources.ReplicasReady] != 2 {
		t.Errorf("east values = %v", v)
	}
	// The second server has no controllers: the Deployment wants 2 and has none.
	if api := v[id("west", "shop", "api")]; api[sources.ReplicasDesired] != 2 || api[sources.ReplicasCurrent] != 0 {
		t.Errorf("west api = %v", api)
	}
	if u.Err == nil || !errors.Is(u.Err, kube.ErrPartial) || !strings.Contains(u.Err.Error(), `context nowhere: context "nowhere" does not exist`) {
		t.Errorf("err = %v, want a partial error about the missing context", u.Err)
	}
}

// writeKubeconfig writes a kubeconfig with one context for a cluster dir
// (the script's CA and admin token unless a token is given).
func writeKubeconfig(t *testing.T, name, dir, token, namespace string) string {
	t.Helper()
	port, err := os.ReadFile(filepath.Join(dir, "api.port"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(dir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if token == "" {
		tokens, err := os.ReadFile(filepath.Join(dir, "pki", "tokens.csv"))
		if err != nil {
			t.Fatal(err)
		}
		token, _, _ = strings.Cut(string(tokens), ",")
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:" + strings.TrimSpace(string(port)), CertificateAuthorityData: ca}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: namespace}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNamespaceLimitedServiceAccount(t *testing.T) {
	ctx := context.Background()
	const ns, sa = "team-a", "perch"
	if _, err := env.admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	read := []string{"get", "list", "watch"}
	if _, err := env.admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "perch-read"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "events"}, Verbs: read},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets", "statefulsets", "daemonsets"}, Verbs: read},
			{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: read},
			{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: read},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "perch-read"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "perch-read"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hour := int64(3600)
	tr, err := env.admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The context sets namespace team-a; all_namespaces makes perch try the
	// whole cluster first, then fall back to the context's namespace.
	path := writeKubeconfig(t, "reader", env.dir, tr.Status.Token, ns)
	s, out := start(t, kube.Config{Kubeconfig: path, AllNamespaces: true})
	u := waitFor(t, out, "team-a's workloads", 30*time.Second, func(u sources.Update) bool {
		return u.Complete && len(u.Workloads) == 1 && len(u.Samples) > 0
	})
	if u.Workloads[0].ID != id("reader", "team-a", "web") {
		t.Fatalf("workloads = %v", u.Workloads)
	}
	if got := values(u)[id("reader", "team-a", "web")][sources.ReplicasReady]; got != 3 {
		t.Errorf("web ready = %v", got)
	}
	// What RBAC forbids is a permanent limit, not a failure: Partial, no
	// Err, and the rows perch can see stay fresh.
	if u.Err != nil {
		t.Fatalf("err = %v, want none: forbidden resources are reported as Partial", u.Err)
	}
	if u.Partial == nil || !errors.Is(u.Partial, kube.ErrPartial) {
		t.Fatalf("partial = %v, want the forbidden resources", u.Partial)
	}
	st := store.New()
	st.Apply(u)
	if sum := st.Summaries(u.At.Add(time.Second), 0); len(sum) != 1 || sum[0].Stale {
		t.Errorf("rows = %+v, want team-a's web, fresh", sum)
	}
	if h := st.Health(); len(h) != 1 || h[0].Err != nil || h[0].Partial == nil {
		t.Errorf("health = %+v, want no error and the partial note", h)
	}
	msg := u.Partial.Error()
	for _, want := range []string{"context reader", "forbidden", "pods", "deployments.apps", "jobs.batch", "in all namespaces", "nodes at cluster scope"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, tr.Status.Token) {
		t.Fatal("the error quotes the token")
	}
	if pods, err := s.Pods(ctx, id("reader", "team-a", "web")); err != nil || len(pods) != 3 {
		t.Errorf("pods = %d, %v", len(pods), err)
	}
	t.Logf("reported: %s", msg)
	checkAudit(t, "system:serviceaccount:"+ns+":"+sa)
}

// checkAudit proves from the API server's own audit log that the user
// issued only get, list and watch, and that RBAC denied the cluster-wide reads.
func checkAudit(t *testing.T, user string) {
	t.Helper()
	f, err := os.Open(filepath.Join(env.dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	verbs := map[string]int{}
	denied := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Verb string `json:"verb"`
			User struct {
				Username string `json:"username"`
			} `json:"user"`
			ObjectRef struct {
				Namespace string `json:"namespace"`
				Resource  string `json:"resource"`
			} `json:"objectRef"`
			Annotations map[string]string `json:"annotations"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.User.Username != user {
			continue
		}
		verbs[ev.Verb]++
		if ev.Annotations["authorization.k8s.io/decision"] == "forbid" && ev.ObjectRef.Namespace == "" {
			denied++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for v, n := range verbs {
		names = append(names, fmt.Sprintf("%s=%d", v, n))
		if v != "get" && v != "list" && v != "watch" {
			t.Errorf("perch issued verb %q (%d times)", v, n)
		}
	}
	sort.Strings(names)
	t.Logf("audit log, %s: %s; %d cluster-wide requests denied by RBAC", user, strings.Join(names, " "), denied)
	if verbs["watch"] == 0 || denied == 0 {
		t.Errorf("audit log has no watch or no RBAC denial for %s: %v, denied %d", user, verbs, denied)
	}
}

func TestAPIServerRestartRecovers(t *testing.T) {
	_, out := start(t, kube.Config{Kubeconfig: env.kubeconfig, Context: "admin", AllNamespaces: true, Metrics: kube.MetricsOff})
	web := id("admin", "team-a", "web")
	waitFor(t, out, "complete", 30*time.Second, func(u sources.Update) bool { return u.Complete })
	if _, err := run("stop-apiserver", env.dir); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_, _ = run("start-apiserver", env.dir)
		}
		restoreWeb(t)
	})
	u := waitFor(t, out, "the outage to be reported", 30*time.Second, func(u sources.Update) bool { return u.Err != nil })
	if !strings.Contains(u.Err.Error(), "connection refused") || len(u.Workloads) == 0 {
		t.Errorf("during the outage: err = %v, %d workloads (the cached ones must stay)", u.Err, len(u.Workloads))
	}
	if _, err := run("start-apiserver", env.dir); err != nil {
		t.Fatal(err)
	}
	restarted = true
	scale(t, 2)
	began := time.Now()
	waitFor(t, out, "the change after the restart", 60*time.Second, func(u sources.Update) bool {
		return u.Err == nil && values(u)[web][sources.ReplicasDesired] == 2
	})
	t.Logf("recovered %s after the API server came back", time.Since(began).Round(time.Millisecond))
}

func TestMetricsAPIUsage(t *testing.T) {
	select {
	case err := <-env.metricsReady:
		if err != nil {
			t.Fatalf("metrics-server: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("metrics-server not ready after 2 minutes")
	}
	s, out := start(t, kube.Config{Kubeconfig: env.kubeconfig, Context: "admin", Namespace: "team-a", Refresh: time.Second})
	web := id("admin", "team-a", "web")
	p := cost.Defaults()
	// kwok turns the 50m annotation into a CPU counter; metrics-server's
	// rate over it is within a fraction of a percent of 50m.
	u := waitFor(t, out, "usage of web's pods", 90*time.Second, func(u sources.Update) bool {
		w := values(u)[web]
		return w[sources.ReplicasReady] == 3 && math.Abs(w[sources.CPUUsage]-0.15) < 0.003
	})
	w := values(u)[web]
	// kwok reports 80Mi per pod, above the 64Mi request: cost uses usage for memory.
	if !near(w[sources.MemUsage], 3*80*mib) || !near(w[sources.CostRate], 3*p.KubeHourly(0.1, 0.05, 64*mib, 80*mib)) {
		t.Errorf("usage and cost = %v", w)
	}
	if st := s.Status(); len(st) != 1 || st[0].Usage != "usage: metrics.k8s.io" {
		t.Errorf("status = %+v", st)
	}
	pods, err := s.Pods(context.Background(), web)
	if err != nil || len(pods) != 3 || math.Abs(pods[0].CPUUsage-0.05) > 0.001 || !near(pods[0].MemUsage, 80*mib) {
		t.Errorf("pods = %+v, %v", pods, err)
	}
}
