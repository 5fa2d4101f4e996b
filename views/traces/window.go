package traces

import "time"

// MinWindow is the narrowest trace window around a chart cursor.
const MinWindow = 2 * time.Minute

// Window is the trace search window for a chart over [start, end] drawn
// in columns cells: without a cursor (zero) the whole chart; with one,
// the cursor ± two columns (at least MinWindow wide), clipped to the
// chart, so a spike under the cursor selects its traces.
func Window(start, end, cursor time.Time, columns int) (time.Time, time.Time) {
	if cursor.IsZero() || !end.After(start) {
		return start, end
	}
	col := end.Sub(start) / time.Duration(max(columns, 1))
	half := max(2*col, MinWindow/2)
	from, to := cursor.Add(-half), cursor.Add(half)
	if from.Before(start) {
		from = start
	}
	if to.After(end) {
		to = end
	}
	return from, to
}
