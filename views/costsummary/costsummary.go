// Package costsummary renders the cost summary page: the total cost now
// and projected per day and month, the same by platform, cluster and
// namespace, and the top spenders. It draws a cost.Totals; the tui
// computes it from the store's summaries.
package costsummary

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/themes"
	"github.com/perch-dev/perch/views/format"
)

// KeyMap is the page's bindings.
type KeyMap struct {
	Sort key.Binding
}

// DefaultKeyMap returns the default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{Sort: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort groups by cost/name"))}
}

// ShortHelp is the footer's list.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Sort} }

// FullHelp is the help page's list.
func (k KeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// Data is what the page shows.
type Data struct {
	Totals     cost.Totals
	PricesName string
}

// Styles of the page.
type Styles struct {
	Title, Header, Subtle, Text, Warn, Total lipgloss.Style
}

// DefaultStyles builds styles from a theme.
func DefaultStyles(t themes.Theme) Styles {
	return Styles{
		Title: themes.Fg(t.Accent).Bold(true), Header: themes.Fg(t.Subtle).Bold(true),
		Subtle: themes.Fg(t.Subtle), Text: themes.Fg(t.Text), Warn: themes.Fg(t.Warn),
		Total: themes.Fg(t.Text).Bold(true),
	}
}

// Model is the cost summary page.
type Model struct {
	KeyMap        KeyMap
	styles        Styles
	width, height int
	data          Data
	byName        bool
	rendered      string
	dirty         bool
}

// New returns an empty page.
func New(st Styles) *Model { return &Model{KeyMap: DefaultKeyMap(), styles: st, dirty: true} }

// SetStyles switches styles.
func (m *Model) SetStyles(st Styles) { m.styles, m.dirty = st, true }

// SetSize sets the rendered size.
func (m *Model) SetSize(w, h int) {
	if w != m.width || h != m.height {
		m.width, m.height, m.dirty = w, h, true
	}
}

// SetData replaces the totals.
func (m *Model) SetData(d Data) { m.data, m.dirty = d, true }

// Update handles keys: s switches group order between cost and name.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, m.KeyMap.Sort) {
		m.byName, m.dirty = !m.byName, true
	}
	return nil
}

// View renders exactly height lines of width cells.
func (m *Model) View() string {
	if !m.dirty {
		return m.rendered
	}
	m.rendered, m.dirty = m.render(), false
	return m.rendered
}

// Figure columns: $/h, $/day, $/month, idle share, workloads.
const (
	moneyW   = 9
	idleW    = 5
	countW   = 4
	figuresW = 3*(moneyW+1) + idleW + 1 + countW
)

func (m *Model) render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	t := &m.data.Totals
	lines := append([]string{m.titleLine()}, m.totalLines()...)
	lines = append(lines, "")
	body := m.height - len(lines)
	sections := []section{
		m.groups("BY PLATFORM", t.ByPlatform, func(k string) string { return orDash(k) }),
		m.groups("BY CLUSTER", t.ByCluster, func(k string) string { return orDash(k) }),
		m.groups("BY NAMESPACE", t.ByNamespace, func(k string) string { return k }),
		m.top(),
	}
	if m.width >= 120 {
		half := (m.width - 2) / 2
		left := stack(sections[:2], half, body)
		right := stack(sections[2:], m.width-half-2, body)
		for i := range body {
			lines = append(lines, format.Pad(left[i], half)+"  "+right[i])
		}
	} else {
		lines = append(lines, stack(sections, m.width, body)...)
	}
	for len(lines) < m.height {
		lines = append(lines, "")
	}
	lines = lines[:m.height]
	if last := m.height - 1; m.height >= 12 && strings.TrimSpace(lines[last]) == "" {
		lines[last] = m.styles.Subtle.Render(" idle = requested but unused CPU and memory of pods (OpenCost's rule) · $/month = $/h × 730")
	}
	for i, l := range lines {
		lines[i] = format.Pad(l, m.width)
	}
	return strings.Join(lines, "\n")
}

func (m *Model) titleLine() string {
	left := m.styles.Title.Render(" COST SUMMARY")
	order := "by cost"
	if m.byName {
		order = "by name"
	}
	name := m.data.PricesName
	if name == "" {
		name = "none"
	}
	right := m.styles.Subtle.Render(fmt.Sprintf("groups %s · prices: %s ", order, name))
	if ansi.StringWidth(left)+1+ansi.StringWidth(right) > m.width {
		right = m.styles.Subtle.Render("prices: " + name + " ")
	}
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		return left + "  " + right
	}
	return left + strings.Repeat(" ", gap) + right
}

// totalLines is the grand total, and on a line of its own when it does not
// fit beside it, how many workloads have no cost.
func (m *Model) totalLines() []string {
	a := &m.data.Totals.All
	s := fmt.Sprintf(" total %s/h  %s/day  %s/month", format.Money(a.Hourly), format.Money(a.Daily()), format.Money(a.Monthly()))
	line := m.styles.Total.Render(s)
	rest := fmt.Sprintf("  idle %s · %d workloads", format.Percent(a.IdleShare()), a.Workloads)
	line += m.styles.Subtle.Render(rest)
	if a.NoCost == 0 {
		return []string{line}
	}
	warn := fmt.Sprintf("! %d without a cost (not in the totals)", a.NoCost)
	if ansi.StringWidth(line)+3+len(warn) <= m.width {
		return []string{line + m.styles.Warn.Render(" · "+warn)}
	}
	return []string{line, m.styles.Warn.Render(" " + warn)}
}

// section is a titled block of lines whose body can be cut to fit.
type section struct {
	head []string // title and column header, never cut
	rows []string // cut from the bottom with a "… N more" line
}

// figures renders the right-hand numbers of a group or spender row.
func figures(hourly, idle float64, count int) string {
	n := ""
	if count >= 0 {
		n = fmt.Sprint(count)
	}
	return fmt.Sprintf("%*s %*s %*s %*s %*s", moneyW, format.Money(hourly), moneyW, format.Money(cost.Daily(hourly)),
		moneyW, format.Money(cost.Monthly(hourly)), idleW, format.Percent(idle), countW, n)
}

// header is a section's title with the figures' column names beside it.
func header(title, n string, w int) string {
	return fmt.Sprintf(" %-*s %*s %*s %*s %*s %*s", max(w-figuresW-2, 1), title, moneyW, "$/h", moneyW, "$/day", moneyW, "$/month", idleW, "idle", countW, n)
}

func (m *Model) groups(title string, gs []cost.Total, label func(string) string) section {
	gs = append([]cost.Total(nil), gs...)
	if m.byName {
		sort.SliceStable(gs, func(i, j int) bool { return gs[i].Key < gs[j].Key })
	}
	s := section{head: []string{m.styles.Header.Render(header(title, "n", m.colWidth()))}}
	nameW := max(m.colWidth()-figuresW-2, 1)
	for _, g := range gs {
		name := ansi.Truncate(label(g.Key), nameW, "…")
		hourly, st := g.Hourly, m.styles.Text
		if g.NoCost == g.Workloads {
			hourly, st = math.NaN(), m.styles.Subtle // nobody in it reports a cost
		}
		row := fmt.Sprintf(" %-*s %s", nameW, name, figures(hourly, g.IdleShare(), g.Workloads))
		s.rows = append(s.rows, st.Render(row))
	}
	if len(gs) == 0 {
		s.rows = append(s.rows, m.styles.Subtle.Render(" no workloads"))
	}
	return s
}

func (m *Model) top() section {
	w := m.colWidth()
	s := section{head: []string{m.styles.Header.Render(header("TOP SPENDERS", "", w))}}
	nameW := max(w-figuresW-2, 1)
	for i, sp := range m.data.Totals.Top {
		name := fmt.Sprintf("%d. %s/%s", i+1, sp.ID.Namespace, sp.ID.Name)
		if sp.ID.Cluster != "" && nameW >= 40 {
			name = fmt.Sprintf("%d. %s/%s/%s", i+1, sp.ID.Cluster, sp.ID.Namespace, sp.ID.Name)
		}
		name = ansi.Truncate(name, nameW, "…")
		s.rows = append(s.rows, m.styles.Text.Render(fmt.Sprintf(" %-*s %s", nameW, name, figures(sp.Hourly, sp.Idle, -1))))
	}
	if len(m.data.Totals.Top) == 0 {
		s.rows = append(s.rows, m.styles.Subtle.Render(" no workload reports a cost yet"))
	}
	return s
}

// colWidth is the width one section is laid out for.
func (m *Model) colWidth() int {
	if m.width >= 120 {
		return (m.width - 2) / 2
	}
	return m.width
}

// stack lays sections out top to bottom in exactly h lines of width w,
// sharing the rows fairly: each section gets its head and at least one
// row, then the rest goes round-robin to whoever still has rows.
func stack(secs []section, w, h int) []string {
	give := make([]int, len(secs))
	used := 0
	for i, s := range secs {
		used += len(s.head) + 1 // a blank line after each section
		give[i] = 0
	}
	for left := h - used; left > 0; {
		progress := false
		for i, s := range secs {
			if left > 0 && give[i] < len(s.rows) {
				give[i]++
				left--
				progress = true
			}
		}
		if !progress {
			break
		}
	}
	var out []string
	for i, s := range secs {
		out = append(out, s.head...)
		rows := s.rows
		if give[i] < len(rows) {
			keep := max(give[i]-1, 0)
			rows = append(rows[:keep:keep], fmt.Sprintf("  … %d more", len(s.rows)-keep))
			if give[i] == 0 {
				rows = nil
			}
		}
		out = append(out, rows...)
		out = append(out, "")
	}
	for len(out) < h {
		out = append(out, "")
	}
	out = out[:max(h, 0)]
	for i := range out {
		out[i] = format.Pad(out[i], w)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return format.Missing
	}
	return s
}
