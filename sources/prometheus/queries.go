package prometheus

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
)

// query is one planned instant query.
type query struct {
	name     string // family name, or "override <metric>"
	expr     string
	preset   *preset // nil for overrides
	override string  // metric name of an override
	latency  bool    // a latency family (histogram quantiles)
}

// plan builds this round's queries: one per family of each active preset
// (minus overridden columns) and one per override.
func (s *Source) plan(active []*preset) []query {
	q := newQctx(s.cfg, filter{})
	var out []query
	for _, p := range active {
		for _, f := range p.families {
			var parts []string
			for _, c := range f.cols {
				if _, ok := s.cfg.Overrides[c.metric]; ok {
					continue
				}
				parts = append(parts, tag(c.expr(q), c.metric))
			}
			if len(parts) == 0 {
				continue
			}
			out = append(out, query{name: f.name, expr: strings.Join(parts, " or "), preset: p, latency: f.latency()})
		}
	}
	for _, m := range sortedKeys(s.cfg.Overrides) {
		out = append(out, query{name: "override " + m, expr: s.cfg.Overrides[m], override: m})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// result is one query's outcome.
type result struct {
	vec       model.Vector
	err       error // the query failed: no data
	warning   error // data came with server warnings or was capped
	truncated bool
}

// runAll runs the plan with at most MaxConcurrency queries in flight,
// the slowest of the last round first: the round ends when its slowest
// query does, so that one must not wait in the queue.
func (s *Source) runAll(ctx context.Context, plan []query, ts time.Time) []result {
	results := make([]result, len(plan))
	// Workers take the queries in order (goroutines racing for a
	// semaphore would start them in any order).
	next := make(chan int, len(plan))
	for _, i := range s.slowestFirst(plan) {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(s.cfg.MaxConcurrency, len(plan)) {
		wg.Go(func() {
			for i := range next {
				q := plan[i]
				if ctx.Err() != nil {
					results[i] = result{err: &QueryError{Name: q.name, Query: q.expr, Err: s.timedOut(ctx.Err())}}
					continue
				}
				started := time.Now()
				results[i] = s.instant(ctx, q, ts)
				s.took(q.name, time.Since(started))
			}
		})
	}
	wg.Wait()
	return results
}

// roundMargin is how long a round may outlast its timeout, so a query
// started at the round's start reports its own timeout first.
func roundMargin(timeout time.Duration) time.Duration {
	return min(max(timeout/10, 50*time.Millisecond), time.Second)
}

// serverTimeout is the query timeout sent to the server, rounded so its
// text ("2s", "500ms") parses as a Prometheus duration.
func serverTimeout(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Truncate(time.Second)
	}
	return max(d.Truncate(time.Millisecond), time.Millisecond)
}

// instant runs one query of the round. An answer with more than
// max_series series is cut there (decoding stops) and said so; the round
// keeps the first max_series.
func (s *Source) instant(ctx context.Context, q query, ts time.Time) result {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	s.queries.Add(1)
	ans, err := s.queryInstant(ctx, q.expr, ts, s.cfg.MaxSeries)
	if err != nil {
		return result{err: &QueryError{Name: q.name, Query: q.expr, Err: describe(s.timedOut(err))}}
	}
	if ans.resultType != model.ValVector.String() {
		typ := ans.resultType
		if typ == "" {
			typ = "nothing"
		}
		return result{err: &QueryError{Name: q.name, Query: q.expr, Err: fmt.Errorf("expected an instant vector, got %s", typ)}}
	}
	r := result{vec: ans.vec}
	var notes []string
	if ans.more {
		notes = append(notes, fmt.Sprintf("answer has more than %d series (max_series); kept the first %d", s.cfg.MaxSeries, s.cfg.MaxSeries))
		r.truncated = true
	}
	for _, w := range ans.warnings {
		notes = append(notes, "server warning: "+w)
	}
	if len(notes) > 0 {
		r.warning = fmt.Errorf("query %s: %s", q.name, strings.Join(notes, "; "))
	}
	return r
}

// took records how long a family's query took, for the next round's order.
func (s *Source) took(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastTook[name] = d
}

// slowestFirst is the order to start the plan's queries in: by the last
// round's duration, longest first; before any round, latency families
// first (histogram_quantile re-reads every bucket series once per
// quantile: on 1,000 functions they took 0.3-0.8 s where other families
// took 0.05-0.4 s), then the plan's order.
func (s *Source) slowestFirst(plan []query) []int {
	s.mu.Lock()
	cost := make([]time.Duration, len(plan))
	for i, q := range plan {
		d, seen := s.lastTook[q.name]
		if !seen && q.latency {
			d = time.Hour // unknown yet: histograms are the usual slowest
		}
		cost[i] = d
	}
	s.mu.Unlock()
	order := make([]int, len(plan))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return cost[order[a]] > cost[order[b]] })
	return order
}
