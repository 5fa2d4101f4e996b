package overview

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/perch-dev/perch/themes"
)

// BenchmarkFullFrame is a frame after new data arrived: every visible row
// is rendered from scratch (1,000 workloads, 200×60).
func BenchmarkFullFrame(b *testing.B) {
	m := New(DefaultStyles(themes.Dark()))
	m.SetSize(200, 58)
	rows := manyRows(1000)
	b.ReportAllocs()
	for b.Loop() {
		m.SetData(rows)
		_ = m.View()
	}
}

// BenchmarkKeypressFrame is a frame after moving the cursor one row.
func BenchmarkKeypressFrame(b *testing.B) {
	m := New(DefaultStyles(themes.Dark()))
	m.SetSize(200, 58)
	m.SetData(manyRows(1000))
	_ = m.View()
	down, up := tea.KeyPressMsg{Code: tea.KeyDown}, tea.KeyPressMsg{Code: tea.KeyUp}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			m.Update(down)
		} else {
			m.Update(up)
		}
		i++
		_ = m.View()
	}
}
