// Package pods renders the pods page: one row per pod of a workload (name,
// phase, ready, restarts, age, CPU and memory usage against requests, node,
// owner) with sorting and filtering, and the workload's recent warning
// events underneath.
package pods

import (
	"math"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/views/format"
)

// Data is what the page shows. Now is the clock for ages (views never read
// the time themselves).
type Data struct {
	Workload sources.WorkloadID
	// All shows every pod the sources see (Workload is ignored): the
	// owner column names each pod's workload and the filter matches it.
	All    bool
	Pods   []sources.Pod
	Events []sources.Event
	Now    time.Time
	// Loading is set while the first answer is outstanding.
	Loading bool
	// Err is the pods request's failure; EventsErr the events request's.
	Err, EventsErr error
	// Note is shown in the title line, e.g. where usage comes from.
	Note string
}

// Column identifies a table column.
type Column uint8

// Columns in display order.
const (
	ColName Column = iota
	ColPhase
	ColReady
	ColRestarts
	ColAge
	ColCPU
	ColMem
	ColNode
	ColOwner
	numColumns
)

type column struct {
	title    string
	width    int // fixed width; ColName takes what is left
	priority int // lower is dropped first when narrow
	right    bool
}

var columns = [numColumns]column{
	ColName:     {title: "NAME", priority: 100},
	ColPhase:    {title: "PHASE", width: 9, priority: 90},
	ColReady:    {title: "READY", width: 6, priority: 85},
	ColRestarts: {title: "RESTARTS", width: 9, priority: 80, right: true},
	ColAge:      {title: "AGE", width: 5, priority: 70, right: true},
	ColCPU:      {title: "CPU use/req", width: 13, priority: 75, right: true},
	ColMem:      {title: "MEM use/req", width: 15, priority: 65, right: true},
	ColNode:     {title: "NODE", width: 16, priority: 40},
	ColOwner:    {title: "OWNER", width: 16, priority: 20},
}

// String is the column's title.
func (c Column) String() string {
	if c < numColumns {
		return strings.TrimSuffix(columns[c].title, " use/req")
	}
	return "?"
}

const (
	minNameWidth = 16
	maxNameWidth = 60
	// minEventsHeight is the frame height from which events are shown.
	minEventsHeight = 12
)

// KeyMap is the page's key bindings.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Sort, Reverse, Filter                   key.Binding
}

// DefaultKeyMap returns the default bindings (the overview's).
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
	}
}

// ShortHelp is the footer's list.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Up, k.Down, k.Sort, k.Filter} }

// FullHelp is the help page's list.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Sort, k.Reverse, k.Filter}}
}

type cell struct {
	col   Column
	width int
}

// Model is the pods page.
type Model struct {
	KeyMap KeyMap

	styles      Styles
	normal, sel cellStyles
	width       int
	height      int
	data        Data
	usageKnown  bool
	cells       []cell
	rows        []int // indexes into data.Pods after filter and sort
	cursor      int   // index into rows
	offset      int
	selected    string // podKey of the pod the cursor follows
	sortCol     Column
	desc        bool
	filter      string
	filtering   bool
	cache       []string // rendered unselected rows by pod index
}

// New returns the page sorted by name.
func New(st Styles) *Model {
	m := &Model{KeyMap: DefaultKeyMap()}
	m.SetStyles(st)
	return m
}

// SetStyles switches styles (theme change).
func (m *Model) SetStyles(st Styles) {
	m.styles, m.normal, m.sel = st, st.compile(false), st.compile(true)
	m.cache = nil
}

// SetSize sets the rendered size in cells.
func (m *Model) SetSize(width, height int) {
	if width == m.width && height == m.height {
		return
	}
	m.width, m.height = width, height
	m.cells = layout(width, m.data.All)
	m.cache = nil
	m.clampScroll()
}

// SetData replaces what is shown; the cursor follows its pod by name. A
// different workload resets the filter and the cursor.
func (m *Model) SetData(d Data) {
	if d.Workload != m.data.Workload || d.All != m.data.All {
		if d.All != m.data.All {
			m.cells = layout(m.width, d.All)
		}
		m.selected, m.filter, m.filtering, m.cursor, m.offset = "", "", false, 0, 0
	}
	m.data = d
	m.usageKnown = false
	for _, p := range d.Pods {
		if p.CPUUsage > 0 || p.MemUsage > 0 {
			m.usageKnown = true // a source without usage reports zeros
			break
		}
	}
	m.rebuild()
}

// Selected returns the pod under the cursor.
func (m *Model) Selected() (sources.Pod, bool) {
	if m.cursor < 0 || m.cursor >= len(m.rows) {
		return sources.Pod{}, false
	}
	return m.data.Pods[m.rows[m.cursor]], true
}

// Filtering reports whether the filter prompt has the keyboard.
func (m *Model) Filtering() bool { return m.filtering }

// Sort returns the sort column and direction.
func (m *Model) Sort() (Column, bool) { return m.sortCol, m.desc }

// Visible is the number of pods that pass the filter.
func (m *Model) Visible() int { return len(m.rows) }

// Update handles keys. It returns no commands (the page's data comes from
// the tui, which polls the source).
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
		m.move(-max(m.tableRows()-1, 1))
	case key.Matches(k, km.PageDown):
		m.move(max(m.tableRows()-1, 1))
	case key.Matches(k, km.Top):
		m.move(-len(m.rows))
	case key.Matches(k, km.Bottom):
		m.move(len(m.rows))
	case key.Matches(k, km.Sort):
		m.sortCol = (m.sortCol + 1) % numColumns
		// Numbers and phases read best worst-first; names A to Z.
		m.desc = m.sortCol == ColRestarts || m.sortCol == ColCPU || m.sortCol == ColMem || m.sortCol == ColAge
		m.rebuild()
	case key.Matches(k, km.Reverse):
		m.desc = !m.desc
		m.rebuild()
	case key.Matches(k, km.Filter):
		m.filtering = true
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

func (m *Model) move(delta int) {
	if len(m.rows) == 0 {
		return
	}
	m.cursor = min(max(m.cursor+delta, 0), len(m.rows)-1)
	m.selected = podKey(&m.data.Pods[m.rows[m.cursor]])
	m.clampScroll()
}

// layout picks the columns that fit, dropping the lowest priority first.
// Listing all pods, the owner says where a pod belongs, so it outranks
// everything but the name.
func layout(width int, all bool) []cell {
	priority := func(c Column) int {
		if all && c == ColOwner {
			return 95
		}
		return columns[c].priority
	}
	colWidth := func(c Column) int {
		if all && c == ColOwner {
			return 24 // namespace/workload
		}
		return columns[c].width
	}
	active := [numColumns]bool{}
	for c := range active {
		active[c] = true
	}
	used := func() int {
		total, n := 1, 0 // selection gutter
		for c := Column(0); c < numColumns; c++ {
			if active[c] {
				if n > 0 {
					total++
				}
				total += colWidth(c)
				n++
			}
		}
		return total
	}
	for used()+minNameWidth > width {
		drop, lowest := numColumns, math.MaxInt
		for c := Column(1); c < numColumns; c++ {
			if active[c] && priority(c) < lowest {
				drop, lowest = c, priority(c)
			}
		}
		if drop == numColumns {
			break
		}
		active[drop] = false
	}
	spare := width - used()
	ownerGrow := 0
	if all && active[ColOwner] {
		// namespace/workload before a wider name
		ownerGrow = min(max(spare-minNameWidth-8, 0), 24)
		spare -= ownerGrow
	}
	name := min(max(spare, minNameWidth), maxNameWidth)
	spare -= name
	var out []cell
	for c := Column(0); c < numColumns; c++ {
		if !active[c] {
			continue
		}
		w := colWidth(c)
		switch {
		case c == ColName:
			w = name
		case c == ColOwner && ownerGrow > 0:
			w += ownerGrow
			if spare > 0 {
				grow := min(spare, 16)
				w += grow
				spare -= grow
			}
		case (c == ColNode || c == ColOwner) && spare > 0:
			grow := min(spare, 16)
			w += grow
			spare -= grow
		}
		out = append(out, cell{col: c, width: w})
	}
	return out
}

// rebuild filters and sorts, then puts the cursor back on its pod.
func (m *Model) rebuild() {
	m.cache = nil
	m.rows = m.rows[:0]
	needle := strings.ToLower(m.filter)
	for i := range m.data.Pods {
		p := &m.data.Pods[i]
		hay := p.Name + " " + string(p.Phase) + " " + p.Node
		if m.data.All {
			hay += " " + ownerText(p)
		}
		if needle == "" || format.FuzzyMatch(needle, strings.ToLower(hay)) {
			m.rows = append(m.rows, i)
		}
	}
	pods := m.data.Pods
	less := m.less()
	sort.SliceStable(m.rows, func(a, b int) bool {
		pa, pb := &pods[m.rows[a]], &pods[m.rows[b]]
		if c := less(pa, pb); c != 0 {
			return (c < 0) != m.desc
		}
		return pa.Name < pb.Name
	})
	m.cursor = 0
	for i, r := range m.rows {
		if podKey(&pods[r]) == m.selected {
			m.cursor = i
			break
		}
	}
	if len(m.rows) > 0 {
		m.selected = podKey(&pods[m.rows[m.cursor]])
	}
	m.clampScroll()
}

// less compares by the sort column: negative, zero or positive.
func (m *Model) less() func(a, b *sources.Pod) int {
	cmpF := func(x, y float64) int {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	switch m.sortCol {
	case ColPhase:
		return func(a, b *sources.Pod) int { return strings.Compare(string(a.Phase), string(b.Phase)) }
	case ColReady:
		return func(a, b *sources.Pod) int { return cmpF(b2f(a.Ready), b2f(b.Ready)) }
	case ColRestarts:
		return func(a, b *sources.Pod) int { return a.Restarts - b.Restarts }
	case ColAge: // oldest first when descending
		return func(a, b *sources.Pod) int { return b.Created.Compare(a.Created) }
	case ColCPU:
		return func(a, b *sources.Pod) int {
			if c := cmpF(a.CPUUsage, b.CPUUsage); c != 0 {
				return c
			}
			return cmpF(a.CPURequest, b.CPURequest)
		}
	case ColMem:
		return func(a, b *sources.Pod) int {
			if c := cmpF(a.MemUsage, b.MemUsage); c != 0 {
				return c
			}
			return cmpF(a.MemRequest, b.MemRequest)
		}
	case ColNode:
		return func(a, b *sources.Pod) int { return strings.Compare(a.Node, b.Node) }
	case ColOwner:
		return func(a, b *sources.Pod) int { return strings.Compare(ownerText(a), ownerText(b)) }
	}
	return func(a, b *sources.Pod) int { return strings.Compare(a.Name, b.Name) }
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// eventLines is how many lines the events block takes (its title included).
func (m *Model) eventLines() int {
	if m.height < minEventsHeight || m.data.All {
		return 0
	}
	n := len(m.data.Events)
	if n == 0 || m.data.EventsErr != nil {
		return 2
	}
	return 1 + min(n, max(2, m.height/4))
}

// tableRows is how many pod rows fit.
func (m *Model) tableRows() int {
	h := m.height - 2 - m.eventLines() // title and column header
	if m.filtering || m.filter != "" {
		h--
	}
	return max(h, 0)
}

func (m *Model) clampScroll() {
	rows := m.tableRows()
	if rows <= 0 {
		return
	}
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+rows {
		m.offset = m.cursor - rows + 1
	}
	m.offset = min(max(m.offset, 0), max(len(m.rows)-rows, 0))
}
