package traces

import "charm.land/bubbles/v2/key"

// ListKeyMap is the trace list's bindings.
type ListKeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Tab, Open key.Binding
}

// DefaultListKeyMap returns the default bindings.
func DefaultListKeyMap() ListKeyMap {
	return ListKeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "bottom")),
		Tab:      key.NewBinding(key.WithKeys("tab", "f"), key.WithHelp("tab/f", "slowest/failed")),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "waterfall")),
	}
}

// ShortHelp is the footer's list.
func (k ListKeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Up, k.Down, k.Tab, k.Open} }

// FullHelp is the help page's list.
func (k ListKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Tab, k.Open}}
}

// WaterfallKeyMap is the waterfall's bindings.
type WaterfallKeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Expand, Collapse, Toggle                key.Binding
	ExpandAll, CollapseAll, NextError       key.Binding
	Details, Close                          key.Binding
}

// DefaultWaterfallKeyMap returns the default bindings.
func DefaultWaterfallKeyMap() WaterfallKeyMap {
	l := DefaultListKeyMap()
	return WaterfallKeyMap{
		Up: l.Up, Down: l.Down, PageUp: l.PageUp, PageDown: l.PageDown, Top: l.Top, Bottom: l.Bottom,
		Expand:      key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "expand")),
		Collapse:    key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "collapse")),
		Toggle:      key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "fold")),
		ExpandAll:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "expand all")),
		CollapseAll: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "critical path only")),
		NextError:   key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next error")),
		Details:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "tags & logs")),
		Close:       key.NewBinding(key.WithKeys("esc", "enter", "backspace"), key.WithHelp("esc", "close")),
	}
}

// ShortHelp is the footer's list.
func (k WaterfallKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Collapse, k.Expand, k.Details}
}

// FullHelp is the help page's list.
func (k WaterfallKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Expand, k.Collapse, k.Toggle, k.ExpandAll, k.CollapseAll, k.NextError, k.Details},
	}
}
