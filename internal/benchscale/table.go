package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// measurement is one run: perch started, first complete frame, idle window.
type measurement struct {
	Pods, Rep  int
	FirstFrame float64 // seconds from tmux new-session; NaN: never complete
	RSS, HWM   float64 // bytes at the end of the idle window
	CPU        float64 // % of one core over the idle window
	TTY        float64 // bytes/s written to the terminal over the idle window
	API        map[string]float64
	Queries    map[string]float64 // per minute, by HTTP handler
	Load       float64            // mean 1-minute load average during the window
	Window     float64            // seconds
	Header     string             // perch's header line at the end of the window
	// SourceOK is when each source was first shown "● NAME ok", in
	// seconds from tmux new-session: which source the first frame waited on.
	SourceOK map[string]float64
}

func (r measurement) apiTotal() float64     { return sum(r.API) }
func (r measurement) queriesTotal() float64 { return sum(r.Queries) }

func sum(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}

// row is one pod count.
type row struct {
	Pods, Workloads, Functions int
	Runs                       []measurement
}

// k9sRef is issue 10's reference measurement of k9s v0.51.0 (pods view,
// 200×60, idle 60 s) on the same kind of cluster.
type k9sRef struct {
	RSS, CPU, TTY, FirstRow float64 // bytes, %, bytes/s, seconds
}

var k9s = map[int]k9sRef{
	1000:  {241e6, 9.6, 1200, 2.9},
	5000:  {505e6, 30, 700, 3.4},
	10000: {823e6, 52, 650, 8.3},
}

// Targets at 10,000 pods + 1,000 functions (issue 10).
const (
	targetPods       = 10000
	targetRSS        = 100e6 // bytes
	targetCPU        = 3.0   // % of one core
	targetFirstFrame = 2.0   // seconds
	targetTTY        = 1000  // bytes/s
)

// target is one of the goals, judged on the median.
type target struct {
	what  string
	limit string
	met   bool
	value string
}

func targets(r row) []target {
	var rss, cpu, ff, tty []float64
	for _, x := range r.Runs {
		rss, cpu, ff, tty = append(rss, x.RSS), append(cpu, x.CPU), append(ff, x.FirstFrame), append(tty, x.TTY)
	}
	// A run whose first frame never completed counts as infinitely slow.
	for i, v := range ff {
		if math.IsNaN(v) {
			ff[i] = math.Inf(1)
		}
	}
	m := func(xs []float64) float64 { return summarize(xs).Median }
	return []target{
		{"RSS", "≤ 100 MB", m(rss) <= targetRSS, fmtBytes(m(rss))},
		{"idle CPU", "≤ 3 %", m(cpu) <= targetCPU, fmtPct(m(cpu))},
		{"first complete frame", "≤ 2 s", m(ff) <= targetFirstFrame, fmtSeconds(m(ff))},
		{"terminal output", "≤ 1 KB/s", m(tty) <= targetTTY, fmtRate(m(tty))},
	}
}

// table renders the results as one Markdown table, perch next to k9s.
func table(rows []row) string {
	var b strings.Builder
	b.WriteString("| pods | workloads | first complete frame | VmRSS | VmHWM | idle CPU (1 core) | tty while idle | API requests/min | metric queries/min | load avg | k9s RSS | k9s idle CPU | k9s tty | k9s first row |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		col := func(get func(measurement) float64) []float64 {
			out := make([]float64, len(r.Runs))
			for i, x := range r.Runs {
				out[i] = get(x)
			}
			return out
		}
		ff := col(func(x measurement) float64 { return x.FirstFrame })
		rss := col(func(x measurement) float64 { return x.RSS })
		hwm := col(func(x measurement) float64 { return x.HWM })
		cpu := col(func(x measurement) float64 { return x.CPU })
		tty := col(func(x measurement) float64 { return x.TTY })
		load := col(func(x measurement) float64 { return x.Load })
		mark := func(ok bool) string { return "" }
		if r.Pods == targetPods && len(r.Runs) > 0 {
			mark = func(ok bool) string {
				if ok {
					return " ✓"
				}
				return " ✗"
			}
		}
		tg := targets(r)
		ffCell := cell(ff, fmtSeconds)
		if n := countNaN(ff); n > 0 {
			ffCell += fmt.Sprintf(" (%d of %d never complete)", n, len(ff))
		}
		ref, hasRef := k9s[r.Pods]
		refCell := func(v float64, f func(float64) string) string {
			if !hasRef {
				return "–"
			}
			return f(v)
		}
		fmt.Fprintf(&b, "| %s | %s | %s%s | %s%s | %s | %s%s | %s%s | %s | %s | %s | %s | %s | %s | %s |\n",
			thousands(r.Pods), fmt.Sprintf("%s + %s fn", thousands(r.Workloads), thousands(r.Functions)),
			ffCell, mark(tg[2].met), cell(rss, fmtBytes), mark(tg[0].met), cell(hwm, fmtBytes),
			cell(cpu, fmtPct), mark(tg[1].met), cell(tty, fmtRate), mark(tg[3].met),
			breakdown(r.Runs, func(x measurement) map[string]float64 { return x.API }, ""),
			breakdown(r.Runs, func(x measurement) map[string]float64 { return x.Queries }, "/api/v1/"),
			cell(load, func(v float64) string { return fmt.Sprintf("%.2f", v) }),
			refCell(ref.RSS, fmtBytes), refCell(ref.CPU, fmtPct), refCell(ref.TTY, fmtRate), refCell(ref.FirstRow, fmtSeconds))
	}
	return b.String()
}

// sourcesOK is "kubernetes 1.21 s (1.10–1.40 s), prometheus …": when each
// source was first shown ok, over the runs, sources by name.
func sourcesOK(runs []measurement) string {
	times := map[string][]float64{}
	for _, r := range runs {
		for name, t := range r.SourceOK {
			times[name] = append(times[name], t)
		}
	}
	names := make([]string, 0, len(times))
	for name := range times {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, name+" "+cell(times[name], fmtSeconds))
	}
	return strings.Join(parts, ", ")
}

// cell is "median (min–max)", or the value alone for one run or no spread.
func cell(xs []float64, f func(float64) string) string {
	s := summarize(xs)
	if s.N == 0 {
		return "–"
	}
	med := f(s.Median)
	if s.N == 1 || f(s.Min) == f(s.Max) {
		return med
	}
	lo, hi := f(s.Min), f(s.Max)
	// "1.2–1.5 MB" rather than "1.2 MB–1.5 MB" when both ends share a unit.
	if n, u := splitUnit(lo); u != "" && u == unitOf(hi) {
		lo = n
	}
	return fmt.Sprintf("%s (%s–%s)", med, lo, hi)
}

func splitUnit(s string) (num, unit string) {
	if i := strings.LastIndexByte(s, ' '); i > 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func unitOf(s string) string { _, u := splitUnit(s); return u }

// breakdown is the median total per minute and the median of each key
// ("2.0: list 1.0, watch 1.0").
func breakdown(runs []measurement, get func(measurement) map[string]float64, trim string) string {
	if len(runs) == 0 {
		return "–"
	}
	totals := make([]float64, len(runs))
	keys := map[string]bool{}
	for i, x := range runs {
		totals[i] = sum(get(x))
		for k := range get(x) {
			keys[k] = true
		}
	}
	out := cell(totals, func(v float64) string { return fmt.Sprintf("%.1f", v) })
	var parts []string
	for k := range keys {
		vals := make([]float64, len(runs))
		for i, x := range runs {
			vals[i] = get(x)[k]
		}
		if med := summarize(vals).Median; med > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f", strings.TrimPrefix(k, trim), med))
		}
	}
	sort.Strings(parts)
	if len(parts) > 0 {
		out += ": " + strings.Join(parts, ", ")
	}
	return out
}

func countNaN(xs []float64) int {
	n := 0
	for _, x := range xs {
		if math.IsNaN(x) {
			n++
		}
	}
	return n
}

// SI units: 1 MB = 10^6 bytes, 1 KB = 10^3 bytes.
func fmtBytes(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f MB", v/1e6)
}

func fmtRate(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 1000:
		return fmt.Sprintf("%.2f KB/s", v/1000)
	default:
		return fmt.Sprintf("%.0f B/s", v)
	}
}

func fmtPct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", v)
}

func fmtSeconds(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "never"
	case math.IsNaN(v):
		return "–"
	}
	return fmt.Sprintf("%.2f s", v)
}

// thousands writes 10000 as 10,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
