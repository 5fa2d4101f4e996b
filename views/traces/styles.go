package traces

import (
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/perch-dev/perch/themes"
)

// Styles are the traces views' looks, built from a theme.
type Styles struct {
	Title, Header, Text, Subtle, Warn, Bad, Accent, Notice lipgloss.Style
	// Bars of the waterfall: ordinary spans, spans on the critical path,
	// failed spans.
	Bar, CriticalBar, ErrorBar lipgloss.Style
	// BarGlyph and CriticalGlyph draw the bars; partial eighth blocks
	// refine a bar's end only when its glyph is the full block.
	BarGlyph, CriticalGlyph string
	// Selected is layered over a row's styles.
	Selected lipgloss.Style
	// ASCII replaces every symbol by ASCII (dumb terminals).
	ASCII bool
}

// DefaultStyles builds styles from a theme. Without colours the critical
// path is told apart by its glyph and the selection by reverse video.
func DefaultStyles(t themes.Theme) Styles {
	fg := themes.Fg
	s := Styles{
		Title: fg(t.Accent).Bold(true), Header: fg(t.Subtle).Bold(true),
		Text: fg(t.Text), Subtle: fg(t.Subtle), Warn: fg(t.Warn), Bad: fg(t.Bad).Bold(true),
		Accent: fg(t.Accent), Notice: fg(t.Subtle).Italic(true),
		Bar: fg(t.SeriesColor(3)), CriticalBar: fg(t.Accent), ErrorBar: fg(t.Bad),
		BarGlyph: "█", CriticalGlyph: "█",
		Selected: lipgloss.NewStyle(),
	}
	if t.NoColor {
		s.BarGlyph = "░"
		s.Selected = s.Selected.Reverse(true)
	} else if t.Selected != nil {
		s.Selected = s.Selected.Background(t.Selected)
	}
	return s
}

// ASCIIStyles is DefaultStyles for terminals without Unicode.
func ASCIIStyles(t themes.Theme) Styles {
	s := DefaultStyles(t)
	s.ASCII, s.BarGlyph, s.CriticalGlyph = true, "-", "="
	return s
}

// sgr is a style reduced to its escape prefix and suffix: a cell costs
// two appends instead of a lipgloss Render.
type sgr struct{ pre, post string }

func toSGR(st lipgloss.Style) sgr {
	out := st.Render("X")
	i := strings.IndexByte(out, 'X')
	if i < 0 {
		return sgr{}
	}
	return sgr{pre: out[:i], post: out[i+1:]}
}

func (s sgr) wrap(b *strings.Builder, text string) {
	if text == "" {
		return
	}
	b.WriteString(s.pre)
	b.WriteString(text)
	b.WriteString(s.post)
}

// rowStyles are the escape codes of one row state (selected or not).
type rowStyles struct {
	title, header, text, subtle, warn, bad, accent, notice sgr
	bar, critical, errBar                                  sgr
}

func (s Styles) compile(selected bool) rowStyles {
	layer := func(st lipgloss.Style) sgr {
		if selected {
			st = st.Inherit(s.Selected)
			if s.Selected.GetReverse() {
				st = st.Reverse(true)
			}
		}
		return toSGR(st)
	}
	return rowStyles{
		title: layer(s.Title), header: layer(s.Header), text: layer(s.Text), subtle: layer(s.Subtle),
		warn: layer(s.Warn), bad: layer(s.Bad), accent: layer(s.Accent), notice: layer(s.Notice),
		bar: layer(s.Bar), critical: layer(s.CriticalBar), errBar: layer(s.ErrorBar),
	}
}

// compiled holds both row states of a Styles: compiling costs a dozen
// lipgloss renders, so views do it once per SetStyles.
type compiled struct{ normal, selected rowStyles }

func (s Styles) compileBoth() compiled {
	return compiled{normal: s.compile(false), selected: s.compile(true)}
}

func (c *compiled) get(selected bool) rowStyles {
	if selected {
		return c.selected
	}
	return c.normal
}

// symbols are the glyphs of one style set.
type symbols struct {
	expanded, collapsed, leaf, err, orphan, skew, critical, ellipsis string
}

func (s Styles) symbols() symbols {
	if s.ASCII {
		return symbols{expanded: "-", collapsed: "+", leaf: " ", err: "x", orphan: "?", skew: "!", critical: "*", ellipsis: "~"}
	}
	return symbols{expanded: "▾", collapsed: "▸", leaf: " ", err: "✖", orphan: "?", skew: "!", critical: "◆", ellipsis: "…"}
}
