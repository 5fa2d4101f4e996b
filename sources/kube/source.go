// Package kube is perch's Kubernetes source: live workload scaling, pod
// state and request-based cost from one or several clusters (kubeconfig
// contexts) at once.
//
// It uses client-go shared informers (one list, or a streaming watch-list,
// then a watch per resource; never a list per refresh) for Deployments,
// ReplicaSets, StatefulSets, DaemonSets, Jobs, Pods, HPAs (autoscaling/v2),
// Nodes and warning Events, and Knative Services and Revisions (dynamic
// informers, when the cluster serves them), with transforms that keep only
// the fields perch shows. Pod usage comes from metrics.k8s.io when the
// cluster serves it (the one API without watch, read once per refresh).
//
// Rows: Deployments, StatefulSets and DaemonSets; Jobs (KindJob), with the
// Jobs a CronJob created rolled up under the CronJob (KindCronJob); and
// Knative Services (platform Knative), whose revisions' pods are their
// replicas and whose revisions' Deployments get no rows of their own.
//
// Changes only mark the affected workloads dirty; every Refresh the dirty
// ones are recomputed and one Update with the whole inventory and the
// latest values goes out (Complete once every cluster has synced or is
// known to be failing). A cluster's first round does not wait for its
// pods, the bulk of a big cluster: until they are in, requests and cost
// are estimated from the pod templates and the round's Partial wraps
// sources.ErrLoading; the round with the pods goes out when they arrive
// (estimate.go). With DeferBulkUntil the pod and event lists start only
// once the dashboard has its first frame (bulk.go).
//
// The source only reads: its HTTP transport refuses anything but GET, so
// the API server only ever sees get, list and watch. When listing across
// all namespaces is forbidden it falls back to the configured namespaces
// and reports what it may not read (Update.Partial: the rows stay fresh),
// while showing what it can.
package kube

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	"github.com/perch-dev/perch/sources"
)

// Interface checks.
var (
	_ sources.Source        = (*Source)(nil)
	_ sources.PodLister     = (*Source)(nil)
	_ sources.EventLister   = (*Source)(nil)
	_ sources.HealthChecker = (*Source)(nil)
	_ sources.AllPodLister  = (*Source)(nil)
	_ sources.BulkDeferrer  = (*Source)(nil)
)

// ErrPartial marks an Update.Err of a round that still delivered data (one
// unreachable cluster of several), and every Update.Partial (what perch
// may not or cannot read: forbidden resources, Knative or the metrics API
// not installed). Use errors.Is.
var ErrPartial = errors.New("partial data")

// Backoff bounds for reconnecting a context that failed to load.
const (
	backoffBase = time.Second
	backoffMax  = time.Minute
)

// Source watches the configured contexts.
type Source struct {
	cfg     Config
	counter requestCounter

	// resolveFn and connectFn are replaced in tests (fake clientsets).
	resolveFn func() ([]string, error)
	connectFn func(context string) (*clients, error)

	mu    sync.Mutex
	slots []*slot // sorted by context name

	secrets secretSet // every context's credentials, out of errors (secrets.go)

	bulkReady <-chan struct{} // DeferBulkUntil's; nil: bulk lists start at once
	bulkLimit time.Duration   // BulkDeferLimit (shorter in tests)
}

// slot is one context: connected (c set) or failing to connect (err set).
type slot struct {
	name string
	mu   sync.Mutex
	c    *cluster
	err  error
}

func (s *slot) get() (*cluster, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c, s.err
}

var quietOnce sync.Once

// quietClientGo stops client-go from writing logs to stderr, where they
// would tear the terminal UI (PERCH_KUBE_LOG=1 keeps them, for debugging).
func quietClientGo() {
	quietOnce.Do(func() {
		if os.Getenv("PERCH_KUBE_LOG") == "" {
			klog.SetLogger(logr.Discard())
		}
	})
}

// New validates cfg. It makes no network call and does not read the
// kubeconfig yet: a missing kubeconfig is reported by Run, which keeps
// retrying, so it can appear later.
func New(cfg Config) (*Source, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	quietClientGo()
	s := &Source{cfg: c, bulkLimit: BulkDeferLimit}
	s.resolveFn = s.resolveKubeconfig
	s.connectFn = s.secrets.track(s.connectKubeconfig)
	return s, nil
}

// Name is the source's name in perch.
func (s *Source) Name() string { return s.cfg.Name }

// Requests counts the API requests made so far (for tests and benchmarks).
func (s *Source) Requests() RequestCounts { return s.counter.counts() }

func (s *Source) resolveKubeconfig() ([]string, error) {
	raw, _, err := loadKubeconfig(s.cfg)
	if err != nil {
		return nil, err
	}
	return contextNames(s.cfg, raw)
}

func (s *Source) connectKubeconfig(context string) (*clients, error) {
	raw, rules, err := loadKubeconfig(s.cfg)
	if err != nil {
		return nil, err
	}
	return connect(s.cfg, raw, rules, context, &s.counter)
}

// Run watches until ctx ends and returns ctx.Err(). Failures (no
// kubeconfig, a missing context, an unreachable server, rejected
// credentials) are sent as Update.Err while everything else keeps working;
// client-go reconnects by itself and Run retries what it cannot. Permanent
// limits (forbidden resources, Knative or metrics.k8s.io not installed)
// go out as Update.Partial on every round they hold for.
func (s *Source) Run(ctx context.Context, out chan<- sources.Update) error {
	wake := make(chan struct{}, 1)
	notify := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	names, err := s.resolveFn()
	for fails := 1; err != nil; fails++ {
		if !s.send(ctx, out, sources.Update{Source: s.cfg.Name, At: s.cfg.Clock(), Err: fmt.Errorf("kube: %w", err)}) {
			return ctx.Err()
		}
		if !sleep(ctx, backoff(fails, backoffBase, backoffMax)) {
			return ctx.Err()
		}
		names, err = s.resolveFn()
	}
	sort.Strings(names)
	s.mu.Lock()
	s.slots = nil
	for _, n := range names {
		s.slots = append(s.slots, &slot{name: n})
	}
	slots := s.slots
	s.mu.Unlock()
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, sl := range slots {
		wg.Go(func() { s.runSlot(ctx, sl, notify) })
	}

	ticker := time.NewTicker(s.cfg.Refresh)
	defer ticker.Stop()
	complete := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		case <-wake:
			// Emit early only for the first complete round and when a
			// cluster's pods are in (its estimates become the pods'
			// values); other changes wait for the next tick (debounce).
			if !s.settled(slots) || (complete && !s.stageDone(slots)) {
				continue
			}
		}
		u, ok := s.round(slots)
		if !ok {
			continue
		}
		complete = complete || u.Complete
		if !s.send(ctx, out, u) {
			return ctx.Err()
		}
	}
}

func (s *Source) send(ctx context.Context, out chan<- sources.Update, u sources.Update) bool {
	select {
	case out <- s.secrets.update(u):
		return true
	case <-ctx.Done():
		return false
	}
}

// runSlot connects one context (retrying with backoff: the kubeconfig or
// the context may appear later) and starts its informers.
func (s *Source) runSlot(ctx context.Context, sl *slot, notify func()) {
	for fails := 1; ; fails++ {
		cl, err := s.connectFn(sl.name)
		if err == nil {
			c := newCluster(s, sl.name, cl)
			c.start(ctx, notify)
			go c.watchConnection(ctx)
			sl.mu.Lock()
			sl.c, sl.err = c, nil
			sl.mu.Unlock()
			notify()
			return
		}
		sl.mu.Lock()
		sl.err = err
		sl.mu.Unlock()
		notify()
		if !sleep(ctx, backoff(fails, backoffBase, backoffMax)) {
			return
		}
	}
}

// settled reports whether every context has synced or is failing.
func (s *Source) settled(slots []*slot) bool {
	for _, sl := range slots {
		c, err := sl.get()
		if c == nil && err == nil {
			return false
		}
		if c != nil && !c.settled() {
			return false
		}
	}
	return true
}

// stageDone reports whether a cluster finished a sync stage since the
// last round.
func (s *Source) stageDone(slots []*slot) bool {
	for _, sl := range slots {
		if c, _ := sl.get(); c != nil && c.hasStageDone() {
			return true
		}
	}
	return false
}

func (c *cluster) hasStageDone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stageDone
}

// round builds one Update from every context. ok is false when there is
// nothing to say yet.
func (s *Source) round(slots []*slot) (sources.Update, bool) {
	now := s.cfg.Clock()
	u := sources.Update{Source: s.cfg.Name, At: now}
	var errs, limits []error
	data := false
	for _, sl := range slots {
		c, err := sl.get()
		if c == nil {
			if err != nil {
				errs = append(errs, fmt.Errorf("context %s: %w", sl.name, err))
			}
			continue
		}
		connErr := c.cl.health.failure()
		if c.isSynced() {
			data = true
			n := len(u.Samples)
			u.Workloads, u.Samples = c.refresh(now, u.Workloads, u.Samples)
			if connErr != nil {
				// The caches are not measurements: the rows keep their
				// last values, marked stale, and history gets no made-up points.
				u.Samples = u.Samples[:n]
			}
		}
		if connErr != nil {
			errs = append(errs, fmt.Errorf("context %s: %w", sl.name, connErr))
		}
		for _, e := range c.failures() {
			errs = append(errs, fmt.Errorf("context %s: %w", sl.name, e))
		}
		for _, e := range c.limits() {
			limits = append(limits, fmt.Errorf("context %s: %w", sl.name, e))
		}
	}
	u.Full = data
	u.Complete = s.settled(slots)
	if len(errs) > 0 {
		u.Err = &RoundError{Errs: errs, Partial: data}
	}
	// Forbidden resources and missing APIs are what this source cannot
	// see, not failures: the rows it sends stay fresh.
	if len(limits) > 0 {
		u.Partial = &RoundError{Errs: limits, Partial: true}
	}
	return u, data || u.Err != nil
}

func (c *cluster) isSynced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.synced
}

// RoundError is what went wrong in one round, one entry per cluster and
// problem. Partial is set when the round still delivered data.
type RoundError struct {
	Errs    []error
	Partial bool
}

func (e *RoundError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return "kube: " + strings.Join(msgs, "; ")
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (e *RoundError) Unwrap() []error { return e.Errs }

// Is makes errors.Is(err, ErrPartial) true for partial rounds.
func (e *RoundError) Is(target error) bool { return target == ErrPartial && e.Partial }

// clusterOf finds the connected cluster of a workload id.
func (s *Source) clusterOf(id sources.WorkloadID) (*cluster, error) {
	s.mu.Lock()
	slots := s.slots
	s.mu.Unlock()
	for _, sl := range slots {
		if sl.name != id.Cluster {
			continue
		}
		c, err := sl.get()
		if c == nil {
			if err == nil {
				err = errors.New("not connected yet")
			}
			return nil, s.secrets.redact(fmt.Errorf("kube: context %s: %w", id.Cluster, err))
		}
		return c, nil
	}
	return nil, fmt.Errorf("kube: unknown cluster %q", id.Cluster)
}

// CheckHealth asks every connected cluster for its version (a GET that
// every authenticated user may make).
func (s *Source) CheckHealth(ctx context.Context) error {
	s.mu.Lock()
	slots := s.slots
	s.mu.Unlock()
	if len(slots) == 0 {
		return errors.New("kube: not started")
	}
	var errs []error
	for _, sl := range slots {
		c, err := sl.get()
		if c == nil {
			if err == nil {
				err = errors.New("not connected yet")
			}
			errs = append(errs, fmt.Errorf("context %s: %w", sl.name, err))
			continue
		}
		// ServerVersion is GET /version; it has no context parameter, so
		// bound it by running it aside.
		done := make(chan error, 1)
		go func() {
			_, err := c.cl.core.Discovery().ServerVersion()
			done <- err
		}()
		select {
		case err = <-done:
		case <-time.After(s.cfg.Timeout):
			err = fmt.Errorf("no answer within %s", s.cfg.Timeout)
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("context %s: %s: %w", sl.name, c.cl.server, err))
		}
	}
	if len(errs) > 0 {
		return s.secrets.redact(&RoundError{Errs: errs})
	}
	return nil
}

// ClusterStatus describes one context for the header and the pods page.
type ClusterStatus struct {
	Context string
	Server  string
	// Synced is set once every informer has its initial list.
	Synced bool
	// Namespaces watched ("" = all namespaces).
	Namespaces []string
	// Problems are connection failures and forbidden or unserved resources.
	Problems []string
	// Usage says where pod usage comes from ("usage: metrics.k8s.io",
	// "usage: metrics.k8s.io not installed", "usage: off"...).
	Usage             string
	Nodes, NodesReady int
	Pods, Workloads   int
}

// Status reports every context's state.
func (s *Source) Status() []ClusterStatus {
	s.mu.Lock()
	slots := s.slots
	s.mu.Unlock()
	out := make([]ClusterStatus, 0, len(slots))
	for _, sl := range slots {
		c, err := sl.get()
		if c == nil {
			st := ClusterStatus{Context: sl.name}
			if err != nil {
				st.Problems = []string{err.Error()}
			}
			out = append(out, st)
			continue
		}
		out = append(out, c.status())
	}
	return s.secrets.statuses(out)
}

func (c *cluster) status() ClusterStatus {
	var problems []string
	if err := c.cl.health.failure(); err != nil {
		problems = append(problems, err.Error())
	}
	for _, e := range c.problemErrors() {
		problems = append(problems, e.Error())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := ClusterStatus{Context: c.name, Server: c.cl.server, Synced: c.synced, Problems: problems,
		Usage: c.metricsNote, Workloads: len(c.states)}
	seen := map[string]bool{}
	for _, sc := range c.scopes[resPods] {
		if !seen[sc.ns] {
			seen[sc.ns] = true
			st.Namespaces = append(st.Namespaces, sc.ns)
		}
		st.Pods += len(sc.inf.GetIndexer().ListKeys())
	}
	for _, sc := range c.scopes[resNodes] {
		for _, obj := range sc.inf.GetIndexer().List() {
			if n, ok := obj.(*nodeObj); ok {
				st.Nodes++
				if n.Ready {
					st.NodesReady++
				}
			}
		}
	}
	return st
}

// backoff is base·2^(n-1) capped at ceiling, with jitter in [d/2, d].
func backoff(n int, base, ceiling time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
