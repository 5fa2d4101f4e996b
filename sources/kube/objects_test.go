package kube

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/perch-dev/perch/sources"
)

func TestPodTransformKeepsOnlyWhatPerchShows(t *testing.T) {
	p := pod("shop", "web-7d9f-aaaaa", "ReplicaSet", "web-7d9f", corev1.PodRunning, true, 250, 256)
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", RestartCount: 2}}
	obj, err := slimPod(p)
	if err != nil {
		t.Fatal(err)
	}
	s := obj.(*podObj)
	if s.Name != "web-7d9f-aaaaa" || s.Namespace != "shop" || s.ResourceVersion != "1" || s.OwnerKind != "ReplicaSet" ||
		s.OwnerName != "web-7d9f" || s.Node != "node-1" || s.Phase != corev1.PodRunning || !s.Ready || s.Restarts != 3 ||
		s.CPUReq != 250 || s.MemReq != 256<<20 || !s.CreationTimestamp.Time.Equal(t0.Add(-time.Hour)) {
		t.Errorf("slim pod = %+v", s)
	}
	if s.Labels != nil || s.Annotations != nil || s.ManagedFields != nil || s.OwnerReferences != nil || s.UID != "" {
		t.Errorf("transform kept metadata perch does not show: %+v", s.ObjectMeta)
	}
	again, _ := slimPod(s)
	if again != any(s) {
		t.Error("transform is not idempotent on a slim record")
	}
	if k, ok := podWorkload(s); !ok || k != (wkKey{sources.Deployment, "shop", "web"}) {
		t.Errorf("workload of pod = %v %v", k, ok)
	}
	c := s.DeepCopyObject().(*podObj)
	c.Name = "changed"
	if s.Name != "web-7d9f-aaaaa" {
		t.Error("DeepCopyObject shares state")
	}
}

func TestPodRequestsCountSidecarsInitAndOverhead(t *testing.T) {
	q := func(cpu, mem string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}
	}
	always := corev1.ContainerRestartPolicyAlways
	cases := []struct {
		name     string
		spec     corev1.PodSpec
		cpu, mem int64
	}{
		{"containers add up", corev1.PodSpec{Containers: []corev1.Container{{Resources: q("100m", "64Mi")}, {Resources: q("200m", "64Mi")}}}, 300, 128 << 20},
		{"sidecars add, a big init container wins", corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: q("50m", "32Mi"), RestartPolicy: &always}, {Resources: q("2", "16Mi")}},
			Containers:     []corev1.Container{{Resources: q("100m", "64Mi")}},
		}, 2050, 96 << 20},
		{"overhead", corev1.PodSpec{Containers: []corev1.Container{{Resources: q("100m", "64Mi")}},
			Overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("120Mi")}}, 350, 184 << 20},
		{"no requests", corev1.PodSpec{Containers: []corev1.Container{{}}}, 0, 0},
	}
	for _, c := range cases {
		cpu, mem := podRequests(&c.spec)
		if cpu != c.cpu || mem != c.mem {
			t.Errorf("%s: got %dm %d, want %dm %d", c.name, cpu, mem, c.cpu, c.mem)
		}
	}
}

func TestWorkloadTransforms(t *testing.T) {
	d, _ := slimDeployment(deployment("shop", "web", 4, 3, 2))
	if w := d.(*workloadObj); w.Kind != sources.Deployment || w.Desired != 4 || w.Current != 3 || w.Ready != 2 || w.Annotations != nil {
		t.Errorf("deployment = %+v", w)
	}
	nilReplicas := deployment("shop", "web", 0, 0, 0)
	nilReplicas.Spec.Replicas = nil
	if w, _ := slimDeployment(nilReplicas); w.(*workloadObj).Desired != 1 {
		t.Error("a Deployment without replicas wants 1")
	}
	ds, _ := slimDaemonSet(daemonSet("kube-system", "agent", 6, 5, 4))
	if w := ds.(*workloadObj); w.Desired != 6 || w.Current != 5 || w.Ready != 4 {
		t.Errorf("daemonset = %+v", w)
	}
	h, _ := slimHPA(hpa("shop", "web", "Deployment", "web", 2, 10))
	if x := h.(*hpaObj); x.Min != 2 || x.Max != 10 || x.TargetCPU != 60 || x.TargetKind != "Deployment" {
		t.Errorf("hpa = %+v", x)
	}
	n, _ := slimNode(node("n1", true))
	if x := n.(*nodeObj); !x.Ready || x.CPU != 4000 || x.InstanceType != "m5.large" {
		t.Errorf("node = %+v", x)
	}
	long := warningEvent("shop", "e", "Pod", "p", "BackOff", strings.Repeat("x", 1000), t0, corev1.EventTypeWarning)
	e, _ := slimEvent(long)
	if x := e.(*eventObj); len(x.Message) > maxEventMessage+len("…") || !x.Warning || x.Count != 3 || !x.Last.Equal(t0) {
		t.Errorf("event = %+v", x)
	}
}

func TestConfigDefaultsAndChecks(t *testing.T) {
	c, err := Config{Context: "a, b", Contexts: []string{"b", "c"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Contexts, ",") != "a,b,c" || c.Refresh != DefaultRefresh || c.QPS != DefaultQPS || c.Burst != DefaultBurst ||
		c.Metrics != MetricsAuto || c.Name != "kubernetes" {
		t.Errorf("defaults = %+v", c)
	}
	for _, bad := range []Config{
		{Namespace: "a", AllNamespaces: true},
		{Namespace: "Bad_NS"},
		{Namespaces: []string{"ok", "-no"}},
		{Refresh: -time.Second},
		{QPS: -1},
		{Metrics: "prometheus"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

const testKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: one
  cluster: {server: "SERVER"}
users:
- name: u
  user: {token: "secret-token-value"}
contexts:
- name: alpha
  context: {cluster: one, user: u, namespace: team-a}
- name: beta
  context: {cluster: one, user: u}
current-context: beta
`

func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(strings.Replace(testKubeconfig, "SERVER", server, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKubeconfigLikeKubectl(t *testing.T) {
	path := writeKubeconfig(t, "https://127.0.0.1:1")
	env := func(k string) string {
		if k == "KUBECONFIG" {
			return "/does/not/exist" + string(os.PathListSeparator) + path
		}
		return ""
	}
	c, _ := Config{Getenv: env}.withDefaults()
	raw, rules, err := loadKubeconfig(c)
	if err != nil {
		t.Fatal(err)
	}
	names, err := contextNames(c, raw)
	if err != nil || len(names) != 1 || names[0] != "beta" {
		t.Fatalf("current context = %v %v", names, err)
	}
	var counter requestCounter
	cl, err := connect(c, raw, rules, "alpha", &counter)
	if err != nil {
		t.Fatal(err)
	}
	if cl.namespace != "team-a" || cl.server != "https://127.0.0.1:1" || cl.metrics == nil {
		t.Errorf("clients = %+v", cl)
	}
	if _, err := connect(c, raw, rules, "nope", &counter); err == nil || !strings.Contains(err.Error(), `context "nope" does not exist`) {
		t.Errorf("missing context: %v", err)
	}
	explicit, _ := Config{Kubeconfig: filepath.Join(t.TempDir(), "missing")}.withDefaults()
	if _, _, err := loadKubeconfig(explicit); err == nil {
		t.Error("a missing --kubeconfig file is not an error")
	}
}

func TestReadOnlyTransportRefusesWritesAndCounts(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	var counter requestCounter
	rt := &readOnlyTransport{next: http.DefaultTransport, counter: &counter}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req, _ := http.NewRequest(m, srv.URL+"/api/v1/namespaces/x/pods/y", nil)
		if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s: err = %v", m, err)
		}
	}
	for _, u := range []string{"/api/v1/pods?limit=500", "/api/v1/pods?watch=true&resourceVersion=5"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+u, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := counter.counts(); got != (RequestCounts{Reads: 1, Watches: 1, Refused: 4}) || hits != 2 {
		t.Errorf("counts = %+v, server hits %d", got, hits)
	}
}

func TestErrorsNeverCarryTheToken(t *testing.T) {
	// A server that rejects the token: the message must not quote it.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	path := writeKubeconfig(t, srv.URL)
	data, _ := os.ReadFile(path)
	data = []byte(strings.Replace(string(data), "cluster: {server:", "cluster: {insecure-skip-tls-verify: true, server:", 1))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Kubeconfig: path, Context: "alpha", Metrics: MetricsOff, Refresh: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	out := runSource(t, s)
	u := waitFor(t, out, "an error", func(u sources.Update) bool { return u.Err != nil })
	msg := u.Err.Error()
	if strings.Contains(msg, "secret-token-value") {
		t.Fatalf("error leaks the token: %s", msg)
	}
	if !strings.Contains(msg, "Unauthorized") || !strings.Contains(msg, "context alpha") {
		t.Errorf("error = %s", msg)
	}
	if got := s.Requests(); got.Refused != 0 || got.Reads+got.Watches == 0 {
		t.Errorf("requests = %+v", got)
	}
}
