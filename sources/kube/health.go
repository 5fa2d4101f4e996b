package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// Connection health.
//
// Informers notice a refused or reset connection, but not a server that
// accepts and never answers, answers every new request with an error while
// old watches stay open, or a black-holed connection a watch or list is
// stuck on (client-go sets no timeout on them). So next to the informers a
// probe asks the API server for its version (GET /version, which every
// authenticated user may read) every max(refresh, timeout), bounded by
// timeout, and at once when a watch stream breaks. While it fails, the
// cluster reports the failure, its rows keep their last values (no new
// samples are made up from the caches), and the probe retries with capped
// exponential backoff and jitter. When it answers again after a failure
// that left an informer failing or may have left one stuck (a probe timed
// out), every informer is started afresh (new connections, and a fresh
// client-go backoff, which otherwise grows to 30 s × 2 jitter and starts
// over only after two quiet minutes) and swapped in once it has listed, so
// the old caches serve until then and no row disappears in between.
// Informers that keep failing while the probe answers are restarted the
// same way, with their own capped backoff.

// connHealth is what perch knows about the connection to one API server.
type connHealth struct {
	probe func(ctx context.Context) error
	// kick asks for a probe now: a watch stream broke.
	kick chan struct{}

	mu         sync.Mutex
	err        error // the last probe's failure; nil once it answered
	hung       bool  // a probe timed out during the current failure
	recoveries int   // recoveries from a failure
	restarts   int   // informer restarts after recoveries

	// pending maps a running informer to its replacement until the swap.
	// Guarded by the cluster's mu, not this one.
	pending map[*scope]*scope
}

func newConnHealth(probe func(ctx context.Context) error) *connHealth {
	return &connHealth{probe: probe, kick: make(chan struct{}, 1), pending: map[*scope]*scope{}}
}

// kickProbe asks for a probe now (nil-safe).
func (h *connHealth) kickProbe() {
	if h == nil {
		return
	}
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// failure is the current connection failure, nil when the server answers
// (or when nothing probes, as with the fake clients of unit tests).
func (h *connHealth) failure() error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// record stores a probe's outcome and reports whether it ends a failure
// that may have left informers stuck: a probe timed out during it (a
// connection that accepts and never answers holds watches and lists
// forever, as client-go sets no timeout on them).
func (h *connHealth) record(err error, timedOut bool) (recovered, hung bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	recovered = err == nil && h.err != nil
	h.hung = h.hung || timedOut
	hung = recovered && h.hung
	h.err = err
	if recovered {
		h.recoveries++
		h.hung = false
	}
	return recovered, hung
}

// watchConnection probes until ctx ends.
func (c *cluster) watchConnection(ctx context.Context) {
	if c.cl.health == nil {
		return
	}
	every := max(c.src.cfg.Refresh, c.src.cfg.Timeout)
	fails := 0
	// Informers failing while the server answers (a broken resource, a
	// proxy failing some paths) are restarted too, with their own capped
	// backoff, instead of waiting out client-go's, which keeps growing over
	// repeated failures and starts over only after two quiet minutes.
	restartFails := 0
	var nextRestart time.Time
	for {
		wait := every
		if fails > 0 {
			wait = backoff(fails, min(every/4, time.Second), max(every, backoffMax))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-c.cl.health.kick:
			t.Stop()
		}
		if err := c.checkConnection(ctx); err != nil {
			fails++
			continue
		}
		fails = 0
		switch now := time.Now(); {
		case !c.failingScopes():
			restartFails, nextRestart = 0, time.Time{}
		case nextRestart.IsZero(): // give client-go its own first try
			nextRestart = now.Add(backoff(1, every, max(every, backoffMax)))
		case now.After(nextRestart):
			restartFails++
			c.restartScopes()
			nextRestart = now.Add(backoff(restartFails+1, every, max(every, backoffMax)))
		}
	}
}

// checkConnection probes once and records the outcome; the first answer
// after a failure restarts the informers.
func (c *cluster) checkConnection(ctx context.Context) error {
	h := c.cl.health
	pctx, cancel := context.WithTimeout(ctx, c.src.cfg.Timeout)
	defer cancel()
	err := h.probe(pctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	timedOut := err != nil && errors.Is(pctx.Err(), context.DeadlineExceeded)
	if timedOut {
		err = fmt.Errorf("API server not answering: GET /version timed out after %s", c.src.cfg.Timeout)
	}
	if recovered, hung := h.record(err, timedOut); recovered && (hung || c.failingScopes()) {
		c.restartScopes()
	}
	return err
}

// failingScopes reports whether an informer's last list or watch failed
// (it waits out client-go's backoff before it tries again).
func (c *cluster) failingScopes() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, list := range c.scopes {
		for _, s := range list {
			if err, _ := s.status(); err != nil {
				return true
			}
		}
	}
	return false
}

// permanentLimit tells a forbidden or not-found answer to a list or watch
// of s that means what it says (RBAC, an API the cluster does not serve),
// which perch reports and stops asking about, from a failure, which must
// be retried: a resource that was read before and is refused now (an API
// server still starting, whose authorizer has not loaded RBAC yet, or
// whose aggregated APIs are not registered yet), or any answer while the
// server fails otherwise too (expired credentials, an auth proxy in the way).
func (c *cluster) permanentLimit(s *scope) bool {
	if _, ok := s.status(); ok {
		return false
	}
	if c.cl.health == nil || c.ctx == nil {
		return true
	}
	return c.checkConnection(c.ctx) == nil
}

// restartScopes starts a fresh informer for every running one; each is
// swapped in once it has synced.
func (c *cluster) restartScopes() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil || c.ctx.Err() != nil {
		return
	}
	c.cl.health.mu.Lock()
	c.cl.health.restarts++
	c.cl.health.mu.Unlock()
	pending := c.cl.health.pending
	for r := range c.scopes {
		active := c.scopes[r]
		for _, old := range active {
			if prev := pending[old]; prev != nil {
				prev.cancel()
			}
			c.startScope(old.def, old.ns) // appends and runs it
			fresh := c.scopes[r][len(c.scopes[r])-1]
			c.scopes[r] = active // it joins the active ones at the swap
			pending[old] = fresh
			go c.swapWhenSynced(old, fresh)
		}
	}
}

// swapWhenSynced replaces old with fresh once fresh has listed everything.
func (c *cluster) swapWhenSynced(old, fresh *scope) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	pending := c.cl.health.pending
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		synced := fresh.inf.HasSynced()
		c.mu.Lock()
		if pending[old] != fresh { // superseded by a later restart, which cancelled it
			c.mu.Unlock()
			return
		}
		if !synced {
			c.mu.Unlock()
			continue
		}
		delete(pending, old)
		list := c.scopes[old.def.res]
		swapped := false
		for i, s := range list {
			if s == old {
				list[i] = fresh
				swapped = true
				break
			}
		}
		if swapped {
			old.cancel()
			c.allDirty, c.invDirty = true, true
		} else {
			fresh.cancel() // old was dropped meanwhile (forbidden): so is its replacement
		}
		c.mu.Unlock()
		if swapped && c.wake != nil {
			c.wake()
		}
		return
	}
}

// versionProbe asks the API server for its version. Errors lead with the
// cause as an on-call user would word it.
func versionProbe(rc rest.Interface) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		res := rc.Get().AbsPath("/version").MaxRetries(0).Do(ctx)
		code := 0
		res.StatusCode(&code)
		raw, err := res.Raw()
		var st apierrors.APIStatus
		if errors.As(err, &st) && st.Status().Code != 0 {
			code = int(st.Status().Code) // client-go keeps it here for error answers
		}
		switch {
		case err != nil && code == http.StatusUnauthorized:
			return fmt.Errorf("API server rejects perch's credentials (HTTP 401; expired or revoked?): %w", err)
		case err != nil && code == http.StatusForbidden:
			return fmt.Errorf("API server forbids perch even GET /version (HTTP 403): %w", err)
		case err != nil && code >= 300:
			return fmt.Errorf("API server answers HTTP %d to GET /version: %w", code, bodyOf(err))
		case err != nil && errors.As(err, new(*TooLargeError)):
			return fmt.Errorf("API server sent a bad answer to GET /version: %w", plainError(err))
		case err != nil:
			// The transport's innermost words lead ("connection refused"),
			// not the URL client-go puts first.
			return &plainErr{msg: "API server unreachable: " + rootCause(err) + " (GET /version)", err: err}
		}
		var v struct {
			GitVersion string `json:"gitVersion"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("API server sent a bad answer to GET /version: %w", err)
		}
		if v.GitVersion == "" {
			return errors.New("API server sent a bad answer to GET /version: no gitVersion")
		}
		return nil
	}
}

// observeWatch reports a watch stream's outcome: answered headers are not
// a success (a proxy or a broken server can send 200 and then garbage, a
// list where a stream belongs, or nothing), the first event is, and an
// error event (a stream that cannot be decoded, a cut) is a failure. So a
// scope's error does not flicker away while its informer cannot read.
func (c *cluster) observeWatch(s *scope, w watch.Interface) watch.Interface {
	ow := &observedWatch{inner: w, out: make(chan watch.Event), stop: make(chan struct{})}
	go func() {
		defer close(ow.out)
		first := true
		defer func() {
			select {
			case <-ow.stop: // stopped by the informer
			default: // the stream broke or ended: is the server still there?
				c.cl.health.kickProbe()
			}
		}()
		for ev := range w.ResultChan() {
			switch {
			case ev.Type == watch.Error:
				c.observe(s, apierrors.FromObject(ev.Object))
			case first:
				first = false
				c.observe(s, nil)
			}
			select {
			case ow.out <- ev:
			case <-ow.stop:
				return
			}
		}
	}()
	return ow
}

// observedWatch forwards a watch's events through observeWatch.
type observedWatch struct {
	inner watch.Interface
	out   chan watch.Event
	stop  chan struct{}
	once  sync.Once
}

func (w *observedWatch) Stop() {
	w.once.Do(func() { close(w.stop) })
	w.inner.Stop()
}

func (w *observedWatch) ResultChan() <-chan watch.Event { return w.out }

// plainError drops client-go's wording around a cause, so that the header
// leads with it: "an error on the server (\"…\") has prevented the request
// from succeeding", "unable to decode an event from the watch stream: …",
// "unexpected error when reading response body. Please retry. Original
// error: …". The result still wraps err.
func plainError(err error) error {
	var tooLarge *TooLargeError
	if errors.As(err, &tooLarge) {
		return &plainErr{msg: tooLarge.Error(), err: err}
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return err
	}
	d := st.Status().Details
	if d == nil || len(d.Causes) == 0 || d.Causes[0].Type != metav1.CauseTypeUnexpectedServerResponse || d.Causes[0].Message == "" {
		return err
	}
	msg := d.Causes[0].Message
	if inner, ok := strings.CutPrefix(msg, "unable to decode an event from the watch stream: "); ok {
		return &plainErr{msg: "undecodable watch stream: " + inner, err: err}
	}
	return &plainErr{msg: fmt.Sprintf("HTTP %d: %s", st.Status().Code, strings.TrimSpace(msg)), err: err}
}

// plainErr is a shorter message for an error it still wraps.
type plainErr struct {
	msg string
	err error
}

func (e *plainErr) Error() string { return e.msg }
func (e *plainErr) Unwrap() error { return e.err }

// bodyOf is what the server said in an error answer, without client-go's
// wording around it.
func bodyOf(err error) error {
	pe := plainError(err)
	if p, ok := pe.(*plainErr); ok {
		if _, body, found := strings.Cut(p.msg, ": "); found && strings.HasPrefix(p.msg, "HTTP ") {
			return &plainErr{msg: body, err: err}
		}
	}
	return pe
}
