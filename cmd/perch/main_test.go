package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runPerch runs the CLI in-process with an empty environment except for
// the given variables, so no real config file is picked up.
func runPerch(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if vars == nil {
		vars = map[string]string{}
	}
	if _, ok := vars["HOME"]; !ok {
		vars["HOME"] = t.TempDir()
	}
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut, func(k string) string { return vars[k] })
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runPerch(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "perch ") {
		t.Fatalf("code %d out %q", code, out)
	}
}

func TestBadUsageExitsTwo(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"snapshot", "--demo", "--format", "yaml"}, `--format "yaml"`},
		{[]string{"snapshot", "--at", "2026-11-26T14:00:00Z"}, "--at works with --demo only"},
		{[]string{"snapshot", "--demo", "--at", "yesterday"}, "--at"},
		{[]string{"--demo", "--workloads", "9000"}, "between 0 (built-in set) and 5000"},
		{[]string{"--demo", "--theme", "neon"}, `unknown theme "neon"`},
		{[]string{"--demo", "--refresh", "10ms"}, "--refresh must be at least 1s"},
		{[]string{"--demo", "stray"}, `unexpected argument "stray"`},
	}
	for _, c := range cases {
		code, _, errOut := runPerch(t, nil, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("perch %v: code %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

func TestNoSourcesSaysHowToStart(t *testing.T) {
	code, out, errOut := runPerch(t, nil)
	if code != exitUsage || out != "" {
		t.Fatalf("code %d, stdout %q", code, out)
	}
	for _, want := range []string{"no data sources configured", "perch --demo", "perch config init"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestBadConfigNamesFileLineAndKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "perch.yaml")
	body := "refresh: 15s\nprices:\n  cpu_hour: 0.03\n  cpu_houre: 1\nsources:\n  - type: demo\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runPerch(t, nil, "--config", path)
	want := path + ":4: prices.cpu_houre: unknown key"
	if code != exitUsage || !strings.Contains(errOut, want) {
		t.Fatalf("code %d stderr %q, want %q", code, errOut, want)
	}
	missing := filepath.Join(dir, "nope.yaml")
	if code, _, errOut := runPerch(t, nil, "--config", missing); code != exitUsage || !strings.Contains(errOut, "nope.yaml") {
		t.Fatalf("missing explicit config: code %d %q", code, errOut)
	}
}

func TestConfigFromXDGIsUsed(t *testing.T) {
	xdg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(xdg, "perch"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "sources:\n  - type: nosuch\n"
	if err := os.WriteFile(filepath.Join(xdg, "perch", "config.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runPerch(t, map[string]string{"XDG_CONFIG_HOME": xdg}, "snapshot")
	if code != exitUsage || !strings.Contains(errOut, "config.yaml:2") || !strings.Contains(errOut, "nosuch") {
		t.Fatalf("code %d stderr %q", code, errOut)
	}
}

const at = "2026-11-26T14:15:00Z" // ten minutes into the daily incident

func TestSnapshotIsDeterministicAndComplete(t *testing.T) {
	_, first, _ := runPerch(t, nil, "snapshot", "--demo", "--at", at)
	code, second, errOut := runPerch(t, nil, "snapshot", "--demo", "--at", at)
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	if first != second {
		t.Fatal("two snapshots at the same instant differ")
	}
	for _, want := range []string{"checkout", "payments", "thumbnailer", "order-events", "24 workloads at 2026-11-26T14:15:00Z"} {
		if !strings.Contains(first, want) {
			t.Errorf("snapshot lacks %q:\n%s", want, first)
		}
	}
}

func TestSnapshotJSONAgreesWithSimulator(t *testing.T) {
	code, out, errOut := runPerch(t, nil, "snapshot", "--demo", "--at", at, "--format", "json")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	var doc struct {
		Workloads []struct {
			Namespace, Name, Platform string
			Metrics                   map[string]*float64
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	byName := map[string]map[string]*float64{}
	for _, w := range doc.Workloads {
		byName[w.Name] = w.Metrics
	}
	pay, calm := byName["payments"], byName["cart"]
	if pay == nil || calm == nil || pay["latency_p99"] == nil || calm["latency_p99"] == nil {
		t.Fatalf("missing rows or p99: %v", out[:200])
	}
	// During the incident payments is the slow downstream.
	if *pay["latency_p99"] < 10**calm["latency_p99"] {
		t.Fatalf("payments p99 %v not far above cart's %v during the incident", *pay["latency_p99"], *calm["latency_p99"])
	}
	if post := byName["postgres"]; post["replicas_current"] == nil || *post["replicas_current"] != 3 {
		t.Fatal("postgres StatefulSet must have 3 replicas")
	}
}

func TestSnapshotMarkdownIsATable(t *testing.T) {
	code, out, _ := runPerch(t, nil, "snapshot", "--demo", "--at", at, "--format", "markdown")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2+2+24 || !strings.HasPrefix(lines[2], "| NAMESPACE |") || !strings.HasPrefix(lines[3], "|---|") {
		t.Fatalf("code %d, markdown:\n%s", code, out)
	}
}

func TestConfigInitWritesAParsableExample(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "config.yaml")
	if code, out, errOut := runPerch(t, nil, "config", "init", path); code != 0 || !strings.Contains(out, path) {
		t.Fatalf("code %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runPerch(t, nil, "config", "init", path); code != exitUsage || !strings.Contains(errOut, "--force") {
		t.Fatalf("overwrite without --force: %d %q", code, errOut)
	}
	code, out, errOut := runPerch(t, nil, "snapshot", "--config", path, "--format", "json")
	if code != 0 || !strings.Contains(out, `"workloads"`) {
		t.Fatalf("example config does not run: %d %q", code, errOut)
	}
}
