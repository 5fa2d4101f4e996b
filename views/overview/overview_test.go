package overview

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/themes"
)

func press(m *Model, keys ...string) {
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		case "backspace":
			msg = tea.KeyPressMsg{Code: tea.KeyBackspace}
		case "down":
			msg = tea.KeyPressMsg{Code: tea.KeyDown}
		case "up":
			msg = tea.KeyPressMsg{Code: tea.KeyUp}
		default:
			r := []rune(k)[0]
			msg = tea.KeyPressMsg{Code: r, Text: k}
		}
		m.Update(msg)
	}
}

func newModel(t themes.Theme, w, h int) *Model {
	m := New(DefaultStyles(t))
	m.SetSize(w, h)
	m.SetData(fixtureRows())
	return m
}

func TestGoldenMatrix(t *testing.T) {
	sizes := [][2]int{{80, 22}, {120, 38}, {200, 58}}
	for _, th := range []themes.Theme{themes.Dark(), themes.Light()} {
		for _, sz := range sizes {
			name := fmt.Sprintf("%s_%dx%d", th.Name, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				m := newModel(th, sz[0], sz[1])
				got := m.View()
				golden.CheckFrame(t, got, sz[0], sz[1])
				golden.Assert(t, name, got)
			})
		}
	}
}

func TestGoldenStates(t *testing.T) {
	empty := New(DefaultStyles(themes.Dark()))
	empty.SetSize(80, 10)
	empty.SetNotice("Waiting for the first data from demo…")
	golden.Assert(t, "loading_80x10", empty.View())

	grouped := newModel(themes.Plain(), 120, 20)
	press(grouped, "n")
	golden.Assert(t, "plain_grouped_120x20", grouped.View())

	nomatch := newModel(themes.Dark(), 80, 10)
	press(nomatch, "/", "z", "z", "z")
	golden.Assert(t, "filter_nomatch_80x10", nomatch.View())
}

func TestEveryFrameFitsAtEverySize(t *testing.T) {
	for _, w := range []int{40, 60, 80, 100, 120, 160, 200, 250} {
		for _, h := range []int{3, 10, 24, 70} {
			m := newModel(themes.Dark(), w, h)
			golden.CheckFrame(t, m.View(), w, h)
			press(m, "/", "x")
			golden.CheckFrame(t, m.View(), w, h)
		}
	}
}

func TestNarrowTerminalKeepsTheThreeGroups(t *testing.T) {
	m := newModel(themes.Dark(), 80, 10)
	head := ansi.Strip(strings.Split(m.View(), "\n")[0])
	for _, g := range []string{"COST", "SCALING", "LATENCY"} {
		if !strings.Contains(head, g) {
			t.Errorf("80 columns lost group %s: %q", g, head)
		}
	}
}

func TestDefaultSortIsTopSpenders(t *testing.T) {
	m := newModel(themes.Dark(), 120, 20)
	sel, _ := m.Selected()
	if sel.ID.Name != "postgres" {
		t.Fatalf("first row = %s, want the most expensive (postgres)", sel.ID.Name)
	}
}

func TestSortCyclesAndReverses(t *testing.T) {
	m := newModel(themes.Dark(), 200, 20)
	press(m, "s") // cost -> $/day
	if c, _ := m.Sort(); c != ColCostDay {
		t.Fatalf("sort column = %v", c)
	}
	for i := 0; i < 20; i++ {
		if c, _ := m.Sort(); c == ColP99 {
			break
		}
		press(m, "s")
	}
	sel, _ := m.Selected()
	press(m, "g")
	sel, _ = m.Selected()
	if sel.ID.Name != "checkout" {
		t.Fatalf("highest p99 first: got %s", sel.ID.Name)
	}
	press(m, "S", "g")
	sel, _ = m.Selected()
	if sel.ID.Name == "checkout" {
		t.Fatal("reverse sort did not move the highest p99 away from the top")
	}
}

func TestUnknownValuesSortLast(t *testing.T) {
	m := newModel(themes.Dark(), 200, 20)
	for c, _ := m.Sort(); c != ColP99; c, _ = m.Sort() {
		press(m, "s")
	}
	press(m, "G")
	sel, _ := m.Selected()
	if sel.ID.Name != "thumbnailer" {
		t.Fatalf("last row = %s, want the one without latency", sel.ID.Name)
	}
	press(m, "S", "G")
	if sel2, _ := m.Selected(); sel2.ID.Name != "thumbnailer" {
		t.Fatalf("reversed: last row = %s, unknown values must stay last", sel2.ID.Name)
	}
}

func TestFuzzyFilterAndSelectionFollowsWorkload(t *testing.T) {
	m := newModel(themes.Dark(), 120, 20)
	press(m, "/", "c", "k", "o")
	if !m.Filtering() || m.Visible() != 1 {
		t.Fatalf("filter ck o: visible %d", m.Visible())
	}
	sel, _ := m.Selected()
	if sel.ID.Name != "checkout" {
		t.Fatalf("selected %s", sel.ID.Name)
	}
	press(m, "enter")
	if m.Filtering() || m.Filter() != "cko" {
		t.Fatal("enter must keep the filter and leave input mode")
	}
	// New data: the selection stays on the same workload.
	m.SetData(fixtureRows())
	if sel, _ := m.Selected(); sel.ID.Name != "checkout" {
		t.Fatalf("selection lost after refresh: %s", sel.ID.Name)
	}
	press(m, "/", "esc")
	if m.Filter() != "" || m.Visible() != 5 {
		t.Fatal("esc must clear the filter")
	}
	if sel, _ := m.Selected(); sel.ID.Name != "checkout" {
		t.Fatalf("selection lost after clearing the filter: %s", sel.ID.Name)
	}
}

func TestGroupingSkipsHeaders(t *testing.T) {
	m := newModel(themes.Dark(), 120, 30)
	press(m, "n", "g")
	if m.Grouping() != GroupNamespace {
		t.Fatal("n must group by namespace")
	}
	seen := map[string]bool{}
	for i := 0; i < 10; i++ {
		sel, ok := m.Selected()
		if !ok {
			t.Fatal("cursor landed on a group header")
		}
		seen[sel.ID.Name] = true
		press(m, "down")
	}
	if len(seen) != 5 {
		t.Fatalf("walked %d rows, want all 5", len(seen))
	}
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "▾ shop  2  $0.73/h") {
		t.Fatalf("group header with count and subtotal missing:\n%s", view)
	}
}

func TestBadValuesAreMarkedWithoutColour(t *testing.T) {
	m := newModel(themes.Plain(), 200, 20)
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "!7.0%") {
		t.Fatalf("error ratio above the bad threshold must carry a symbol:\n%s", view)
	}
	if !strings.Contains(view, "!") || !strings.Contains(view, "postgres") {
		t.Fatal("stale row must be marked")
	}
}

func TestScrollKeepsCursorVisible(t *testing.T) {
	m := New(DefaultStyles(themes.Dark()))
	m.SetSize(120, 12)
	m.SetData(manyRows(300))
	for i := 0; i < 50; i++ {
		press(m, "down")
	}
	sel, _ := m.Selected()
	if !strings.Contains(ansi.Strip(m.View()), sel.ID.Name) {
		t.Fatalf("selected %s is off screen", sel.ID.Name)
	}
	press(m, "G")
	sel, _ = m.Selected()
	if !strings.Contains(ansi.Strip(m.View()), sel.ID.Name) {
		t.Fatal("bottom row off screen")
	}
}

// A function with no replicas shows "–" and an empty trend: those cells
// take the subtle style like the separators around them, so the terminal
// writes the stretch as one run of one style instead of switching styles
// per cell (~11 bytes each) on every redraw of the row.
func TestMissingValuesAreSubtle(t *testing.T) {
	fn := summary("us-east-1", "resizer", sources.Lambda, map[sources.Metric]float64{
		sources.CostRate: 0.2, sources.LatencyP50: 0.05, sources.LatencyP95: 0.1, sources.LatencyP99: 0.2, sources.RequestRate: 3})
	fn.ReplicasTrend = nil
	top := summary("shop", "checkout", sources.Kubernetes, map[sources.Metric]float64{sources.CostRate: 9, sources.ReplicasCurrent: 3})
	m := New(DefaultStyles(themes.Dark()))
	m.SetSize(200, 10)
	m.SetData([]sources.Summary{fn, top})
	var row string
	for _, l := range strings.Split(m.View(), "\n") {
		if strings.Contains(ansi.Strip(l), "resizer") {
			row = l
		}
	}
	if row == "" {
		t.Fatal("no row for resizer")
	}
	sub, reset := regexp.QuoteMeta(m.normal.subtle.pre), regexp.QuoteMeta(m.normal.subtle.post)
	// separator, replicas "–", the empty replicas trend, separator
	run := regexp.MustCompile(sub + ` │` + reset + sub + ` – +` + reset + sub + ` +` + reset + sub + ` │`)
	if !run.MatchString(row) {
		t.Errorf("the missing replicas and their empty trend should be subtle like the separators around them:\n%q", row)
	}
}
