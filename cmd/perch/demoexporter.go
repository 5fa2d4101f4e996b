package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources/promexport"
	"github.com/perch-dev/perch/sources/sim"
)

// runDemoExporter serves the simulator under real exporter metric names
// (kube-state-metrics, cAdvisor, Istio, OpenFaaS, Knative, CloudWatch) so a
// real Prometheus can scrape it; --history writes OpenMetrics for promtool.
func runDemoExporter(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("perch demo-exporter", e.stderr)
	listen := fs.String("listen", "127.0.0.1:9464", "address to serve /metrics on")
	seed := fs.Int64("seed", 1, "simulator seed")
	workloads := fs.Int("workloads", 0, "simulate N workloads instead of the built-in set")
	history := fs.String("history", "", "write this much history (e.g. 2h) as OpenMetrics to FILE given by --out, then exit")
	out := fs.String("out", "", "file for --history (default stdout)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := sim.New(sim.Config{Seed: *seed, Workloads: *workloads, Prices: cost.Defaults()})
	if err != nil {
		return usageError{err}
	}
	if *history != "" {
		d, err := time.ParseDuration(*history)
		if err != nil || d <= 0 {
			return usageError{fmt.Errorf("--history %q: want a positive duration like 2h", *history)}
		}
		w := e.stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return fmt.Errorf("demo-exporter: %w", err)
			}
			defer f.Close()
			w = f
		}
		now := time.Now().Truncate(time.Minute)
		return promexport.WriteHistory(w, s, now.Add(-d), now, 15*time.Second)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("demo-exporter: %w", err)
	}
	srv := &http.Server{Handler: promexport.NewHandler(s, time.Now), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(e.stderr, "perch demo-exporter: serving the simulator on http://%s/metrics\n", ln.Addr())
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("demo-exporter: %w", err)
	}
	return nil
}
