// Package traces renders perch's trace pages: a List of the slowest and
// the failed traces of one workload in a time window (two tabs, enter
// opens one), and a Waterfall of one trace.
//
// The waterfall draws each span as a row (service: operation, duration,
// and a bar on a time axis shared by the whole trace), indented under its
// parent. The critical path (what the root's duration waited on) is
// highlighted, failed spans are marked ✖, spans whose parent is missing
// ? and spans whose clock disagrees with their parent's ! (offsets are
// measured from the earliest span, so they are never negative). Subtrees
// fold and unfold; enter shows a span's tags, resource attributes and
// logs. Traces larger than MaxSpans show their first MaxSpans spans and
// say so; larger than AutoCollapseSpans open with everything off the
// critical path folded; only visible rows are rendered.
//
// Both components follow perch's view contract (New, SetSize, SetData,
// Update, View, KeyMap, Styles from a theme) and render exactly width ×
// height cells, down to 80×24 and below.
package traces
