package traces

// The waterfall's rendering: column widths, title, time axis, span rows
// and their bars, status line and the selected span's details.

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// columns are the waterfall's column widths.
type columns struct{ mark, name, dur, bar int }

func (w *Waterfall) columns() columns {
	c := columns{mark: 2, dur: 8}
	c.name = min(max(w.width*2/5, 16), 60)
	c.bar = w.width - c.mark - c.name - c.dur - 1
	if c.bar < 6 { // too narrow for bars: names and durations only
		c.bar = 0
		c.name = max(w.width-c.mark-c.dur-1, 1)
	}
	return c
}

// View renders exactly height lines of width cells.
func (w *Waterfall) View() string {
	if !w.dirty {
		return w.rendered
	}
	w.rendered, w.dirty = w.render(), false
	return w.rendered
}

func (w *Waterfall) render() string {
	if w.width <= 0 || w.height <= 0 {
		return ""
	}
	st := w.css.get(false)
	lines := make([]string, 0, w.height)
	lines = append(lines, w.titleLine(st))
	switch {
	case w.data.Err != nil:
		lines = append(lines, errorLines(st, w.sym(), w.data.Err, w.width)...)
	case w.data.Loading:
		lines = append(lines, st.notice.pre+" loading the trace…"+st.notice.post)
	case len(w.tree.nodes) == 0:
		lines = append(lines, st.notice.pre+" this trace has no spans"+st.notice.post)
	default:
		lines = append(lines, w.axisLine(st))
		if w.details {
			lines = append(lines, w.detailLines(st)...)
		} else {
			if w.tree.capped > 0 {
				lines = append(lines, st.warn.pre+fmt.Sprintf(" %d spans: showing the first %d by start time (%d left out)",
					len(w.tree.spans)+w.tree.capped, len(w.tree.spans), w.tree.capped)+st.warn.post)
			}
			end := min(w.top+w.rowsHeight(), len(w.rows))
			exact := w.columns().name >= 8 // rows come out exactly width wide
			for k := w.top; k < end; k++ {
				if exact {
					lines = append(lines, exactLine+w.rowLine(w.rows[k], k == w.sel))
				} else {
					lines = append(lines, w.rowLine(w.rows[k], k == w.sel))
				}
			}
		}
		for len(lines) < w.height-1 {
			lines = append(lines, "")
		}
		if w.height >= 3 {
			lines = append(lines[:w.height-1], w.statusLine(st))
		}
	}
	for len(lines) < w.height {
		lines = append(lines, "")
	}
	lines = lines[:w.height]
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, exactLine); ok {
			lines[i] = rest // measuring styled text is the frame's main cost
			continue
		}
		lines[i] = padLine(l, w.width)
	}
	return strings.Join(lines, "\n")
}

// exactLine marks lines built to the exact width (a NUL never comes from
// cleaned text).
const exactLine = "\x00"

func (w *Waterfall) sym() symbols { return w.styles.symbols() }

func (w *Waterfall) titleLine(st rowStyles) string {
	t := w.tree
	tr := &w.data.Trace
	if tr.ID == "" && len(t.nodes) == 0 {
		return st.title.pre + " TRACE" + st.title.post
	}
	id := tr.ID
	if w.width < 120 {
		id = shortID(id, 12, w.sym().ellipsis)
	}
	var b strings.Builder
	st.title.wrap(&b, " TRACE "+clean(id))
	if len(t.nodes) > 0 {
		// Counts first: on a narrow screen the root's name is cut, not them.
		st.subtle.wrap(&b, fmt.Sprintf("  %s  %d spans", dur(t.total), len(t.spans)+t.capped))
		sym := w.sym()
		if t.errors > 0 {
			st.bad.wrap(&b, fmt.Sprintf("  %s %d failed", sym.err, t.errors))
		}
		if t.orphans > 0 {
			st.warn.wrap(&b, fmt.Sprintf("  %s %d orphan", sym.orphan, t.orphans))
		}
		if t.skewed > 0 {
			st.warn.wrap(&b, fmt.Sprintf("  %s %d skew", sym.skew, t.skewed))
		}
		root := t.nodes[t.mainRoot()].span
		st.text.wrap(&b, "  "+clean(root.Service)+": "+clean(root.Operation))
	}
	return b.String()
}

// axisLine labels the columns and the time axis: 0, the quarters that fit,
// and the trace's duration.
func (w *Waterfall) axisLine(st rowStyles) string {
	c := w.columns()
	head := fit("  SERVICE: OPERATION", c.mark+c.name-1, "") + " "
	var b strings.Builder
	durHead := "DURATION"
	if c.dur < 9 && c.bar == 0 {
		durHead = "DUR"
	}
	st.header.wrap(&b, head+rjust(durHead, c.dur)+" ")
	if c.bar == 0 {
		return b.String()
	}
	axis := []rune(strings.Repeat(" ", c.bar))
	place := func(text string, at int) bool {
		r := []rune(text)
		if at < 0 || at+len(r) > len(axis) {
			return false
		}
		for i := max(at-1, 0); i < min(at+len(r)+1, len(axis)); i++ {
			if axis[i] != ' ' {
				return false
			}
		}
		copy(axis[at:], r)
		return true
	}
	total := w.tree.total
	endLabel := dur(total)
	place("0", 0)
	place(endLabel, c.bar-len([]rune(endLabel)))
	for _, f := range []float64{0.5, 0.25, 0.75} {
		l := dur(time.Duration(float64(total) * f))
		place(l, int(math.Round(f*float64(c.bar)))-len([]rune(l))/2)
	}
	st.subtle.wrap(&b, string(axis))
	return b.String()
}

// rowLine renders one span.
func (w *Waterfall) rowLine(i int, selected bool) string {
	st := w.css.get(selected)
	sym := w.sym()
	n := &w.tree.nodes[i]
	c := w.columns()
	var b strings.Builder
	// markers: failed, then orphan or skew
	if n.span.Error {
		st.bad.wrap(&b, sym.err)
	} else {
		st.text.wrap(&b, " ")
	}
	switch {
	case n.orphan:
		st.warn.wrap(&b, sym.orphan)
	case n.skew:
		st.warn.wrap(&b, sym.skew)
	default:
		st.text.wrap(&b, " ")
	}
	// name: indent, fold mark, service: operation
	step := 1
	if c.name >= 40 {
		step = 2
	}
	indent := min(n.depth*step, c.name/2)
	toggle := sym.leaf
	if len(n.children) > 0 {
		toggle = sym.expanded
		if n.folded {
			toggle = sym.collapsed
		}
	}
	st.subtle.wrap(&b, strings.Repeat(" ", indent)+toggle+" ")
	room := c.name - indent - 2
	svc, op := clean(n.span.Service), ": "+clean(n.span.Operation)
	if n.folded {
		op += fmt.Sprintf(" (+%d)", countBelow(w.tree, i))
	}
	svcStyle := st.text
	if n.critical {
		svcStyle = st.accent
	}
	if sw := ansi.StringWidth(svc); sw >= room {
		svcStyle.wrap(&b, fit(svc, room, sym.ellipsis))
	} else {
		svcStyle.wrap(&b, svc)
		st.subtle.wrap(&b, fit(op, room-sw, sym.ellipsis))
	}
	durStyle := st.text
	if n.span.Error {
		durStyle = st.bad
	}
	durStyle.wrap(&b, rjust(dur(n.span.Duration), c.dur)+" ")
	if c.bar > 0 {
		lead, glyphs, trail := w.bar(n, c.bar)
		barStyle := st.bar
		if n.critical {
			barStyle = st.critical
		}
		if n.span.Error {
			barStyle = st.errBar
		}
		st.text.wrap(&b, strings.Repeat(" ", lead))
		barStyle.wrap(&b, glyphs)
		st.text.wrap(&b, strings.Repeat(" ", trail))
	}
	return b.String()
}

var eighths = [...]string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// bar places a span on the axis of width cells: blank cells before, the
// bar's glyphs, blank cells after. The start is rounded down to a cell,
// the end to an eighth of a cell (with the full-block glyph); every span
// shows at least a sliver.
func (w *Waterfall) bar(n *node, width int) (lead int, glyphs string, trail int) {
	total := float64(w.tree.total)
	glyph := w.styles.BarGlyph
	if n.critical {
		glyph = w.styles.CriticalGlyph
	}
	start := int(float64(n.offset) / total * float64(width))
	start = min(max(start, 0), width-1)
	endE := int(math.Round(float64(n.end()) / total * float64(width) * 8))
	endE = min(max(endE, start*8+1), width*8)
	var cells int
	if glyph == "█" {
		full, rem := endE/8-start, endE%8
		glyphs = strings.Repeat(glyph, full) + eighths[rem]
		cells = full
		if rem > 0 {
			cells++
		}
	} else {
		cells = max((endE+7)/8-start, 1)
		glyphs = strings.Repeat(glyph, cells)
	}
	return start, glyphs, max(width-start-cells, 0)
}

func countBelow(t *tree, i int) int {
	n := 0
	stack := append([]int(nil), t.nodes[i].children...)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		stack = append(stack, t.nodes[c].children...)
	}
	return n
}

// statusLine describes the selected span: offset, duration, self time,
// and its marks spelled out.
func (w *Waterfall) statusLine(st rowStyles) string {
	if len(w.rows) == 0 {
		return ""
	}
	n := &w.tree.nodes[w.rows[w.sel]]
	sym := w.sym()
	var b strings.Builder
	st.text.wrap(&b, fmt.Sprintf(" +%s  %s (self %s)  ", dur(n.offset), dur(n.span.Duration), dur(n.self)))
	st.accent.wrap(&b, clean(n.span.Service))
	st.subtle.wrap(&b, ": "+clean(n.span.Operation))
	if n.span.Error {
		st.bad.wrap(&b, "  "+sym.err+" failed")
	}
	if n.critical {
		st.accent.wrap(&b, "  "+sym.critical+" critical path")
	}
	if n.orphan {
		st.warn.wrap(&b, "  "+sym.orphan+" parent "+shortID(clean(n.span.ParentID), 16, sym.ellipsis)+" missing")
	}
	if n.skew {
		p := &w.tree.nodes[n.parent]
		what := "skew: ends after its parent"
		if n.offset < p.offset {
			what = fmt.Sprintf("skew: starts %s before its parent", dur(p.offset-n.offset))
		}
		st.warn.wrap(&b, "  "+sym.skew+" "+what)
	}
	return b.String()
}

// detailLines are the tags and logs pane of the selected span.
func (w *Waterfall) detailLines(st rowStyles) []string {
	all := w.detailText(st)
	h := max(w.bodyHeight(), 0)
	w.detailTop = max(min(w.detailTop, len(all)-h), 0)
	return all[w.detailTop:min(w.detailTop+h, len(all))]
}

func (w *Waterfall) detailText(st rowStyles) []string {
	n := &w.tree.nodes[w.rows[w.sel]]
	s := n.span
	sym := w.sym()
	var out []string
	line := func(sg sgr, text string) { out = append(out, sg.pre+text+sg.post) }
	line(st.title, " "+clean(s.Service)+": "+clean(s.Operation))
	var marks []string
	if s.Error {
		marks = append(marks, sym.err+" failed")
	}
	if n.critical {
		marks = append(marks, sym.critical+" critical path")
	}
	line(st.text, fmt.Sprintf(" start +%s  duration %s  self %s  %s", dur(n.offset), dur(s.Duration), dur(n.self), strings.Join(marks, "  ")))
	parent := s.ParentID
	if parent == "" {
		parent = "none (root)"
	} else if n.orphan {
		parent += " (missing from the trace)"
	}
	line(st.subtle, " span "+clean(s.ID)+"  parent "+clean(parent))
	var tags, res, logs []string
	for k := range s.Tags {
		switch {
		case strings.HasPrefix(k, LogTagPrefix):
			logs = append(logs, k)
		case strings.HasPrefix(k, ResourceTagPrefix):
			res = append(res, k)
		default:
			tags = append(tags, k)
		}
	}
	sort.Strings(tags)
	sort.Strings(res)
	sort.Strings(logs)
	kv := func(title string, keys []string, strip string) {
		line(st.header, " "+title)
		if len(keys) == 0 {
			line(st.notice, "   none")
			return
		}
		kw := 0
		for _, k := range keys {
			kw = max(kw, ansi.StringWidth(clean(strings.TrimPrefix(k, strip))))
		}
		kw = min(kw, max(w.width/3, 8))
		vw := max(w.width-kw-5, 8)
		for _, k := range keys {
			v := clean(s.Tags[k])
			parts := strings.Split(ansi.Hardwrap(v, vw, true), "\n")
			for i, p := range parts {
				name := ""
				if i == 0 {
					name = strings.TrimPrefix(k, strip)
				}
				out = append(out, "   "+st.subtle.pre+fit(clean(name), kw, sym.ellipsis)+st.subtle.post+"  "+st.text.pre+p+st.text.post)
			}
		}
	}
	kv("TAGS", tags, "")
	if len(res) > 0 {
		kv("RESOURCE", res, ResourceTagPrefix)
	}
	line(st.header, " LOGS")
	if len(logs) == 0 {
		line(st.notice, "   none")
	}
	for _, k := range logs {
		for _, p := range strings.Split(ansi.Hardwrap(clean(s.Tags[k]), max(w.width-4, 8), true), "\n") {
			line(st.text, "   "+p)
		}
	}
	return out
}
