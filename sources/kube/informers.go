package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/perch-dev/perch/sources"
)

// scope is one informer: one resource in one namespace ("" = all
// namespaces, or the whole cluster for nodes).
type scope struct {
	def    *resourceDef
	ns     string
	inf    cache.SharedIndexInformer
	cancel context.CancelFunc

	mu  sync.Mutex
	err error // the last list/watch failure, nil after a success
	ok  bool  // a list or watch has succeeded
}

func (s *scope) status() (err error, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err, s.ok
}

// where describes the scope for messages.
func (s *scope) where() string {
	switch {
	case !s.def.namespaced:
		return "at cluster scope"
	case s.ns == "":
		return "in all namespaces"
	default:
		return "in namespace " + s.ns
	}
}

// problem is a resource perch may not or cannot read, or an optional API
// the cluster does not serve. These are permanent limits of what perch
// sees, not failures: they go out as Update.Partial.
type problem struct {
	def  *resourceDef
	ns   string
	what string // "forbidden" or "not served"
	err  error
	// text replaces the message for limits that are not one resource
	// (Knative or the metrics API not installed).
	text string
}

func (p problem) Error() string {
	if p.text != "" {
		return p.text
	}
	name, where := p.parts()
	if p.what == "forbidden" {
		return fmt.Sprintf("forbidden: cannot list/watch %s %s", name, where)
	}
	return fmt.Sprintf("%s %s: %s", name, where, p.what)
}

// parts names the resource and where it was read.
func (p problem) parts() (name, where string) {
	name, namespaced := "pods.metrics.k8s.io", true
	if p.def != nil {
		name, namespaced = p.def.name, p.def.namespaced
	}
	switch {
	case !namespaced:
		where = "at cluster scope"
	case p.ns != "":
		where = "in namespace " + p.ns
	default:
		where = "in all namespaces"
	}
	return name, where
}

// startScope starts one informer. c.mu must be held.
func (c *cluster) startScope(def *resourceDef, ns string) {
	sctx, cancel := context.WithCancel(c.ctx)
	s := &scope{def: def, ns: ns, cancel: cancel}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			if def.fieldSelector != "" {
				o.FieldSelector = def.fieldSelector
			}
			obj, err := def.list(ctx, c.cl, ns, o)
			c.observe(s, err)
			return obj, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			if def.fieldSelector != "" {
				o.FieldSelector = def.fieldSelector
			}
			w, err := def.watch(ctx, c.cl, ns, o)
			if err != nil {
				c.observe(s, err)
				return w, err
			}
			return c.observeWatch(s, w), nil // a stream is good once it delivers (health.go)
		},
	}
	s.inf = cache.NewSharedIndexInformerWithOptions(
		cache.ToListWatcherWithWatchListSemantics(lw, c.cl.watchListClient), def.example,
		cache.SharedIndexInformerOptions{Indexers: def.indexers, ObjectDescription: def.name})
	_ = s.inf.SetTransform(def.transform) // cannot fail before Run
	_ = s.inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		c.observe(s, err) // replaces client-go's default handler, which logs
	})
	_, _ = s.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.touch(def.res, nil, obj) },
		UpdateFunc: func(old, obj any) { c.touch(def.res, old, obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			c.touch(def.res, obj, nil)
		},
	})
	c.scopes[def.res] = append(c.scopes[def.res], s)
	if def.res == resPods || def.res == resEvents {
		go func() {
			select {
			case <-c.bulkGate: // closed at once unless deferred (bulk.go)
			case <-sctx.Done():
				return
			}
			s.inf.RunWithContext(sctx)
		}()
		return
	}
	go s.inf.RunWithContext(sctx)
}

// observe records the outcome of one list or watch call. A forbidden
// all-namespaces read falls back to the configured namespaces; a forbidden
// or unserved resource stops its informer (no retry storm) and is reported.
func (c *cluster) observe(s *scope, err error) {
	if err == nil {
		s.mu.Lock()
		s.err, s.ok = nil, true
		s.mu.Unlock()
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	forbidden, notServed := apierrors.IsForbidden(err), apierrors.IsNotFound(err)
	// A custom resource that is not served (any more) means its CRD is
	// gone, whatever it served before: discovery confirms (knative.go).
	crdGone := notServed && s.def.custom()
	if (forbidden || notServed) && !crdGone && !c.permanentLimit(s) {
		// Not RBAC or a missing API but a failure: retry (health.go).
		forbidden, notServed = false, false
	}
	if !forbidden && !notServed {
		s.mu.Lock()
		s.err = fmt.Errorf("%s %s: %w", s.def.name, s.where(), plainError(err))
		s.mu.Unlock()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.removeScope(s) {
		return // already handled
	}
	p := problem{def: s.def, ns: s.ns, what: "forbidden", err: err}
	if notServed {
		p.what = "not served by this cluster"
	}
	c.problems[s.def.name+"/"+s.ns] = p
	if forbidden && s.def.namespaced && s.ns == "" {
		for _, ns := range c.fallback {
			c.startScope(s.def, ns)
		}
	}
	if notServed && s.def.custom() {
		c.knRunning[s.def.res] = false // the CRD went away: discovery looks for it again, now
		select {
		case c.knPoke <- struct{}{}:
		default:
		}
	}
	c.allDirty, c.invDirty = true, true
	c.wakeLocked()
}

// wakeLocked tells the source loop to emit (once started). c.mu must be held.
func (c *cluster) wakeLocked() {
	if c.wake != nil {
		c.wake()
	}
}

// removeScope stops s and drops it from the active scopes. c.mu must be held.
func (c *cluster) removeScope(s *scope) bool {
	list := c.scopes[s.def.res]
	for i, x := range list {
		if x == s {
			s.cancel()
			c.scopes[s.def.res] = append(list[:i:i], list[i+1:]...)
			return true
		}
	}
	return false
}

// problemErrors lists what keeps this cluster from being complete:
// failures, then limits.
func (c *cluster) problemErrors() []error {
	return append(c.failures(), c.limits()...)
}

// failures lists what fails now: the API server unreachable, credentials
// rejected (one line per distinct cause). The informers keep retrying.
func (c *cluster) failures() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	seen := map[string]bool{}
	for _, list := range c.scopes {
		for _, s := range list {
			if err, _ := s.status(); err != nil {
				// One unreachable server fails every informer the same way:
				// report it once.
				msg := rootCause(err)
				if !seen[msg] {
					seen[msg] = true
					errs = append(errs, err)
				}
			}
		}
	}
	return errs
}

// errPodsLoading says the pods are not all in yet; errEstimates says a
// round's values are estimates meanwhile (estimate.go).
var (
	errPodsLoading = fmt.Errorf("pods %w", sources.ErrLoading)
	errEstimates   = fmt.Errorf("%w: %s", errPodsLoading, estimatesNote)
)

// errPodsUnreadable says why the values stay estimates for good.
var errPodsUnreadable = errors.New("pods cannot be read: " + estimatesNote)

const estimatesNote = "requests and cost estimated from pod templates × replicas"

// errEventsLoading says the warning events are not all in yet.
var errEventsLoading = fmt.Errorf("events %w", sources.ErrLoading)

// limits lists what this cluster cannot show although it works: pods
// still loading (until they are in), forbidden and unserved resources,
// Knative or the metrics API not installed.
func (c *cluster) limits() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	switch {
	case c.synced && !c.podsSynced:
		errs = append(errs, errEstimates)
	case c.synced && c.podsUnreadableLocked():
		errs = append(errs, errPodsUnreadable)
	}
	// Group forbidden and unserved resources by where, so a namespace-bound
	// account reads as one line naming every resource it may not list.
	type group struct {
		what, where string
		names       []string
	}
	var groups []*group
	byWhere := map[string]*group{}
	keys := make([]string, 0, len(c.problems))
	for k := range c.problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := c.problems[k]
		if p.text != "" {
			errs = append(errs, p)
			continue
		}
		name, where := p.parts()
		g := byWhere[p.what+"|"+where]
		if g == nil {
			g = &group{what: p.what, where: where}
			byWhere[p.what+"|"+where] = g
			groups = append(groups, g)
		}
		g.names = append(g.names, name)
	}
	for _, g := range groups {
		if g.what == "forbidden" {
			errs = append(errs, fmt.Errorf("forbidden: cannot list/watch %s %s", strings.Join(g.names, ", "), g.where))
		} else {
			errs = append(errs, fmt.Errorf("%s %s: %s", strings.Join(g.names, ", "), g.where, g.what))
		}
	}
	return errs
}

// rootCause strips the resource prefix so identical transport errors dedupe.
func rootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}
