// Package whatif renders the what-if pane: for one workload, what it costs
// as it runs now and what it would cost right-sized, on Lambda, on Cloud
// Run and on Knative with scale to zero, side by side, with the break-even
// request rate, a chart of cost against traffic and the inputs behind every
// number. It only draws a cost.Comparison; the tui computes it.
package whatif

import (
	"fmt"
	"math"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/themes"
	"github.com/perch-dev/perch/views/chart"
	"github.com/perch-dev/perch/views/format"
)

// CheapestMark marks the cheapest column, so it reads without colour.
const CheapestMark = "✓"

// labelWidth is the row-label column of the table and the chart's y labels.
const labelWidth = 9

// minChartHeight is the least room the chart needs to be drawn.
const minChartHeight = 6

// KeyMap is the pane's bindings.
type KeyMap struct {
	Inputs key.Binding
}

// DefaultKeyMap returns the default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{Inputs: key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "inputs behind the numbers"))}
}

// ShortHelp is the footer's list.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Inputs} }

// FullHelp is the help page's list.
func (k KeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// Data is what the pane shows.
type Data struct {
	ID         sources.WorkloadID
	Comparison cost.Comparison
}

// Styles of the pane.
type Styles struct {
	Title, Subtle, Text, Good, Warn, Bad lipgloss.Style
	Header                               lipgloss.Style
	Chart                                chart.Styles
	ASCII                                bool
	theme                                themes.Theme
}

// DefaultStyles builds styles from a theme. Without colours the cheapest
// column is still marked by CheapestMark and bold.
func DefaultStyles(t themes.Theme) Styles {
	return Styles{
		Title: themes.Fg(t.Accent).Bold(true), Subtle: themes.Fg(t.Subtle), Text: themes.Fg(t.Text),
		Good: themes.Fg(t.Good).Bold(true), Warn: themes.Fg(t.Warn), Bad: themes.Fg(t.Bad).Bold(true),
		Header: themes.Fg(t.Subtle).Bold(true),
		Chart:  chart.DefaultStyles(t), theme: t,
	}
}

// Model is the what-if pane.
type Model struct {
	KeyMap        KeyMap
	styles        Styles
	width, height int
	data          Data
	showInputs    bool
	rendered      string
	dirty         bool
	// the chart's curves, computed when data or size change
	curves    [cost.NumOptions][]float64
	xMax      float64
	curvesFor int // plot width the curves were computed for, -1 = none
}

// New returns an empty pane.
func New(st Styles) *Model {
	return &Model{KeyMap: DefaultKeyMap(), styles: st, dirty: true, curvesFor: -1}
}

// SetStyles switches styles.
func (m *Model) SetStyles(st Styles) { m.styles, m.dirty = st, true }

// SetSize sets the rendered size.
func (m *Model) SetSize(w, h int) {
	if w != m.width || h != m.height {
		m.width, m.height, m.dirty = w, h, true
	}
}

// SetData replaces the comparison shown.
func (m *Model) SetData(d Data) { m.data, m.dirty, m.curvesFor = d, true, -1 }

// ShowingInputs reports whether the inputs view is open (esc could close it).
func (m *Model) ShowingInputs() bool { return m.showInputs }

// Update handles keys: i toggles the inputs behind the numbers, esc closes
// them (check ShowingInputs before treating esc as "back").
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, m.KeyMap.Inputs):
		m.showInputs = !m.showInputs
	case k.String() == "esc" && m.showInputs:
		m.showInputs = false
	default:
		return nil
	}
	m.dirty = true
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

func (m *Model) render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	c := &m.data.Comparison
	if !c.Computed() {
		lines := []string{m.styles.Title.Render(" WHAT-IF"), m.styles.Subtle.Render(" nothing to compare yet: open it from a workload's detail view")}
		for len(lines) < m.height {
			lines = append(lines, "")
		}
		for i := range lines[:m.height] {
			lines[i] = format.Pad(lines[i], m.width)
		}
		return strings.Join(lines[:m.height], "\n")
	}
	lines := []string{m.titleLine(), m.pricesLine(), ""}
	lines = append(lines, m.table()...)
	lines = append(lines, "")
	lines = append(lines, m.breakEvenLines()...)
	for _, l := range c.Lacks {
		lines = append(lines, m.styles.Warn.Render(" ! "+l))
	}
	rest := m.height - len(lines) - 1
	switch {
	case m.showInputs:
		lines = append(lines, "")
		lines = append(lines, m.inputs()...)
	case rest >= minChartHeight && m.hasCurves():
		lines = append(lines, "")
		lines = append(lines, m.chart(rest)...)
	}
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
	c := &m.data.Comparison
	o := &c.Observed
	id := m.data.ID.Namespace + "/" + m.data.ID.Name
	if m.data.ID.Name == "" {
		id = "what-if"
	}
	left := m.styles.Title.Render("WHAT-IF  "+id) + m.styles.Subtle.Render("  "+string(o.Platform))
	traffic := fmt.Sprintf("%s req/s mean, %s peak", format.Rate(o.MeanRPS), format.Rate(o.PeakRPS))
	if o.Window > 0 {
		traffic += " over " + shortDuration(o.Window.Hours())
	}
	return left + m.styles.Subtle.Render("  ·  "+traffic)
}

func (m *Model) pricesLine() string {
	c := &m.data.Comparison
	a := &c.Assumptions
	free := "free tier off"
	if c.FreeTier {
		free = "free tier on"
	}
	name := c.PricesName
	if name == "" {
		name = "none"
	}
	// The price table always shows; the assumptions only as far as they fit.
	parts := []string{" prices: " + name, free, fmt.Sprintf("headroom %.0f%%", a.Headroom*100),
		fmt.Sprintf("target %.0f%%", a.TargetUtilisation*100), "Lambda " + string(a.LambdaArch)}
	line := parts[0]
	for _, p := range parts[1:] {
		if format.Width(line)+3+format.Width(p) > m.width {
			break
		}
		line += " · " + p
	}
	return m.styles.Subtle.Render(line)
}

var columnNames = [cost.NumOptions][2]string{
	{"NOW", "as it runs"},
	{"K8S", "right-sized"},
	{"LAMBDA", "per request"},
	{"CLOUD RUN", "per request"},
	{"KNATIVE", "scale to zero"},
}

// table is the side-by-side columns: names, $/h, $/month, $/1M requests,
// cold starts, and each option's explanation wrapped to its column.
func (m *Model) table() []string {
	c := &m.data.Comparison
	colW := max((m.width-labelWidth)/int(cost.NumOptions), 6)
	cell := func(s string, st lipgloss.Style) string {
		return st.Render(format.Pad(" "+s, colW))
	}
	row := func(label string, f func(k cost.OptionKind, o *cost.Option) (string, lipgloss.Style)) string {
		var b strings.Builder
		b.WriteString(m.styles.Subtle.Render(format.Pad(" "+label, labelWidth)))
		for k := range cost.NumOptions {
			s, st := f(k, &c.Options[k])
			b.WriteString(cell(s, st))
		}
		return b.String()
	}
	cheap := func(k cost.OptionKind) bool { return c.Cheapest == int(k) }
	numStyle := func(k cost.OptionKind) lipgloss.Style {
		if cheap(k) {
			return m.styles.Good
		}
		return m.styles.Text
	}
	lines := []string{
		row("", func(k cost.OptionKind, _ *cost.Option) (string, lipgloss.Style) {
			if cheap(k) {
				return CheapestMark + " " + columnNames[k][0], m.styles.Good
			}
			return columnNames[k][0], m.styles.Header
		}),
		row("", func(k cost.OptionKind, _ *cost.Option) (string, lipgloss.Style) {
			sub := columnNames[k][1]
			if cheap(k) && format.Width(sub)+len(" · cheapest") < colW {
				sub += " · cheapest"
			}
			return sub, m.styles.Subtle
		}),
		row("$/h", func(k cost.OptionKind, o *cost.Option) (string, lipgloss.Style) {
			return format.Money(o.Hourly), numStyle(k)
		}),
		row("$/month", func(k cost.OptionKind, o *cost.Option) (string, lipgloss.Style) {
			return format.Money(o.Monthly), numStyle(k)
		}),
		row("$/1M req", func(k cost.OptionKind, o *cost.Option) (string, lipgloss.Style) {
			return format.Money(o.PerMillion), m.styles.Text
		}),
		row("cold/min", func(k cost.OptionKind, o *cost.Option) (string, lipgloss.Style) {
			s := format.Rate(o.ColdStartsPerMin)
			if !math.IsNaN(o.ColdShare) && o.ColdStartsPerMin > 0 && colW >= 16 {
				s += " (" + format.Percent(o.ColdShare) + ")"
			}
			st := m.styles.Text
			if o.ColdShare >= 0.01 {
				st = m.styles.Warn
			}
			return s, st
		}),
	}
	// Explanations, word-wrapped per column, as many lines as the tallest
	// needs within a budget that leaves room below.
	wrapped := make([][]string, cost.NumOptions)
	tallest := 0
	for k := range cost.NumOptions {
		wrapped[k] = wrap(c.Options[k].Explain, colW-1)
		tallest = max(tallest, len(wrapped[k]))
	}
	budget := 2
	switch {
	case m.height >= 50:
		budget = 5
	case m.height >= 36:
		budget = 4
	case m.height >= 24:
		budget = 3
	}
	for i := range min(tallest, budget) {
		var b strings.Builder
		b.WriteString(format.Pad("", labelWidth))
		for k := range cost.NumOptions {
			s := ""
			if i < len(wrapped[k]) {
				s = wrapped[k][i]
				if i == budget-1 && len(wrapped[k]) > budget {
					s = ansi.Truncate(s+" …", colW-1, "…")
				}
			}
			st := m.styles.Subtle
			if !c.Options[k].Known() {
				st = m.styles.Warn
			}
			b.WriteString(cell(s, st))
		}
		lines = append(lines, b.String())
	}
	return lines
}

// breakEvenLines says where pay-per-use stops being cheaper than the
// right-sized always-on option, and where the workload is today.
func (m *Model) breakEvenLines() []string {
	c := &m.data.Comparison
	var parts []string
	for _, be := range c.BreakEven {
		name := columnNames[be.Option][0]
		name = name[:1] + strings.ToLower(name[1:])
		if be.Option == cost.AsCloudRun {
			name = "Cloud Run"
		}
		switch {
		case math.IsNaN(be.RPS):
			parts = append(parts, name+": "+orDash(be.Note))
		case math.IsInf(be.RPS, 1):
			parts = append(parts, name+" cheaper at any rate")
		case be.RPS == 0:
			parts = append(parts, name+" never cheaper")
		default:
			parts = append(parts, name+" cheaper below "+format.Rate(be.RPS)+" req/s")
		}
	}
	if len(parts) == 0 {
		return nil
	}
	head := m.styles.Title.Render(" break-even") + m.styles.Subtle.Render(" vs k8s right-sized: ")
	body := m.styles.Text.Render(strings.Join(parts, " · "))
	now := "now " + format.Rate(c.Observed.MeanRPS) + " req/s"
	line := head + body + m.styles.Subtle.Render(" · "+now)
	if ansi.StringWidth(line) <= m.width {
		return []string{line}
	}
	// Narrow: one option per line.
	out := []string{m.styles.Title.Render(" break-even") + m.styles.Subtle.Render(" vs k8s right-sized ("+now+"):")}
	for _, p := range parts {
		out = append(out, m.styles.Text.Render("   "+p))
	}
	return out
}

// hasCurves: the chart needs today's traffic to place the workload and the
// always-on cost to compare with.
func (m *Model) hasCurves() bool {
	c := &m.data.Comparison
	return c.Observed.MeanRPS >= 0 && !math.IsInf(c.Observed.MeanRPS, 0) && c.Options[cost.RightSized].Known()
}

var chartOptions = []cost.OptionKind{cost.RightSized, cost.AsLambda, cost.AsCloudRun, cost.AsKnative}

// chart draws $/month of each option against the mean request rate, the
// workload's rate today marked by the cursor and the axis below.
func (m *Model) chart(height int) []string {
	c := &m.data.Comparison
	pw := chart.PlotWidth(m.width, labelWidth)
	m.computeCurves(pw)
	t := m.styles.theme
	var series []chart.Series
	for i, k := range chartOptions {
		name := columnNames[k][0]
		name = name[:1] + strings.ToLower(name[1:])
		if k == cost.RightSized {
			name = "k8s"
		} else if k == cost.AsCloudRun {
			name = "Cloud Run"
		}
		series = append(series, chart.Series{Name: name, Values: m.curves[k], Color: t.SeriesColor(i)})
	}
	cursor := -1
	if rps := c.Observed.MeanRPS; rps >= 0 && m.xMax > 0 && pw > 1 {
		cursor = int(math.Round(rps / m.xMax * float64(pw-1)))
		if cursor >= pw {
			cursor = -1
		}
	}
	out := chart.Render(chart.Options{
		Width: m.width, Height: height - 1, Title: " $/month against mean req/s",
		Series: series, YFormat: format.Money, LabelWidth: labelWidth, Cursor: cursor,
		ASCII: m.styles.ASCII, Styles: m.styles.Chart,
	})
	lines := strings.Split(out, "\n")
	return append(lines, m.xAxis(pw, cursor))
}

// computeCurves evaluates the options at evenly spaced rates from 0 to a
// little past the workload's rate and the break-evens.
func (m *Model) computeCurves(pw int) {
	if m.curvesFor == pw {
		return
	}
	c := &m.data.Comparison
	x := 0.0
	if r := c.Observed.MeanRPS; r > 0 && !math.IsInf(r, 0) {
		x = 2 * r
	}
	for _, be := range c.BreakEven {
		if be.RPS > 0 && !math.IsInf(be.RPS, 0) {
			x = max(x, 1.5*be.RPS)
		}
	}
	if !(x > 0) {
		x = 1
	}
	m.xMax = niceCeil(x)
	n := pw * 2
	if m.styles.ASCII {
		n = pw
	}
	n = max(n, 2)
	rates := make([]float64, n)
	for i := range rates {
		rates[i] = m.xMax * float64(i) / float64(n-1)
	}
	for _, k := range chartOptions {
		m.curves[k] = c.Curve(k, rates)
	}
	m.curvesFor = pw
}

// xAxis labels the plot's ends and puts "▲ now" under the cursor.
func (m *Model) xAxis(pw, cursor int) string {
	buf := []rune(strings.Repeat(" ", labelWidth+1+pw))
	put := func(at int, s string) bool {
		r := []rune(s)
		if at < labelWidth+1 || at+len(r) > len(buf) {
			return false
		}
		for i := at; i < at+len(r); i++ {
			if buf[i] != ' ' {
				return false
			}
		}
		copy(buf[at:], r)
		return true
	}
	end := format.Rate(m.xMax) + " req/s"
	put(labelWidth+1+pw-len([]rune(end)), end)
	if cursor >= 0 {
		mark := "▲ now"
		if m.styles.ASCII {
			mark = "^ now"
		}
		at := labelWidth + 1 + cursor
		if !put(at, mark+" ") && !put(at, mark) {
			put(at, string([]rune(mark)[:1]))
		}
	}
	put(labelWidth+1, "0 ")
	return m.styles.Subtle.Render(string(buf))
}

// inputs lists every option's inputs, for the explain view.
func (m *Model) inputs() []string {
	c := &m.data.Comparison
	out := []string{m.styles.Title.Render(" INPUTS") + m.styles.Subtle.Render("  (i or esc to close)")}
	for k := range cost.NumOptions {
		o := &c.Options[k]
		head := " " + columnNames[k][0] + ": "
		if o.Known() {
			out = append(out, m.styles.Header.Render(head)+m.styles.Text.Render(o.Explain))
		} else {
			out = append(out, m.styles.Header.Render(head)+m.styles.Warn.Render(o.Missing))
		}
		for _, in := range o.Inputs {
			out = append(out, m.styles.Subtle.Render("   "+in))
		}
	}
	return out
}

// wrap breaks s into lines of at most w cells at spaces; a word longer
// than w is cut with an ellipsis.
func wrap(s string, w int) []string {
	if w <= 0 || s == "" {
		return nil
	}
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		if format.Width(word) > w {
			word = ansi.Truncate(word, w, "…")
		}
		switch {
		case cur == "":
			cur = word
		case format.Width(cur)+1+format.Width(word) <= w:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= v*(1-1e-12) {
			return f * p
		}
	}
	return 10 * p
}

func shortDuration(hours float64) string {
	switch {
	case hours >= 1:
		return fmt.Sprintf("%.0fh", hours)
	default:
		return fmt.Sprintf("%.0fm", hours*60)
	}
}

func orDash(s string) string {
	if s == "" {
		return format.Missing
	}
	return s
}
