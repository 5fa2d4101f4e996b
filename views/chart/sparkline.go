package chart

import (
	"math"
	"strings"
)

// blockRamp are the sparkline levels, lowest first (3 bytes each in UTF-8).
const blockRamp = "▁▂▃▄▅▆▇█"

// asciiRamp are the ASCII sparkline levels, lowest first. The space of the
// classic " .:-=+*#%@" ramp is left out so a gap (NaN) stays
// distinguishable from the lowest value.
const asciiRamp = ".:-=+*#%@"

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Sparkline renders values (oldest first, NaN = gap rendered as a space)
// into exactly width cells using ▁▂▃▄▅▆▇█, scaled between lo and hi.
//
// If lo>=hi (or either is NaN) it autoscales to the min/max of the cells
// shown; flat data renders as ▄ (ASCII '+'). When there are more values
// than cells, each cell shows the max of the values that fall into it, so
// spikes are never lost; when there are fewer, the values are right-aligned
// (padded left with spaces). Values outside [lo, hi] are clamped; ±Inf is
// treated like NaN. ascii uses the ramp ".:-=+*#%@".
func Sparkline(values []float64, width int, lo, hi float64, ascii bool) string {
	if width <= 0 {
		return ""
	}
	var buf [64]float64
	cells := values
	pad := 0
	if n := len(values); n > width {
		if width <= len(buf) {
			cells = buf[:width]
		} else {
			cells = make([]float64, width)
		}
		for i := range cells {
			a, e := i*n/width, (i+1)*n/width
			m := math.NaN()
			for _, v := range values[a:e] {
				if finite(v) && !(v <= m) { // !(v <= NaN) is true
					m = v
				}
			}
			cells[i] = m
		}
	} else {
		pad = width - n
	}

	if !(lo < hi) || !finite(lo) || !finite(hi) {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, v := range cells {
			if finite(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	flat := !(lo < hi)

	levels, size, ramp := 8, 3, blockRamp
	if ascii {
		levels, size, ramp = len(asciiRamp), 1, asciiRamp
	}
	scale := float64(levels-1) / (hi - lo)

	var b strings.Builder
	b.Grow(pad + len(cells)*size)
	writeSpaces(&b, pad)
	for _, v := range cells {
		if !finite(v) {
			b.WriteByte(' ')
			continue
		}
		l := levels / 2
		if levels%2 == 0 {
			l-- // ▄ is the 4th of 8
		}
		if !flat {
			l = levelOf((v-lo)*scale, levels)
		}
		b.WriteString(ramp[l*size : (l+1)*size])
	}
	return b.String()
}

// levelOf rounds f to an index in [0, n), clamping in float so huge values
// don't overflow the int conversion.
func levelOf(f float64, n int) int {
	switch {
	case f <= 0:
		return 0
	case f >= float64(n-1):
		return n - 1
	}
	return int(f + 0.5)
}
