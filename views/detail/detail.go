// Package detail renders one workload: cost, scaling and latency charts
// stacked on one time axis over a selectable range, and its pods.
package detail

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/themes"
	"github.com/perch-dev/perch/views/chart"
	"github.com/perch-dev/perch/views/format"
)

// Ranges are the selectable chart windows.
var Ranges = []time.Duration{15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}

// labelWidth is shared by the stacked charts so their plots align.
const labelWidth = 7

// KeyMap is the detail view's bindings.
type KeyMap struct {
	Narrower, Wider, Left, Right key.Binding
}

// DefaultKeyMap returns the default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Narrower: key.NewBinding(key.WithKeys("["), key.WithHelp("[", "shorter range")),
		Wider:    key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "longer range")),
		Left:     key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "cursor back")),
		Right:    key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "cursor forward")),
	}
}

// ShortHelp is the footer's list.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Narrower, k.Wider, k.Left, k.Right} }

// FullHelp is the help page's list.
func (k KeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// Data is everything the view shows; series hold Points() values each.
type Data struct {
	Summary    sources.Summary
	Start, End time.Time
	Cost       []float64
	Replicas   [3][]float64 // current, desired, ready
	Latency    [3][]float64 // p50, p95, p99
	Pods       []sources.Pod
	PodsErr    error
	PodsWait   bool // pods requested, not yet answered
	NoPods     bool // the source cannot list pods
	Now        time.Time
}

// Styles of the detail view.
type Styles struct {
	Title, Subtle, Text, Bad, Warn, Good lipgloss.Style
	Chart                                chart.Styles
	Series                               []lipgloss.Style
	ASCII                                bool
	theme                                themes.Theme
}

// DefaultStyles builds styles from a theme.
func DefaultStyles(t themes.Theme) Styles {
	return Styles{
		Title: themes.Fg(t.Accent).Bold(true), Subtle: themes.Fg(t.Subtle), Text: themes.Fg(t.Text),
		Bad: themes.Fg(t.Bad).Bold(true), Warn: themes.Fg(t.Warn), Good: themes.Fg(t.Good),
		Chart: chart.DefaultStyles(t), theme: t,
	}
}

// Model is the detail view.
type Model struct {
	KeyMap        KeyMap
	styles        Styles
	width, height int
	rangeIdx      int
	cursor        int // plot column, -1 = none
	data          Data
	rendered      string
	dirty         bool
}

// New returns a detail view showing the last hour.
func New(st Styles) *Model {
	return &Model{KeyMap: DefaultKeyMap(), styles: st, rangeIdx: 1, cursor: -1, dirty: true}
}

// SetStyles switches styles.
func (m *Model) SetStyles(st Styles) { m.styles, m.dirty = st, true }

// SetSize sets the rendered size.
func (m *Model) SetSize(w, h int) {
	if w != m.width || h != m.height {
		m.width, m.height, m.dirty = w, h, true
		m.cursor = min(m.cursor, m.plotWidth()-1)
	}
}

// SetData replaces what is shown.
func (m *Model) SetData(d Data) { m.data, m.dirty = d, true }

// Range is the selected window.
func (m *Model) Range() time.Duration { return Ranges[m.rangeIdx] }

// Points is how many values per series the charts can show (2 per cell).
func (m *Model) Points() int { return 2 * m.plotWidth() }

func (m *Model) plotWidth() int { return max(chart.PlotWidth(m.width, labelWidth), 1) }

// CursorTime is the time under the chart cursor, zero when there is none.
func (m *Model) CursorTime() time.Time {
	if m.cursor < 0 || m.data.End.IsZero() {
		return time.Time{}
	}
	span := m.data.End.Sub(m.data.Start)
	return m.data.Start.Add(span * time.Duration(2*m.cursor+1) / time.Duration(2*m.plotWidth()))
}

// Update handles keys; it reports through Range and CursorTime.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, m.KeyMap.Narrower) && m.rangeIdx > 0:
		m.rangeIdx--
	case key.Matches(k, m.KeyMap.Wider) && m.rangeIdx < len(Ranges)-1:
		m.rangeIdx++
	case key.Matches(k, m.KeyMap.Left):
		if m.cursor < 0 {
			m.cursor = m.plotWidth() - 1
		} else {
			m.cursor = max(m.cursor-1, 0)
		}
	case key.Matches(k, m.KeyMap.Right):
		if m.cursor >= 0 {
			m.cursor++
			if m.cursor >= m.plotWidth() {
				m.cursor = -1 // past the end: back to "now"
			}
		}
	case k.String() == "esc" && m.cursor >= 0:
		m.cursor = -1
	default:
		return nil
	}
	m.dirty = true
	return nil
}

// CursorActive reports whether esc should clear the cursor rather than leave.
func (m *Model) CursorActive() bool { return m.cursor >= 0 }

// View renders exactly height lines of width cells.
func (m *Model) View() string {
	if !m.dirty {
		return m.rendered
	}
	m.rendered, m.dirty = m.render(), false
	return m.rendered
}

func (m *Model) render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	lines := make([]string, 0, m.height)
	lines = append(lines, m.titleLine(), m.statsLine())
	podLines := m.podsBlock()
	chartH := m.height - len(lines) - len(podLines)
	if chartH < 9 { // three charts need three lines each; drop pods first
		podLines = podLines[:min(len(podLines), max(m.height-len(lines)-9, 0))]
		chartH = m.height - len(lines) - len(podLines)
	}
	if chartH >= 3 {
		each := chartH / 3
		heights := [3]int{each, each, chartH - 2*each}
		for _, c := range m.charts(heights) {
			lines = append(lines, strings.Split(c, "\n")...)
		}
	}
	lines = append(lines, podLines...)
	for len(lines) < m.height {
		lines = append(lines, "")
	}
	lines = lines[:m.height]
	for i, l := range lines {
		lines[i] = format.Pad(l, m.width)
	}
	return strings.Join(lines, "\n")
}

func (m *Model) titleLine() string {
	s := m.data.Summary
	var ranges []string
	for i, r := range Ranges {
		label := shortDuration(r)
		if i == m.rangeIdx {
			label = m.styles.Title.Render("[" + label + "]")
		} else {
			label = m.styles.Subtle.Render(" " + label + " ")
		}
		ranges = append(ranges, label)
	}
	left := m.styles.Title.Render(s.ID.Namespace+"/"+s.ID.Name) + m.styles.Subtle.Render(fmt.Sprintf("  %s · %s · %s", s.Kind, s.Platform, orDash(s.ID.Cluster)))
	if s.Stale {
		left += m.styles.Bad.Render("  ! stale")
	}
	right := strings.Join(ranges, "")
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		return left
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m *Model) statsLine() string {
	s := &m.data.Summary
	l := s.Latest
	cost := l[sources.CostRate]
	day := math.NaN()
	if !math.IsNaN(cost) {
		day = cost * 24
	}
	parts := []string{
		fmt.Sprintf("%s/h  %s/day  %s/1M req", format.Money(cost), format.Money(day), format.Money(s.CostPerMillion())),
		fmt.Sprintf("replicas %s/%s ready %s", format.Count(l[sources.ReplicasCurrent]), format.Count(l[sources.ReplicasDesired]), format.Count(l[sources.ReplicasReady])),
		fmt.Sprintf("p50 %s p95 %s p99 %s", format.Latency(l[sources.LatencyP50]), format.Latency(l[sources.LatencyP95]), format.Latency(l[sources.LatencyP99])),
		fmt.Sprintf("%s req/s  err %s", format.Rate(l[sources.RequestRate]), format.Percent(l[sources.ErrorRatio])),
	}
	if s.Platform.IsServerless() {
		parts = append(parts, fmt.Sprintf("conc %s  cold %s/min", format.Count(l[sources.Concurrency]), format.Rate(l[sources.ColdStarts])))
	}
	return " " + m.styles.Text.Render(strings.Join(parts, "  │  "))
}

func (m *Model) charts(heights [3]int) []string {
	d := &m.data
	t := m.styles.theme
	series := func(name string, vals []float64, i int) chart.Series {
		return chart.Series{Name: name, Values: vals, Color: t.SeriesColor(i)}
	}
	cursorNote := func(vals []float64, f func(float64) string) string {
		if m.cursor < 0 || len(vals) == 0 {
			return ""
		}
		i := min(2*m.cursor+1, len(vals)-1)
		return "  @" + m.CursorTime().Format("15:04") + " " + f(vals[i])
	}
	opts := []chart.Options{
		{Title: "cost $/h" + cursorNote(d.Cost, format.Money), Series: []chart.Series{series("$/h", d.Cost, 0)}, YFormat: format.Money},
		{Title: "replicas" + cursorNote(d.Replicas[0], format.Count), Series: []chart.Series{
			series("current", d.Replicas[0], 0), series("desired", d.Replicas[1], 1), series("ready", d.Replicas[2], 3),
		}, YFormat: format.Count},
		{Title: "latency" + cursorNote(d.Latency[2], format.Latency), Series: []chart.Series{
			series("p50", d.Latency[0], 3), series("p95", d.Latency[1], 1), series("p99", d.Latency[2], 2),
		}, YFormat: format.Latency, ShowTimeAxis: true},
	}
	out := make([]string, len(opts))
	for i, o := range opts {
		o.Width, o.Height = m.width, heights[i]
		o.Start, o.End = d.Start, d.End
		o.LabelWidth = labelWidth
		o.Cursor = m.cursor
		o.ASCII = m.styles.ASCII
		o.Styles = m.styles.Chart
		out[i] = chart.Render(o)
	}
	return out
}

// podsBlock renders the pods table: a header and up to a third of the height.
func (m *Model) podsBlock() []string {
	d := &m.data
	title := "PODS"
	if d.Summary.Platform.IsServerless() {
		title = "INSTANCES"
	}
	switch {
	case d.NoPods:
		return []string{m.styles.Subtle.Render(" " + title + ": this source does not list pods")}
	case d.PodsErr != nil:
		return []string{m.styles.Bad.Render(" " + title + ": " + d.PodsErr.Error())}
	case d.PodsWait && len(d.Pods) == 0:
		return []string{m.styles.Subtle.Render(" " + title + ": loading…")}
	case len(d.Pods) == 0:
		return []string{m.styles.Subtle.Render(" " + title + ": none (scaled to zero)")}
	}
	limit := max(m.height/3, 2)
	pods := append([]sources.Pod(nil), d.Pods...)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	nameW := min(max(m.width-62, 16), 48)
	header := fmt.Sprintf(" %-*s %-9s %-5s %8s %-10s %5s %13s %15s", nameW, fmt.Sprintf("%s (%d)", title, len(pods)), "PHASE", "READY", "RESTARTS", "NODE", "AGE", "CPU use/req", "MEM use/req")
	lines := []string{m.styles.Subtle.Bold(true).Render(header)}
	for i, p := range pods {
		if len(lines) >= limit {
			lines[len(lines)-1] = m.styles.Subtle.Render(fmt.Sprintf(" … %d more", len(pods)-i+1))
			break
		}
		ready, st := "no", m.styles.Warn
		if p.Ready {
			ready, st = "yes", m.styles.Text
		}
		if p.Phase == sources.PodFailed {
			st = m.styles.Bad
		}
		row := fmt.Sprintf(" %-*s %-9s %-5s %8d %-10s %5s %13s %15s", nameW, ansi.Truncate(p.Name, nameW, "…"), p.Phase, ready, p.Restarts,
			ansi.Truncate(p.Node, 10, "…"), format.Age(p.Age(d.Now)),
			format.Cores(p.CPUUsage)+"/"+format.Cores(p.CPURequest), format.Bytes(p.MemUsage)+"/"+format.Bytes(p.MemRequest))
		lines = append(lines, st.Render(row))
	}
	return lines
}

func shortDuration(d time.Duration) string {
	if d >= time.Hour {
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dm", int(d.Minutes()))
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
