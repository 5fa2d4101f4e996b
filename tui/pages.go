package tui

import (
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/views/costsummary"
	"github.com/perch-dev/perch/views/pods"
	"github.com/perch-dev/perch/views/whatif"
)

// page is what fills the body between header and footer.
type page uint8

const (
	pageOverview page = iota
	pageDetail
	pageWhatIf
	pageCosts
	pageTraces
	pageWaterfall
	pagePods
)

// open shows p and remembers the current page for esc.
func (m *Model) open(p page) {
	m.back = append(m.back, m.page)
	m.page = p
	m.refreshPage()
}

// close returns to the previous page.
func (m *Model) close() {
	if m.page == pageDetail || (m.page == pagePods && m.allPods) {
		m.podsReq++ // drop pod answers still in flight
	}
	if m.page == pagePods && m.allPods {
		m.allPods, m.pods, m.podsErr = false, nil, nil // every pod of a big cluster: let it go
	}
	if n := len(m.back); n > 0 {
		m.page, m.back = m.back[n-1], m.back[:n-1]
	} else {
		m.page = pageOverview
	}
	m.refreshPage()
}

// pageKey routes a key to the page in front.
func (m *Model) pageKey(k tea.KeyPressMsg) tea.Cmd {
	switch m.page {
	case pageOverview:
		switch {
		case key.Matches(k, m.keys.Open):
			if _, ok := m.overview.Selected(); ok {
				m.pods, m.podsErr, m.podEvents, m.podEventsErr, m.allPods = nil, nil, nil, nil, false
				cmd := m.requestPods()
				m.open(pageDetail)
				return cmd
			}
		case key.Matches(k, m.keys.Costs):
			m.open(pageCosts)
		case key.Matches(k, m.keys.AllPods):
			m.pods, m.podsErr, m.podEvents, m.podEventsErr, m.allPods = nil, nil, nil, nil, true
			cmd := m.requestPods()
			m.open(pagePods)
			return cmd
		default:
			m.overview.Update(k)
		}
	case pageDetail:
		switch {
		case key.Matches(k, m.keys.Back) && !(k.String() == "esc" && m.detail.CursorActive()):
			m.close()
		case key.Matches(k, m.keys.WhatIf):
			m.open(pageWhatIf)
		case key.Matches(k, m.keys.Traces):
			return m.openTraces()
		case key.Matches(k, m.keys.Pods):
			m.open(pagePods)
		default:
			before := m.detail.Range()
			m.detail.Update(k)
			if m.detail.Range() != before {
				m.refreshDetail() // a new window needs new series
			}
		}
	case pageWhatIf:
		if key.Matches(k, m.keys.Back) && !m.whatif.ShowingInputs() {
			m.close()
			return nil
		}
		m.whatif.Update(k)
	case pageCosts:
		if key.Matches(k, m.keys.Back) {
			m.close()
			return nil
		}
		m.costs.Update(k)
	case pageTraces:
		if key.Matches(k, m.keys.Back) {
			m.tracesReq++ // drop a search still running
			m.close()
			return nil
		}
		return m.traceList.Update(k)
	case pagePods:
		if key.Matches(k, m.keys.Back) && !m.podsPage.Filtering() {
			m.close()
			return nil
		}
		return m.podsPage.Update(k)
	case pageWaterfall:
		if key.Matches(k, m.keys.Back) && !m.waterfall.InDetails() {
			m.close()
			return nil
		}
		return m.waterfall.Update(k)
	}
	return nil
}

// refreshPage hands the page in front its data from the store.
func (m *Model) refreshPage() {
	switch m.page {
	case pageDetail:
		m.refreshDetail()
	case pageWhatIf:
		m.refreshWhatIf()
	case pagePods:
		m.refreshPods()
	case pageCosts:
		m.costs.SetData(costsummary.Data{Totals: m.cfg.Prices.Totals(m.cfg.Store.Summaries(m.now, 0), 10), PricesName: m.cfg.Prices.OrDefaults().Name})
	}
}

func (m *Model) pageView() string {
	switch m.page {
	case pageDetail:
		return m.detail.View()
	case pageWhatIf:
		return m.whatif.View()
	case pageCosts:
		return m.costs.View()
	case pageTraces:
		return m.traceList.View()
	case pageWaterfall:
		return m.waterfall.View()
	case pagePods:
		return m.podsPage.View()
	}
	return m.overview.View()
}

func (m *Model) pageHelp() []key.Binding {
	switch m.page {
	case pageDetail:
		return append([]key.Binding{m.keys.Back, m.keys.WhatIf, m.keys.Traces, m.keys.Pods}, m.detail.KeyMap.ShortHelp()...)
	case pagePods:
		return append([]key.Binding{m.keys.Back}, m.podsPage.KeyMap.ShortHelp()...)
	case pageTraces:
		return append([]key.Binding{m.keys.Back}, m.traceList.KeyMap.ShortHelp()...)
	case pageWaterfall:
		return append([]key.Binding{m.keys.Back}, m.waterfall.KeyMap.ShortHelp()...)
	case pageWhatIf:
		return append([]key.Binding{m.keys.Back}, m.whatif.KeyMap.ShortHelp()...)
	case pageCosts:
		return append([]key.Binding{m.keys.Back}, m.costs.KeyMap.ShortHelp()...)
	}
	keys := []key.Binding{m.keys.Open, m.keys.Costs}
	if len(m.allPodListers()) > 0 {
		keys = append(keys, m.keys.AllPods)
	}
	return append(keys, m.overview.KeyMap.ShortHelp()...)
}

// whatIfPoints is how many points per series feed the what-if statistics.
const whatIfPoints = 120

// refreshWhatIf compares the selected workload's options over the detail
// view's window, from the store's history.
func (m *Model) refreshWhatIf() {
	sel, ok := m.overview.Selected()
	if !ok {
		return
	}
	end := m.now
	window := m.detail.Range()
	start := end.Add(-window)
	rng := func(metric sources.Metric, agg store.Agg) []float64 {
		return m.cfg.Store.Range(sel.ID, metric, start, end, whatIfPoints, agg)
	}
	ser := cost.Series{
		Window: window, Cost: rng(sources.CostRate, store.Mean),
		RequestRate: rng(sources.RequestRate, store.Mean), RequestRateMax: rng(sources.RequestRate, store.Max),
		CPUUsage: rng(sources.CPUUsage, store.Mean), CPUUsageMax: rng(sources.CPUUsage, store.Max),
		MemUsage: rng(sources.MemUsage, store.Mean), Replicas: rng(sources.ReplicasCurrent, store.Mean),
		Concurrency: rng(sources.Concurrency, store.Max), ColdStarts: rng(sources.ColdStarts, store.Mean),
		LatencyP50: rng(sources.LatencyP50, store.Mean), LatencyP95: rng(sources.LatencyP95, store.Mean),
		LatencyP99: rng(sources.LatencyP99, store.Mean),
	}
	m.whatif.SetData(whatif.Data{ID: sel.ID, Comparison: m.cfg.Prices.Compare(cost.ObservedFrom(&sel, ser), m.cfg.WhatIf)})
}

// refreshPods shows the pods of the selected workload from the last answer
// of its source (the same request the detail view made and refreshes).
func (m *Model) refreshPods() {
	if m.allPods {
		d := pods.Data{All: true, Now: m.now, Pods: m.pods, Err: m.podsErr, Loading: m.podsWait}
		switch {
		case len(m.allPodListers()) == 0:
			d.Err = errNoAllPodLister
		case errors.Is(m.podsErr, sources.ErrLoading) && len(m.pods) == 0:
			d.Err, d.Loading = nil, true
		case m.podsErr != nil && len(m.pods) > 0:
			// Some sources answered: show their pods and say what is missing.
			d.Err, d.Note = nil, "partial: "+m.podsErr.Error()
		}
		m.podsPage.SetData(d)
		return
	}
	sel, ok := m.overview.Selected()
	if !ok {
		return
	}
	d := pods.Data{Workload: sel.ID, Now: m.now}
	switch {
	case m.podLister(sel.Source) == nil:
		d.Err = errNoPodLister
	case m.podsFor == sel.ID:
		d.Pods, d.Err, d.Loading = m.pods, m.podsErr, m.podsWait
		d.Events, d.EventsErr = m.podEvents, m.podEventsErr
		if errors.Is(d.Err, sources.ErrLoading) {
			// Not a failure: the source is still listing the pods.
			d.Err, d.Loading = nil, len(d.Pods) == 0
		}
	default:
		d.Loading = true
	}
	m.podsPage.SetData(d)
}

const (
	errNoPodLister    = constError("this source does not list pods")
	errNoAllPodLister = constError("no source lists pods (the kubernetes source does)")
)
