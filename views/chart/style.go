package chart

import (
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/themes"
)

// DefaultStyles builds chart styles from a theme. Colourless themes get
// no colours: the cursor is drawn reversed and the title bold.
func DefaultStyles(t themes.Theme) Styles {
	if t.NoColor {
		return Styles{
			Axis:   lipgloss.NewStyle(),
			Label:  lipgloss.NewStyle().Bold(true),
			Cursor: lipgloss.NewStyle().Reverse(true),
		}
	}
	return Styles{
		Axis:   themes.Fg(t.Subtle),
		Label:  themes.Fg(t.Accent).Bold(true),
		Cursor: themes.Fg(t.Text),
	}
}

// styler applies a lipgloss style to runs of text. lipgloss' Render is far
// too slow to call for every run of a chart, so for simple styles (colours
// and attributes only: no padding, width, borders, margins or transforms)
// the escape sequences Render would wrap any text in are captured once and
// written around each run. Styles that don't pass this probe are rendered
// with Style.Render per run, and if that changes the run's width the run is
// written unstyled so the chart keeps its exact size.
type styler struct {
	st       lipgloss.Style
	pre, suf string
	fast     bool
	// blankSafe: spaces look the same in this style as unstyled (no
	// background, reverse, underline or strikethrough), so a gap between
	// two runs of it can join them and save an escape sequence pair.
	blankSafe bool
}

const probe = "x x"

func newStyler(st lipgloss.Style) styler {
	s := styler{st: st}
	if st.GetTransform() != nil {
		return s
	}
	r := st.Render(probe)
	i := strings.Index(r, probe)
	if i < 0 || strings.Count(r, probe) != 1 || strings.ContainsRune(r, '\n') || ansi.StringWidth(r) != len(probe) {
		return s
	}
	s.pre, s.suf, s.fast = r[:i], r[i+len(probe):], true
	bg := st.GetBackground()
	_, noBg := bg.(lipgloss.NoColor)
	s.blankSafe = (bg == nil || noBg) && !st.GetReverse() && !st.GetUnderline() && !st.GetStrikethrough()
	return s
}

// colorStyler is the styler of lipgloss.NewStyle().Foreground(c), built
// directly: it is the same SGR sequence lipgloss writes (a test checks) at a
// fraction of the cost of a probe render.
func colorStyler(c color.Color) styler {
	if _, none := c.(lipgloss.NoColor); c == nil || none {
		return styler{fast: true, blankSafe: true}
	}
	return styler{
		st:   lipgloss.NewStyle().Foreground(c),
		pre:  ansi.Style{}.ForegroundColor(c).String(),
		suf:  ansi.ResetStyle,
		fast: true, blankSafe: true,
	}
}

// write writes text (of display width w) in the style.
func (s *styler) write(b *strings.Builder, text string, w int) {
	if s.fast {
		b.WriteString(s.pre)
		b.WriteString(text)
		b.WriteString(s.suf)
		return
	}
	r := s.st.Render(text)
	if strings.ContainsRune(r, '\n') || ansi.StringWidth(r) != w {
		r = text
	}
	b.WriteString(r)
}

// writeBytes is write for a scratch buffer, without a string copy on the
// fast path.
func (s *styler) writeBytes(b *strings.Builder, text []byte, w int) {
	if s.fast {
		b.WriteString(s.pre)
		b.Write(text)
		b.WriteString(s.suf)
		return
	}
	s.write(b, string(text), w)
}

const spaces = "                                                                                                                                "

// appendSpaces appends n spaces to p.
func appendSpaces(p []byte, n int) []byte {
	for n > 0 {
		k := min(n, len(spaces))
		p = append(p, spaces[:k]...)
		n -= k
	}
	return p
}

// writeSpaces writes n spaces.
func writeSpaces(b *strings.Builder, n int) {
	for n > 0 {
		k := min(n, len(spaces))
		b.WriteString(spaces[:k])
		n -= k
	}
}
