package pods

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/views/format"
)

// Rendering: the table, its title and header, the cells and the events.

// View renders exactly height lines of exactly width cells.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(m.width * m.height * 4)
	written := 0
	emit := func(s string) {
		if written >= m.height {
			return
		}
		if written > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
		written++
	}
	blank := strings.Repeat(" ", m.width)
	emit(m.renderTitle())
	emit(m.renderHeader())
	rows := m.tableRows()
	if len(m.rows) == 0 && rows > 0 {
		emit(format.Pad(m.styles.Notice.Render(ansi.Truncate(" "+m.emptyMessage(), m.width, "…")), m.width))
		rows--
	}
	if m.cache == nil {
		m.cache = make([]string, len(m.data.Pods))
	}
	for i := m.offset; i < len(m.rows) && rows > 0; i++ {
		r := m.rows[i]
		if i == m.cursor {
			emit(m.renderRow(&m.data.Pods[r], true))
		} else {
			if m.cache[r] == "" {
				m.cache[r] = m.renderRow(&m.data.Pods[r], false)
			}
			emit(m.cache[r])
		}
		rows--
	}
	for ; rows > 0; rows-- {
		emit(blank)
	}
	if m.filtering || m.filter != "" {
		cursor := ""
		if m.filtering {
			cursor = "▏"
		}
		bar := fmt.Sprintf("/%s%s  %d of %d", m.filter, cursor, len(m.rows), len(m.data.Pods))
		emit(format.Pad(m.styles.Title.Render(ansi.Truncate(bar, m.width, "…")), m.width))
	}
	for _, l := range m.renderEvents() {
		emit(l)
	}
	for written < m.height {
		emit(blank)
	}
	return b.String()
}

func (m *Model) emptyMessage() string {
	switch {
	case m.data.Err != nil:
		return "Pods unavailable: " + oneLine(m.data.Err.Error())
	case m.data.Loading:
		return "Loading pods…"
	case m.filter != "":
		return fmt.Sprintf("No pod matches %q (esc clears the filter).", m.filter)
	}
	return "No pods."
}

// renderTitle summarises the workload's pods on one line.
func (m *Model) renderTitle() string {
	id := m.data.Workload
	title := " Pods of " + id.Namespace + "/" + id.Name
	if id.Cluster != "" {
		title = " Pods of " + id.Cluster + "/" + id.Namespace + "/" + id.Name
	}
	if m.data.All {
		title = " All pods"
	}
	var running, pending, failed, ready, restarts int
	var cpuUse, cpuReq, memUse, memReq float64
	for i := range m.data.Pods {
		p := &m.data.Pods[i]
		switch p.Phase {
		case sources.PodRunning:
			running++
		case sources.PodPending:
			pending++
		case sources.PodFailed:
			failed++
		}
		if p.Ready {
			ready++
		}
		restarts += p.Restarts
		cpuUse, cpuReq = cpuUse+p.CPUUsage, cpuReq+p.CPURequest
		memUse, memReq = memUse+p.MemUsage, memReq+p.MemRequest
	}
	var b strings.Builder
	toSGR(m.styles.Title).wrap(&b, title)
	if len(m.data.Pods) == 0 {
		if m.data.Note != "" {
			toSGR(m.styles.Subtle).wrap(&b, "  "+m.data.Note)
		}
		return format.Pad(ansi.Truncate(b.String(), m.width, "…"), m.width)
	}
	parts := []string{fmt.Sprintf("%d pods", len(m.data.Pods))}
	phase := fmt.Sprintf("%d running", running)
	if pending > 0 {
		phase += fmt.Sprintf(", %d pending", pending)
	}
	if failed > 0 {
		phase += fmt.Sprintf(", %d failed", failed)
	}
	parts = append(parts, phase, fmt.Sprintf("%d ready", ready), fmt.Sprintf("%d restarts", restarts))
	if !m.usageKnown {
		cpuUse, memUse = math.NaN(), math.NaN()
	}
	parts = append(parts, "cpu "+format.Cores(cpuUse)+"/"+format.Cores(cpuReq), "mem "+format.Bytes(memUse)+"/"+format.Bytes(memReq))
	if m.data.Note != "" {
		parts = append(parts, m.data.Note)
	}
	toSGR(m.styles.Subtle).wrap(&b, "  "+strings.Join(parts, " · "))
	return format.Pad(ansi.Truncate(b.String(), m.width, "…"), m.width)
}

func (m *Model) renderHeader() string {
	var b strings.Builder
	hs, ss := toSGR(m.styles.Header), toSGR(m.styles.SortedBy)
	b.WriteByte(' ')
	for i, c := range m.cells {
		if i > 0 {
			b.WriteByte(' ')
		}
		title, st := columns[c.col].title, hs
		if c.col == m.sortCol {
			if m.desc {
				title += "↓"
			} else {
				title += "↑"
			}
			st = ss
		}
		st.wrap(&b, format.Fit(title, c.width, columns[c.col].right))
	}
	return format.Pad(b.String(), m.width)
}

func (m *Model) renderRow(p *sources.Pod, selected bool) string {
	st := &m.normal
	if selected {
		st = &m.sel
	}
	var b strings.Builder
	b.Grow(m.width * 3)
	if selected {
		st[toneText].wrap(&b, "▌")
	} else {
		b.WriteByte(' ')
	}
	for i, c := range m.cells {
		if i > 0 {
			st[toneText].wrap(&b, " ")
		}
		text, tn := m.cellText(p, c.col)
		st[tn].wrap(&b, format.Fit(text, c.width, columns[c.col].right))
	}
	out := b.String()
	if used := m.rowWidth(); used < m.width {
		fill := strings.Repeat(" ", m.width-used)
		if selected {
			var f strings.Builder
			st[toneText].wrap(&f, fill)
			fill = f.String()
		}
		out += fill
	}
	return out
}

func (m *Model) rowWidth() int {
	w := 1
	for i, c := range m.cells {
		if i > 0 {
			w++
		}
		w += c.width
	}
	return w
}

// cellText is a cell's text and meaning.
func (m *Model) cellText(p *sources.Pod, col Column) (string, tone) {
	switch col {
	case ColName:
		return p.Name, toneText
	case ColPhase:
		switch p.Phase {
		case sources.PodRunning:
			return string(p.Phase), toneGood
		case sources.PodSucceeded:
			return string(p.Phase), toneSubtle
		case sources.PodFailed:
			return string(p.Phase), toneBad
		case "":
			return string(sources.PodUnknown), toneWarn
		}
		return string(p.Phase), toneWarn
	case ColReady:
		if p.Ready {
			return "✓", toneGood
		}
		if p.Phase == sources.PodSucceeded {
			return "–", toneSubtle
		}
		return "✗", toneBad
	case ColRestarts:
		switch {
		case p.Restarts >= 5:
			return fmt.Sprint(p.Restarts), toneBad
		case p.Restarts > 0:
			return fmt.Sprint(p.Restarts), toneWarn
		}
		return "0", toneSubtle
	case ColAge:
		if p.Created.IsZero() {
			return format.Missing, toneSubtle
		}
		return format.Age(p.Age(m.data.Now)), toneText
	case ColCPU:
		return usageText(p.CPUUsage, p.CPURequest, m.usageKnown, format.Cores)
	case ColMem:
		return usageText(p.MemUsage, p.MemRequest, m.usageKnown, format.Bytes)
	case ColNode:
		if p.Node == "" {
			return "<none>", toneSubtle
		}
		return p.Node, toneText
	case ColOwner:
		if m.data.All {
			return ownerText(p), toneSubtle
		}
		return p.Owner.Name, toneSubtle
	}
	return "", toneText
}

// ownerText is where a pod belongs: [cluster/]namespace/workload, or
// namespace/<none> for a pod no workload owns.
func ownerText(p *sources.Pod) string {
	name := p.Owner.Name
	if name == "" {
		name = "<none>"
	}
	s := p.Owner.Namespace + "/" + name
	if p.Owner.Cluster != "" {
		s = p.Owner.Cluster + "/" + s
	}
	return s
}

// usageText renders "use/req"; usage above the request is a warning
// (it may be throttled or evicted first), no request at all is subtle.
func usageText(use, req float64, known bool, f func(float64) string) (string, tone) {
	if !known {
		use = math.NaN()
	}
	reqText := "–"
	if req > 0 {
		reqText = f(req)
	}
	text := f(use) + "/" + reqText
	switch {
	case !known:
		return text, toneSubtle
	case req > 0 && use > req:
		return text, toneWarn
	}
	return text, toneText
}

// renderEvents is the warning events block: a title and the newest events.
func (m *Model) renderEvents() []string {
	n := m.eventLines()
	if n == 0 {
		return nil
	}
	title := fmt.Sprintf(" Warning events (%d)", len(m.data.Events))
	if m.data.EventsErr != nil {
		title = " Warning events"
	}
	lines := []string{format.Pad(m.styles.Title.Render(ansi.Truncate(title, m.width, "…")), m.width)}
	switch {
	case m.data.EventsErr != nil:
		msg := " Events unavailable: " + oneLine(m.data.EventsErr.Error())
		return append(lines, format.Pad(m.styles.Bad.Render(ansi.Truncate(msg, m.width, "…")), m.width))
	case len(m.data.Events) == 0:
		return append(lines, format.Pad(m.styles.Notice.Render(ansi.Truncate(" No recent warning events.", m.width, "…")), m.width))
	}
	sub, warn, text := toSGR(m.styles.Subtle), toSGR(m.styles.Warn), toSGR(m.styles.Text)
	for _, e := range m.data.Events[:n-1] {
		var b strings.Builder
		age := format.Missing
		if !e.Last.IsZero() {
			age = format.Age(max(m.data.Now.Sub(e.Last), 0))
		}
		sub.wrap(&b, format.Fit(" "+age, 5, true)+" ")
		reason := e.Reason
		if e.Count > 1 {
			reason += fmt.Sprintf(" ×%d", e.Count)
		}
		warn.wrap(&b, format.Fit(reason, 22, false)+" ")
		objW := min(max(m.width/4, 12), 40)
		sub.wrap(&b, format.Fit(e.Object, objW, false)+" ")
		text.wrap(&b, oneLine(e.Message))
		lines = append(lines, format.Pad(ansi.Truncate(b.String(), m.width, "…"), m.width))
	}
	return lines
}

// oneLine flattens a message so it never breaks the frame.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// podKey identifies a pod across namespaces and clusters (names repeat).
func podKey(p *sources.Pod) string {
	return p.Owner.Cluster + "/" + p.Owner.Namespace + "/" + p.Name
}
