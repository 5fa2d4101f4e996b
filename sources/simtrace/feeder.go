package simtrace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/sim"
)

// DefaultBatchSpans is how many spans one export request carries at most
// (whole traces are never split).
const DefaultBatchSpans = 5000

// Feeder posts traces to an OTLP/HTTP endpoint.
type Feeder struct {
	endpoint  string
	client    *http.Client
	workloads map[string]sources.Workload
	batch     int
}

// NewFeeder sends to endpoint, an OTLP/HTTP base URL such as
// http://127.0.0.1:4318 (/v1/traces is appended unless the URL ends with
// it). workloads (may be nil) gives services their namespace and cluster.
func NewFeeder(endpoint string, workloads []sources.Workload) (*Feeder, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("simtrace: OTLP endpoint must be an http:// or https:// URL, got %q", endpoint)
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimRight(u.Path, "/") + "/v1/traces"
	}
	byName := make(map[string]sources.Workload, len(workloads))
	for _, w := range workloads {
		byName[w.ID.Name] = w
	}
	return &Feeder{endpoint: u.String(), client: &http.Client{Timeout: 30 * time.Second}, workloads: byName, batch: DefaultBatchSpans}, nil
}

// Endpoint is the URL requests go to.
func (f *Feeder) Endpoint() string { return f.endpoint }

// Send exports traces in batches and returns how many spans the endpoint
// accepted.
func (f *Feeder) Send(ctx context.Context, traces []sources.Trace) (int, error) {
	sent := 0
	for len(traces) > 0 {
		n, spans := 0, 0
		for n < len(traces) && (n == 0 || spans+len(traces[n].Spans) <= f.batch) {
			spans += len(traces[n].Spans)
			n++
		}
		if err := f.post(ctx, traces[:n]); err != nil {
			return sent, err
		}
		sent += spans
		traces = traces[n:]
	}
	return sent, nil
}

func (f *Feeder) post(ctx context.Context, traces []sources.Trace) error {
	body, err := Encode(traces, f.workloads)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("simtrace: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("simtrace: sending spans: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("simtrace: %s answered HTTP %d: %s", f.endpoint, resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	var partial struct {
		PartialSuccess struct {
			RejectedSpans json.Number `json:"rejectedSpans"`
			ErrorMessage  string      `json:"errorMessage"`
		} `json:"partialSuccess"`
	}
	if json.Unmarshal(answer, &partial) == nil {
		if n := partial.PartialSuccess.RejectedSpans; n != "" && n != "0" {
			return fmt.Errorf("simtrace: %s rejected %s spans: %s", f.endpoint, n, partial.PartialSuccess.ErrorMessage)
		}
	}
	return nil
}

// Collect asks the simulator for the traces of every workload in
// [start, end], at most perWorkload each (the newest), de-duplicated and
// in start order.
func Collect(ctx context.Context, s *sim.Sim, start, end time.Time, perWorkload int) ([]sources.Trace, error) {
	seen := map[string]bool{}
	var out []sources.Trace
	for _, w := range s.Workloads() {
		trs, err := s.Traces(ctx, sources.TraceQuery{ID: w.ID, Start: start, End: end, Limit: perWorkload})
		if err != nil {
			return nil, fmt.Errorf("simtrace: traces of %s: %w", w.ID, err)
		}
		for _, tr := range trs {
			if !seen[tr.ID] {
				seen[tr.ID] = true
				out = append(out, tr)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

// StreamConfig configures Stream.
type StreamConfig struct {
	Backfill    time.Duration // history sent first (0: none)
	Chunk       time.Duration // backfill window per Collect (default 5m)
	Interval    time.Duration // live period (default 2s); 0 after Once
	PerWorkload int           // traces per workload per window (default 20)
	Once        bool          // stop after the backfill
	Clock       func() time.Time
	// Progress, if set, is called after every export.
	Progress func(from, to time.Time, traces, spans int)
}

// Stream sends the last Backfill of traces, then every Interval the
// traces of the interval just passed, until ctx ends (or after the
// backfill with Once). It returns ctx.Err() when stopped.
func Stream(ctx context.Context, s *sim.Sim, f *Feeder, c StreamConfig) error {
	if c.Chunk <= 0 {
		c.Chunk = 5 * time.Minute
	}
	if c.Interval <= 0 {
		c.Interval = 2 * time.Second
	}
	if c.PerWorkload <= 0 {
		c.PerWorkload = 20
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	send := func(from, to time.Time, per int) error {
		trs, err := Collect(ctx, s, from, to, per)
		if err != nil {
			return err
		}
		spans, err := f.Send(ctx, trs)
		if err != nil {
			return err
		}
		if c.Progress != nil {
			c.Progress(from, to, len(trs), spans)
		}
		return nil
	}
	now := c.Clock()
	for from := now.Add(-c.Backfill); from.Before(now); from = from.Add(c.Chunk) {
		// Collect's windows are closed: stop a nanosecond short of the next.
		to := now
		if next := from.Add(c.Chunk); next.Before(now) {
			to = next.Add(-time.Nanosecond)
		}
		if err := send(from, to, c.PerWorkload); err != nil {
			return err
		}
	}
	if c.Once {
		return nil
	}
	last := now
	ticker := time.NewTicker(c.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
		now := c.Clock()
		if !now.After(last) {
			continue
		}
		err := send(last.Add(time.Nanosecond), now, c.PerWorkload)
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		last = now
	}
}
