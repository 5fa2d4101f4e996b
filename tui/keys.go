package tui

import "charm.land/bubbles/v2/key"

// KeyMap holds the global bindings; pages add their own.
type KeyMap struct {
	Quit, Help, Open, Back, Theme key.Binding
	Costs, WhatIf, Traces, Pods   key.Binding
	AllPods                       key.Binding
}

// DefaultKeyMap returns the global bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:    key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
		Theme:   key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "switch theme")),
		Costs:   key.NewBinding(key.WithKeys("$"), key.WithHelp("$", "cost totals")),
		WhatIf:  key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "what-if: cluster vs functions")),
		Traces:  key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "traces in the chart window")),
		Pods:    key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pods page")),
		AllPods: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "all pods")),
	}
}
