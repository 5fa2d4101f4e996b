package whatif

import (
	"testing"

	"github.com/perch-dev/perch/themes"
)

// BenchmarkFrame200x60 is a full render after new data: the table, the
// break-even line and the chart with its curves recomputed.
func BenchmarkFrame200x60(b *testing.B) {
	m := New(DefaultStyles(themes.Dark()))
	m.SetSize(200, 60)
	d := data(observed())
	for b.Loop() {
		m.SetData(d)
		_ = m.View()
	}
}

// BenchmarkCachedFrame is View with nothing changed: the cached string.
func BenchmarkCachedFrame(b *testing.B) {
	m := New(DefaultStyles(themes.Dark()))
	m.SetSize(200, 60)
	m.SetData(data(observed()))
	_ = m.View()
	for b.Loop() {
		_ = m.View()
	}
}
