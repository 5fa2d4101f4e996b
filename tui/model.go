// Package tui is perch's one root bubbletea model: it routes keys to the
// page in front, turns store changes into view data, and runs every side
// effect (waiting for data, listing pods) as a tea.Cmd tagged with a
// request id so late answers for a previous selection are dropped.
package tui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/themes"
	"github.com/perch-dev/perch/views/costsummary"
	"github.com/perch-dev/perch/views/detail"
	"github.com/perch-dev/perch/views/overview"
	"github.com/perch-dev/perch/views/pods"
	"github.com/perch-dev/perch/views/traces"
	"github.com/perch-dev/perch/views/whatif"
)

// Minimum terminal size; below it perch says so instead of garbling.
const (
	MinWidth  = 60
	MinHeight = 16
)

// podsLoadingRetry is how soon the pods page asks again while the source
// is still listing the pods.
const podsLoadingRetry = time.Second

// trendPoints is how many cells the store's hour-long sparkline trends
// have (2 minutes each); the overview shows the newest ones that fit.
const trendPoints = 30

// Config wires the model. Store and Sources are shared (by every SSH
// session in perch serve); everything else is per-model state.
type Config struct {
	Context context.Context
	Store   *store.Store
	Sources []sources.Source
	// ThemeName is a built-in theme or "auto" (follow the terminal background).
	ThemeName string
	Getenv    func(string) string
	Clock     func() time.Time
	Refresh   time.Duration // sources' expected interval, for staleness
	Hint      string        // one line shown under the table, e.g. how to use real servers
	ASCII     bool
	// PodsTimeout bounds one pods request (default 5 s).
	PodsTimeout time.Duration
	// Prices and WhatIf drive the cost page and the what-if pane.
	Prices cost.Prices
	WhatIf cost.Assumptions
}

// Model is the root model.
type Model struct {
	cfg      Config
	keys     KeyMap
	theme    themes.Theme // what the views use: base adapted to profile
	base     themes.Theme
	profile  colorprofile.Profile
	auto     bool // theme follows the terminal background
	width    int
	height   int
	page     page
	help     help.Model
	showHelp bool

	back       []page // pages to return to with esc
	overview   *overview.Model
	detail     *detail.Model
	whatif     *whatif.Model
	costs      *costsummary.Model
	traceList  *traces.List
	podsPage   *pods.Model
	waterfall  *traces.Waterfall
	tracesReq  uint64
	tracesData traces.ListData

	now                                                      time.Time
	podsReq                                                  uint64
	podsFor                                                  sources.WorkloadID
	pods                                                     []sources.Pod
	podsErr                                                  error
	podsWait                                                 bool
	allPods                                                  bool // the pods page lists every pod
	podEvents                                                []sources.Event
	podEventsErr                                             error
	header                                                   string
	rowCount                                                 int
	totalCost                                                float64 // $/h over every row
	headerStyle, footerStyle, badStyle, warnStyle, goodStyle lipgloss.Style
}

// New builds the root model; it renders nothing until it knows its size.
func New(cfg Config) (*Model, error) {
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.PodsTimeout <= 0 {
		cfg.PodsTimeout = 5 * time.Second
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 15 * time.Second
	}
	cfg.Prices = cfg.Prices.OrDefaults() // the zero table means the defaults
	theme, err := themes.Resolve(cfg.ThemeName, true, cfg.Getenv)
	if err != nil {
		return nil, err
	}
	m := &Model{
		cfg: cfg, keys: DefaultKeyMap(), help: help.New(), now: cfg.Clock(),
		auto: (cfg.ThemeName == "" || cfg.ThemeName == "auto") && !themes.NoColorRequested(cfg.Getenv),
	}
	m.overview = overview.New(overview.DefaultStyles(theme))
	m.detail = detail.New(detail.DefaultStyles(theme))
	m.whatif = whatif.New(whatif.DefaultStyles(theme))
	m.costs = costsummary.New(costsummary.DefaultStyles(theme))
	m.traceList = traces.NewList(traces.DefaultStyles(theme))
	m.podsPage = pods.New(pods.DefaultStyles(theme))
	m.waterfall = traces.NewWaterfall(traces.DefaultStyles(theme))
	m.applyTheme(theme)
	m.refreshOverview()
	return m, nil
}

func sourceNames(srcs []sources.Source) string {
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.Name()
	}
	if len(names) == 0 {
		return "sources"
	}
	return strings.Join(names, ", ")
}

func (m *Model) applyTheme(t themes.Theme) {
	// Keep the chosen palette; what the views get is adapted to the
	// terminal's colour depth so good/warn/bad stay apart at 16 colours.
	m.base = t
	t = t.ForProfile(m.profile)
	m.theme = t
	ov := overview.DefaultStyles(t)
	ov.ASCII = m.cfg.ASCII
	m.overview.SetStyles(ov)
	dt := detail.DefaultStyles(t)
	dt.ASCII = m.cfg.ASCII
	m.detail.SetStyles(dt)
	m.whatif.SetStyles(whatif.DefaultStyles(t))
	m.costs.SetStyles(costsummary.DefaultStyles(t))
	ts := traces.DefaultStyles(t)
	if m.cfg.ASCII {
		ts = traces.ASCIIStyles(t)
	}
	m.traceList.SetStyles(ts)
	m.podsPage.SetStyles(pods.DefaultStyles(t))
	m.waterfall.SetStyles(ts)
	m.headerStyle = themes.Fg(t.Accent).Bold(true)
	m.footerStyle = themes.Fg(t.Subtle)
	m.badStyle = themes.Fg(t.Bad).Bold(true)
	m.warnStyle = themes.Fg(t.Warn)
	m.goodStyle = themes.Fg(t.Good)
	hs := help.DefaultStyles(t.Dark)
	if t.NoColor {
		hs = help.Styles{FullKey: lipgloss.NewStyle().Bold(true), ShortKey: lipgloss.NewStyle().Bold(true)}
	}
	m.help.Styles = hs
	m.renderHeader()
}

// Theme is the active theme.
func (m *Model) Theme() themes.Theme { return m.theme }

// Init starts waiting for data, asks the terminal for its background and
// starts the clock.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{waitForChange(m.cfg.Context, m.cfg.Store), tick(time.Second)}
	if m.auto {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	return tea.Batch(cmds...)
}

// Update handles one message. It never does I/O.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tea.ColorProfileMsg:
		m.profile = msg.Profile
		m.applyTheme(m.base)
		return m, nil
	case tea.BackgroundColorMsg:
		if m.auto {
			t := themes.Light()
			if msg.IsDark() {
				t = themes.Dark()
			}
			m.applyTheme(t)
		}
		return m, nil
	case storeChangedMsg:
		m.now = m.cfg.Clock()
		m.refreshOverview()
		m.refreshPage()
		m.renderHeader()
		return m, waitForChange(m.cfg.Context, m.cfg.Store)
	case tickMsg:
		m.now = m.cfg.Clock()
		m.renderHeader()
		return m, tick(time.Second)
	case podsMsg:
		if msg.reqID != m.podsReq || msg.id != m.podsFor || msg.all != m.allPods {
			return m, nil // an answer for an older request
		}
		m.pods, m.podsErr, m.podsWait = msg.pods, msg.err, false
		m.podEvents, m.podEventsErr = msg.events, msg.eventsErr
		m.refreshPage()
		reqID := m.podsReq
		again := m.cfg.Refresh
		if errors.Is(msg.err, sources.ErrLoading) || errors.Is(msg.eventsErr, sources.ErrLoading) {
			// The source is still listing them: ask again soon, not a
			// whole refresh later.
			again = min(again, podsLoadingRetry)
		}
		return m, tea.Tick(again, func(time.Time) tea.Msg { return podsRefreshMsg{reqID: reqID} })
	case tracesMsg:
		if msg.reqID != m.tracesReq {
			return m, nil // an answer for an older search
		}
		m.tracesData.Traces, m.tracesData.Err, m.tracesData.Loading = msg.traces, msg.err, false
		m.traceList.SetData(m.tracesData)
		return m, nil
	case traces.OpenTraceMsg:
		m.waterfall.SetData(traces.WaterfallData{Trace: msg.Trace})
		m.open(pageWaterfall)
		return m, nil
	case podsRefreshMsg:
		if msg.reqID != m.podsReq || (m.page != pageDetail && m.page != pagePods) {
			return m, nil
		}
		return m, m.requestPods()
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	}
	return m, nil
}

func (m *Model) handleKey(k tea.KeyPressMsg) tea.Cmd {
	if m.page == pageOverview && m.overview.Filtering() {
		if k.String() == "ctrl+c" {
			return tea.Quit
		}
		m.overview.Update(k)
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		return tea.Quit
	case key.Matches(k, m.keys.Help):
		m.showHelp = !m.showHelp
		return nil
	case m.showHelp && key.Matches(k, m.keys.Back):
		m.showHelp = false
		return nil
	case key.Matches(k, m.keys.Theme):
		m.auto = false
		m.applyTheme(themes.Next(m.base.Name))
		return nil
	}
	return m.pageKey(k)
}

// requestPods starts a pods request for the selected workload if its
// source can list pods.
func (m *Model) requestPods() tea.Cmd {
	if m.allPods {
		m.podsReq++
		m.podsFor = sources.WorkloadID{}
		listers := m.allPodListers()
		m.podsWait = len(listers) > 0
		if len(listers) == 0 {
			return nil
		}
		return fetchAllPods(m.cfg.Context, listers, m.podsReq, m.cfg.PodsTimeout)
	}
	sel, ok := m.overview.Selected()
	if !ok {
		return nil
	}
	m.podsReq++
	m.podsFor = sel.ID
	lister := m.podLister(sel.Source)
	if lister == nil {
		m.podsWait = false
		return nil
	}
	m.podsWait = true
	return fetchPods(m.cfg.Context, lister, sel.ID, m.podsReq, m.cfg.PodsTimeout)
}

func (m *Model) allPodListers() []sources.AllPodLister {
	var out []sources.AllPodLister
	for _, s := range m.cfg.Sources {
		if l, ok := s.(sources.AllPodLister); ok {
			out = append(out, l)
		}
	}
	return out
}

func (m *Model) podLister(source string) sources.PodLister {
	for _, s := range m.cfg.Sources {
		if s.Name() == source {
			if l, ok := s.(sources.PodLister); ok {
				return l
			}
		}
	}
	return nil
}

func (m *Model) refreshOverview() {
	rows := m.cfg.Store.Summaries(m.now, trendPoints)
	m.rowCount, m.totalCost = len(rows), 0
	for i := range rows {
		if c := rows[i].Latest[sources.CostRate]; !math.IsNaN(c) {
			m.totalCost += c
		}
		if rows[i].Has(sources.CPURequest) || rows[i].Has(sources.MemRequest) {
			rows[i].IdleShare = m.cfg.Prices.IdleShare(&rows[i])
		}
	}
	m.overview.SetNotice(m.emptyNotice())
	m.overview.SetData(rows)
}

// emptyNotice explains an empty table: still waiting, or why nothing came.
func (m *Model) emptyNotice() string {
	var failing []string
	for _, h := range m.cfg.Store.Health() {
		if h.Err != nil {
			failing = append(failing, h.Source+": "+h.Err.Error())
		}
	}
	if len(failing) > 0 {
		return "No data yet. " + strings.Join(failing, "; ") + " (retrying)"
	}
	return "Waiting for the first data from " + sourceNames(m.cfg.Sources) + "…"
}

func (m *Model) refreshDetail() {
	sel, ok := m.overview.Selected()
	if !ok {
		m.page = pageOverview
		return
	}
	end := m.now
	start := end.Add(-m.detail.Range())
	n := m.detail.Points()
	rng := func(metric sources.Metric, agg store.Agg) []float64 {
		return m.cfg.Store.Range(sel.ID, metric, start, end, n, agg)
	}
	d := detail.Data{
		Summary: sel, Start: start, End: end, Now: m.now,
		Cost:     rng(sources.CostRate, store.Mean),
		Replicas: [3][]float64{rng(sources.ReplicasCurrent, store.Max), rng(sources.ReplicasDesired, store.Max), rng(sources.ReplicasReady, store.Max)},
		Latency:  [3][]float64{rng(sources.LatencyP50, store.Max), rng(sources.LatencyP95, store.Max), rng(sources.LatencyP99, store.Max)},
		NoPods:   m.podLister(sel.Source) == nil,
	}
	if m.podsFor == sel.ID {
		d.Pods, d.PodsErr, d.PodsWait = m.pods, m.podsErr, m.podsWait
	}
	m.detail.SetData(d)
}

func (m *Model) layout() {
	bodyH := m.bodyHeight()
	m.overview.SetSize(m.width, bodyH)
	m.detail.SetSize(m.width, bodyH)
	m.whatif.SetSize(m.width, bodyH)
	m.costs.SetSize(m.width, bodyH)
	m.traceList.SetSize(m.width, bodyH)
	m.podsPage.SetSize(m.width, bodyH)
	m.waterfall.SetSize(m.width, bodyH)
	m.help.SetWidth(m.width)
	m.renderHeader()
	m.refreshPage()
}

func (m *Model) bodyHeight() int {
	h := m.height - 2
	if m.cfg.Hint != "" {
		h--
	}
	return max(h, 0)
}

func (m *Model) footer() string {
	bindings := append(m.pageHelp(), m.keys.Help, m.keys.Quit)
	line := fitLine(m.help.ShortHelpView(bindings), m.width)
	if m.cfg.Hint != "" {
		line = fitLine(m.footerStyle.Render(" "+m.cfg.Hint), m.width) + "\n" + line
	}
	return line
}

// View composes header, page and footer. It does no I/O.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	return v
}

// Render is the frame as a string (View without the tea wrapper), for
// snapshots and tests.
func (m *Model) Render() string {
	if m.width == 0 || m.height == 0 {
		return ""
	}
	if m.width < MinWidth || m.height < MinHeight {
		msg := fmt.Sprintf("perch needs at least %d×%d; this terminal is %d×%d. Enlarge it or press q.", MinWidth, MinHeight, m.width, m.height)
		return lipgloss.NewStyle().Width(m.width).Render(msg)
	}
	body := m.pageView()
	if m.showHelp {
		body = m.helpView()
	}
	return m.header + "\n" + body + "\n" + m.footer()
}

func (m *Model) helpView() string {
	groups := [][]key.Binding{{m.keys.Open, m.keys.Back, m.keys.Help, m.keys.Theme, m.keys.Quit}, {m.keys.Costs, m.keys.WhatIf, m.keys.Traces, m.keys.Pods, m.keys.AllPods}}
	groups = append(groups, m.overview.KeyMap.FullHelp()...)
	groups = append(groups, m.detail.KeyMap.FullHelp()...)
	groups = append(groups, m.whatif.KeyMap.FullHelp()...)
	groups = append(groups, m.costs.KeyMap.FullHelp()...)
	groups = append(groups, m.podsPage.KeyMap.FullHelp()...)
	groups = append(groups, m.traceList.KeyMap.FullHelp()...)
	groups = append(groups, m.waterfall.KeyMap.FullHelp()...)
	// Groups side by side as far as the width allows, then the next row.
	var lines []string
	if parts := m.sourceParts(); len(parts) > 0 {
		// The header cuts long causes to fit every source; here they are whole.
		lines = append(lines, m.headerStyle.Render(" Sources"))
		for _, p := range parts {
			lines = append(lines, lipgloss.NewStyle().Width(m.width).Render(p.style.Render(p.label)+p.detailStyle.Render(p.detail)))
		}
		lines = append(lines, "")
	}
	lines = append(lines, m.headerStyle.Render(" Keys"), "")
	perRow := max(1, m.width/38)
	for i := 0; i < len(groups); i += perRow {
		lines = append(lines, m.help.FullHelpView(groups[i:min(i+perRow, len(groups))]), "")
	}
	lines = append(lines, m.footerStyle.Render(" Overview columns: COST $/h now and $ per 1M requests │ SCALING replicas current→desired min..max │ LATENCY p50 p95 p99 │ TRAFFIC req/s, error ratio."))
	lines = append(lines, m.footerStyle.Render(" Rows marked ! come from a failing source: their values are the last known, not fresh."))
	body := strings.Join(lines, "\n")
	out := strings.Split(body, "\n")
	bodyH := m.bodyHeight()
	for len(out) < bodyH {
		out = append(out, "")
	}
	out = out[:bodyH]
	for i := range out {
		out[i] = fitLine(out[i], m.width)
	}
	return strings.Join(out, "\n")
}

func fitLine(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}
