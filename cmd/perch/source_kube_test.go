package main

import (
	"strings"
	"testing"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/sources/kube"
)

func TestKubeConfigEntries(t *testing.T) {
	yaml := "sources:\n  - type: kubernetes\n    name: clusters\n    contexts: [eu, us]\n    all_namespaces: true\n    namespaces: [team-a]\n    refresh: 5s\n    qps: 10\n"
	cfg, err := config.Parse("perch.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := buildSources(cfg)
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
			_, err = buildSources(cfg)
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
