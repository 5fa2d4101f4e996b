// Package scrape is perch's scrape mode: it reads a list of exporters'
// /metrics endpoints directly (no Prometheus server), keeps a short window
// of raw samples per series, and derives the same columns as the
// Prometheus presets (kube-state-metrics and cAdvisor replicas, requests,
// usage and cost; Istio and OpenFaaS traffic, errors and latency
// percentiles from histogram bucket deltas). It is read-only: it only
// sends GET requests.
package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/secret"
)

// acceptHeader asks for the classic text format, which every exporter serves.
const acceptHeader = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// Source scrapes the targets every Interval.
type Source struct {
	cfg    Config
	client *http.Client
	red    *secret.Redactor // credentials out of errors (secrets.go)

	mu sync.Mutex // one round at a time
	w  *window
}

// New checks cfg and returns the source.
func New(cfg Config) (*Source, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	return &Source{
		cfg:    cfg,
		client: newClient(cfg),
		red:    newRedactor(cfg),
		w:      newWindow(len(cfg.Targets), cfg.Window, cfg.MaxSeries),
	}, nil
}

// Name is the source's configured name.
func (s *Source) Name() string { return s.cfg.Name }

// Run scrapes every Interval until ctx ends; a round where some targets
// failed is a soft error (the others' data still flows), a round where all
// failed backs off.
func (s *Source) Run(ctx context.Context, out chan<- sources.Update) error {
	p := sources.Poller{Interval: s.cfg.Interval, Soft: func(err error) bool {
		var pe *PartialError
		return errors.As(err, &pe) && pe.OK > 0
	}}
	return p.Run(ctx, out, s.Poll)
}

// PartialError is a round's failures: each failed target by URL (without
// credentials), and a series cap if it was hit. OK targets still
// contributed their data.
type PartialError struct {
	OK, Targets int
	Errs        []error
	Dropped     int // new series dropped by max_series
	MaxSeries   int
}

func (e *PartialError) Error() string {
	var parts []string
	if n := len(e.Errs); n > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d targets failed: %v", n, e.Targets, errors.Join(e.Errs...)))
	}
	if e.Dropped > 0 {
		parts = append(parts, fmt.Sprintf("series capped at max_series=%d: %d new series dropped", e.MaxSeries, e.Dropped))
	}
	return "scrape: " + strings.ReplaceAll(strings.Join(parts, "; "), "\n", "; ")
}

func (e *PartialError) Unwrap() []error { return e.Errs }

// Poll runs one round: scrape all targets concurrently (bounded), add
// their samples to the window, and compute every workload at the round's
// time. The update is a full inventory and completes the round.
func (s *Source) Poll(ctx context.Context) sources.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock()
	results := make([][]Point, len(s.cfg.Targets))
	errs := make([]error, len(s.cfg.Targets))
	sem := make(chan struct{}, s.cfg.MaxConcurrency)
	var wg sync.WaitGroup
	for i, t := range s.cfg.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = s.scrape(ctx, t)
			errs[i] = s.red.Error(errs[i])
		}()
	}
	wg.Wait()

	pe := &PartialError{Targets: len(s.cfg.Targets), MaxSeries: s.cfg.MaxSeries}
	for i := range s.cfg.Targets {
		if errs[i] != nil {
			pe.Errs = append(pe.Errs, errs[i])
			continue
		}
		pe.OK++
		pe.Dropped += s.w.add(i, now, results[i])
	}
	s.w.trim(now)
	c := computer{cluster: s.cfg.Cluster, prices: s.cfg.Prices, w: s.w}
	wls, samples := c.compute(now)
	u := sources.Update{Source: s.cfg.Name, At: now, Workloads: wls, Full: true, Samples: samples, Complete: true}
	if len(pe.Errs) > 0 || pe.Dropped > 0 {
		u.Err = pe
	}
	return u
}

// scrape fetches and parses one target.
func (s *Source) scrape(ctx context.Context, target string) ([]Point, error) {
	name := redact(target)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", name, err)
	}
	req.Header.Set("Accept", acceptHeader)
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	if f := s.cfg.BearerTokenFile; f != "" {
		tok, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("target %s: read bearer_token_file: %w", name, err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// The url.Error repeats the URL, which may hold a password.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return nil, fmt.Errorf("target %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, fmt.Errorf("target %s: HTTP %s: %s", name, resp.Status, strings.TrimSpace(string(body)))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("target %s: read body: %w", name, err)
	}
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("target %s: response larger than %d bytes", name, s.cfg.MaxBodyBytes)
	}
	if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "protobuf") {
		return nil, fmt.Errorf("target %s: unsupported content type %q (want the text format)", name, ct)
	}
	pts, err := Parse(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", name, err)
	}
	return pts, nil
}
