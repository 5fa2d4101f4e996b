package main

import (
	"maps"
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	const status = "Name:\tperch\nVmPeak:\t 1500000 kB\nVmHWM:\t   61234 kB\nVmRSS:\t   51200 kB\nRssAnon:\t 40000 kB\n"
	m, err := parseStatus(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS != 51200*1024 || m.HWM != 61234*1024 {
		t.Fatalf("got %+v", m)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\nVmHWM:\t1 kB\n", "VmRSS:\tx kB\nVmHWM:\t1 kB\n"} {
		if _, err := parseStatus(strings.NewReader(bad)); err == nil {
			t.Errorf("parseStatus(%q) should fail", bad)
		}
	}
}

func TestParseStatTicks(t *testing.T) {
	// A command name with spaces and a parenthesis must not shift fields.
	stat := "4242 (perch (x) y) S 1 4242 4242 34816 4242 4194304 1000 0 0 0 731 269 0 0 20 0 12 0 100 0 0\n"
	got, err := parseStatTicks([]byte(stat))
	if err != nil || got != 1000 {
		t.Fatalf("got %d, %v; want 731+269", got, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 u s"} {
		if _, err := parseStatTicks([]byte(bad)); err == nil {
			t.Errorf("parseStatTicks(%q) should fail", bad)
		}
	}
}

func TestParseLoadavg(t *testing.T) {
	if v, err := parseLoadavg([]byte("2.02 1.47 2.90 10/128 11828\n")); err != nil || v != 2.02 {
		t.Fatalf("got %v, %v", v, err)
	}
	if _, err := parseLoadavg([]byte("x")); err == nil {
		t.Fatal("want an error")
	}
}

func TestHeaderComplete(t *testing.T) {
	srcs := []string{"kubernetes", "prometheus"}
	for _, c := range []struct {
		line string
		n    int
		want bool
	}{
		{" perch  ● kubernetes ok 7s ago ● prometheus ok 12s ago          1504 workloads  $115/h  $2.75k/day  16:32", 1504, true},
		{" perch  ● kubernetes ok 7s ago ● prometheus ok 12s ago          1004 workloads  $115/h  $2.75k/day  16:32", 1504, false},
		{" perch  ● kubernetes ok 0s ago ✖ prometheus down since 0s ago: no known metrics           1504 workloads", 1504, false},
		{" perch  ● kubernetes ok 0s ago ◌ prometheus waiting                  500 workloads", 500, false},
		{" perch  ◌ waiting for kubernetes, prometheus              0 workloads  $0/h", 0, false},
		{" perch  ● kubernetes ok 7s ago ◐ partial: usage: metrics.k8s.io not installed ● prometheus ok 1s ago  1504 workloads", 1504, true},
		{" perch  ● kubernetes ok 7s ago                         1504 workloads", 1504, false},
		{"", 0, false},
	} {
		if got := parseHeader(c.line).complete(srcs, c.n); got != c.want {
			t.Errorf("complete(%q, %d) = %v, want %v", c.line, c.n, got, c.want)
		}
	}
}

func TestReadAuditCountsRequestsOnce(t *testing.T) {
	const log = `{"auditID":"a","stage":"ResponseStarted","verb":"watch","user":{"username":"audited"},"requestReceivedTimestamp":"2026-11-26T10:00:05.1Z"}
{"auditID":"b","stage":"ResponseComplete","verb":"list","user":{"username":"audited"},"requestReceivedTimestamp":"2026-11-26T10:00:10Z"}
{"auditID":"c","stage":"ResponseComplete","verb":"create","user":{"username":"admin"},"requestReceivedTimestamp":"2026-11-26T10:00:11Z"}
{"auditID":"a","stage":"ResponseComplete","verb":"watch","user":{"username":"audited"},"requestReceivedTimestamp":"2026-11-26T10:00:05.1Z"}
{"auditID":"d","stage":"ResponseComplete","verb":"get","user":{"username":"audited"},"requestReceivedTimestamp":"2026-11-26T10:01:30Z"}
`
	reqs, err := readAudit(strings.NewReader(log), "audited")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	got := verbsBetween(reqs, from, from.Add(time.Minute))
	if want := map[string]int{"watch": 1, "list": 1}; !maps.Equal(got, want) {
		t.Fatalf("window: %v, want %v", got, want)
	}
	all := verbsBetween(reqs, time.Time{}, from.Add(time.Hour))
	if len(readOnlyVerbs(all)) != 0 || all["get"] != 1 {
		t.Fatalf("all: %v", all)
	}
	if bad := readOnlyVerbs(map[string]int{"get": 3, "patch": 2}); len(bad) != 1 || bad[0] != "patch×2" {
		t.Fatalf("readOnlyVerbs: %v", bad)
	}
	if _, err := readAudit(strings.NewReader(`{"user":{"username":"audited"`+"\n"), "audited"); err == nil {
		t.Fatal("a broken line of the user must be an error")
	}
}

func TestParseHTTPRequests(t *testing.T) {
	const metrics = `# HELP prometheus_http_requests_total Counter of HTTP requests.
# TYPE prometheus_http_requests_total counter
prometheus_http_requests_total{code="200",handler="/api/v1/query"} 40
prometheus_http_requests_total{code="400",handler="/api/v1/query"} 2
prometheus_http_requests_total{code="200",handler="/api/v1/query_range"} 7
prometheus_http_requests_total{code="200",handler="/metrics"} 9
prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="0.1"} 3
`
	before, err := parseHTTPRequests(strings.NewReader(metrics))
	if err != nil {
		t.Fatal(err)
	}
	if before["/api/v1/query"] != 42 || before["/api/v1/query_range"] != 7 || before["/metrics"] != 9 {
		t.Fatalf("got %v", before)
	}
	after := map[string]float64{"/api/v1/query": 50, "/api/v1/query_range": 7, "/metrics": 11, "/api/v1/labels": 1}
	if got, want := queriesBetween(before, after), map[string]float64{"/api/v1/query": 8, "/api/v1/labels": 1}; !maps.Equal(got, want) {
		t.Fatalf("queriesBetween = %v, want %v", got, want)
	}
	if _, err := parseHTTPRequests(strings.NewReader("up 1\n")); err == nil {
		t.Fatal("no counter must be an error")
	}
}
