package detail

import (
	"testing"

	"github.com/perch-dev/perch/themes"
)

// BenchmarkDetailFrame renders the three charts and pods at 200×58 after
// new data (the cache is cold every iteration).
func BenchmarkDetailFrame(b *testing.B) {
	m := New(DefaultStyles(themes.Dark()))
	m.SetSize(200, 58)
	d := data(m, false)
	b.ReportAllocs()
	for b.Loop() {
		m.SetData(d)
		_ = m.View()
	}
}
