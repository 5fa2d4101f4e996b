package faultmatrix

import (
	"fmt"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/faultproxy"
)

// The Prometheus pipeline's settings. Timeout and Refresh are short so
// the matrix runs in well under a minute; maxConcurrency is the source's
// default.
const (
	timeout        = 2 * time.Second
	refresh        = 250 * time.Millisecond
	maxConcurrency = 4
	// maxSeries is lowered from the default 20,000 so the "cap and say so"
	// path is reached by a 400-series answer that decodes within the
	// timeout even under -race.
	maxSeries = 200
)

// maxHeapGrowth is the memory perch may use while huge answers arrive:
// max_concurrency queries × the 64 MiB body cap, ×4 for decoding.
const maxHeapGrowth = maxConcurrency * 64 << 20 * 4

// timedOut: the source's own words, or the transport's when its
// response-header timeout (also the configured timeout) fires first.
var timedOut = []string{"timed out after 2s", "timeout awaiting response headers"}

func faults() []fault {
	now := time.Now()
	return []fault{
		{name: "refuse", mode: faultproxy.Refuse, cause: []string{"connection refused"}},
		{name: "reset", mode: faultproxy.Reset, cause: []string{"connection reset", "EOF", "broken pipe", "closed network connection"}},
		{name: "hang", mode: faultproxy.Hang, cause: timedOut, timesOut: true},
		{name: "slow 10s", mode: faultproxy.Slow(10 * time.Second), cause: timedOut, timesOut: true},
		{name: "slow 300ms", mode: faultproxy.Slow(300 * time.Millisecond), quiet: true},
		{name: "500 json", mode: faultproxy.Respond(500, "application/json", `{"status":"error","errorType":"internal","error":"tsdb head is corrupt"}`), cause: []string{"tsdb head is corrupt"}},
		{name: "502", mode: faultproxy.Status(502), cause: []string{"502"}},
		{name: "503", mode: faultproxy.Status(503), cause: []string{"503"}},
		// A gateway that quotes the request (and its Authorization header)
		// in its error page.
		{name: "401 echoing the request", mode: faultproxy.Echo(401), cause: []string{"401"}, secretQuoted: true},
		// One query of the round fails, the others answer: what a
		// struggling server (or one slow recording rule) looks like.
		{name: "partial", mode: faultproxy.Respond(500, "application/json", `{"status":"error","errorType":"internal","error":"query timed out in expression evaluation"}`).
			OnRequestText("container_cpu_usage_seconds_total"), cause: []string{"query timed out in expression evaluation"}, partial: true},
		{name: "cut mid-body", mode: faultproxy.CutMidBody, cause: []string{"unexpected EOF"}},
		{name: "garbage", mode: faultproxy.Garbage, cause: []string{"invalid character", "bad_response"}},
		{name: "truncated json", mode: faultproxy.Truncate, cause: []string{"unexpected end of JSON input"}},
		// On a loaded machine a round of these can run out of time under
		// -race before the cap is reached: saying so is fine too.
		{name: "huge 400 series", mode: faultproxy.Huge(faultproxy.PrometheusVector(400, now)).OnPath("/api/v1/query"),
			cause: append([]string{"max_series"}, timedOut...), huge: true},
		// 47 MB per query: the source either decodes it and caps it, or
		// runs out of time; both must be said, and memory stay bounded.
		{name: "huge 100k series", mode: faultproxy.Huge(faultproxy.PrometheusVector(100_000, now)).OnPath("/api/v1/query"),
			cause: append([]string{"max_series", "exceeds 64 MiB"}, timedOut...), huge: true, timesOut: true},
	}
}

// knownGaps are checks that fail today because of a finding reported to
// the owning package; the matrix prints GAP instead of failing. When a gap
// no longer reproduces the table says "fixed?" so the entry can go.
var knownGaps = map[string]string{}

// plannedQueries is the number of instant queries one round of the
// server's presets makes (one per family).
const plannedQueries = 12

var promMatrix = matrix{
	source:        "prometheus",
	settings:      fmt.Sprintf("timeout %s, refresh %s, max_concurrency %d, max_series %d", timeout, refresh, maxConcurrency, maxSeries),
	timeout:       timeout,
	refresh:       refresh,
	perRound:      plannedQueries,
	waves:         (plannedQueries + maxConcurrency - 1) / maxConcurrency,
	gaps:          knownGaps,
	maxHeapGrowth: maxHeapGrowth,
	secret:        secretToken,
}

// TestPrometheusFaultMatrix drives the Prometheus source, store.Feed, the
// store and two TUI models (200 and 120 columns) through every fault and
// back to healthy, and prints the matrix.
func TestPrometheusFaultMatrix(t *testing.T) {
	parallelMatrix(t)
	p := startPipeline(t, pipelineConfig{Timeout: timeout, Refresh: refresh, MaxSeries: maxSeries, Width: 200, Height: 50})
	narrow := p.addUI(t, 120, 40)
	defer p.stop()
	mx := promMatrix
	results := mx.run(t, p, narrow, faults())
	report(t, mx.source, "prometheus × fault ("+mx.settings+")", results)
}
