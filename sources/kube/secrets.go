package kube

import (
	"net/http"
	"sync"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/secret"
)

// client-go quotes what the API server (or a proxy in front of it) says
// verbatim: a 401 page echoing the request, a Status message, the URL in
// "stopped after 10 redirects". Each context's credentials are known
// here, and every error leaves the source (Update.Err and Partial,
// CheckHealth, Pods, Events, AllPods, Status) through a redactor of all
// of them. client-go also adds credentials in its transport, on every
// request, redirects to other hosts included: a Guard under its auth
// wrappers strips them there.

// credentialRedactor knows a context's credentials: bearer token (and its
// file, re-read: service-account tokens rotate), basic auth, an auth
// provider's tokens and an exec plugin's secret-looking environment. The
// tokens an exec plugin or auth provider fetches at run time are learned
// from the wire by the Guard.
func credentialRedactor(rc *rest.Config) *secret.Redactor {
	r := secret.New().AddToken("Bearer", rc.BearerToken).AddTokenFile("Bearer", rc.BearerTokenFile)
	if rc.Username != "" || rc.Password != "" {
		r.AddBasic(rc.Username, rc.Password)
	}
	if ap := rc.AuthProvider; ap != nil {
		for k, v := range ap.Config {
			if secret.LooksSensitive(k) {
				r.AddToken("Bearer", v)
			}
		}
	}
	if ex := rc.ExecProvider; ex != nil {
		for _, e := range ex.Env {
			if secret.LooksSensitive(e.Name) {
				r.Add(e.Value)
			}
		}
	}
	return r
}

// guardCredentials is the innermost transport wrapper (under client-go's
// bearer, basic and exec wrappers, which add Authorization to every
// request): requests that leave the API server's origin lose the
// credentials, and those to it teach red the Authorization they carry.
func guardCredentials(rc *rest.Config, red *secret.Redactor) transport.WrapperFunc {
	var origin secret.Origin
	if u, _, err := rest.DefaultServerUrlFor(rc); err == nil {
		origin, _ = secret.OriginOf(u.String()) // a zero Origin strips everywhere
	}
	return func(rt http.RoundTripper) http.RoundTripper {
		return &secret.Guard{Base: rt, Origin: origin, Learn: red}
	}
}

// secretSet is the credentials of every context the source connected.
type secretSet struct {
	mu        sync.Mutex
	byContext map[string]*secret.Redactor
	joined    *secret.Redactor // all of byContext
}

// track records the credentials of each context connect connects.
func (s *secretSet) track(connect func(string) (*clients, error)) func(string) (*clients, error) {
	return func(context string) (*clients, error) {
		cl, err := connect(context)
		if cl != nil && cl.secrets != nil {
			s.mu.Lock()
			if s.byContext == nil {
				s.byContext = map[string]*secret.Redactor{}
			}
			s.byContext[context] = cl.secrets
			all := make([]*secret.Redactor, 0, len(s.byContext))
			for _, r := range s.byContext {
				all = append(all, r)
			}
			s.joined = secret.Join(all...)
			s.mu.Unlock()
		}
		return cl, err
	}
}

func (s *secretSet) redactor() *secret.Redactor {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.joined
}

// redact returns err without credentials; a RoundError stays one (with
// each error redacted), so errors.As and ErrPartial keep working.
func (s *secretSet) redact(err error) error {
	r := s.redactor()
	if err == nil || r == nil {
		return err
	}
	if re, ok := err.(*RoundError); ok {
		out := &RoundError{Errs: make([]error, len(re.Errs)), Partial: re.Partial}
		for i, e := range re.Errs {
			out.Errs[i] = r.Error(e)
		}
		return out
	}
	return r.Error(err)
}

// update redacts an update's errors.
func (s *secretSet) update(u sources.Update) sources.Update {
	u.Err = s.redact(u.Err)
	u.Partial = s.redact(u.Partial)
	return u
}

// statuses redacts the problems Status reports.
func (s *secretSet) statuses(st []ClusterStatus) []ClusterStatus {
	r := s.redactor()
	if r == nil {
		return st
	}
	for i := range st {
		for j, p := range st[i].Problems {
			st[i].Problems[j] = r.String(p)
		}
	}
	return st
}
