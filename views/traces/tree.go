package traces

import (
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/perch-dev/perch/sources"
)

// MaxSpans is the most spans the waterfall lays out; larger traces show
// their first MaxSpans spans by start time and say so.
const MaxSpans = 5000

// AutoCollapseSpans: traces with more spans open with every subtree off
// the critical path collapsed.
const AutoCollapseSpans = 300

// node is one span in the waterfall's tree.
type node struct {
	span     *sources.Span
	parent   int // -1 for roots
	children []int
	depth    int
	offset   time.Duration // start relative to the trace's origin
	self     time.Duration // duration not covered by children
	critical bool
	orphan   bool // has a parent id that is not in the trace
	skew     bool // starts before its parent or ends after it
	folded   bool // children hidden
}

func (n *node) end() time.Duration { return n.offset + n.span.Duration }

// tree is a trace laid out for the waterfall.
type tree struct {
	trace                   sources.Trace
	spans                   []sources.Span // the spans kept (at most MaxSpans), by start
	nodes                   []node
	roots                   []int
	origin                  time.Time
	total                   time.Duration // origin to the last end (at least 1ns)
	capped                  int           // spans left out
	orphans, skewed, errors int
}

// buildTree indexes the spans, links parents, breaks cycles, and marks
// orphans, clock skew and the critical path.
func buildTree(tr sources.Trace) *tree {
	t := &tree{trace: tr}
	spans := append([]sources.Span(nil), tr.Spans...)
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].Start.Before(spans[j].Start) })
	if len(spans) > MaxSpans {
		t.capped = len(spans) - MaxSpans
		spans = spans[:MaxSpans]
	}
	t.spans = spans
	if len(spans) == 0 {
		t.total = 1
		return t
	}
	t.nodes = make([]node, len(spans))
	byID := make(map[string]int, len(spans))
	for i := range spans {
		if _, dup := byID[spans[i].ID]; !dup {
			byID[spans[i].ID] = i
		}
	}
	t.origin = spans[0].Start
	var last time.Time
	for i := range spans {
		s := &spans[i]
		n := &t.nodes[i]
		n.span, n.parent = s, -1
		n.offset = s.Start.Sub(t.origin)
		if e := s.Start.Add(s.Duration); e.After(last) {
			last = e
		}
		if s.Error {
			t.errors++
		}
		if s.ParentID == "" {
			continue
		}
		if p, ok := byID[s.ParentID]; ok && p != i {
			n.parent = p
		} else {
			n.orphan = true
		}
	}
	t.total = max(last.Sub(t.origin), 1)
	for i := range t.nodes {
		if p := t.nodes[i].parent; p >= 0 {
			t.nodes[p].children = append(t.nodes[p].children, i) // in start order
		}
	}
	t.linkRoots()
	for i := range t.nodes {
		n := &t.nodes[i]
		if n.orphan {
			t.orphans++
		}
		if n.parent >= 0 {
			p := &t.nodes[n.parent]
			if n.offset < p.offset || n.end() > p.end() {
				n.skew = true
				t.skewed++
			}
		}
		n.self = selfTime(t, i)
	}
	if len(t.roots) > 0 {
		t.markCritical(t.mainRoot())
	}
	return t
}

// linkRoots walks the tree from the roots (depth-first, iteratively);
// spans not reached sit on a parent cycle: the earliest of them becomes a
// root, marked as an orphan, until every span is placed.
func (t *tree) linkRoots() {
	seen := make([]bool, len(t.nodes))
	walk := func(r int) {
		stack := []int{r}
		t.nodes[r].depth = 0
		seen[r] = true
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, c := range t.nodes[i].children {
				if !seen[c] {
					seen[c] = true
					t.nodes[c].depth = t.nodes[i].depth + 1
					stack = append(stack, c)
				}
			}
		}
	}
	for i := range t.nodes {
		if t.nodes[i].parent < 0 {
			t.roots = append(t.roots, i)
			walk(i)
		}
	}
	for i := range t.nodes {
		if !seen[i] {
			n := &t.nodes[i]
			p := &t.nodes[n.parent]
			p.children = removeInt(p.children, i)
			n.parent, n.orphan = -1, true
			t.roots = append(t.roots, i)
			walk(i)
		}
	}
	sort.SliceStable(t.roots, func(a, b int) bool { return t.roots[a] < t.roots[b] })
}

func removeInt(xs []int, x int) []int {
	out := xs[:0]
	for _, v := range xs {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// mainRoot is the root the critical path starts from: the longest
// parentless span, else the longest root.
func (t *tree) mainRoot() int {
	best := -1
	for _, r := range t.roots {
		n := &t.nodes[r]
		if best < 0 || (!n.orphan && t.nodes[best].orphan) ||
			(n.orphan == t.nodes[best].orphan && n.end() > t.nodes[best].end()) {
			best = r
		}
	}
	return best
}

// markCritical marks the critical path below span i: from the span's end
// backwards, the child that finished last before that point, then the
// one that finished last before that child started, and so on; each
// chosen child is followed down the same way. Children are clipped to
// their parent, so clock skew cannot lead outside it.
func (t *tree) markCritical(i int) {
	type item struct {
		i      int
		cursor time.Duration
	}
	stack := []item{{i, t.nodes[i].end()}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := &t.nodes[it.i]
		n.critical = true
		kids := append([]int(nil), n.children...)
		clipEnd := func(c int) time.Duration { return min(t.nodes[c].end(), n.end()) }
		sort.SliceStable(kids, func(a, b int) bool { return clipEnd(kids[a]) > clipEnd(kids[b]) })
		cursor := min(it.cursor, n.end())
		for _, c := range kids {
			if cursor <= n.offset {
				break
			}
			ce := clipEnd(c)
			cs := max(t.nodes[c].offset, n.offset)
			if ce > cursor || cs >= cursor {
				continue // runs in parallel with a later critical child
			}
			stack = append(stack, item{c, ce})
			cursor = cs
		}
	}
}

// selfTime is a span's duration minus the union of its children's
// intervals (clipped to it).
func selfTime(t *tree, i int) time.Duration {
	n := &t.nodes[i]
	if len(n.children) == 0 {
		return n.span.Duration
	}
	type iv struct{ a, b time.Duration }
	ivs := make([]iv, 0, len(n.children))
	for _, c := range n.children {
		a, b := max(t.nodes[c].offset, n.offset), min(t.nodes[c].end(), n.end())
		if b > a {
			ivs = append(ivs, iv{a, b})
		}
	}
	sort.Slice(ivs, func(x, y int) bool { return ivs[x].a < ivs[y].a })
	covered, curA, curB := time.Duration(0), time.Duration(-1), time.Duration(-1)
	for _, v := range ivs {
		if curB < 0 || v.a > curB {
			if curB > curA {
				covered += curB - curA
			}
			curA, curB = v.a, v.b
		} else if v.b > curB {
			curB = v.b
		}
	}
	if curB > curA {
		covered += curB - curA
	}
	return max(n.span.Duration-covered, 0)
}

// visible lists the nodes shown with the current folds, in tree order.
func (t *tree) visible() []int {
	out := make([]int, 0, min(len(t.nodes), 1024))
	stack := make([]int, 0, 64)
	for r := len(t.roots) - 1; r >= 0; r-- {
		stack = append(stack, t.roots[r])
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, i)
		if n := &t.nodes[i]; !n.folded {
			for c := len(n.children) - 1; c >= 0; c-- {
				stack = append(stack, n.children[c])
			}
		}
	}
	return out
}

// autoFold folds every subtree off the critical path.
func (t *tree) autoFold() {
	for i := range t.nodes {
		n := &t.nodes[i]
		n.folded = len(n.children) > 0 && !n.critical
	}
}

// hotspot is the span with the longest self time (-1 for no spans).
func (t *tree) hotspot() int {
	best := -1
	for i := range t.nodes {
		if best < 0 || t.nodes[i].self > t.nodes[best].self {
			best = i
		}
	}
	return best
}

// clean makes untrusted text safe for one terminal line: control
// characters (escapes, tabs, newlines) become spaces, invalid UTF-8 �.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

const utf8RuneError = '\uFFFD'
