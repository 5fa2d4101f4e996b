package cost

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/perch-dev/perch/sources"
)

// runsInPods reports whether the platform bills as cluster pods.
func runsInPods(p sources.Platform) bool {
	return p == sources.Kubernetes || p == sources.Knative || p == sources.OpenFaaS || p == ""
}

func roundUp(v, step float64) float64 { return math.Ceil(v/step-1e-9) * step }

func meanOver(w time.Duration) string {
	if w <= 0 {
		return ""
	}
	return ", mean over " + fmtDuration(w)
}

// Small formatters for explanations (the views have their own for cells).

func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "?"
	case math.IsInf(v, 0):
		return "∞"
	case a >= 1e6:
		return trimZeros(fmt.Sprintf("%.3g", v/1e6)) + "M"
	case a >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a >= 100 || a == math.Trunc(a):
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return trimZeros(fmt.Sprintf("%.2f", v))
	default:
		return trimZeros(fmt.Sprintf("%.3g", v))
	}
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") && !strings.ContainsAny(s, "e") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func fmtMoney(v float64) string {
	switch {
	case math.IsNaN(v):
		return "$?"
	case v >= 100:
		return fmt.Sprintf("$%.0f", v)
	case v >= 0.1:
		return fmt.Sprintf("$%.2f", v)
	default:
		return fmt.Sprintf("$%.4f", v)
	}
}

// fmtPrice writes a unit price in full (0.0000166667, not 1.66667e-05).
func fmtPrice(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func plural(n float64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmtNum(n) + " " + unit + "s"
}

func fmtPct(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }

func fmtCores(v float64) string {
	switch {
	case math.IsNaN(v):
		return "?"
	case v < 1:
		return fmt.Sprintf("%.0fm", v*1000)
	default:
		return trimZeros(fmt.Sprintf("%.2f", v))
	}
}

func fmtBytes(v float64) string {
	switch {
	case math.IsNaN(v):
		return "?"
	case v >= GiB:
		return trimZeros(fmt.Sprintf("%.2f", v/GiB)) + "Gi"
	default:
		return fmt.Sprintf("%.0fMi", v/MiB)
	}
}

func fmtDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0 && d >= time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0 && d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return d.String()
	}
}
