package chart

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

var nan = math.NaN()

func TestSparkline(t *testing.T) {
	cases := []struct {
		name   string
		values []float64
		width  int
		lo, hi float64
		ascii  bool
		want   string
	}{
		{"fixed scale", []float64{0, 1, 2, 3, 4, 5, 6, 7}, 8, 0, 7, false, "▁▂▃▄▅▆▇█"},
		{"autoscale", []float64{10, 17, 13.5}, 3, 0, 0, false, "▁█▅"},
		{"autoscale when lo>hi", []float64{10, 17}, 2, 5, 1, false, "▁█"},
		{"autoscale when NaN bounds", []float64{10, 17}, 2, nan, nan, false, "▁█"},
		{"clamped to range", []float64{-5, 50}, 2, 0, 10, false, "▁█"},
		{"flat", []float64{3, 3, 3}, 3, 0, 0, false, "▄▄▄"},
		{"flat ascii", []float64{3, 3}, 2, 0, 0, true, "++"},
		{"gaps", []float64{0, nan, 7, math.Inf(1)}, 4, 0, 7, false, "▁ █ "},
		{"all NaN", []float64{nan, nan}, 2, 0, 0, false, "  "},
		{"right-aligned", []float64{0, 7}, 5, 0, 7, false, "   ▁█"},
		{"empty", nil, 3, 0, 0, false, "   "},
		{"zero width", []float64{1}, 0, 0, 0, false, ""},
		{"ascii ramp", []float64{0, 1, 2, 3, 4, 5, 6, 7, 8}, 9, 0, 8, true, ".:-=+*#%@"},
		{"ascii gap", []float64{0, nan, 8}, 3, 0, 8, true, ". @"},
		// 8 values into 4 cells: pairs, each cell the max of its pair
		{"resample max", []float64{0, 7, 0, 0, 1, 2, 7, 0}, 4, 0, 7, false, "█▁▃█"},
		// a cell whose values are all NaN is a gap; one NaN among numbers is not
		{"resample gaps", []float64{nan, nan, 0, nan, 7, 7}, 3, 0, 7, false, " ▁█"},
	}
	for _, c := range cases {
		got := Sparkline(c.values, c.width, c.lo, c.hi, c.ascii)
		if got != c.want {
			t.Errorf("%s: got %q want %q", c.name, got, c.want)
		}
		if n := utf8.RuneCountInString(got); n != max(c.width, 0) {
			t.Errorf("%s: %d cells, want %d", c.name, n, c.width)
		}
	}
}

func TestSparklineSpikeSurvivesResampling(t *testing.T) {
	v := make([]float64, 400)
	for i := range v {
		v[i] = 1
	}
	v[217] = 100
	got := []rune(Sparkline(v, 40, 0, 0, false))
	for i, r := range got {
		want := '▁'
		if i == 217*40/400 {
			want = '█'
		}
		if r != want {
			t.Fatalf("cell %d = %q, want %q (line %q)", i, r, want, string(got))
		}
	}
}

func TestSparklineWidthInvariant(t *testing.T) {
	v := make([]float64, 240)
	for i := range v {
		v[i] = float64(i%17) - 5
		if i%31 == 0 {
			v[i] = nan
		}
	}
	for _, ascii := range []bool{false, true} {
		for w := range 300 {
			for _, n := range []int{0, 1, 5, 240} {
				s := Sparkline(v[:n], w, 0, 0, ascii)
				if got := utf8.RuneCountInString(s); got != w {
					t.Fatalf("ascii=%v width %d n %d: %d cells", ascii, w, n, got)
				}
				if ascii && strings.ContainsFunc(s, func(r rune) bool { return r > 127 }) {
					t.Fatalf("ascii sparkline has non-ASCII: %q", s)
				}
			}
		}
	}
}
