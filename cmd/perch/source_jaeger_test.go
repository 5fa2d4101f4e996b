package main

import (
	"strings"
	"testing"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/sources/jaeger"
)

func TestJaegerSourceFromConfig(t *testing.T) {
	cfg, err := config.Parse("perch.yaml", []byte(`sources:
  - type: jaeger
    name: traces
    url: http://127.0.0.1:16686
    bearer_token: hunter2
    timeout: 3s
    cluster: demo
    api: v3
    search_depth: 300
    tls:
      insecure_skip_verify: true
`))
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := buildSources(cfg, kubeFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 || srcs[0].Name() != "traces" {
		t.Fatalf("sources %v", srcs)
	}
	if _, ok := srcs[0].(*jaeger.Source); !ok {
		t.Fatalf("built %T", srcs[0])
	}

	for _, c := range []struct{ yaml, want string }{
		{"    url: http://h\n    colour: red\n", "perch.yaml:4: sources[0].colour"},
		{"    timeout: soon\n", "perch.yaml:3: sources[0].timeout"},
		{"    url: ftp://h\n", "perch.yaml:3: sources[0].url: url must be an absolute http:// or https:// URL"},
		{"    url: http://h\n    api: v9\n", "perch.yaml:4: sources[0].api: api must be auto, v1 or v3"},
		{"    url: http://h\n    bearer_token: hunter2\n    token_file: /t\n", "sources[0].bearer_token: set bearer_token or token_file, not both"},
	} {
		cfg, err := config.Parse("perch.yaml", []byte("sources:\n  - type: jaeger\n"+c.yaml))
		if err == nil {
			_, err = buildSources(cfg, kubeFlags{})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the token: %v", err)
		}
	}
}
