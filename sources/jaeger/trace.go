package jaeger

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/perch-dev/perch/sources"
)

// Span tags perch adds. sources.Span has no logs and no resource, so a
// span's logs (OTLP events) are kept as tags LogTagPrefix+"0000",
// "0001"... whose values read "+1.2ms event=... key=value", and the
// resource (process) attributes as ResourceTagPrefix+key. views/traces
// shows them apart from the ordinary tags.
const (
	LogTagPrefix      = "log#"
	ResourceTagPrefix = "resource."
	maxLogsPerSpan    = 1000
)

// Attribute names that carry a workload's namespace.
var namespaceKeys = []string{"k8s.namespace.name", "service.namespace"}

// normTraceID lower-cases a hex trace id and pads it to 32 digits (the v1
// API prints 64-bit ids with 16).
func normTraceID(id string) string {
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < 32 {
		id = strings.Repeat("0", 32-len(id)) + id
	}
	return id
}

// validTraceID reports whether id is 1-32 hex digits.
func validTraceID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// finishTrace sorts the spans by start (parents before children on ties)
// and fills the trace's start, duration and root.
func finishTrace(tr *sources.Trace) {
	spans := tr.Spans
	sort.SliceStable(spans, func(i, j int) bool {
		if !spans[i].Start.Equal(spans[j].Start) {
			return spans[i].Start.Before(spans[j].Start)
		}
		return spans[i].ParentID == "" && spans[j].ParentID != ""
	})
	if len(spans) == 0 {
		return
	}
	ids := make(map[string]bool, len(spans))
	for i := range spans {
		ids[spans[i].ID] = true
	}
	start, end := spans[0].Start, spans[0].Start
	root := -1
	for i := range spans {
		s := &spans[i]
		if s.Start.Before(start) {
			start = s.Start
		}
		if e := s.Start.Add(s.Duration); e.After(end) {
			end = e
		}
		// The root is the first span without a parent, else (its parent
		// never arrived) the first span whose parent is missing.
		if root < 0 && s.ParentID == "" {
			root = i
		}
	}
	if root < 0 {
		for i := range spans {
			if !ids[spans[i].ParentID] {
				root = i
				break
			}
		}
	}
	if root < 0 {
		root = 0
	}
	tr.Start, tr.Duration = start, max(end.Sub(start), 0)
	tr.RootService, tr.RootOperation = spans[root].Service, spans[root].Operation
}

// serviceDuration is the longest span of service in tr: how long the
// workload took in this trace (0 when it has no span there).
func serviceDuration(tr *sources.Trace, service string) time.Duration {
	var d time.Duration
	for i := range tr.Spans {
		if tr.Spans[i].Service == service && tr.Spans[i].Duration > d {
			d = tr.Spans[i].Duration
		}
	}
	return d
}

// serviceNamespace is the namespace the spans of service in tr declare
// ("" when none does).
func serviceNamespace(tr *sources.Trace, service string) string {
	for i := range tr.Spans {
		s := &tr.Spans[i]
		if s.Service != service {
			continue
		}
		for _, k := range namespaceKeys {
			if ns := s.Tags[ResourceTagPrefix+k]; ns != "" {
				return ns
			}
			if ns := s.Tags[k]; ns != "" {
				return ns
			}
		}
	}
	return ""
}

// isErrorTag reports whether a span tag marks a failure: error=true or an
// OTel status of ERROR (Jaeger writes both for OTLP spans with status
// ERROR).
func isErrorTag(key, value string) bool {
	switch key {
	case "error":
		return value == "true"
	case "otel.status_code":
		return strings.EqualFold(value, "ERROR")
	}
	return false
}

// logTag renders one log (event) as a tag.
func logTag(tags map[string]string, n int, spanStart, at time.Time, name string, fields [][2]string) {
	if n >= maxLogsPerSpan {
		if n == maxLogsPerSpan {
			tags[LogTagPrefix+"more"] = "further logs left out"
		}
		return
	}
	var b strings.Builder
	b.WriteString("+")
	b.WriteString(at.Sub(spanStart).String())
	if name != "" {
		b.WriteString(" event=")
		b.WriteString(name)
	}
	for _, f := range fields {
		b.WriteString(" ")
		b.WriteString(f[0])
		b.WriteString("=")
		b.WriteString(f[1])
	}
	tags[fmt.Sprintf("%s%04d", LogTagPrefix, n)] = b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
