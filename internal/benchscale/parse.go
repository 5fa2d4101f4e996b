package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/PID/stat: USER_HZ, which
// the kernel fixes at 100 for every user-space interface on Linux.
const userHZ = 100

// memStatus is what /proc/PID/status says about memory, in bytes.
type memStatus struct {
	RSS, HWM int64
}

// parseStatus reads VmRSS and VmHWM ("VmRSS:	   51234 kB").
func parseStatus(r io.Reader) (memStatus, error) {
	var m memStatus
	var seen int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("status: unexpected %s line %q", key, sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("status: %s: %w", key, err)
		}
		if key == "VmRSS" {
			m.RSS = kb * 1024
		} else {
			m.HWM = kb * 1024
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("status: %w", err)
	}
	if seen != 2 {
		return m, errors.New("status: VmRSS or VmHWM missing (process gone?)")
	}
	return m, nil
}

// parseStatTicks returns utime+stime (clock ticks) from /proc/PID/stat.
// The command name (field 2) may hold spaces and parentheses, so fields
// are counted after its last ')'.
func parseStatTicks(b []byte) (int64, error) {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command name in %q", truncate(s, 80))
	}
	f := strings.Fields(s[i+1:])
	// After ")": state(3) ppid(4) ... utime(14) stime(15): indexes 11 and 12.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: only %d fields after the command name", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat: utime/stime: %w", err)
	}
	return u + st, nil
}

// parseLoadavg returns the 1-minute load average from /proc/loadavg.
func parseLoadavg(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, fmt.Errorf("loadavg: %q", truncate(string(b), 80))
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("loadavg: %w", err)
	}
	return v, nil
}

// header is what perch's first line says: " perch  ● kubernetes ok 3s ago
// ● prometheus ok 1s ago ...   1504 workloads  $12.3/h ...".
type header struct {
	Workloads int             // -1 when the count is not shown yet
	OK        map[string]bool // source name → shown as "● NAME ok"
	Bad       bool            // a source is waiting, stale, degraded or down
}

var (
	workloadsRE = regexp.MustCompile(`(\d+) workloads`)
	sourceRE    = regexp.MustCompile(`([●✖◌]) (\S+) (waiting|ok|stale|degraded|down)\b`)
)

func parseHeader(line string) header {
	h := header{Workloads: -1, OK: map[string]bool{}}
	if m := workloadsRE.FindStringSubmatch(line); m != nil {
		h.Workloads, _ = strconv.Atoi(m[1])
	}
	for _, m := range sourceRE.FindAllStringSubmatch(line, -1) {
		if m[1] == "●" && m[3] == "ok" {
			h.OK[m[2]] = true
		} else {
			h.Bad = true
		}
	}
	if strings.Contains(line, "◌ waiting for") {
		h.Bad = true
	}
	return h
}

// complete reports whether the header shows every source healthy and the
// expected number of workloads: the first complete frame.
func (h header) complete(sources []string, workloads int) bool {
	if h.Bad || h.Workloads != workloads {
		return false
	}
	for _, s := range sources {
		if !h.OK[s] {
			return false
		}
	}
	return true
}

// auditEvent is the part of a kube-apiserver audit event (JSON lines) the
// benchmark reads.
type auditEvent struct {
	AuditID string `json:"auditID"`
	Stage   string `json:"stage"`
	Verb    string `json:"verb"`
	User    struct {
		Username string `json:"username"`
	} `json:"user"`
	Received time.Time `json:"requestReceivedTimestamp"`
}

// auditRequest is one request (a watch logs ResponseStarted and
// ResponseComplete under the same audit ID).
type auditRequest struct {
	Verb     string
	Received time.Time
}

// readAudit returns the requests of user in an audit log, by audit ID.
func readAudit(r io.Reader, user string) (map[string]auditRequest, error) {
	out := map[string]auditRequest{}
	needle := []byte(`"username":"` + user + `"`)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		// Cheap pre-filter: most lines belong to other users.
		if !bytes.Contains(b, needle) {
			continue
		}
		var ev auditEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			return nil, fmt.Errorf("audit log line %d: %w", line, err)
		}
		if ev.User.Username != user || ev.AuditID == "" {
			continue
		}
		out[ev.AuditID] = auditRequest{Verb: ev.Verb, Received: ev.Received}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return out, nil
}

// verbsBetween counts the requests received in [from, to) by verb.
func verbsBetween(reqs map[string]auditRequest, from, to time.Time) map[string]int {
	out := map[string]int{}
	for _, r := range reqs {
		if !r.Received.Before(from) && r.Received.Before(to) {
			out[r.Verb]++
		}
	}
	return out
}

// readOnlyVerbs reports the verbs outside get, list and watch.
func readOnlyVerbs(counts map[string]int) (bad []string) {
	for v, n := range counts {
		switch v {
		case "get", "list", "watch":
		default:
			bad = append(bad, fmt.Sprintf("%s×%d", v, n))
		}
	}
	return bad
}

// parseHTTPRequests sums Prometheus's prometheus_http_requests_total by
// handler from its own /metrics (text format).
func parseHTTPRequests(r io.Reader) (map[string]float64, error) {
	const name = "prometheus_http_requests_total{"
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	found := false
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			return nil, fmt.Errorf("prometheus metrics: malformed line %q", truncate(line, 120))
		}
		handler, ok := labelValue(line[len(name):end], "handler")
		if !ok {
			return nil, fmt.Errorf("prometheus metrics: no handler label in %q", truncate(line, 120))
		}
		f := strings.Fields(line[end+1:])
		if len(f) < 1 {
			return nil, fmt.Errorf("prometheus metrics: no value in %q", truncate(line, 120))
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("prometheus metrics: %w", err)
		}
		out[handler] += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("prometheus metrics: %w", err)
	}
	if !found {
		return nil, errors.New("prometheus metrics: no prometheus_http_requests_total series")
	}
	return out, nil
}

// labelValue finds name="value" in a label list (values without escaped
// quotes, which handler paths never have).
func labelValue(labels, name string) (string, bool) {
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.TrimSpace(k) == name {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

// queriesBetween is the increase of the query handlers' counters (every
// handler but Prometheus's own /metrics, which the benchmark reads).
func queriesBetween(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for h, v := range after {
		if h == "/metrics" {
			continue
		}
		if d := v - before[h]; d > 0 {
			out[h] = d
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
