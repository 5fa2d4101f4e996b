package traces

import (
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/views/format"
)

// fit truncates plain text to w cells (with tail) and pads it to exactly w.
func fit(s string, w int, tail string) string {
	if w <= 0 {
		return ""
	}
	sw := format.Width(s)
	if sw > w {
		s = ansi.Truncate(s, w, tail)
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// rjust right-aligns plain text in w cells (truncating from the right).
func rjust(s string, w int) string {
	sw := format.Width(s)
	if sw >= w {
		return fit(s, w, "")
	}
	return strings.Repeat(" ", w-sw) + s
}

// padLine makes a styled line exactly w cells wide.
func padLine(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "")
	}
	return s + strings.Repeat(" ", w-sw)
}

// dur renders a duration like the rest of perch (µs, ms, s).
func dur(d time.Duration) string {
	if d < 0 {
		return "-" + format.Latency((-d).Seconds())
	}
	return format.Latency(d.Seconds())
}

// shortID shortens a trace or span id for narrow screens.
func shortID(id string, n int, ell string) string {
	if len(id) <= n {
		return id
	}
	return id[:n] + ell
}

// errorLines word-wraps an error under an error mark.
func errorLines(st rowStyles, sym symbols, err error, width int) []string {
	text := ansi.Wrap(clean(err.Error()), max(width-3, 10), "")
	var out []string
	for i, l := range strings.Split(text, "\n") {
		mark := "   "
		if i == 0 {
			mark = " " + sym.err + " "
		}
		out = append(out, st.bad.pre+mark+l+st.bad.post)
	}
	return out
}
