package influxdb

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Flux text helpers. Everything perch sends stays inside Flux 0.65 (the
// version InfluxDB 1.8 ships): quantile always names its method, and
// findRecord, findColumn and truncateTimeColumn are never used.

// fluxString quotes s as a Flux string literal. Flux strings interpolate
// ${...}, so "$" before "{" is escaped too.
func fluxString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// fluxTime renders t as a Flux time literal (RFC 3339, UTC).
func fluxTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// fluxDuration renders d as a Flux duration literal in whole milliseconds
// (at least 1ms).
func fluxDuration(d time.Duration) string {
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	if ms%1000 == 0 {
		return strconv.FormatInt(ms/1000, 10) + "s"
	}
	return strconv.FormatInt(ms, 10) + "ms"
}

// fluxStrings renders a list of string literals: ["a", "b"].
func fluxStrings(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = fluxString(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// fieldIn renders `(r._field == "a" or r._field == "b")`: plain
// comparisons are pushed down to the storage engine on 1.8 and 2.x,
// where contains() is not.
func fieldIn(fields []string) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = "r._field == " + fluxString(f)
	}
	return "(" + strings.Join(parts, " or ") + ")"
}

// fromRange is `from(bucket: B) |> range(start: S, stop: E)`.
func fromRange(bucket string, start, stop time.Time) string {
	return "from(bucket: " + fluxString(bucket) + ")\n  |> range(start: " + fluxTime(start) + ", stop: " + fluxTime(stop) + ")"
}

// quantileFn is an aggregateWindow fn computing quantile q with the
// t-digest estimate (the method Flux 0.65 requires to be explicit).
func quantileFn(q float64) string {
	return "(column, tables=<-) => tables |> quantile(q: " + strconv.FormatFloat(q, 'g', -1, 64) +
		`, method: "estimate_tdigest", column: column)`
}

// substitute replaces an override's placeholders.
func substitute(q string, vars map[string]string) string {
	for k, v := range vars {
		q = strings.ReplaceAll(q, "${"+k+"}", v)
	}
	return q
}

// oneLine collapses whitespace so a query reads well inside an error.
func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

// abbreviate cuts s to at most n bytes, on a rune boundary.
func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
