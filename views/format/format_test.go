package format

import (
	"math"
	"testing"
	"time"
)

func TestFormatters(t *testing.T) {
	nan := math.NaN()
	cases := []struct{ got, want string }{
		{Money(nan), "–"}, {Money(0), "$0"}, {Money(0.0042), "$0.0042"}, {Money(0.042), "$0.042"},
		{Money(4.2), "$4.20"}, {Money(0.9), "$0.90"}, {Money(420), "$420"}, {Money(4200), "$4.20k"},
		{Latency(nan), "–"}, {Latency(0.0005), "500µs"}, {Latency(0.0042), "4.2ms"},
		{Latency(0.25), "250ms"}, {Latency(1.5), "1.50s"}, {Latency(12), "12.0s"},
		{Rate(0), "0"}, {Rate(3.14159), "3.14"}, {Rate(1234), "1.23k"},
		{Percent(0), "0%"}, {Percent(0.0001), "<0.1%"}, {Percent(0.0123), "1.2%"}, {Percent(0.5), "50%"},
		{Bytes(512), "512B"}, {Bytes(1536), "1.50Ki"}, {Bytes(3 << 30), "3.00Gi"},
		{Cores(0.25), "250m"}, {Cores(2), "2.00"}, {Count(3), "3"}, {Count(nan), "–"},
		{Age(45 * time.Second), "45s"}, {Age(90 * time.Minute), "1h"}, {Age(5 * time.Hour), "5h"}, {Age(72 * time.Hour), "3d"},
		{Ago(time.Unix(100, 0), time.Time{}), "never"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %q want %q", i, c.got, c.want)
		}
	}
}

func TestWidthMatchesFullMeasure(t *testing.T) {
	for _, s := range []string{"", "abc", "$0.42", "µs", "6→9 2..20", "▁▂▃▄▅▆▇█", "⣿⡀", "│ ─ └", "…", "–", "日本", "a日b", "🙂", "e\u0301", "⚠", "\x1b[1mX"} {
		want := ansiWidth(s)
		if got := Width(s); got != want {
			t.Errorf("Width(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestFitPadAndFuzzy(t *testing.T) {
	if Fit("abc", 5, true) != "  abc" || Fit("abc", 5, false) != "abc  " || Fit("abcdef", 4, false) != "abc…" || Fit("x", 0, false) != "" {
		t.Fatal("Fit")
	}
	if Pad("abc", 5) != "abc  " || Pad("abcdef", 3) != "abc" {
		t.Fatal("Pad")
	}
	if !FuzzyMatch("cko", "shop/checkout") || FuzzyMatch("ock", "shop/cart") {
		t.Fatal("FuzzyMatch")
	}
}

func TestEditFilter(t *testing.T) {
	steps := []struct {
		name, text string
		want       string
		open, chg  bool
	}{
		{"", "c", "c", true, true},
		{"", "é", "cé", true, true},
		{"backspace", "", "c", true, true},
		{"shift", "", "c", true, false},
		{"enter", "", "c", false, false},
	}
	text := ""
	for i, s := range steps {
		var open, chg bool
		text, open, chg = EditFilter(text, s.name, s.text)
		if text != s.want || open != s.open || chg != s.chg {
			t.Fatalf("step %d: %q %v %v", i, text, open, chg)
		}
	}
	if got, open, chg := EditFilter("abc", "esc", ""); got != "" || open || !chg {
		t.Fatal("esc clears and closes")
	}
}
