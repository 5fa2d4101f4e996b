package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/perch-dev/perch/sources/influxdb/influxfeed"
	"github.com/perch-dev/perch/sources/sim"
)

// demo-feed writes the simulator's serverless functions into InfluxDB:
// per-invocation points in the generic schema (function_invocations) and
// CloudWatch-shaped Lambda statistics (cloudwatch_aws_lambda), first as
// history, then live. It is a test and demo tool that WRITES to a
// database; the influxdb source itself never does.
//
//	perch demo-feed --influx URL --bucket B [--org O] [--token T | --token-file F]
//	                [--history 2h] [--interval 5s] [--schema both] [--max-rps 10]
//	                [--seed 1] [--workloads N] [--once]
func runDemoFeed(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("perch demo-feed", e.stderr)
	influxURL := fs.String("influx", "", "InfluxDB URL, e.g. http://127.0.0.1:8086 (required)")
	bucket := fs.String("bucket", "", "bucket to write (2.x), or database/retention-policy (1.8) (required)")
	org := fs.String("org", "", "organization (2.x; empty for 1.8)")
	token := fs.String("token", "", "API token (2.x) or user:password (1.8 with auth); default $PERCH_INFLUX_TOKEN")
	tokenFile := fs.String("token-file", "", "read the token from this file")
	history := fs.Duration("history", 2*time.Hour, "history to write first, ending now (0 = none)")
	interval := fs.Duration("interval", 5*time.Second, "how often new data is written")
	schema := fs.String("schema", "both", "what to write: invocations, cloudwatch or both")
	maxRPS := fs.Float64("max-rps", 10, "invocations written per function and second at most (0 = the simulator's full rate)")
	seed := fs.Int64("seed", 1, "simulator seed")
	workloads := fs.Int("workloads", 0, "simulate N generated workloads instead of the built-in set")
	once := fs.Bool("once", false, "write the history, then exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	u, err := url.Parse(*influxURL)
	switch {
	case *influxURL == "":
		return usageError{errors.New("--influx URL is required")}
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return usageError{errors.New("--influx must be an http:// or https:// URL")}
	case u.User != nil:
		return usageError{errors.New("--influx must not hold credentials: use --token or --token-file")}
	case *bucket == "":
		return usageError{errors.New("--bucket is required (1.8: database/retention-policy)")}
	case *interval < 100*time.Millisecond:
		return usageError{errors.New("--interval must be at least 100ms")}
	case *history < 0 || *history > sim.MaxHistory:
		return usageError{fmt.Errorf("--history must be between 0 and %s", sim.MaxHistory)}
	case *maxRPS < 0:
		return usageError{errors.New("--max-rps must not be negative")}
	case *token != "" && *tokenFile != "":
		return usageError{errors.New("set --token or --token-file, not both")}
	}
	inv, cw := false, false
	switch *schema {
	case "both":
		inv, cw = true, true
	case "invocations":
		inv = true
	case "cloudwatch":
		cw = true
	default:
		return usageError{fmt.Errorf("--schema must be invocations, cloudwatch or both, not %q", *schema)}
	}
	tok := *token
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return usageError{fmt.Errorf("--token-file: %w", err)}
		}
		tok = strings.TrimSpace(string(b))
	} else if tok == "" && e.getenv != nil {
		tok = e.getenv("PERCH_INFLUX_TOKEN")
	}
	s, err := sim.New(sim.Config{Seed: *seed, Workloads: *workloads})
	if err != nil {
		return usageError{fmt.Errorf("demo-feed: %w", err)}
	}
	synth := influxfeed.NewSynth(s, *seed, *maxRPS)
	if len(synth.Functions()) == 0 {
		return usageError{errors.New("demo-feed: the simulation has no functions")}
	}
	w := influxfeed.NewWriter(*influxURL, *org, *bucket, tok)
	defer w.Close()
	fmt.Fprintf(e.stderr, "demo-feed: %d functions → %s bucket %q (history %s, then every %s)\n",
		len(synth.Functions()), *influxURL, *bucket, *history, *interval)
	err = influxfeed.Feed(ctx, influxfeed.FeedConfig{
		Writer: w, Synth: synth, History: *history, Interval: *interval, Once: *once,
		Invocations: inv, CloudWatch: cw, Log: e.stderr,
	})
	if err != nil {
		return fmt.Errorf("demo-feed: %w", err)
	}
	fmt.Fprintf(e.stderr, "demo-feed: %d points written\n", w.Written)
	return nil
}
