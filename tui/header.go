package tui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/views/format"
)

// The header line: perch, every source's health, totals and the clock.

// headerPart is one source in the header: its label (mark, name, state)
// always shows; its detail (cause, since when, partial view) is cut to
// share the width, so a long error never hides the other sources.
type headerPart struct {
	label, detail      string
	style, detailStyle lipgloss.Style
	failing            bool // detail is the cause of a failure
}

func countParts(parts []headerPart, failing bool) int {
	n := 0
	for _, p := range parts {
		if p.failing == failing && p.detail != "" {
			n++
		}
	}
	return n
}

// sourceParts describes every source's health for the header and help.
func (m *Model) sourceParts() []headerPart {
	var parts []headerPart
	for _, h := range m.cfg.Store.Health() {
		st := h.State(m.now, m.cfg.Refresh)
		p := headerPart{style: m.goodStyle, label: fmt.Sprintf(" ● %s %s", h.Source, st)}
		switch st {
		case sources.HealthDown, sources.HealthDegraded:
			p.style, p.label = m.badStyle, fmt.Sprintf(" ✖ %s %s", h.Source, st)
		case sources.HealthStale, sources.HealthUnknown:
			p.style, p.label = m.warnStyle, fmt.Sprintf(" ◌ %s %s", h.Source, st)
		}
		p.detailStyle = p.style
		switch {
		case h.Err != nil:
			p.detail, p.failing = fmt.Sprintf(" since %s: %s", format.Ago(m.now, h.ErrSince), h.Err), true
		case st != sources.HealthOK && !h.LastOK.IsZero():
			// Only a late source says when it last answered: a healthy
			// one would redraw "Ns ago" every second for nothing.
			p.detail = " " + format.Ago(m.now, h.LastOK)
		case h.Partial != nil:
			p.detail, p.detailStyle = " ◐ partial: "+h.Partial.Error(), m.warnStyle
		}
		// A multi-line error (a quoted error page) must not break the frame.
		p.detail = strings.Join(strings.Fields(p.detail), " ")
		if p.detail != "" {
			p.detail = " " + p.detail
		}
		parts = append(parts, p)
	}
	return parts
}

// renderHeader builds the top line: sources with health, totals.
func (m *Model) renderHeader() {
	if m.width <= 0 {
		return
	}
	var b strings.Builder
	b.WriteString(m.headerStyle.Render(" perch "))
	right := m.footerStyle.Render(fmt.Sprintf("%d workloads  %s/h  %s/day  %s ",
		m.rowCount, format.Money(m.totalCost), format.Money(m.totalCost*24), m.now.Format("15:04:05")))
	parts := m.sourceParts()
	fixed := ansi.StringWidth(b.String())
	labels, causes, notes := 0, 0, 0
	for _, p := range parts {
		labels += ansi.StringWidth(p.label)
		if p.failing {
			causes += ansi.StringWidth(p.detail)
		} else {
			notes += ansi.StringWidth(p.detail)
		}
	}
	// Priority when the line is short: every source's name and state, then
	// what is failing and why, then the totals, then notes (partial views,
	// ages); each kind is cut to an equal share per source.
	room := m.width - fixed - ansi.StringWidth(right) - 1
	if labels+causes > room {
		right, room = "", m.width-fixed
	}
	causeShare, noteShare := -1, -1
	if n := countParts(parts, true); labels+causes > room && n > 0 {
		causeShare = max(room-labels, 0) / n
	}
	if n := countParts(parts, false); labels+causes+notes > room && n > 0 {
		noteShare = max(room-labels-causes, 0) / n
	}
	for _, p := range parts {
		b.WriteString(p.style.Render(p.label))
		share := noteShare
		if p.failing {
			share = causeShare
		}
		d := p.detail
		if share >= 0 && ansi.StringWidth(d) > share {
			d = ""
			if share > 1 {
				d = ansi.Truncate(p.detail, share, "…")
			}
		}
		if d != "" {
			b.WriteString(p.detailStyle.Render(d))
		}
	}
	if len(parts) == 0 {
		b.WriteString(m.warnStyle.Render(" ◌ waiting for " + sourceNames(m.cfg.Sources)))
	}
	gap := m.width - ansi.StringWidth(b.String()) - ansi.StringWidth(right)
	line := b.String()
	if gap >= 1 {
		line += strings.Repeat(" ", gap) + right
	}
	m.header = fitLine(line, m.width)
}

// bodyHeight is what the page gets: all but the header, the footer and,
// when there is a hint (the demo says how to connect real servers), its line.
