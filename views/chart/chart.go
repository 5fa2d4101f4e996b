// Package chart is perch's own small chart renderer: braille (or ASCII)
// line charts with y labels, a legend, a time axis and a cursor, and
// sparklines. It writes escape sequences itself, once per run of
// same-styled cells, so a whole dashboard of charts fits a frame budget.
package chart

import (
	"image/color"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Series is one line of a chart.
type Series struct {
	Name   string
	Values []float64   // evenly spaced over [Start, End], oldest first, NaN = gap
	Color  color.Color // nil = default fg
}

// Styles are the non-series styles of a chart.
type Styles struct {
	Axis   lipgloss.Style // axis lines and tick labels
	Label  lipgloss.Style // title / legend
	Cursor lipgloss.Style // vertical cursor column
}

// Options describe one chart.
type Options struct {
	Width, Height int       // total size in cells, including title line, y labels and x axis
	Title         string    // first line, left; legend (series names in their colours) right-aligned on the same line
	Start, End    time.Time // the x axis
	Series        []Series
	// If YMin>=YMax: autoscale over all series (min clamped to 0 when all
	// data >= 0). Values outside a fixed range are clamped to its edge.
	YMin, YMax float64
	YFormat    func(float64) string // y tick label formatter (default FormatCompact)
	// LabelWidth is the width of the y labels; the gutter is LabelWidth
	// cells plus one axis cell. 0 = auto: max(DefaultLabelWidth, widest
	// label). Stacked charts pass the same value so their plot areas align.
	LabelWidth   int
	ShowTimeAxis bool // bottom line with HH:MM labels; when false no axis line
	Cursor       int  // plot column index to highlight, -1 for none
	ASCII        bool // no braille or box drawing: '*' '.' '|'
	Styles       Styles
}

// DefaultLabelWidth is the y-label width auto mode uses when the labels fit
// in it (FormatCompact labels of 0 and of non-negative values >= 0.1 always
// do), and the one PlotWidth assumes for labelWidth 0.
const DefaultLabelWidth = 5

// PlotWidth returns how many cells of width are plot area for a given
// LabelWidth (so callers can ask a store for exactly that many points, 2 per
// cell for braille). For labelWidth 0 it assumes DefaultLabelWidth, which
// is exact unless the auto labels are wider than that or the chart is
// narrower than 15 cells (auto never takes more than a third of the width).
func PlotWidth(width, labelWidth int) int {
	if labelWidth <= 0 {
		labelWidth = DefaultLabelWidth
	}
	return max(0, width-labelWidth-1)
}

// LabelWidthFor returns the LabelWidth Render picks for opts (its own
// LabelWidth if set). Stacked charts can take the max over all of them and
// pass it to each so their plot areas align on one time axis.
func LabelWidthFor(opts Options) int {
	if opts.LabelWidth > 0 {
		return opts.LabelWidth
	}
	rows := opts.Height - 1
	if opts.ShowTimeAxis {
		rows--
	}
	lo, hi := yRange(&opts)
	labels := yLabels(&opts, max(rows, 1), lo, hi)
	return autoLabelWidth(labels, opts.Width)
}

// FormatCompact formats v with 3 significant digits and a k/M/G/T suffix:
// 0.5, 12.3, 999, 1.23k, 45.6M.
func FormatCompact(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	if v == 0 {
		return "0" // also for -0
	}
	if math.Abs(v) < 999.5 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	const suffixes = "kMGT"
	div := 1.0
	for i := range len(suffixes) {
		div *= 1000
		s := v / div
		if math.Abs(s) < 999.5 || i == len(suffixes)-1 {
			return strconv.FormatFloat(s, 'g', 3, 64) + suffixes[i:i+1]
		}
	}
	panic("unreachable")
}

// yRange is the value range of the plot.
func yRange(o *Options) (lo, hi float64) {
	lo, hi = o.YMin, o.YMax
	if lo < hi && finite(lo) && finite(hi) {
		return lo, hi
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := range o.Series {
		for _, v := range o.Series[i].Values {
			if finite(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	switch {
	case lo > hi: // no data
		return 0, 1
	case lo >= 0:
		lo = 0
	}
	if lo == hi {
		if lo == 0 {
			hi = 1
		} else { // flat negative data
			hi = 0
		}
	}
	return lo, hi
}

// geometry of the dot grid
type grid struct {
	ascii      bool
	rows, cols int // cells
	xres, yres int // dots per cell
	xsh, ysh   int // log2 of xres, yres
	dotsX      int // x points: cols*xres
	dotsY      int // y points: rows*yres
}

func newGrid(rows, cols int, ascii bool) grid {
	g := grid{ascii: ascii, rows: rows, cols: cols, xres: 2, yres: 4, xsh: 1, ysh: 2}
	if ascii {
		g.xres, g.yres, g.xsh, g.ysh = 1, 2, 0, 1
	}
	g.dotsX, g.dotsY = cols*g.xres, rows*g.yres
	return g
}

// rowValue is the value at the centre of plot row r (0 = top).
func (g grid) rowValue(r int, lo, hi float64) float64 {
	if g.dotsY <= 1 {
		return hi
	}
	dy := float64(r*g.yres) + float64(g.yres-1)/2
	return lo + (float64(g.dotsY-1)-dy)/float64(g.dotsY-1)*(hi-lo)
}

// yLabels returns one label per plot row ("" for none): max at the top, min
// at the bottom and one in the middle when there are at least 3 rows.
func yLabels(o *Options, rows int, lo, hi float64) []string {
	f := o.YFormat
	if f == nil {
		f = FormatCompact
	}
	labels := make([]string, rows)
	labels[0] = f(hi)
	if rows >= 2 {
		labels[rows-1] = f(lo)
	}
	if rows >= 3 {
		mid := (rows - 1) / 2
		labels[mid] = f(newGrid(rows, 1, o.ASCII).rowValue(mid, lo, hi))
	}
	return labels
}

func autoLabelWidth(labels []string, width int) int {
	lw := DefaultLabelWidth
	for _, l := range labels {
		lw = max(lw, ansi.StringWidth(l))
	}
	return max(1, min(lw, width/3))
}

// dotMasks[k][side][a][b] is the OR of the dot bits of sub-rows a..b (top
// to bottom) in one column of a cell: k 0 = braille (2×4 dots), 1 = ASCII
// (1×2 "dots": bit 1 upper half, bit 2 lower half).
var dotMasks [2][2][4][4]uint8

func init() {
	braille := [2][4]uint8{{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}}
	for side := range 2 {
		for a := range 4 {
			var m, am uint8
			for b := a; b < 4; b++ {
				m |= braille[side][b]
				dotMasks[0][side][a][b] = m
				if b < 2 {
					am |= 1 << b
					dotMasks[1][side][a][b] = am
				}
			}
		}
	}
}

// canvas is the dot grid of a chart: per cell the dot bits and 1 + the index
// of the last series that set a dot (0 = empty).
type canvas struct {
	grid
	bits  []uint8
	owner []uint16
}

// maxSeries is the most series a chart tells apart; later ones share the
// last one's colour.
const maxSeries = math.MaxUint16

// workspace holds Render's buffers between calls.
type workspace struct {
	bits    []uint8
	owner   []uint16
	scratch []float64
	run     []byte
}

var pool = sync.Pool{New: func() any { return new(workspace) }}

// grow returns a zeroed slice of length n, reusing s when it is big enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// clampDot limits a dot height to [0, top]; NaN goes to 0.
func clampDot(y, top float64) int {
	switch {
	case !(y > 0):
		return 0
	case y > top:
		y = top
	}
	return int(y + 0.5)
}

// column sets the dots of column x between dot heights ya and yb.
func (c *canvas) column(x int, ya, yb float64, owner int) {
	if x < 0 || x >= c.dotsX {
		return
	}
	top := float64(c.dotsY - 1)
	a, b := clampDot(ya, top), clampDot(yb, top)
	if a > b {
		a, b = b, a
	}
	// dot rows counted from the top
	ta, tb := c.dotsY-1-b, c.dotsY-1-a
	col, side := x>>c.xsh, x&(c.xres-1)
	k := 0
	if c.ascii {
		k = 1
	}
	masks := &dotMasks[k][side]
	for row := ta >> c.ysh; row <= tb>>c.ysh; row++ {
		first := row << c.ysh
		s0, s1 := max(ta-first, 0), min(tb-first, c.yres-1)
		i := row*c.cols + col
		c.bits[i] |= masks[s0][s1]
		c.owner[i] = uint16(owner)
	}
}

// segment draws a line from (xa, ya) to (xb, yb), xa < xb, as vertical runs:
// each column covers the part of the line within half a column of it.
func (c *canvas) segment(xa, ya, xb, yb float64, owner int) {
	slope := (yb - ya) / (xb - xa)
	for x := int(xa + 0.5); x <= int(xb+0.5); x++ {
		x0, x1 := float64(x)-0.5, float64(x)+0.5
		if x0 < xa {
			x0 = xa
		}
		if x1 > xb {
			x1 = xb
		}
		if x0 > x1 {
			continue
		}
		c.column(x, ya+(x0-xa)*slope, ya+(x1-xa)*slope, owner)
	}
}

// plot draws one series. Values are resampled onto the grid's x points:
// with more values than points each point takes the max of its bucket (so
// spikes survive), with fewer the values are spread evenly and joined.
func (c *canvas) plot(values []float64, lo, hi float64, owner int, scratch []float64) []float64 {
	n, p := len(values), c.dotsX
	if n == 0 || p == 0 {
		return scratch
	}
	ys := values
	step := 1.0
	if n > p {
		if cap(scratch) < p {
			scratch = make([]float64, p)
		}
		ys = scratch[:p]
		for j := range ys {
			a, e := j*n/p, (j+1)*n/p
			m := math.NaN()
			for _, v := range values[a:e] {
				if finite(v) && !(v <= m) {
					m = v
				}
			}
			ys[j] = m
		}
	} else if n > 1 {
		step = float64(p-1) / float64(n-1)
	}
	x0 := 0.0
	if n == 1 {
		x0 = float64(p - 1) // a lone value is the latest
	}
	scale := float64(c.dotsY-1) / (hi - lo)
	if n > p {
		// One value per x point: each column spans from halfway to its left
		// neighbour to halfway to its right one (the same dots as drawing
		// every segment, with half the work).
		for j, v := range ys {
			if !finite(v) {
				continue
			}
			y := (v - lo) * scale
			a, b := y, y
			if j > 0 && finite(ys[j-1]) {
				m := (y + (ys[j-1]-lo)*scale) / 2
				a, b = min(a, m), max(b, m)
			}
			if j+1 < len(ys) && finite(ys[j+1]) {
				m := (y + (ys[j+1]-lo)*scale) / 2
				a, b = min(a, m), max(b, m)
			}
			c.column(j, a, b, owner)
		}
		return scratch
	}
	prev := false
	var px, py float64
	for i, v := range ys {
		if !finite(v) {
			prev = false
			continue
		}
		x, y := x0+float64(i)*step, (v-lo)*scale
		if prev {
			c.segment(px, py, x, y, owner)
		} else {
			c.column(int(x+0.5), y, y, owner)
		}
		prev, px, py = true, x, y
	}
	return scratch
}

// cell returns the character of cell i.
func (c *canvas) cell(i int) rune {
	b := c.bits[i]
	if !c.ascii {
		return rune(0x2800 + int(b))
	}
	switch b {
	case 1:
		return '*'
	case 2:
		return '.'
	}
	return '|'
}

// Render returns exactly opts.Height lines joined by "\n", every line
// exactly opts.Width cells wide. Tiny sizes (width < 10 or height < 3)
// return blank lines. No trailing newline.
func Render(opts Options) string {
	w, h := max(opts.Width, 0), opts.Height
	if h <= 0 {
		return ""
	}
	if w < 10 || h < 3 {
		return blank(w, h)
	}
	rows := h - 1
	if opts.ShowTimeAxis {
		rows--
	}
	lo, hi := yRange(&opts)
	labels := yLabels(&opts, rows, lo, hi)
	lw := opts.LabelWidth
	if lw <= 0 {
		lw = autoLabelWidth(labels, w)
	}
	pw := w - lw - 1
	if pw < 1 {
		return blank(w, h)
	}

	ws := pool.Get().(*workspace)
	defer pool.Put(ws)
	cv := canvas{grid: newGrid(rows, pw, opts.ASCII), bits: grow(ws.bits, rows*pw), owner: grow(ws.owner, rows*pw)}
	ws.bits, ws.owner = cv.bits, cv.owner
	for i := range opts.Series {
		ws.scratch = cv.plot(opts.Series[i].Values, lo, hi, min(i+1, maxSeries), ws.scratch)
	}

	axis := newStyler(opts.Styles.Axis)
	label := newStyler(opts.Styles.Label)
	cursor := newStyler(opts.Styles.Cursor)
	series := make([]styler, len(opts.Series))
	for i, s := range opts.Series {
		series[i] = colorStyler(s.Color)
	}

	axisChar, cursorChar := "│", "│"
	if opts.ASCII {
		axisChar, cursorChar = "|", "|"
	}
	cursorCol := opts.Cursor

	// Size the output: cells are at most 3 bytes, and every run of
	// same-owner cells costs at most the longest escape pair.
	esc := max(len(axis.pre)+len(axis.suf), len(label.pre)+len(label.suf), len(cursor.pre)+len(cursor.suf))
	for i := range series {
		esc = max(esc, len(series[i].pre)+len(series[i].suf))
	}
	runs := 0
	for r := range rows {
		prev := uint16(0)
		for i, o := range cv.owner[r*pw : (r+1)*pw] {
			if i == cursorCol {
				o = math.MaxUint16 // distinct from the cell's owner
			}
			if o != prev && o != 0 {
				runs++
			}
			prev = o
		}
	}
	var b strings.Builder
	b.Grow(h*(w*3+1) + (runs+2*h+len(opts.Series)+16)*esc + len(opts.Title) + 4*len(axisChar)*h)

	titleLine(&b, &opts, w, &label, series)
	run := ws.run[:0]
	defer func() { ws.run = run[:0] }()
	for r := range rows {
		b.WriteByte('\n')
		// gutter: right-aligned label and the axis
		l := labels[r]
		lwid := ansi.StringWidth(l)
		if lwid > lw {
			l = ansi.Truncate(l, lw, "")
			lwid = ansi.StringWidth(l)
		}
		writeSpaces(&b, lw-lwid)
		axis.write(&b, l+axisChar, lwid+1)

		// plot: one styled write per run of cells with the same owner
		// (series or cursor); blanks between two runs of a blank-safe style
		// join them.
		base := r * pw
		cur, runW, blanks := 0, 0, 0
		for x := range pw {
			i := base + x
			key := int(cv.owner[i])
			if x == cursorCol {
				key = -1
			}
			if key == 0 {
				blanks++
				continue
			}
			if key != cur || (blanks > 0 && !stylerOf(key, &cursor, series).blankSafe) {
				if cur != 0 {
					stylerOf(cur, &cursor, series).writeBytes(&b, run, runW)
				}
				writeSpaces(&b, blanks)
				cur, run, runW, blanks = key, run[:0], 0, 0
			} else if blanks > 0 {
				run, runW, blanks = appendSpaces(run, blanks), runW+blanks, 0
			}
			runW++
			if cv.bits[i] == 0 { // the cursor over an empty cell
				run = append(run, cursorChar...)
			} else {
				run = utf8Append(run, cv.cell(i))
			}
		}
		if cur != 0 {
			stylerOf(cur, &cursor, series).writeBytes(&b, run, runW)
		}
		writeSpaces(&b, blanks)
		run = run[:0]
	}
	if opts.ShowTimeAxis {
		b.WriteByte('\n')
		timeAxis(&b, &opts, lw+1, pw, &axis)
	}
	return b.String()
}

// stylerOf returns the style of a run key: -1 cursor, i+1 series i.
func stylerOf(key int, cursor *styler, series []styler) *styler {
	if key < 0 {
		return cursor
	}
	return &series[key-1]
}

func utf8Append(p []byte, r rune) []byte {
	if r < 0x80 {
		return append(p, byte(r))
	}
	// braille is in the BMP: 3 bytes
	return append(p, byte(0xE0|r>>12), byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F))
}

func blank(w, h int) string {
	var b strings.Builder
	b.Grow(h * (w + 1))
	for i := range h {
		if i > 0 {
			b.WriteByte('\n')
		}
		writeSpaces(&b, w)
	}
	return b.String()
}
