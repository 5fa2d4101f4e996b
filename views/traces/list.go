package traces

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/sources"
)

// ListData is what the trace list shows.
type ListData struct {
	Workload   sources.WorkloadID
	Start, End time.Time // the search window
	Traces     []sources.Trace
	Loading    bool  // a search is running
	Err        error // the search failed
	Source     string
}

// OpenTraceMsg asks the root model to open a trace's waterfall.
type OpenTraceMsg struct{ Trace sources.Trace }

// entry is one trace in a tab.
type entry struct {
	tr  *sources.Trace
	dur time.Duration // the workload's longest span in it
	hot string        // the hotspot, computed when first shown
}

// List shows the slowest and the failed traces of one workload in a
// window, in two tabs; enter opens a trace.
type List struct {
	KeyMap        ListKeyMap
	styles        Styles
	css           compiled
	width, height int
	data          ListData
	failedTab     bool
	tabs          [2][]entry // slowest, failed
	sel, top      [2]int
	rendered      string
	dirty         bool
}

// NewList returns an empty list.
func NewList(st Styles) *List {
	return &List{KeyMap: DefaultListKeyMap(), styles: st, css: st.compileBoth(), dirty: true}
}

// SetStyles switches styles.
func (l *List) SetStyles(st Styles) { l.styles, l.css, l.dirty = st, st.compileBoth(), true }

// SetSize sets the rendered size.
func (l *List) SetSize(w, h int) {
	if w != l.width || h != l.height {
		l.width, l.height, l.dirty = w, h, true
		l.scroll()
	}
}

// SetData replaces the traces; the selection resets when the workload or
// window changes.
func (l *List) SetData(d ListData) {
	reset := d.Workload != l.data.Workload || !d.Start.Equal(l.data.Start) || !d.End.Equal(l.data.End)
	l.data, l.dirty = d, true
	name := d.Workload.Name
	var slow, failed []entry
	for i := range d.Traces {
		tr := &l.data.Traces[i]
		e := entry{tr: tr, dur: WorkloadDuration(tr, name)}
		slow = append(slow, e)
		if tr.HasError() {
			failed = append(failed, e)
		}
	}
	sort.SliceStable(slow, func(i, j int) bool { return slow[i].dur > slow[j].dur })
	sort.SliceStable(failed, func(i, j int) bool { return failed[i].tr.Start.After(failed[j].tr.Start) })
	l.tabs = [2][]entry{slow, failed}
	if reset {
		l.sel, l.top = [2]int{}, [2]int{}
	}
	l.scroll()
}

// FailedTab reports whether the failed tab is shown.
func (l *List) FailedTab() bool { return l.failedTab }

func (l *List) tab() int {
	if l.failedTab {
		return 1
	}
	return 0
}

// Selected is the trace under the cursor.
func (l *List) Selected() (sources.Trace, bool) {
	t := l.tab()
	if l.sel[t] >= len(l.tabs[t]) {
		return sources.Trace{}, false
	}
	return *l.tabs[t][l.sel[t]].tr, true
}

// Update handles keys; enter returns a command sending OpenTraceMsg.
func (l *List) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	km := l.KeyMap
	t := l.tab()
	n := len(l.tabs[t])
	switch {
	case key.Matches(k, km.Tab):
		l.failedTab = !l.failedTab
	case key.Matches(k, km.Open):
		if tr, ok := l.Selected(); ok {
			return func() tea.Msg { return OpenTraceMsg{Trace: tr} }
		}
		return nil
	case n == 0:
		return nil
	case key.Matches(k, km.Up):
		l.sel[t] = max(l.sel[t]-1, 0)
	case key.Matches(k, km.Down):
		l.sel[t] = min(l.sel[t]+1, n-1)
	case key.Matches(k, km.PageUp):
		l.sel[t] = max(l.sel[t]-l.rowsHeight(), 0)
	case key.Matches(k, km.PageDown):
		l.sel[t] = min(l.sel[t]+l.rowsHeight(), n-1)
	case key.Matches(k, km.Top):
		l.sel[t] = 0
	case key.Matches(k, km.Bottom):
		l.sel[t] = n - 1
	default:
		return nil
	}
	l.scroll()
	l.dirty = true
	return nil
}

func (l *List) rowsHeight() int { return max(l.height-3, 1) }

func (l *List) scroll() {
	for t := range l.tabs {
		n, h := len(l.tabs[t]), l.rowsHeight()
		l.sel[t] = max(min(l.sel[t], n-1), 0)
		if l.sel[t] < l.top[t] {
			l.top[t] = l.sel[t]
		}
		if l.sel[t] >= l.top[t]+h {
			l.top[t] = l.sel[t] - h + 1
		}
		l.top[t] = max(min(l.top[t], n-h), 0)
	}
}

// View renders exactly height lines of width cells.
func (l *List) View() string {
	if !l.dirty {
		return l.rendered
	}
	l.rendered, l.dirty = l.render(), false
	return l.rendered
}

// Column widths of a row; the root column takes the rest.
const (
	colStart = 8
	colDur   = 8
	colTotal = 8
	colSpans = 5
	colErr   = 4
)

func (l *List) render() string {
	if l.width <= 0 || l.height <= 0 {
		return ""
	}
	st := l.css.get(false)
	sym := l.styles.symbols()
	lines := make([]string, 0, l.height)
	lines = append(lines, l.titleLine(st))
	t := l.tab()
	d := &l.data
	switch {
	case d.Err != nil:
		lines = append(lines, errorLines(st, sym, d.Err, l.width)...)
	case d.Loading && len(d.Traces) == 0:
		lines = append(lines, st.notice.pre+" searching traces…"+st.notice.post)
	case len(l.tabs[t]) == 0:
		what := "no traces"
		if l.failedTab {
			what = "no failed traces"
		}
		lines = append(lines, st.notice.pre+fmt.Sprintf(" %s of %s between %s and %s", what, clean(d.Workload.Name),
			d.Start.Format("15:04:05"), d.End.Format("15:04:05"))+st.notice.post)
	default:
		head := " " + fit("START", colStart, "") + rjust("DURATION", colDur+1) + rjust("TRACE", colTotal+1) +
			rjust("SPANS", colSpans+1) + rjust("ERR", colErr) + "  ROOT"
		lines = append(lines, st.header.pre+head+st.header.post)
		rows := l.tabs[t]
		end := min(l.top[t]+l.rowsHeight(), len(rows))
		for k := l.top[t]; k < end; k++ {
			lines = append(lines, l.rowLine(&rows[k], k == l.sel[t]))
		}
		for len(lines) < l.height-1 {
			lines = append(lines, "")
		}
		if l.height >= 3 {
			lines = append(lines[:l.height-1], l.statusLine(st, &rows[l.sel[t]]))
		}
	}
	for len(lines) < l.height {
		lines = append(lines, "")
	}
	lines = lines[:l.height]
	for i, s := range lines {
		lines[i] = padLine(s, l.width)
	}
	return strings.Join(lines, "\n")
}

func (l *List) titleLine(st rowStyles) string {
	d := &l.data
	var b strings.Builder
	id := d.Workload.Name
	if d.Workload.Namespace != "" {
		id = d.Workload.Namespace + "/" + id
	}
	st.title.wrap(&b, " TRACES "+clean(id))
	if !d.End.IsZero() {
		st.subtle.wrap(&b, fmt.Sprintf("  %s–%s (%s)", d.Start.Format("15:04:05"), d.End.Format("15:04:05"), shortSpan(d.End.Sub(d.Start))))
	}
	if d.Source != "" {
		st.subtle.wrap(&b, "  "+clean(d.Source))
	}
	if d.Loading && len(d.Traces) > 0 {
		st.notice.wrap(&b, "  refreshing…")
	}
	left := b.String()
	var r strings.Builder
	tabs := [2]string{fmt.Sprintf("slowest %d", len(l.tabs[0])), fmt.Sprintf("failed %d", len(l.tabs[1]))}
	for i, name := range tabs {
		if i == l.tab() {
			st.title.wrap(&r, "["+name+"]")
		} else {
			st.subtle.wrap(&r, " "+name+" ")
		}
	}
	right := r.String() + " "
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	if lw+rw+1 > l.width {
		return right + left // tabs first: they matter more on narrow screens
	}
	return left + strings.Repeat(" ", l.width-lw-rw) + right
}

func (l *List) rowLine(e *entry, selected bool) string {
	st := l.css.get(selected)
	sym := l.styles.symbols()
	tr := e.tr
	var b strings.Builder
	st.subtle.wrap(&b, " "+fit(tr.Start.Format("15:04:05"), colStart, ""))
	st.text.wrap(&b, rjust(dur(e.dur), colDur+1))
	st.subtle.wrap(&b, rjust(dur(tr.Duration), colTotal+1))
	st.subtle.wrap(&b, rjust(fmt.Sprint(len(tr.Spans)), colSpans+1))
	if n := countErrors(tr); n > 0 {
		st.bad.wrap(&b, rjust(fmt.Sprintf("%s%d", sym.err, n), colErr))
	} else {
		st.subtle.wrap(&b, strings.Repeat(" ", colErr))
	}
	room := l.width - (1 + colStart + colDur + 1 + colTotal + 1 + colSpans + 1 + colErr) - 2
	st.text.wrap(&b, "  "+fit(clean(tr.RootService)+": "+clean(tr.RootOperation), max(room, 0), sym.ellipsis))
	return b.String()
}

// statusLine names the selected trace's hotspot: the span with the most
// time of its own, usually the slow downstream call.
func (l *List) statusLine(st rowStyles, e *entry) string {
	sym := l.styles.symbols()
	if e.hot == "" {
		t := buildTree(*e.tr)
		if h := t.hotspot(); h >= 0 {
			n := &t.nodes[h]
			e.hot = fmt.Sprintf("%s: %s %s self (%.0f%%)", clean(n.span.Service), clean(n.span.Operation),
				dur(n.self), 100*float64(n.self)/float64(t.total))
		} else {
			e.hot = "no spans"
		}
	}
	var b strings.Builder
	st.subtle.wrap(&b, " trace "+shortID(clean(e.tr.ID), 12, sym.ellipsis)+"  hotspot ")
	st.accent.wrap(&b, e.hot)
	return b.String()
}

// WorkloadDuration is how long the workload took in a trace: its longest
// span there, else the whole trace.
func WorkloadDuration(tr *sources.Trace, service string) time.Duration {
	var d time.Duration
	found := false
	for i := range tr.Spans {
		if tr.Spans[i].Service == service {
			found = true
			d = max(d, tr.Spans[i].Duration)
		}
	}
	if !found {
		return tr.Duration
	}
	return d
}

func countErrors(tr *sources.Trace) int {
	n := 0
	for i := range tr.Spans {
		if tr.Spans[i].Error {
			n++
		}
	}
	return n
}

func shortSpan(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return d.Round(time.Second).String()
}
