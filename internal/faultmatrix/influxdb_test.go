package faultmatrix

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/internal/faultproxy"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/influxdb"
	"github.com/perch-dev/perch/sources/influxdb/influxfeed"
	"github.com/perch-dev/perch/sources/sim"
)

// The InfluxDB pipeline's settings. The source's refresh is at least 1 s;
// its rounds run every 250 ms here (see polling) so that 14 rows take
// well under a minute.
const (
	influxTimeout = 2 * time.Second
	influxRefresh = 250 * time.Millisecond
	// influxMaxSeries is lowered from the default 20,000 (as the
	// Prometheus matrix lowers its own) so that the "cap and say so" path
	// is reached within the timeout under -race: the client parses a few
	// thousand rows a second there on a loaded machine, three queries at
	// once.
	influxMaxSeries = 500
	// influxQueries is one round: the invocations preset's latency and
	// traffic families and the CloudWatch family (detection runs once).
	influxQueries = 3
)

// The real server runs with HTTP auth; the token is "user:password".
const (
	influxUser     = "perch"
	influxPassword = "matrix-pw-5e2a71"
	influxToken    = influxUser + ":" + influxPassword
	influxBucket   = "metrics/autogen"
)

// influxServer is influxd 1.8.3 (scripts/stack/influxdb.sh, auth on).
var influxServer = &server{name: "influxdb", env: []string{"AUTH=" + influxToken}, args: []string{"metrics"}, seed: seedInflux}

func influxURL(t testing.TB) string { return influxServer.get(t).(string) }

// seedInflux writes the simulator's functions: per-invocation points and
// CloudWatch statistics from 10 minutes ago to 5 minutes ahead, so the
// source's sliding window always has data while the tests run.
func seedInflux(url, _ string) (any, error) {
	now := time.Now().UTC().Truncate(time.Second)
	s, err := sim.New(sim.Config{Start: now.Truncate(24 * time.Hour), Cluster: "demo", Prices: cost.Defaults(),
		Clock: func() time.Time { return now }})
	if err != nil {
		return nil, err
	}
	g := influxfeed.NewSynth(s, 7, 4)
	w := influxfeed.NewWriter(url, "", influxBucket, influxToken)
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := w.WriteInvocations(ctx, g.Invocations(now.Add(-10*time.Minute), now.Add(5*time.Minute), 15*time.Second)); err != nil {
		return nil, err
	}
	if err := w.WriteCloudWatch(ctx, g.CloudWatch(now.Add(-15*time.Minute), now.Add(5*time.Minute))); err != nil {
		return nil, err
	}
	return url, nil
}

// influxConfig is one InfluxDB pipeline.
type influxConfig struct {
	Timeout, Every time.Duration // Every: how often rounds run (see polling)
	BackoffBase    time.Duration // after failed rounds (the source's own: 1 s)
	Presets        []string      // empty: detected, as by default
	Width, Height  int
}

// startInflux runs the InfluxDB source against the real server behind a
// fault proxy.
func startInflux(t testing.TB, c influxConfig) *pipeline {
	t.Helper()
	url := influxURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	px, err := faultproxy.Start(ctx, strings.TrimPrefix(url, "http://"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	src, err := influxdb.New(influxdb.Config{URL: px.URL(), Bucket: influxBucket, Token: influxToken, Cluster: "demo",
		Timeout: c.Timeout, Refresh: time.Second, MaxSeries: influxMaxSeries, Presets: c.Presets})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	fed := polling{Source: src, every: c.Every, base: c.BackoffBase}
	return startFeeding(t, ctx, cancel, px, fed, src.Queries, c.Every, c.Timeout, c.Width, c.Height)
}

// polling runs the InfluxDB source's rounds (its Poll) every `every`, with
// the sources.Poller its Run uses and Run's backoff (base, capped at a
// minute). Run is that and nothing more, but takes refresh ≥ 1 s: the
// matrix would take minutes. Poll, the HTTP client and the backoff run
// unchanged.
type polling struct {
	*influxdb.Source
	every, base time.Duration
}

func (p polling) Run(ctx context.Context, out chan<- sources.Update) error {
	defer p.Close()
	poller := sources.Poller{Interval: p.every, BackoffBase: p.base, BackoffMax: time.Minute,
		Soft: func(err error) bool { return errors.Is(err, influxdb.ErrPartial) }}
	return poller.Run(ctx, out, p.Poll)
}

var influxTimedOut = []string{"timed out after 2s", "timeout awaiting response headers"}

func influxFaults() []fault {
	now := time.Now()
	// What influxd 2.x answers for an internal error (1.8 puts its message
	// in X-Influxdb-Error); the client reads either.
	const internal = `{"code":"internal error","message":"engine: error reading tsm block: shard 42 is corrupt"}`
	return []fault{
		{name: "refuse", mode: faultproxy.Refuse, cause: []string{"connection refused"}},
		{name: "reset", mode: faultproxy.Reset, cause: []string{"connection reset", "EOF", "broken pipe", "closed network connection"}},
		{name: "hang", mode: faultproxy.Hang, cause: influxTimedOut, timesOut: true},
		{name: "slow 10s", mode: faultproxy.Slow(10 * time.Second), cause: influxTimedOut, timesOut: true},
		{name: "slow 500ms", mode: faultproxy.Slow(500 * time.Millisecond), quiet: true},
		{name: "500 json", mode: faultproxy.Respond(500, "application/json", internal), cause: []string{"shard 42 is corrupt"}},
		{name: "502", mode: faultproxy.Status(502), cause: []string{"502"}},
		{name: "503", mode: faultproxy.Status(503), cause: []string{"503"}},
		// A gateway quoting the request, "Authorization: Token user:password" included.
		{name: "401 echoing the request", mode: faultproxy.Echo(401), cause: []string{"401"}, secretQuoted: true},
		// The latency family (which also counts the invocations) fails,
		// traffic and CloudWatch answer: everything derived from it, and the
		// cost, must keep the last values; cold starts may move on.
		{name: "partial", mode: faultproxy.Respond(500, "application/json", internal).OnRequestText("estimate_tdigest"),
			cause: []string{"shard 42 is corrupt"}, partial: true,
			kept: []sources.Metric{sources.RequestRate, sources.LatencyP50, sources.LatencyP95, sources.LatencyP99,
				sources.Concurrency, sources.ErrorRatio, sources.CostRate}},
		{name: "cut mid-body", mode: faultproxy.CutMidBody, cause: []string{"unexpected EOF"}},
		{name: "garbage", mode: faultproxy.Garbage, cause: []string{"not a Flux answer", "unexpected application/json response"}},
		// Cut in the middle of a row, or (worse: it parses) between rows.
		{name: "truncated csv", mode: faultproxy.Truncate, cause: []string{"answer cut short", "malformed answer", "ends in the middle of a table"}},
		// 1,000,000 rows (about 130 MB) for every query: read as a stream up
		// to max_series rows, then the body is closed.
		// Running out of time first (a loaded machine, -race) must be said too.
		{name: "huge 1M rows", mode: faultproxy.Huge(faultproxy.FluxCSV(1_000_000, now)).OnPath("/api/v2/query"),
			cause: append([]string{"max_series"}, influxTimedOut...), huge: true},
	}
}

// influxGaps: none known.
var influxGaps = map[string]string{}

var influxMatrix = matrix{
	source:   "influxdb",
	settings: fmt.Sprintf("influxd 1.8.3, timeout %s, rounds every %s, max_series %d, auth on", influxTimeout, influxRefresh, influxMaxSeries),
	timeout:  influxTimeout,
	refresh:  influxRefresh,
	perRound: influxQueries,
	waves:    1, // three queries, four in flight at most
	gaps:     influxGaps,
	// Four queries in flight, each read as a stream and capped at
	// max_series rows: a few MB each. 64 MiB leaves room for -race.
	maxHeapGrowth: 64 << 20,
	secret:        influxPassword,
}

// TestInfluxDBFaultMatrix drives the InfluxDB source against a real
// influxd, store.Feed, the store and two TUI models through every fault
// and back to healthy.
func TestInfluxDBFaultMatrix(t *testing.T) {
	parallelMatrix(t)
	p := startInflux(t, influxConfig{Timeout: influxTimeout, Every: influxRefresh, BackoffBase: time.Second, Width: 200, Height: 50})
	narrow := p.addUI(t, 120, 40)
	defer p.stop()
	mx := influxMatrix
	results := mx.run(t, p, narrow, influxFaults())
	report(t, mx.source, "influxdb × fault ("+mx.settings+")", results)
}
