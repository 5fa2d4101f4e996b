// Package format turns numbers into short, fixed-meaning cell text. Every
// function renders NaN as "–" so a missing value never reads as zero.
package format

import (
	"fmt"
	"math"
	"time"
)

// Missing is what an unknown value renders as.
const Missing = "–"

// Money renders dollars with precision that keeps small amounts visible.
func Money(v float64) string {
	switch {
	case math.IsNaN(v):
		return Missing
	case v == 0:
		return "$0"
	case v >= 1000:
		return "$" + SI(v)
	case v >= 100:
		return fmt.Sprintf("$%.0f", v)
	case v >= 0.1:
		return fmt.Sprintf("$%.2f", v)
	case v >= 0.01:
		return fmt.Sprintf("$%.3f", v)
	default:
		return fmt.Sprintf("$%.4f", v)
	}
}

// Latency renders seconds as µs, ms or s with three significant digits.
func Latency(sec float64) string {
	switch {
	case math.IsNaN(sec):
		return Missing
	case sec == 0:
		return "0"
	case sec < 0.001:
		return fmt.Sprintf("%.0fµs", sec*1e6)
	case sec < 0.01:
		return fmt.Sprintf("%.1fms", sec*1e3)
	case sec < 1:
		return fmt.Sprintf("%.0fms", sec*1e3)
	case sec < 10:
		return fmt.Sprintf("%.2fs", sec)
	default:
		return fmt.Sprintf("%.1fs", sec)
	}
}

// Rate renders a per-second rate compactly.
func Rate(v float64) string {
	switch {
	case math.IsNaN(v):
		return Missing
	case v == 0:
		return "0"
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return SI(v)
	}
}

// Percent renders a 0..1 ratio.
func Percent(r float64) string {
	switch {
	case math.IsNaN(r):
		return Missing
	case r == 0:
		return "0%"
	case r < 0.001:
		return "<0.1%"
	case r < 0.1:
		return fmt.Sprintf("%.1f%%", r*100)
	default:
		return fmt.Sprintf("%.0f%%", r*100)
	}
}

// SI renders v with k/M/G suffixes and three significant digits.
func SI(v float64) string {
	if math.IsNaN(v) {
		return Missing
	}
	a := math.Abs(v)
	for _, u := range []struct {
		f float64
		s string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if a >= u.f {
			return trim3(v/u.f) + u.s
		}
	}
	return trim3(v)
}

func trim3(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Bytes renders a byte count in binary units.
func Bytes(v float64) string {
	if math.IsNaN(v) {
		return Missing
	}
	units := []string{"B", "Ki", "Mi", "Gi", "Ti"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0fB", v)
	}
	return trim3(v) + units[i]
}

// Cores renders CPU cores as millicores below one core.
func Cores(v float64) string {
	switch {
	case math.IsNaN(v):
		return Missing
	case v < 1:
		return fmt.Sprintf("%.0fm", v*1000)
	default:
		return trim3(v)
	}
}

// Count renders an integer-valued gauge.
func Count(v float64) string {
	if math.IsNaN(v) {
		return Missing
	}
	return fmt.Sprintf("%.0f", v)
}

// Age renders a duration the way kubectl does: 45s, 12m, 5h, 3d.
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// Ago renders how long before now t was, "never" for the zero time.
func Ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	if now.Before(t) {
		return "now"
	}
	return Age(now.Sub(t)) + " ago"
}
