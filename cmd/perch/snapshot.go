package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/views/format"
)

func runSnapshot(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("perch snapshot", e.stderr)
	var c commonFlags
	c.register(fs)
	formatName := fs.String("format", "table", "output format: table, json or markdown")
	at := fs.String("at", "", "simulated time, RFC3339 (with --demo), e.g. 2026-11-26T14:10:00Z")
	timeout := fs.Duration("timeout", 30*time.Second, "give up waiting for sources after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	write, ok := snapshotFormats[*formatName]
	if !ok {
		return usageError{fmt.Errorf("--format %q: want table, json or markdown", *formatName)}
	}
	clock := time.Now
	if *at != "" {
		if !c.demo {
			return usageError{errors.New("--at works with --demo only (real sources cannot travel in time)")}
		}
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError{fmt.Errorf("--at: %w", err)}
		}
		clock = func() time.Time { return t }
	}
	cfg, err := loadConfig(c, e.getenv)
	if err != nil {
		return err
	}
	srcs, _, err := pickSources(c, cfg, clock)
	if err != nil {
		return err
	}
	rows, err := collect(ctx, srcs, clock, *timeout)
	if err != nil {
		return err
	}
	return write(e.stdout, rows, clock())
}

// collect feeds the sources into a store until each finished one complete
// round (or failed), then returns the overview rows.
func collect(ctx context.Context, srcs []sources.Source, clock func() time.Time, timeout time.Duration) ([]sources.Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st := store.New()
	var wg sync.WaitGroup
	for _, s := range srcs {
		wg.Add(1)
		go func() { defer wg.Done(); st.Feed(ctx, s) }()
	}
	defer wg.Wait()
	defer cancel()
	for {
		changed := st.Changed()
		done, failures := 0, []string{}
		for _, h := range st.Health() {
			switch {
			case h.Rounds > 0:
				done++
			case h.Err != nil:
				done++
				failures = append(failures, h.Err.Error())
			}
		}
		if done == len(srcs) {
			if st.Len() == 0 && len(failures) > 0 {
				return nil, errors.New(strings.Join(failures, "; "))
			}
			return st.Summaries(clock(), 0), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("sources did not answer within %s", timeout)
		}
	}
}

var snapshotFormats = map[string]func(io.Writer, []sources.Summary, time.Time) error{
	"table":    writeTable,
	"markdown": writeMarkdown,
	"json":     writeJSON,
}

var snapshotHeader = []string{"NAMESPACE", "NAME", "PLATFORM", "$/h", "$/1M req", "REPLICAS", "p50", "p95", "p99", "req/s", "err"}

func snapshotCells(s *sources.Summary) []string {
	l := s.Latest
	replicas := format.Count(l[sources.ReplicasCurrent]) + "/" + format.Count(l[sources.ReplicasDesired])
	if !math.IsNaN(l[sources.ReplicasMin]) {
		replicas += " (" + format.Count(l[sources.ReplicasMin]) + ".." + format.Count(l[sources.ReplicasMax]) + ")"
	}
	name := s.ID.Name
	if s.Stale {
		name += " (stale)"
	}
	return []string{
		s.ID.Namespace, name, string(s.Platform), format.Money(l[sources.CostRate]), format.Money(s.CostPerMillion()),
		replicas, format.Latency(l[sources.LatencyP50]), format.Latency(l[sources.LatencyP95]), format.Latency(l[sources.LatencyP99]),
		format.Rate(l[sources.RequestRate]), format.Percent(l[sources.ErrorRatio]),
	}
}

func totalCost(rows []sources.Summary) float64 {
	total := 0.0
	for i := range rows {
		if c := rows[i].Latest[sources.CostRate]; !math.IsNaN(c) {
			total += c
		}
	}
	return total
}

func writeTable(w io.Writer, rows []sources.Summary, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(snapshotHeader, "\t"))
	for i := range rows {
		fmt.Fprintln(tw, strings.Join(snapshotCells(&rows[i]), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d workloads at %s, total %s/h (%s/day)\n", len(rows), now.UTC().Format(time.RFC3339),
		format.Money(totalCost(rows)), format.Money(24*totalCost(rows)))
	return err
}

func writeMarkdown(w io.Writer, rows []sources.Summary, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "**perch snapshot** %s · %d workloads · %s/h\n\n", now.UTC().Format(time.RFC3339), len(rows), format.Money(totalCost(rows)))
	b.WriteString("| " + strings.Join(snapshotHeader, " | ") + " |\n|")
	for range snapshotHeader {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for i := range rows {
		cells := snapshotCells(&rows[i])
		for j := range cells {
			cells[j] = strings.ReplaceAll(cells[j], "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonRow is the stable JSON shape: metric names as in sources.Metric,
// null for unknown values.
type jsonRow struct {
	Cluster   string              `json:"cluster"`
	Namespace string              `json:"namespace"`
	Name      string              `json:"name"`
	Kind      string              `json:"kind"`
	Platform  string              `json:"platform"`
	Source    string              `json:"source"`
	Stale     bool                `json:"stale"`
	Metrics   map[string]*float64 `json:"metrics"`
	CostPerM  *float64            `json:"cost_per_million_requests"`
}

func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func writeJSON(w io.Writer, rows []sources.Summary, now time.Time) error {
	out := struct {
		At        time.Time `json:"at"`
		Workloads []jsonRow `json:"workloads"`
	}{At: now.UTC(), Workloads: make([]jsonRow, 0, len(rows))}
	for i := range rows {
		s := &rows[i]
		r := jsonRow{Cluster: s.ID.Cluster, Namespace: s.ID.Namespace, Name: s.ID.Name, Kind: string(s.Kind),
			Platform: string(s.Platform), Source: s.Source, Stale: s.Stale, Metrics: map[string]*float64{}, CostPerM: num(s.CostPerMillion())}
		for m := sources.Metric(0); m < sources.NumMetrics; m++ {
			r.Metrics[m.String()] = num(s.Latest[m])
		}
		out.Workloads = append(out.Workloads, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
