package scrape

import (
	"slices"
	"strings"
	"time"
)

// sample is one raw value of one series.
type sample struct {
	t time.Time
	v float64
}

// series is one raw series of one target with its samples in the window.
type series struct {
	target int
	name   string
	labels map[string]string
	pts    []sample
	// born: the first point is the series' first ever value and the target
	// had been scraped before without it, so the counter started from zero
	// in between (a new pod's CPU counter).
	born bool
}

// last is the newest value and whether it is from the target's newest
// scrape (a gauge that is still exported).
func (s *series) last(w *window) (float64, bool) {
	if len(s.pts) == 0 {
		return 0, false
	}
	p := s.pts[len(s.pts)-1]
	return p.v, p.t.Equal(w.lastScrape[s.target])
}

// increase is the counter's growth over the window: the sum of positive
// steps, where a step down is a reset (the counter restarted from zero, so
// the new value is all growth), plus the first value of a series born
// inside the window (after the target's first scrape in it).
func (s *series) increase(w *window) float64 {
	var inc float64
	if ts := w.scrapes[s.target]; s.born && len(s.pts) > 0 && len(ts) > 0 && s.pts[0].t.After(ts[0]) {
		inc = s.pts[0].v
	}
	for i := 1; i < len(s.pts); i++ {
		d := s.pts[i].v - s.pts[i-1].v
		if d < 0 {
			d = s.pts[i].v
		}
		inc += d
	}
	return inc
}

// window keeps each target's raw series for the last Window.
type window struct {
	span      time.Duration
	maxSeries int
	series    map[string]*series
	// scrapes: each target's successful scrape times in the window.
	scrapes    [][]time.Time
	lastScrape []time.Time
	everOK     []bool
}

func newWindow(targets int, span time.Duration, maxSeries int) *window {
	return &window{
		span: span, maxSeries: maxSeries, series: map[string]*series{},
		scrapes: make([][]time.Time, targets), lastScrape: make([]time.Time, targets), everOK: make([]bool, targets),
	}
}

// seriesKey identifies a series: target, name and sorted labels.
func seriesKey(target int, name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte(byte(target))
	b.WriteByte(byte(target >> 8))
	b.WriteString(name)
	for _, k := range keys {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte(1)
		b.WriteString(labels[k])
	}
	return b.String()
}

// add records target's scrape at t and returns how many new series were
// dropped by the series cap.
func (w *window) add(target int, t time.Time, pts []Point) (dropped int) {
	seenBefore := w.everOK[target]
	for _, p := range pts {
		k := seriesKey(target, p.Name, p.Labels)
		s := w.series[k]
		if s == nil {
			if len(w.series) >= w.maxSeries {
				dropped++
				continue
			}
			s = &series{target: target, name: p.Name, labels: p.Labels, born: seenBefore}
			w.series[k] = s
		}
		if n := len(s.pts); n > 0 && !s.pts[n-1].t.Before(t) {
			s.pts[n-1].v = p.Value // duplicate line in one exposition: last wins
			continue
		}
		s.pts = append(s.pts, sample{t, p.Value})
	}
	w.scrapes[target] = append(w.scrapes[target], t)
	w.lastScrape[target] = t
	w.everOK[target] = true
	return dropped
}

// trim forgets samples older than now - span, and empty series.
func (w *window) trim(now time.Time) {
	cut := now.Add(-w.span)
	for k, s := range w.series {
		i := 0
		for i < len(s.pts) && s.pts[i].t.Before(cut) {
			i++
		}
		if i > 0 {
			s.pts = slices.Delete(s.pts, 0, i)
			s.born = false
		}
		if len(s.pts) == 0 {
			delete(w.series, k)
		}
	}
	for i, ts := range w.scrapes {
		j := 0
		for j < len(ts) && ts[j].Before(cut) {
			j++
		}
		w.scrapes[i] = ts[j:]
	}
}

// elapsed is the time between target's first and last scrape in the window.
func (w *window) elapsed(target int) time.Duration {
	ts := w.scrapes[target]
	if len(ts) < 2 {
		return 0
	}
	return ts[len(ts)-1].Sub(ts[0])
}
