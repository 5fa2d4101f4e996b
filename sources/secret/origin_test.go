package secret

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestOriginAllows(t *testing.T) {
	cases := []struct {
		configured, target string
		want               bool
	}{
		{"http://prom:9090", "http://prom:9090/api/v1/query", true},
		{"http://PROM:9090/", "http://prom:9090/x", true},
		{"http://prom", "http://prom:80/x", true},
		{"http://prom:9090", "https://prom:9090/x", true}, // upgrade, same port
		{"http://prom", "https://prom/x", true},           // upgrade, default ports
		{"https://prom", "http://prom/x", false},          // downgrade
		{"http://prom:9090", "http://prom:9091/x", false}, // another port
		{"http://127.0.0.1:9090", "http://localhost:9090/x", false},
		{"http://prom:9090", "http://evil:9090/x", false},
		{"http://prom", "https://prom:8443/x", false},
		{"https://[::1]:6443", "https://[::1]:6443/api", true},
	}
	for _, c := range cases {
		o, err := OriginOf(c.configured)
		if err != nil {
			t.Fatalf("%s: %v", c.configured, err)
		}
		u, _ := url.Parse(c.target)
		if got := o.Allows(u); got != c.want {
			t.Errorf("%s → %s: %v, want %v", c.configured, c.target, got, c.want)
		}
	}
	for _, bad := range []string{"", "prom:9090", "ftp://prom", "/api"} {
		if _, err := OriginOf(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if (Origin{}).Allows(&url.URL{Scheme: "http", Host: "x"}) {
		t.Error("the zero Origin allows")
	}
}

// recorder is a server that records the credentials it receives.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecorder(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Header.Get("Authorization")+"|"+r.Header.Get("X-Api-Key")+"|"+r.Header.Get("Referer"))
		rec.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// authorizing adds credentials to every request, as perch's own auth
// transports and client-go's wrappers do (above the Guard).
type authorizing struct{ next http.RoundTripper }

func (a authorizing) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer guarded-token")
	r.Header.Set("X-Api-Key", "guarded-key")
	return a.next.RoundTrip(r)
}

// otherHost is the recorder's URL under another host name.
func otherHost(r *recorder) string { return strings.Replace(r.srv.URL, "127.0.0.1", "localhost", 1) }

func TestGuardKeepsCredentialsOnTheOrigin(t *testing.T) {
	other := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	var configured *recorder
	configured = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/self":
			http.Redirect(w, r, "/away?leak=x", http.StatusFound)
		case "/away":
			http.Redirect(w, r, otherHost(other)+"/landed", http.StatusTemporaryRedirect)
		}
	})
	origin, err := OriginOf(configured.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	learner := New()
	base := &countingTransport{}
	cl := &http.Client{Transport: authorizing{next: &Guard{Base: base, Origin: origin, Headers: []string{"X-Api-Key"}, Learn: learner}}}
	resp, err := cl.Get(configured.srv.URL + "/self")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the redirect chain did not reach the other host: %d", resp.StatusCode)
	}
	for _, h := range configured.received() {
		if !strings.HasPrefix(h, "Bearer guarded-token|guarded-key|") {
			t.Errorf("the configured host received %q", h)
		}
	}
	if got := other.received(); len(got) != 1 || got[0] != "||" {
		t.Errorf("the other host received %q", got)
	}
	if got := learner.String("guarded-token"); got != Mask {
		t.Errorf("the Guard did not teach the Redactor the token it sent: %q", got)
	}
	(&Guard{Base: base}).CloseIdleConnections()
	if !base.closed {
		t.Error("CloseIdleConnections was not passed on")
	}
}

type countingTransport struct{ closed bool }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return http.DefaultTransport.RoundTrip(r)
}
func (c *countingTransport) CloseIdleConnections() { c.closed = true }

// The Guard never changes the caller's request.
func TestGuardDoesNotMutateTheRequest(t *testing.T) {
	origin, _ := OriginOf("http://configured.invalid")
	g := &Guard{Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Header.Get("Authorization") != "" || r.Header.Get("X-Tenant") != "" {
			t.Errorf("credentials went to %s", r.URL)
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	}), Origin: origin, Headers: []string{"X-Tenant"}}
	req, _ := http.NewRequest(http.MethodGet, "http://elsewhere.invalid/x", nil)
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("X-Tenant", "a")
	if _, err := g.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if req.Header.Get("Authorization") != "Bearer t" || req.Header.Get("X-Tenant") != "a" {
		t.Errorf("the caller's request was changed: %v", req.Header)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// KeepOnOrigin: a client that sets credentials on the request keeps them
// on the first request's origin, custom headers included (the HTTP client
// copies those everywhere), and stops after 10 redirects.
func TestKeepOnOrigin(t *testing.T) {
	other := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	configured := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/loop":
			http.Redirect(w, r, "/loop?token="+url.QueryEscape(r.Header.Get("Authorization")), http.StatusFound)
		case "/first":
			http.Redirect(w, r, "/second?q=1", http.StatusFound)
		case "/second":
			http.Redirect(w, r, otherHost(other)+"/landed", http.StatusFound)
		}
	})
	cl := &http.Client{CheckRedirect: KeepOnOrigin("X-Api-Key")}
	get := func(path string) error {
		req, _ := http.NewRequest(http.MethodGet, configured.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer on-request")
		req.Header.Set("X-Api-Key", "key-on-request")
		resp, err := cl.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get("/first"); err != nil {
		t.Fatal(err)
	}
	for _, h := range configured.received() {
		if !strings.HasPrefix(h, "Bearer on-request|key-on-request|") {
			t.Errorf("the configured host received %q", h)
		}
	}
	if got := other.received(); len(got) != 1 || got[0] != "||" {
		t.Errorf("the other host received %q", got)
	}
	err := get("/loop")
	var ue *url.Error
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "stopped after 10 redirects") {
		t.Fatalf("redirect loop: %v", err)
	}
	if clean := StripURLQuery(ue); strings.Contains(clean.Error(), "on-request") || !strings.Contains(clean.Error(), "/loop") {
		t.Errorf("StripURLQuery: %v", clean)
	}
}

func TestStripURLQuery(t *testing.T) {
	var ue *url.Error
	if err := StripURLQuery(&url.Error{Op: "Get", URL: "http://u:p@h/x?a=b#c", Err: errors.New("boom")}); !errors.As(err, &ue) || ue.URL != "http://h/x" || ue.Err.Error() != "boom" {
		t.Fatalf("StripURLQuery: %v", err)
	}
	plain := errors.New("plain")
	if StripURLQuery(plain) != plain {
		t.Error("a plain error changed")
	}
	if err := StripURLQuery(&url.Error{Op: "Get", URL: "http://h/%zz?a", Err: plain}); strings.Contains(err.Error(), "?a") {
		t.Errorf("unparsable URL kept: %v", err)
	}
}

func TestLooksSensitive(t *testing.T) {
	for h, want := range map[string]bool{"X-Api-Key": true, "Authorization": true, "X-Auth-Token": true, "Cookie": true,
		"X-Scope-OrgID": false, "Accept": false} {
		if LooksSensitive(h) != want {
			t.Errorf("%s: %v", h, !want)
		}
	}
}
