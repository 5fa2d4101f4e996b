package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/sources/influxdb"
)

func TestDemoFeedUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--influx URL is required"},
		{[]string{"--influx", "127.0.0.1:8086", "--bucket", "b"}, "http:// or https://"},
		{[]string{"--influx", "http://u:p@127.0.0.1:8086", "--bucket", "b"}, "must not hold credentials"},
		{[]string{"--influx", "http://127.0.0.1:8086"}, "--bucket is required"},
		{[]string{"--influx", "http://127.0.0.1:8086", "--bucket", "b", "--schema", "csv"}, "--schema must be"},
		{[]string{"--influx", "http://127.0.0.1:8086", "--bucket", "b", "--interval", "1ms"}, "--interval"},
		{[]string{"--influx", "http://127.0.0.1:8086", "--bucket", "b", "--history", "-1h"}, "--history"},
		{[]string{"--influx", "http://127.0.0.1:8086", "--bucket", "b", "--token", "x", "--token-file", "f"}, "not both"},
		{[]string{"--influx", "http://127.0.0.1:8086", "--bucket", "b", "--workloads", "99999"}, "Workloads"},
	} {
		var stderr bytes.Buffer
		err := runDemoFeed(context.Background(), env{stdout: &stderr, stderr: &stderr, getenv: func(string) string { return "" }}, c.args)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("demo-feed %v: %v, want a usage error with %q", c.args, err, c.want)
		}
	}
}

// TestDemoFeedReportsWriteErrors: a server that is down is a runtime
// error naming the bucket, not a panic or a usage error.
func TestDemoFeedReportsWriteErrors(t *testing.T) {
	var stderr bytes.Buffer
	err := runDemoFeed(context.Background(), env{stdout: &stderr, stderr: &stderr, getenv: func(string) string { return "" }},
		[]string{"--influx", "http://127.0.0.1:1", "--bucket", "metrics/autogen", "--history", "1m", "--once"})
	if err == nil || errors.As(err, new(usageError)) || !strings.Contains(err.Error(), `bucket "metrics/autogen"`) {
		t.Fatalf("got %v", err)
	}
}

func TestInfluxDBConfigErrorsNameTheLine(t *testing.T) {
	yaml := "sources:\n  - type: influxdb\n    url: http://127.0.0.1:8086\n    bucket: metrics\n    presets: [nope]\n"
	cfg, err := config.Parse("perch.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	_, err = buildSources(cfg, kubeFlags{})
	if err == nil || !strings.Contains(err.Error(), "perch.yaml:5: sources[0].presets: unknown preset") {
		t.Fatalf("got %v", err)
	}
	yaml = "sources:\n  - type: influxdb\n    name: metrics\n    url: http://127.0.0.1:8086\n    bucket: metrics/autogen\n    token: u:p\n    window: 2m\n"
	if cfg, err = config.Parse("perch.yaml", []byte(yaml)); err != nil {
		t.Fatal(err)
	}
	srcs, err := buildSources(cfg, kubeFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := srcs[0].(*influxdb.Source); !ok || s.Name() != "metrics" {
		t.Fatalf("built %T named %q", srcs[0], srcs[0].Name())
	}
}
