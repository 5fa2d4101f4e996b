package overview

import (
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/perch-dev/perch/themes"
)

// sgr is a style reduced to its escape prefix and suffix, so a cell costs
// two string appends instead of a lipgloss Render.
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
	b.WriteString(s.pre)
	b.WriteString(text)
	b.WriteString(s.post)
}

// Styles are the overview's looks, built from a theme.
type Styles struct {
	GroupHeader lipgloss.Style
	Header      lipgloss.Style
	SortedBy    lipgloss.Style
	Text        lipgloss.Style
	Subtle      lipgloss.Style
	Good        lipgloss.Style
	Warn        lipgloss.Style
	Bad         lipgloss.Style
	Trend       lipgloss.Style
	GroupRow    lipgloss.Style
	Notice      lipgloss.Style
	// Selected is layered over a row's cell styles.
	Selected lipgloss.Style
	ASCII    bool
}

// DefaultStyles builds styles from a theme. A theme without colours marks
// the selection by reverse video and bad values by bold.
func DefaultStyles(t themes.Theme) Styles {
	fg := themes.Fg
	s := Styles{
		GroupHeader: fg(t.Accent).Bold(true),
		Header:      fg(t.Subtle).Bold(true),
		SortedBy:    fg(t.Accent).Bold(true).Underline(true),
		Text:        fg(t.Text),
		Subtle:      fg(t.Subtle),
		Good:        fg(t.Good),
		Warn:        fg(t.Warn),
		Bad:         fg(t.Bad).Bold(true),
		Trend:       fg(t.SeriesColor(0)),
		GroupRow:    fg(t.Accent).Bold(true),
		Notice:      fg(t.Subtle).Italic(true),
		Selected:    lipgloss.NewStyle(),
	}
	if t.NoColor {
		s.Selected = s.Selected.Reverse(true)
	} else if t.Selected != nil {
		s.Selected = s.Selected.Background(t.Selected)
	}
	return s
}

// cellStyles are the precomputed escape codes for one row state.
type cellStyles struct {
	text, subtle, good, warn, bad, trend, gutter sgr
}

func (s Styles) compile(selected bool) cellStyles {
	layer := func(st lipgloss.Style) sgr {
		if selected {
			st = st.Inherit(s.Selected)
			if s.Selected.GetReverse() {
				st = st.Reverse(true)
			}
		}
		return toSGR(st)
	}
	return cellStyles{
		text: layer(s.Text), subtle: layer(s.Subtle), good: layer(s.Good),
		warn: layer(s.Warn), bad: layer(s.Bad), trend: layer(s.Trend),
		gutter: layer(s.GroupRow),
	}
}
