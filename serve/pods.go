package serve

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/perch-dev/perch/sources"
)

// podTimeout bounds one shared pod lookup.
const podTimeout = 10 * time.Second

// podCache shares pod lookups between sessions: viewers of the same
// workload within one refresh interval cause one backend query, and a
// lookup in flight is joined rather than repeated.
type podCache struct {
	ttl   time.Duration
	clock func() time.Time
	ctx   context.Context // the server's lifetime; set by start

	mu      sync.Mutex
	entries map[podKey]*podEntry
}

type podKey struct {
	source string
	id     sources.WorkloadID
}

type podEntry struct {
	done chan struct{} // closed when pods and err are set
	pods []sources.Pod
	err  error
	at   time.Time
}

func newPodCache(ttl time.Duration, clock func() time.Time) *podCache {
	return &podCache{ttl: ttl, clock: clock, ctx: context.Background(), entries: map[podKey]*podEntry{}}
}

func (c *podCache) start(ctx context.Context) {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
}

// get returns the pods of id from lister, from the cache when fresh. The
// query runs under the server's context, not the caller's, so a viewer
// who leaves does not cancel it for the others who wait on it.
func (c *podCache) get(ctx context.Context, lister sources.PodLister, source string, id sources.WorkloadID) ([]sources.Pod, error) {
	key := podKey{source, id}
	c.mu.Lock()
	now := c.clock()
	for k, e := range c.entries { // drop expired entries so the map stays small
		if isDone(e) && now.Sub(e.at) >= c.ttl {
			delete(c.entries, k)
		}
	}
	e := c.entries[key]
	if e == nil {
		e = &podEntry{done: make(chan struct{})}
		c.entries[key] = e
		go c.fetch(c.ctx, lister, id, e)
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return slices.Clone(e.pods), e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *podCache) fetch(ctx context.Context, lister sources.PodLister, id sources.WorkloadID, e *podEntry) {
	ctx, cancel := context.WithTimeout(ctx, podTimeout)
	defer cancel()
	pods, err := lister.Pods(ctx, id)
	c.mu.Lock()
	e.pods, e.err, e.at = pods, err, c.clock()
	c.mu.Unlock()
	close(e.done)
}

func isDone(e *podEntry) bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// sharedPods is a source as sessions see it: its pod lookups go through
// the cache. Run is never called on it (the server runs the original).
// Only PodLister is shared today, because it is the only query the tui
// makes per session; a capability the tui starts using per session must
// be shared here too, or it stays hidden over SSH.
type sharedPods struct {
	sources.Source
	lister sources.PodLister
	cache  *podCache
}

func (s sharedPods) Pods(ctx context.Context, id sources.WorkloadID) ([]sources.Pod, error) {
	return s.cache.get(ctx, s.lister, s.Name(), id)
}

func shareSources(srcs []sources.Source, cache *podCache) []sources.Source {
	out := make([]sources.Source, len(srcs))
	for i, src := range srcs {
		out[i] = src
		if l, ok := src.(sources.PodLister); ok {
			out[i] = sharedPods{Source: src, lister: l, cache: cache}
		}
	}
	return out
}
