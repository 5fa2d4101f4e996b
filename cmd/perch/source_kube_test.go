package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/sources/kube"
)

func TestKubeConfigEntries(t *testing.T) {
	yaml := "sources:\n  - type: kubernetes\n    name: clusters\n    contexts: [eu, us]\n    all_namespaces: true\n    namespaces: [team-a]\n    refresh: 5s\n    qps: 10\n"
	cfg, err := config.Parse("perch.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := buildSources(cfg, kubeFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := srcs[0].(*kube.Source); !ok || s.Name() != "clusters" {
		t.Fatalf("built %T named %q", srcs[0], srcs[0].Name())
	}
	for _, tc := range []struct{ yaml, want string }{
		{"sources:\n  - type: kubernetes\n    namespace: a\n    all_namespaces: true\n", "perch.yaml:4: sources[0].all_namespaces: all_namespaces and namespace cannot both be set"},
		{"sources:\n  - type: kubernetes\n    namespace: Not_A_Name\n", "perch.yaml:3: sources[0].namespace:"},
		{"sources:\n  - type: kubernetes\n    metrics: prometheus\n", "perch.yaml:3: sources[0].metrics:"},
		{"sources:\n  - type: kubernetes\n    kube_config: x\n", "perch.yaml:3: sources[0].kube_config: unknown key"},
	} {
		cfg, err := config.Parse("perch.yaml", []byte(tc.yaml))
		if err == nil {
			_, err = buildSources(cfg, kubeFlags{})
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestKubeFlags(t *testing.T) {
	fs := newFlagSet("perch", nil)
	var k kubeFlags
	k.register(fs)
	if err := fs.Parse([]string{"--context", "a,b", "-A"}); err != nil {
		t.Fatal(err)
	}
	if !k.set() {
		t.Fatal("flags not seen")
	}
	s, err := kubeFlagsSource(k, config.Default())
	if err != nil || s.Name() != "kubernetes" {
		t.Fatalf("source %v, %v", s, err)
	}
}

func TestKubeFlagsOverrideLikeKubectl(t *testing.T) {
	base := kube.Config{Kubeconfig: "/etc/a", Context: "dev", Contexts: []string{"x", "y"}, Namespace: "shop"}
	cases := []struct {
		flags kubeFlags
		want  kube.Config
	}{
		{kubeFlags{}, base},
		{kubeFlags{context: "prod,staging"}, kube.Config{Kubeconfig: "/etc/a", Context: "prod,staging", Namespace: "shop"}},
		{kubeFlags{kubeconfig: "/tmp/k", allNamespaces: true}, kube.Config{Kubeconfig: "/tmp/k", Context: "dev", Contexts: []string{"x", "y"}, AllNamespaces: true}},
		{kubeFlags{namespace: "payments"}, kube.Config{Kubeconfig: "/etc/a", Context: "dev", Contexts: []string{"x", "y"}, Namespace: "payments"}},
	}
	for _, tc := range cases {
		got := base
		got.Contexts = append([]string(nil), base.Contexts...)
		tc.flags.apply(&got)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%+v: got %+v, want %+v", tc.flags, got, tc.want)
		}
	}
}

func TestKubeFlagsAddOrOverrideTheKubernetesSource(t *testing.T) {
	kubeconfig := writeKubeconfig(t)
	flags := kubeFlags{kubeconfig: kubeconfig, context: "a"}

	// No kubernetes source in the config: the flags add one.
	cfg, err := config.Parse("perch.yaml", []byte("sources:\n  - type: scrape\n    targets: [\"http://127.0.0.1:1/metrics\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := buildSources(cfg, flags)
	if err != nil || len(srcs) != 2 || srcs[1].Name() != "kubernetes" {
		t.Fatalf("flags must add a kubernetes source: %v %v", srcs, err)
	}
	// One: it is overridden, not duplicated, and keeps its name.
	cfg, err = config.Parse("perch.yaml", []byte("sources:\n  - type: kubernetes\n    name: prod\n    context: does-not-exist\n"))
	if err != nil {
		t.Fatal(err)
	}
	if srcs, err = buildSources(cfg, flags); err != nil || len(srcs) != 1 || srcs[0].Name() != "prod" {
		t.Fatalf("flags must override the configured source: %v %v", srcs, err)
	}
	// Two: ambiguous, said with the file and line.
	cfg, err = config.Parse("perch.yaml", []byte("sources:\n  - type: kubernetes\n    name: a\n  - type: kubernetes\n    name: b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err = buildSources(cfg, flags); err == nil || !strings.Contains(err.Error(), "perch.yaml:4") || !strings.Contains(err.Error(), "at most one kubernetes source") {
		t.Fatalf("two kubernetes sources with flags: %v", err)
	}
	// --demo with cluster flags is a usage error, not a silent choice.
	if _, _, err := pickSources(commonFlags{demo: true, kube: flags}, config.Default(), time.Now); err == nil || !strings.Contains(err.Error(), "--demo") {
		t.Fatalf("--demo with --context: %v", err)
	}
}

// writeKubeconfig is a kubeconfig with contexts a and b (nothing listens).
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	const kc = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: a
  context: {cluster: c, user: u}
- name: b
  context: {cluster: c, user: u}
current-context: a
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
