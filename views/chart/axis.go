package chart

import (
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// The title line (legend) and the time axis under the plot.

// titleLine writes the title left and the legend right-aligned, dropping
// trailing legend entries and then truncating the title when short of room.
func titleLine(b *strings.Builder, o *Options, w int, label *styler, series []styler) {
	title := strings.ReplaceAll(o.Title, "\n", " ")
	tw := ansi.StringWidth(title)
	const gap = 2
	// The title keeps at least half the line (or all of itself) from the legend.
	reserve := min(tw, w/2)
	if reserve > 0 {
		reserve += gap
	}
	n, lgw := 0, 0
	for _, s := range o.Series {
		if s.Name == "" {
			continue
		}
		nw := ansi.StringWidth(s.Name)
		add := nw
		if n > 0 {
			add += gap
		}
		if reserve+lgw+add > w {
			break
		}
		n, lgw = n+1, lgw+add
	}
	room := w - lgw
	if lgw > 0 && tw > 0 {
		room -= gap
	}
	if tw > room {
		tail := "…"
		if o.ASCII {
			tail = ""
		}
		title = ansi.Truncate(title, room, tail)
		tw = ansi.StringWidth(title)
	}
	if tw > 0 {
		label.write(b, title, tw)
	}
	writeSpaces(b, w-tw-lgw)
	k := 0
	for i, s := range o.Series {
		if k == n {
			break
		}
		if s.Name == "" {
			continue
		}
		if k > 0 {
			writeSpaces(b, gap)
		}
		name := strings.ReplaceAll(s.Name, "\n", " ")
		if s.Color == nil {
			label.write(b, name, ansi.StringWidth(name))
		} else {
			series[i].write(b, name, ansi.StringWidth(name))
		}
		k++
	}
}

// tickSteps are the candidate intervals between time labels.
var tickSteps = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

const (
	timeLabelWidth = 5  // "15:04"
	minTickSpacing = 12 // cells between intermediate label positions
	labelGap       = 2  // min blank cells between labels
)

type tick struct {
	col  int
	text string
}

// timeTicks places HH:MM labels on a plot of pw cells: start at the left
// edge, end at the right, and labels at round wall-clock times between when
// there is room.
func timeTicks(start, end time.Time, pw int) []tick {
	if pw < timeLabelWidth || (start.IsZero() && end.IsZero()) {
		return nil
	}
	ticks := []tick{{0, start.Format("15:04")}}
	span := end.Sub(start)
	if span <= 0 || pw < 2*timeLabelWidth+labelGap {
		return ticks
	}
	endCol := pw - timeLabelWidth
	var step time.Duration
	for _, s := range tickSteps {
		if float64(pw-1)*float64(s)/float64(span) >= minTickSpacing {
			step = s
			break
		}
	}
	if step > 0 {
		midnight := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, start.Location())
		k := start.Sub(midnight) / step
		last := timeLabelWidth // end of the previous label
		for t := midnight.Add(k * step); t.Before(end); t = t.Add(step) {
			if !t.After(start) {
				continue
			}
			c := int(float64(t.Sub(start))/float64(span)*float64(pw-1)+0.5) - timeLabelWidth/2
			if c < last+labelGap || c+timeLabelWidth+labelGap > endCol {
				continue
			}
			ticks = append(ticks, tick{c, t.Format("15:04")})
			last = c + timeLabelWidth
		}
	}
	return append(ticks, tick{endCol, end.Format("15:04")})
}

// timeAxis writes the line of time labels under the plot area.
func timeAxis(b *strings.Builder, o *Options, gutter, pw int, axis *styler) {
	writeSpaces(b, gutter)
	ticks := timeTicks(o.Start, o.End, pw)
	if len(ticks) == 0 {
		writeSpaces(b, pw)
		return
	}
	var line strings.Builder
	line.Grow(pw)
	pos := 0
	for _, t := range ticks {
		writeSpaces(&line, t.col-pos)
		line.WriteString(t.text) // "15:04" is always 5 ASCII bytes
		pos = t.col + timeLabelWidth
	}
	axis.write(b, line.String(), pos)
	writeSpaces(b, pw-pos)
}
