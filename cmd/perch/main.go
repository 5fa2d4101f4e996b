// Command perch is a terminal dashboard that shows cost, scaling and
// latency of Kubernetes workloads and serverless functions side by side.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set by the Makefile with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// usageError marks errors that are the caller's (flags, config): exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// env is what the commands read from the process, injectable in tests.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := env{stdout: stdout, stderr: stderr, getenv: getenv}
	var err error
	cmd := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "":
		err = runDashboard(ctx, e, args)
	case "render":
		err = runRender(ctx, e, args)
	case "demo-cluster":
		err = runDemoCluster(ctx, e, args)
	case "demo-traces":
		err = runDemoTraces(ctx, e, args)
	case "demo-feed":
		err = runDemoFeed(ctx, e, args)
	case "demo-exporter":
		err = runDemoExporter(ctx, e, args)
	case "serve":
		err = runServe(ctx, e, args)
	case "snapshot":
		err = runSnapshot(ctx, e, args)
	case "version":
		fmt.Fprintf(stdout, "perch %s\n", version)
	case "config":
		err = runConfig(e, args)
	case "help":
		printUsage(stdout)
	default:
		err = usageError{fmt.Errorf("unknown command %q (commands: serve, snapshot, render, demo-exporter, demo-feed, demo-traces, demo-cluster, config init, version, help)", cmd)}
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, new(usageError)):
		fmt.Fprintln(stderr, "perch:", err)
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitOK
	default:
		fmt.Fprintln(stderr, "perch:", err)
		return exitError
	}
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `perch: cost, scaling and latency of workloads and functions, side by side.

Usage:
  perch [--demo] [--config FILE] [flags]     the dashboard
  perch snapshot [--demo] [--format table|json|markdown] [--at TIME]
                                             print the overview once, no terminal needed
  perch serve --ssh ADDR [--demo] [--authorized-keys FILE] [--keys FILE]...
                                             serve the dashboard to a team over SSH
  perch render [--view overview|detail|help] [--width W --height H] [--theme NAME|FILE]
               [--at TIME] [--seed N] [--select NAME]
                                             print one frame of the demo dashboard (screenshots, docs)
  perch demo-exporter [--listen ADDR]        serve the simulator as Prometheus metrics (for tests)
  perch demo-feed --influx URL --bucket B   write the simulator's function invocations to InfluxDB (for tests)
  perch demo-traces --otlp URL [--once]     send the simulator's traces as OTLP (for tests)
  perch demo-cluster [--kubeconfig F]       create the simulator's workloads in a real API server (for tests)
  perch config init [--force] [FILE]         write a commented example config
  perch version

Run "perch --help" or "perch snapshot --help" for the flags.
`)
}
