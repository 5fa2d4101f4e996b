// Package overview renders the side-by-side table: one row per workload or
// function with cost, scaling, latency and traffic column groups.
package overview

import (
	"math"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/views/format"
)

// GroupBy groups rows under headers with subtotals.
type GroupBy uint8

// Groupings, cycled by the Group key.
const (
	GroupNone GroupBy = iota
	GroupNamespace
	GroupPlatform
	numGroupings
)

func (g GroupBy) String() string { return [...]string{"none", "namespace", "platform"}[g] }

// Thresholds colour latency and error cells.
type Thresholds struct {
	LatencyWarn, LatencyBad float64 // seconds
	ErrorWarn, ErrorBad     float64 // ratio
}

// DefaultThresholds are sensible for web services.
func DefaultThresholds() Thresholds {
	return Thresholds{LatencyWarn: 0.3, LatencyBad: 1, ErrorWarn: 0.01, ErrorBad: 0.05}
}

// KeyMap is the overview's key bindings.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Sort, Reverse, Filter, Group            key.Binding
}

// DefaultKeyMap returns the default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "bottom")),
		Sort:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort column")),
		Reverse:  key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Group:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "group by ns/platform")),
	}
}

// ShortHelp is the footer's list.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Sort, k.Filter, k.Group}
}

// FullHelp is the help page's list.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Sort, k.Reverse, k.Filter, k.Group}}
}

// line is one displayed line: a workload row or a group header.
type line struct {
	row   int // index into rows, -1 for a group header
	group string
	count int
	cost  float64
}

// Model is the overview table.
type Model struct {
	KeyMap     KeyMap
	Thresholds Thresholds

	styles        Styles
	normal, sel   cellStyles
	width, height int
	rows          []sources.Summary
	lines         []line
	cells         []cell
	rowWidth      int
	cursor        int // index into lines, always a workload row when any exist
	offset        int
	selectedID    sources.WorkloadID
	sortCol       Column
	desc          bool
	group         GroupBy
	filter        string
	filtering     bool
	notice        string
	// cache of rendered rows by rows index, invalidated on any change of
	// data, size, order or styles; selected rows are never cached.
	cache    []string
	header   string
	headerOK bool
}

// New returns an overview with the given styles, sorted by cost, highest first.
func New(st Styles) *Model {
	m := &Model{KeyMap: DefaultKeyMap(), Thresholds: DefaultThresholds(), sortCol: ColCost, desc: true}
	m.SetStyles(st)
	return m
}

// SetStyles switches styles (theme change).
func (m *Model) SetStyles(st Styles) {
	m.styles, m.normal, m.sel = st, st.compile(false), st.compile(true)
	m.invalidate()
}

// SetSize sets the rendered size in cells.
func (m *Model) SetSize(width, height int) {
	if width == m.width && height == m.height {
		return
	}
	m.width, m.height = width, height
	m.setCells()
	m.invalidate()
	m.clampScroll()
}

// SetData replaces the rows; the selection follows its workload.
func (m *Model) SetData(rows []sources.Summary) {
	m.rows = rows
	m.rebuild()
}

// SetNotice is shown instead of the table when there are no rows
// (waiting for sources, or why there is nothing).
func (m *Model) SetNotice(msg string) { m.notice = msg }

// Selected returns the selected row.
func (m *Model) Selected() (sources.Summary, bool) {
	if m.cursor < 0 || m.cursor >= len(m.lines) || m.lines[m.cursor].row < 0 {
		return sources.Summary{}, false
	}
	return m.rows[m.lines[m.cursor].row], true
}

// Filtering reports whether the filter prompt has the keyboard.
func (m *Model) Filtering() bool { return m.filtering }

// Filter returns the current filter text.
func (m *Model) Filter() string { return m.filter }

// Sort returns the sort column and direction.
func (m *Model) Sort() (Column, bool) { return m.sortCol, m.desc }

// Grouping returns the current grouping.
func (m *Model) Grouping() GroupBy { return m.group }

// Visible is the number of rows that pass the filter.
func (m *Model) Visible() int {
	n := 0
	for _, l := range m.lines {
		if l.row >= 0 {
			n++
		}
	}
	return n
}

// setCells lays out the columns and records the width of a row, so rows
// never need measuring.
func (m *Model) setCells() {
	m.cells = layout(m.width, m.group == GroupNamespace)
	m.rowWidth = 1 // gutter
	for i, c := range m.cells {
		if i > 0 {
			m.rowWidth++
			if columns[c.col].group != columns[m.cells[i-1].col].group {
				m.rowWidth += 2
			}
		}
		m.rowWidth += c.width
	}
}

func (m *Model) invalidate() {
	m.cache = nil
	m.headerOK = false
}

// Update handles keys; it returns no commands today but keeps the shape.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if m.filtering {
		m.updateFilter(k)
		return nil
	}
	km := m.KeyMap
	switch {
	case key.Matches(k, km.Up):
		m.move(-1)
	case key.Matches(k, km.Down):
		m.move(1)
	case key.Matches(k, km.PageUp):
		m.move(-m.pageRows())
	case key.Matches(k, km.PageDown):
		m.move(m.pageRows())
	case key.Matches(k, km.Top):
		m.move(-len(m.lines))
	case key.Matches(k, km.Bottom):
		m.move(len(m.lines))
	case key.Matches(k, km.Sort):
		m.nextSort()
	case key.Matches(k, km.Reverse):
		m.desc = !m.desc
		m.rebuild()
	case key.Matches(k, km.Filter):
		m.filtering = true
	case key.Matches(k, km.Group):
		m.group = (m.group + 1) % numGroupings
		m.setCells()
		m.rebuild()
	}
	return nil
}

func (m *Model) updateFilter(k tea.KeyPressMsg) {
	var changed bool
	m.filter, m.filtering, changed = format.EditFilter(m.filter, k.String(), k.Text)
	if changed {
		m.rebuild()
	}
}

func (m *Model) nextSort() {
	for c := m.sortCol + 1; ; c++ {
		if c >= numColumns {
			c = 0
		}
		if columns[c].sortable && m.hasColumn(c) {
			m.sortCol = c
			m.desc = c != ColName && c != ColNamespace && c != ColPlatform
			break
		}
	}
	m.rebuild()
}

func (m *Model) hasColumn(c Column) bool {
	for _, cl := range m.cells {
		if cl.col == c {
			return true
		}
	}
	return c == ColName
}

func (m *Model) pageRows() int { return max(m.tableRows()-1, 1) }

// tableRows is how many lines the table body gets.
func (m *Model) tableRows() int {
	h := m.height - 2 // group and column headers
	if m.filtering || m.filter != "" {
		h--
	}
	return max(h, 0)
}

func (m *Model) move(delta int) {
	if len(m.lines) == 0 {
		return
	}
	step := 1
	if delta < 0 {
		step = -1
	}
	target := min(max(m.cursor+delta, 0), len(m.lines)-1)
	// Land on a workload row, skipping group headers in the direction of travel.
	for target >= 0 && target < len(m.lines) && m.lines[target].row < 0 {
		target += step
	}
	if target < 0 || target >= len(m.lines) {
		target = m.cursor
	}
	m.cursor = target
	if row := m.lines[m.cursor].row; row >= 0 {
		m.selectedID = m.rows[row].ID
	}
	m.clampScroll()
}

func (m *Model) clampScroll() {
	rows := m.tableRows()
	if rows <= 0 {
		return
	}
	if m.cursor < m.offset {
		m.offset = m.cursor
		// Show the group header above the first row of a group.
		if m.offset > 0 && m.lines[m.offset-1].row < 0 {
			m.offset--
		}
	}
	if m.cursor >= m.offset+rows {
		m.offset = m.cursor - rows + 1
	}
	m.offset = min(max(m.offset, 0), max(len(m.lines)-rows, 0))
}

// rebuild filters, sorts and groups rows into lines, then restores the
// selection by workload id.
func (m *Model) rebuild() {
	m.invalidate()
	idx := make([]int, 0, len(m.rows))
	needle := strings.ToLower(m.filter)
	for i := range m.rows {
		if needle == "" || format.FuzzyMatch(needle, haystack(&m.rows[i])) {
			idx = append(idx, i)
		}
	}
	groupKey := func(i int) string {
		switch m.group {
		case GroupNamespace:
			return m.rows[i].ID.Namespace
		case GroupPlatform:
			return string(m.rows[i].Platform)
		}
		return ""
	}
	m.sortRows(idx, groupKey)
	m.lines = m.lines[:0]
	for n := 0; n < len(idx); {
		g := groupKey(idx[n])
		end := n
		total := 0.0
		for end < len(idx) && groupKey(idx[end]) == g {
			if c := m.rows[idx[end]].Latest[sources.CostRate]; !math.IsNaN(c) {
				total += c
			}
			end++
		}
		if m.group != GroupNone {
			m.lines = append(m.lines, line{row: -1, group: g, count: end - n, cost: total})
		}
		for _, i := range idx[n:end] {
			m.lines = append(m.lines, line{row: i})
		}
		n = end
	}
	m.cursor = -1
	for i, l := range m.lines {
		if l.row >= 0 && m.rows[l.row].ID == m.selectedID {
			m.cursor = i
			break
		}
	}
	if m.cursor < 0 {
		m.cursor = 0
		m.move(0)
	}
	m.clampScroll()
}

// sortRows orders idx by group, then the sort column, then id. Keys are
// extracted once so the comparison does no lookups.
func (m *Model) sortRows(idx []int, groupKey func(int) string) {
	type keyed struct {
		group string
		num   float64
		i     int
	}
	ks := make([]keyed, len(idx))
	keyOf := columns[m.sortCol].key
	for n, i := range idx {
		ks[n] = keyed{group: groupKey(i), i: i}
		if keyOf != nil {
			ks[n].num = keyOf(&m.rows[i])
		}
	}
	less := m.lessFunc()
	sort.Slice(ks, func(a, b int) bool {
		ka, kb := &ks[a], &ks[b]
		if ka.group != kb.group {
			return ka.group < kb.group
		}
		if keyOf == nil {
			return less(ka.i, kb.i)
		}
		na, nb := math.IsNaN(ka.num), math.IsNaN(kb.num)
		switch {
		case na && nb:
		case na || nb:
			return nb // unknown values always last
		case ka.num != kb.num:
			return (ka.num < kb.num) != m.desc
		}
		return m.rows[ka.i].ID.Less(m.rows[kb.i].ID)
	})
	for n := range ks {
		idx[n] = ks[n].i
	}
}

func (m *Model) lessFunc() func(a, b int) bool {
	col, desc := m.sortCol, m.desc
	byName := func(a, b int) bool { return m.rows[a].ID.Less(m.rows[b].ID) }
	switch col {
	case ColName:
		return func(a, b int) bool {
			if m.rows[a].ID.Name != m.rows[b].ID.Name {
				return (m.rows[a].ID.Name < m.rows[b].ID.Name) != desc
			}
			return byName(a, b)
		}
	case ColNamespace:
		return func(a, b int) bool { return byName(a, b) != desc }
	case ColPlatform:
		return func(a, b int) bool {
			pa, pb := m.rows[a].Platform, m.rows[b].Platform
			if pa != pb {
				return (pa < pb) != desc
			}
			return byName(a, b)
		}
	}
	keyOf := columns[col].key
	return func(a, b int) bool {
		ka, kb := keyOf(&m.rows[a]), keyOf(&m.rows[b])
		na, nb := math.IsNaN(ka), math.IsNaN(kb)
		switch {
		case na && nb:
			return byName(a, b)
		case na || nb:
			return nb // unknown values always last
		case ka != kb:
			return (ka < kb) != desc
		}
		return byName(a, b)
	}
}

func haystack(s *sources.Summary) string {
	return strings.ToLower(s.ID.Cluster + "/" + s.ID.Namespace + "/" + s.ID.Name + " " + string(s.Platform) + " " + string(s.Kind))
}
