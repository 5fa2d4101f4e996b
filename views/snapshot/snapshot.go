// Package snapshot writes the overview once, as a table, markdown or JSON:
// for scripts, incident channels and `ssh host snapshot`. The same writers
// serve `perch snapshot` and `perch serve`, so both print the same thing.
package snapshot

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/views/format"
)

// Writer prints rows (the store's summaries at now) in one format.
type Writer func(w io.Writer, rows []sources.Summary, now time.Time) error

var writers = map[string]Writer{
	"table":    Table,
	"markdown": Markdown,
	"json":     JSON,
}

// Formats lists the format names, sorted.
func Formats() []string {
	names := make([]string, 0, len(writers))
	for n := range writers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the writer of a format name.
func Lookup(name string) (Writer, bool) {
	w, ok := writers[name]
	return w, ok
}

var header = []string{"NAMESPACE", "NAME", "PLATFORM", "$/h", "$/1M req", "REPLICAS", "p50", "p95", "p99", "req/s", "err"}

func cells(s *sources.Summary) []string {
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

// TotalCost is the summed $/h of the rows, unknown costs left out.
func TotalCost(rows []sources.Summary) float64 {
	total := 0.0
	for i := range rows {
		if c := rows[i].Latest[sources.CostRate]; !math.IsNaN(c) {
			total += c
		}
	}
	return total
}

// Table writes aligned columns and a totals line.
func Table(w io.Writer, rows []sources.Summary, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for i := range rows {
		fmt.Fprintln(tw, strings.Join(cells(&rows[i]), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d workloads at %s, total %s/h (%s/day)\n", len(rows), now.UTC().Format(time.RFC3339),
		format.Money(TotalCost(rows)), format.Money(24*TotalCost(rows)))
	return err
}

// Markdown writes a title line and a pipe table for pasting into chats.
func Markdown(w io.Writer, rows []sources.Summary, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "**perch snapshot** %s · %d workloads · %s/h\n\n", now.UTC().Format(time.RFC3339), len(rows), format.Money(TotalCost(rows)))
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for i := range rows {
		cs := cells(&rows[i])
		for j := range cs {
			cs[j] = strings.ReplaceAll(cs[j], "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cs, " | ") + " |\n")
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

// JSON writes {"at": ..., "workloads": [...]}, indented.
func JSON(w io.Writer, rows []sources.Summary, now time.Time) error {
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
