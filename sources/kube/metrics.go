package kube

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// metricsRetry is how often perch checks again for a metrics API that is
// missing or failing (metrics-server installed later, or restarted).
const metricsRetry = time.Minute

// usage is one pod's measured usage.
type usage struct {
	cpu int64 // nanocores (metrics-server reports e.g. 50015608n)
	mem int64 // bytes
}

// pollMetrics reads pod usage from metrics.k8s.io every refresh. The
// metrics API has no watch, so this is the one list perch repeats.
func (c *cluster) pollMetrics(ctx context.Context) {
	fails := 0
	for {
		wait := c.src.cfg.Refresh
		if c.fetchMetrics(ctx) {
			fails = 0
		} else {
			// Back off to one check a minute, starting at the refresh
			// interval so a metrics-server that is just starting is
			// picked up quickly.
			fails++
			wait = backoff(fails, c.src.cfg.Refresh, max(c.src.cfg.Refresh, metricsRetry))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// metricsNamespaces are the namespaces to ask for usage: those whose pods
// perch watches.
func (c *cluster) metricsNamespaces() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.scopes[resPods] {
		if s.ns == "" {
			if _, forbidden := c.problems[metricsProblemKey("")]; forbidden {
				return c.fallback
			}
			return []string{""}
		}
		out = append(out, s.ns)
	}
	return out
}

func metricsProblemKey(ns string) string { return "pods.metrics.k8s.io/" + ns }

// metricsMissingKey is the problem reported while the cluster serves no
// metrics API (a limit, not an error: cost falls back to requests).
const metricsMissingKey = "pods.metrics.k8s.io"

// fetchMetrics runs one round and reports whether usage is available.
func (c *cluster) fetchMetrics(ctx context.Context) bool {
	fresh := map[string]usage{}
	ok := false
	var note string
	for _, ns := range c.metricsNamespaces() {
		rctx, cancel := context.WithTimeout(ctx, c.src.cfg.Timeout)
		list, err := c.cl.metrics.MetricsV1beta1().PodMetricses(ns).List(rctx, metav1.ListOptions{})
		cancel()
		if ctx.Err() != nil {
			return false
		}
		c.mu.Lock()
		if err == nil || !apierrors.IsForbidden(err) {
			delete(c.problems, metricsProblemKey(ns)) // RBAC granted since
		}
		if err == nil || !apierrors.IsNotFound(err) {
			delete(c.problems, metricsMissingKey) // metrics-server installed since
		}
		c.mu.Unlock()
		switch {
		case err == nil:
			ok = true
			for i := range list.Items {
				pm := &list.Items[i]
				var u usage
				for _, ct := range pm.Containers {
					u.cpu += ct.Usage.Cpu().ScaledValue(resource.Nano)
					u.mem += ct.Usage.Memory().Value()
				}
				fresh[pm.Namespace+"/"+pm.Name] = u
			}
		case apierrors.IsForbidden(err):
			c.mu.Lock()
			c.problems[metricsProblemKey(ns)] = problem{ns: ns, what: "forbidden", err: err}
			c.mu.Unlock()
			note = "usage: metrics.k8s.io forbidden"
		case apierrors.IsNotFound(err):
			note = "usage: metrics.k8s.io not installed"
			c.mu.Lock()
			c.problems[metricsMissingKey] = problem{text: "metrics.k8s.io not installed: no usage, cost from requests only"}
			c.mu.Unlock()
		default:
			note = fmt.Sprintf("usage: metrics.k8s.io failing: %v", err)
		}
	}
	c.setUsage(ok, fresh, note)
	return ok
}

// setUsage swaps in a round of usage and marks only the workloads whose
// pods' usage changed.
func (c *cluster) setUsage(ok bool, fresh map[string]usage, note string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		if c.metricsOK {
			c.allDirty = true // usage columns become unknown
		}
		c.metricsOK, c.usage = false, nil
		if note != "" {
			c.metricsNote = note
		}
		return
	}
	if !c.metricsOK {
		c.allDirty = true
	}
	c.metricsOK, c.metricsNote = true, "usage: metrics.k8s.io"
	mark := func(key string) {
		ns, name, _ := cutKey(key)
		if p, _ := c.getFrom(resPods, ns, name).(*podObj); p != nil {
			if k, ok := c.podOwnerLocked(p); ok {
				c.dirty[k] = struct{}{}
			}
		}
	}
	for key, u := range fresh {
		if old, had := c.usage[key]; !had || old != u {
			mark(key)
		}
	}
	for key := range c.usage {
		if _, still := fresh[key]; !still {
			mark(key)
		}
	}
	c.usage = fresh
}

func cutKey(key string) (ns, name string, ok bool) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:], true
		}
	}
	return "", key, false
}
