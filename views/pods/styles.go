package pods

import (
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/perch-dev/perch/themes"
)

// Styles are the pods page's looks, built from a theme.
type Styles struct {
	Title    lipgloss.Style
	Header   lipgloss.Style
	SortedBy lipgloss.Style
	Text     lipgloss.Style
	Subtle   lipgloss.Style
	Good     lipgloss.Style
	Warn     lipgloss.Style
	Bad      lipgloss.Style
	Notice   lipgloss.Style
	// Selected is layered over the selected row's cell styles.
	Selected lipgloss.Style
}

// DefaultStyles builds styles from a theme. Without colours the selection
// is reverse video and bad values are bold.
func DefaultStyles(t themes.Theme) Styles {
	fg := themes.Fg
	s := Styles{
		Title:    fg(t.Accent).Bold(true),
		Header:   fg(t.Subtle).Bold(true),
		SortedBy: fg(t.Accent).Bold(true).Underline(true),
		Text:     fg(t.Text),
		Subtle:   fg(t.Subtle),
		Good:     fg(t.Good),
		Warn:     fg(t.Warn),
		Bad:      fg(t.Bad).Bold(true),
		Notice:   fg(t.Subtle).Italic(true),
		Selected: lipgloss.NewStyle(),
	}
	if t.NoColor {
		s.Selected = s.Selected.Reverse(true)
	} else if t.Selected != nil {
		s.Selected = s.Selected.Background(t.Selected)
	}
	return s
}

// sgr is a style reduced to its escape prefix and suffix, so a cell costs
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
	b.WriteString(s.pre)
	b.WriteString(text)
	b.WriteString(s.post)
}

// tone is the meaning of a cell, mapped to a style.
type tone uint8

const (
	toneText tone = iota
	toneSubtle
	toneGood
	toneWarn
	toneBad
	numTones
)

// cellStyles are the compiled escapes of one row state (normal/selected).
type cellStyles [numTones]sgr

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
		toneText: layer(s.Text), toneSubtle: layer(s.Subtle), toneGood: layer(s.Good),
		toneWarn: layer(s.Warn), toneBad: layer(s.Bad),
	}
}
