package tui

import (
	"context"
	"errors"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
)

// storeChangedMsg says the store has new data since the last look.
type storeChangedMsg struct{}

// tickMsg advances the clock shown in the header and the chart windows.
type tickMsg time.Time

// podsMsg answers a pods request; reqID drops answers to old requests.
type podsMsg struct {
	reqID uint64
	id    sources.WorkloadID
	all   bool // every pod (the all-pods page), id is zero
	pods  []sources.Pod
	err   error
	// events are the workload's warnings when its source lists them.
	events    []sources.Event
	eventsErr error
}

// podsRefreshMsg asks for a new pods request while the detail page is open.
type podsRefreshMsg struct{ reqID uint64 }

// waitForChange blocks until the store changes or ctx ends. Bursts of
// changes coalesce: the model reads the latest state when it handles it.
func waitForChange(ctx context.Context, st *store.Store) tea.Cmd {
	ch := st.Changed()
	return func() tea.Msg {
		select {
		case <-ch:
			return storeChangedMsg{}
		case <-ctx.Done():
			return nil
		}
	}
}

func tick(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// fetchPods runs the source's pod listing with a timeout, off the UI loop.
func fetchPods(ctx context.Context, lister sources.PodLister, id sources.WorkloadID, reqID uint64, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		pods, err := lister.Pods(ctx, id)
		msg := podsMsg{reqID: reqID, id: id, pods: pods, err: err}
		if el, ok := lister.(sources.EventLister); ok {
			msg.events, msg.eventsErr = el.Events(ctx, id)
		}
		return msg
	}
}

// fetchAllPods lists every pod of every source that can, off the UI loop.
// A failing source leaves the others' pods on the page and says why.
func fetchAllPods(ctx context.Context, listers []sources.AllPodLister, reqID uint64, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		msg := podsMsg{reqID: reqID, all: true}
		var errs []error
		for _, l := range listers {
			pods, err := l.AllPods(ctx)
			if err != nil {
				errs = append(errs, err)
			}
			msg.pods = append(msg.pods, pods...)
		}
		msg.err = errors.Join(errs...)
		return msg
	}
}
