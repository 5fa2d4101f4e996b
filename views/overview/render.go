package overview

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/views/chart"
	"github.com/perch-dev/perch/views/format"
)

// Rendering: visible lines, the header, rows and their cells.

// View renders exactly height lines of exactly width cells.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(m.width * m.height * 5)
	if !m.headerOK {
		m.header = m.renderHeader()
		m.headerOK = true
	}
	written := 0
	emit := func(s string) {
		if written > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
		written++
	}
	for _, h := range strings.SplitN(m.header, "\n", 2) {
		if written < m.height {
			emit(h)
		}
	}
	rows := m.tableRows()
	if len(m.lines) == 0 && rows > 0 {
		msg := m.notice
		if msg == "" {
			msg = "No workloads."
		}
		if m.filter != "" {
			msg = fmt.Sprintf("No workload matches %q (esc clears the filter).", m.filter)
		}
		emit(format.Pad(m.styles.Notice.Render(ansi.Truncate(" "+msg, m.width, "…")), m.width))
		rows--
	}
	if m.cache == nil {
		m.cache = make([]string, len(m.rows))
	}
	for i := m.offset; i < len(m.lines) && rows > 0; i++ {
		emit(m.renderLine(i))
		rows--
	}
	for ; rows > 0; rows-- {
		emit(strings.Repeat(" ", m.width))
	}
	if (m.filtering || m.filter != "") && written < m.height {
		cursor := ""
		if m.filtering {
			cursor = "▏"
		}
		bar := fmt.Sprintf("/%s%s  %d of %d", m.filter, cursor, m.Visible(), len(m.rows))
		emit(format.Pad(m.styles.GroupHeader.Render(ansi.Truncate(bar, m.width, "…")), m.width))
	}
	for written < m.height {
		emit(strings.Repeat(" ", m.width))
	}
	return b.String()
}

func (m *Model) renderLine(i int) string {
	l := m.lines[i]
	if l.row < 0 {
		title := fmt.Sprintf("▾ %s  %d  %s/h", l.group, l.count, format.Money(l.cost))
		return format.Pad(m.styles.GroupRow.Render(ansi.Truncate(title, m.width, "…")), m.width)
	}
	if i == m.cursor {
		return m.renderRow(&m.rows[l.row], true)
	}
	if m.cache[l.row] == "" {
		m.cache[l.row] = m.renderRow(&m.rows[l.row], false)
	}
	return m.cache[l.row]
}

func (m *Model) renderHeader() string {
	var groups, titles strings.Builder
	gs, hs, ss := toSGR(m.styles.GroupHeader), toSGR(m.styles.Header), toSGR(m.styles.SortedBy)
	groups.WriteByte(' ')
	titles.WriteByte(' ')
	for i, c := range m.cells {
		def := columns[c.col]
		newGroup := i == 0 || columns[m.cells[i-1].col].group != def.group
		if i > 0 {
			sep := " "
			if newGroup {
				sep = " │ "
				groups.WriteString(sep) // within a group the title spans the gaps
			}
			titles.WriteString(sep)
		}
		// Group title over the first column of each group, spanning it.
		if newGroup {
			gt := groupTitles[def.group]
			span := c.width
			for j := i + 1; j < len(m.cells) && columns[m.cells[j].col].group == def.group; j++ {
				span += 1 + m.cells[j].width
			}
			gs.wrap(&groups, format.Fit(gt, span, false))
		}
		title := def.title
		st := hs
		if c.col == m.sortCol {
			arrow := "↑"
			if m.desc {
				arrow = "↓"
			}
			title += arrow
			st = ss
		}
		st.wrap(&titles, format.Fit(title, c.width, def.right))
	}
	return format.Pad(groups.String(), m.width) + "\n" + format.Pad(titles.String(), m.width)
}

func (m *Model) renderRow(s *sources.Summary, selected bool) string {
	cs := &m.normal
	if selected {
		cs = &m.sel
	}
	var b strings.Builder
	b.Grow(m.width * 3)
	gutter := " "
	if selected {
		gutter = "▸"
	}
	if s.Stale {
		gutter = "!"
	}
	cs.gutter.wrap(&b, gutter)
	for i, c := range m.cells {
		def := columns[c.col]
		text, st := m.cellText(s, c, cs)
		if blankOrMissing(text) {
			// Unknown values recede; and on a row of them (a function has
			// no replicas, a fresh one no trend) "– │ –   │" is one run of
			// one style, where each style switch costs ~11 bytes of output
			// on every redraw of the row.
			st = cs.subtle
		}
		text = format.Fit(text, c.width, def.right)
		if i > 0 {
			if def.group != columns[m.cells[i-1].col].group {
				cs.subtle.wrap(&b, " │")
			}
			// The gap takes the cell's own style: a space shows no
			// colour, and a style switch per column would be ~12 bytes
			// of terminal output per cell on every redraw.
			text = " " + text
		}
		st.wrap(&b, text)
	}
	if m.rowWidth < m.width {
		cs.text.wrap(&b, strings.Repeat(" ", m.width-m.rowWidth))
	}
	return b.String()
}

func (m *Model) cellText(s *sources.Summary, c cell, cs *cellStyles) (string, sgr) {
	st := cs.text
	if s.Stale {
		st = cs.subtle
	}
	switch c.col {
	case ColName:
		return s.ID.Name, st
	case ColNamespace:
		return s.ID.Namespace, cs.subtle
	case ColPlatform:
		return platformLabel(s.Platform), cs.subtle
	case ColCost:
		return format.Money(s.Latest[sources.CostRate]), st
	case ColCostDay:
		return format.Money(s.Latest[sources.CostRate] * 24), st
	case ColCostMonth:
		return format.Money(s.Latest[sources.CostRate] * HoursPerMonth), st
	case ColCostPerM:
		return format.Money(s.CostPerMillion()), st
	case ColIdle:
		return format.Percent(s.IdleShare), cs.subtle
	case ColReplicas:
		txt := replicasText(s)
		if cur, des := s.Latest[sources.ReplicasCurrent], s.Latest[sources.ReplicasDesired]; !s.Stale && des > cur {
			return txt, cs.warn // scaling out, not there yet
		}
		return txt, st
	case ColReplicasTrend:
		return chart.Sparkline(s.ReplicasTrend, c.width, 0, 0, m.styles.ASCII), cs.trend
	case ColP50, ColP95, ColP99:
		v := s.Latest[sources.LatencyP50+sources.Metric(c.col-ColP50)]
		return format.Latency(v), m.level(v, m.Thresholds.LatencyWarn, m.Thresholds.LatencyBad, st, cs)
	case ColLatencyTrend:
		return chart.Sparkline(s.LatencyTrend, c.width, 0, 0, m.styles.ASCII), cs.trend
	case ColRate:
		return format.Rate(s.Latest[sources.RequestRate]), st
	case ColErrors:
		v := s.Latest[sources.ErrorRatio]
		txt := format.Percent(v)
		lvl := m.level(v, m.Thresholds.ErrorWarn, m.Thresholds.ErrorBad, st, cs)
		if lvl == cs.bad {
			txt = "!" + txt // never colour alone
		}
		return txt, lvl
	}
	return "", st
}

// blankOrMissing reports a cell that shows no value: "–" or an empty
// sparkline.
func blankOrMissing(text string) bool {
	return text == format.Missing || strings.TrimSpace(text) == ""
}

func (m *Model) level(v, warn, bad float64, ok sgr, cs *cellStyles) sgr {
	switch {
	case math.IsNaN(v):
		return cs.subtle
	case v >= bad:
		return cs.bad
	case v >= warn:
		return cs.warn
	}
	return ok
}
