package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/perch-dev/perch/sources/sim"
	"github.com/perch-dev/perch/sources/simtrace"
)

// demo-traces sends the simulator's traces to an OTLP/HTTP endpoint (a
// Jaeger all-in-one, an OpenTelemetry Collector): first the last
// --backfill, then every --interval the traces of the interval just
// passed. With the same --seed as `perch --demo`, the traces agree with
// the dashboard's latency charts (the incident at 14:05 UTC shows as slow
// bank-gateway spans). It is a demo tool that WRITES to a trace backend;
// the jaeger source never does.
func runDemoTraces(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("perch demo-traces", e.stderr)
	otlp := fs.String("otlp", "", "OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318 (required)")
	seed := fs.Int64("seed", 1, "simulator seed (as perch --demo --seed)")
	workloads := fs.Int("workloads", 0, "simulate N generated workloads instead of the built-in set")
	backfill := fs.Duration("backfill", time.Hour, "history to send first (0 for none)")
	interval := fs.Duration("interval", 2*time.Second, "how often the traces of the last interval are sent")
	perWorkload := fs.Int("per-workload", 20, "traces per workload per 5-minute backfill chunk and per interval")
	once := fs.Bool("once", false, "send the backfill, then exit")
	quiet := fs.Bool("quiet", false, "print nothing but errors")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *otlp == "":
		return usageError{errors.New("--otlp is required (the OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318)")}
	case *interval < 100*time.Millisecond:
		return usageError{errors.New("--interval must be at least 100ms")}
	case *backfill < 0 || *backfill > sim.MaxHistory:
		return usageError{fmt.Errorf("--backfill must be between 0 and %v", sim.MaxHistory)}
	case *perWorkload < 1 || *perWorkload > 500:
		return usageError{errors.New("--per-workload must be between 1 and 500")}
	}
	s, err := sim.New(sim.Config{Seed: *seed, Workloads: *workloads})
	if err != nil {
		return usageError{err}
	}
	f, err := simtrace.NewFeeder(*otlp, s.Workloads())
	if err != nil {
		return usageError{err}
	}
	cfg := simtrace.StreamConfig{Backfill: *backfill, Interval: *interval, PerWorkload: *perWorkload, Once: *once}
	if !*quiet {
		fmt.Fprintf(e.stdout, "perch demo-traces: sending to %s (incident window %s)\n", f.Endpoint(), incidentNote(s))
		cfg.Progress = func(from, to time.Time, traces, spans int) {
			fmt.Fprintf(e.stdout, "%s–%s  %d traces, %d spans\n", from.Format("15:04:05"), to.Format("15:04:05"), traces, spans)
		}
	}
	err = simtrace.Stream(ctx, s, f, cfg)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func incidentNote(s *sim.Sim) string {
	a, b := s.IncidentWindow(time.Now())
	return a.Format("15:04") + "–" + b.Format("15:04 MST")
}
