package traces

import (
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/perch-dev/perch/sources"
)

// Tag prefixes of the span tags that are not ordinary tags (the jaeger
// source writes them: sources.Span has no logs or resource).
const (
	LogTagPrefix      = "log#"
	ResourceTagPrefix = "resource."
)

// WaterfallData is what the waterfall shows.
type WaterfallData struct {
	Trace   sources.Trace
	Loading bool  // the trace is being fetched
	Err     error // fetching failed
}

// Row is one visible line of the waterfall, for tests and tools.
type Row struct {
	SpanID, Service, Operation    string
	Depth                         int
	Offset, Duration, Self        time.Duration
	Critical, Error, Orphan, Skew bool
	Folded                        bool
	Children                      int
}

// Waterfall shows one trace: a tree of spans on a shared time axis, the
// critical path highlighted, errors, orphans and clock skew marked, and a
// span's tags and logs on enter. It lays out at most MaxSpans spans and
// renders only the visible rows.
type Waterfall struct {
	KeyMap        WaterfallKeyMap
	styles        Styles
	css           compiled
	width, height int
	data          WaterfallData
	tree          *tree
	rows          []int // visible nodes
	sel, top      int   // index into rows
	details       bool
	detailTop     int
	rendered      string
	dirty         bool
}

// NewWaterfall returns an empty waterfall.
func NewWaterfall(st Styles) *Waterfall {
	return &Waterfall{KeyMap: DefaultWaterfallKeyMap(), styles: st, css: st.compileBoth(), tree: buildTree(sources.Trace{}), dirty: true}
}

// SetStyles switches styles.
func (w *Waterfall) SetStyles(st Styles) { w.styles, w.css, w.dirty = st, st.compileBoth(), true }

// SetSize sets the rendered size.
func (w *Waterfall) SetSize(width, height int) {
	if width != w.width || height != w.height {
		w.width, w.height, w.dirty = width, height, true
		w.scroll()
	}
}

// SetData replaces the trace; folds and selection start over unless it
// is the same trace again.
func (w *Waterfall) SetData(d WaterfallData) {
	same := d.Trace.ID != "" && d.Trace.ID == w.data.Trace.ID && len(d.Trace.Spans) == len(w.data.Trace.Spans)
	w.data, w.dirty = d, true
	if same {
		return
	}
	w.tree = buildTree(d.Trace)
	if len(w.tree.nodes) > AutoCollapseSpans {
		w.tree.autoFold()
	}
	w.rows = w.tree.visible()
	w.sel, w.top, w.details, w.detailTop = 0, 0, false, 0
}

// InDetails reports whether the tags/logs pane is open (esc closes it
// instead of leaving the page).
func (w *Waterfall) InDetails() bool { return w.details }

// Selected is the span under the cursor.
func (w *Waterfall) Selected() (sources.Span, bool) {
	if w.sel < 0 || w.sel >= len(w.rows) {
		return sources.Span{}, false
	}
	return *w.tree.nodes[w.rows[w.sel]].span, true
}

// Rows lists the visible rows in order.
func (w *Waterfall) Rows() []Row {
	out := make([]Row, len(w.rows))
	for k, i := range w.rows {
		n := &w.tree.nodes[i]
		out[k] = Row{
			SpanID: n.span.ID, Service: n.span.Service, Operation: n.span.Operation, Depth: n.depth,
			Offset: n.offset, Duration: n.span.Duration, Self: n.self,
			Critical: n.critical, Error: n.span.Error, Orphan: n.orphan, Skew: n.skew,
			Folded: n.folded, Children: len(n.children),
		}
	}
	return out
}

// Update handles keys.
func (w *Waterfall) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	km := w.KeyMap
	if w.details {
		switch {
		case key.Matches(k, km.Close):
			w.details = false
		case key.Matches(k, km.Up):
			w.detailTop = max(w.detailTop-1, 0)
		case key.Matches(k, km.Down):
			w.detailTop++
		case key.Matches(k, km.PageUp):
			w.detailTop = max(w.detailTop-w.bodyHeight(), 0)
		case key.Matches(k, km.PageDown):
			w.detailTop += w.bodyHeight()
		case key.Matches(k, km.Top):
			w.detailTop = 0
		default:
			return nil
		}
		w.dirty = true
		return nil
	}
	if len(w.rows) == 0 {
		return nil
	}
	cur := w.rows[w.sel]
	n := &w.tree.nodes[cur]
	switch {
	case key.Matches(k, km.Up):
		w.sel = max(w.sel-1, 0)
	case key.Matches(k, km.Down):
		w.sel = min(w.sel+1, len(w.rows)-1)
	case key.Matches(k, km.PageUp):
		w.sel = max(w.sel-max(w.rowsHeight(), 1), 0)
	case key.Matches(k, km.PageDown):
		w.sel = min(w.sel+max(w.rowsHeight(), 1), len(w.rows)-1)
	case key.Matches(k, km.Top):
		w.sel = 0
	case key.Matches(k, km.Bottom):
		w.sel = len(w.rows) - 1
	case key.Matches(k, km.Expand):
		switch {
		case n.folded:
			w.fold(cur, false)
		case len(n.children) > 0:
			w.sel = min(w.sel+1, len(w.rows)-1)
		}
	case key.Matches(k, km.Collapse):
		switch {
		case len(n.children) > 0 && !n.folded:
			w.fold(cur, true)
		case n.parent >= 0:
			w.selectNode(n.parent)
		}
	case key.Matches(k, km.Toggle):
		if len(n.children) > 0 {
			w.fold(cur, !n.folded)
		}
	case key.Matches(k, km.ExpandAll):
		for i := range w.tree.nodes {
			w.tree.nodes[i].folded = false
		}
		w.refold(cur)
	case key.Matches(k, km.CollapseAll):
		w.tree.autoFold()
		w.refold(cur)
	case key.Matches(k, km.NextError):
		w.nextError()
	case key.Matches(k, km.Details):
		w.details, w.detailTop = true, 0
	default:
		return nil
	}
	w.scroll()
	w.dirty = true
	return nil
}

func (w *Waterfall) fold(i int, folded bool) {
	w.tree.nodes[i].folded = folded
	w.refold(i)
}

// refold recomputes the visible rows, keeping node i selected (or its
// nearest visible ancestor).
func (w *Waterfall) refold(i int) {
	w.rows = w.tree.visible()
	w.selectNode(i)
}

func (w *Waterfall) selectNode(i int) {
	for i >= 0 {
		for k, r := range w.rows {
			if r == i {
				w.sel = k
				return
			}
		}
		i = w.tree.nodes[i].parent
	}
	w.sel = 0
}

// nextError selects the next failed span in tree order, unfolding its
// ancestors.
func (w *Waterfall) nextError() {
	order := w.allInTreeOrder()
	cur := w.rows[w.sel]
	start := 0
	for k, i := range order {
		if i == cur {
			start = k + 1
			break
		}
	}
	for k := range order {
		i := order[(start+k)%len(order)]
		if w.tree.nodes[i].span.Error {
			for p := w.tree.nodes[i].parent; p >= 0; p = w.tree.nodes[p].parent {
				w.tree.nodes[p].folded = false
			}
			w.refold(i)
			return
		}
	}
}

func (w *Waterfall) allInTreeOrder() []int {
	saved := make([]bool, len(w.tree.nodes))
	for i := range w.tree.nodes {
		saved[i], w.tree.nodes[i].folded = w.tree.nodes[i].folded, false
	}
	order := w.tree.visible()
	for i := range w.tree.nodes {
		w.tree.nodes[i].folded = saved[i]
	}
	return order
}

// Layout: a title line, the axis line, the rows (after a banner when the
// trace was capped) and a status line about the selected span.
func (w *Waterfall) bodyHeight() int { return max(w.height-3, 0) }

func (w *Waterfall) rowsHeight() int {
	h := w.bodyHeight()
	if w.tree.capped > 0 {
		h--
	}
	return max(h, 0)
}

func (w *Waterfall) scroll() {
	h := max(w.rowsHeight(), 1)
	if w.sel < w.top {
		w.top = w.sel
	}
	if w.sel >= w.top+h {
		w.top = w.sel - h + 1
	}
	w.top = max(min(w.top, len(w.rows)-h), 0)
}
