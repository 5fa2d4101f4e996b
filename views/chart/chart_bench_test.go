package chart

import (
	"testing"
	"time"

	"github.com/perch-dev/perch/themes"
)

func benchOptions() Options {
	th := themes.Dark()
	start := time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)
	series := make([]Series, 3)
	for s := range series {
		v := make([]float64, 400)
		for i := range v {
			v[i] = float64((i*(7+s*3))%97) + float64(s*20)
		}
		series[s] = Series{Name: []string{"api", "worker", "db"}[s], Values: v, Color: th.SeriesColor(s)}
	}
	return Options{
		Width: 200, Height: 12, Title: "CPU", Start: start, End: start.Add(time.Hour),
		Series: series, ShowTimeAxis: true, Cursor: 100, Styles: DefaultStyles(th),
	}
}

func BenchmarkRender200x12(b *testing.B) {
	o := benchOptions()
	b.ReportAllocs()
	for b.Loop() {
		_ = Render(o)
	}
}

func BenchmarkSparkline(b *testing.B) {
	v := make([]float64, 240)
	for i := range v {
		v[i] = float64((i * 13) % 50)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Sparkline(v, 12, 0, 0, false)
	}
}
