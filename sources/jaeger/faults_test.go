package jaeger

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
)

// TestEchoedTokenIsRedacted: a gateway that quotes the request in its
// error page quotes the Authorization header too. Before, the first 200
// characters of such a page went into the error, token included, and the
// header and the traces page showed it.
func TestEchoedTokenIsRedacted(t *testing.T) {
	const token = "tok-3f9b04-secret"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "401 Unauthorized\nGET %s\nAuthorization: %s\n", r.URL.Path, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	s := newSource(t, srv.URL, func(c *Config) { c.BearerToken, c.API = token, APIV3 })
	_, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID})
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "<redacted>") {
		t.Fatalf("want the echoed token redacted: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "jaeger: HTTP 401: searching traces of payments") {
		t.Fatalf("want the cause first: %v", err)
	}
}

// TestCutAnswers: an answer that stops before its JSON ends says so,
// whether the body was framed short or the connection dropped.
func TestCutAnswers(t *testing.T) {
	full := `{"result":{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{"traceId":"01","spanId":"02","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		half := full[:len(full)/2]
		w.Header().Set("Content-Length", fmt.Sprint(len(half)))
		io.WriteString(w, half)
	}))
	defer srv.Close()
	s := newSource(t, srv.URL, func(c *Config) { c.API = APIV3 })
	_, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID})
	if err == nil || !strings.HasPrefix(err.Error(), "jaeger: answer cut short: ") || strings.Contains(err.Error(), "is the url") {
		t.Fatalf("want a cut answer named as such, not as a wrong URL: %v", err)
	}
}

// TestGarbageDoesNotPickTheAPI: a garbled answer to the v3 probe is an
// error, retried later, not proof that the server only speaks v1. Before,
// any answer that did not decode made the source use v1 for good.
func TestGarbageDoesNotPickTheAPI(t *testing.T) {
	var garbled atomic.Bool
	garbled.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if garbled.Load() {
			w.Write([]byte{0x8f, 0x01, 0xff, '{', 0x00})
			return
		}
		if r.URL.Path == "/api/v3/services" {
			io.WriteString(w, `{"services":["payments"]}`)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	s := newSource(t, srv.URL)
	if api, err := s.API(context.Background()); err == nil || !strings.Contains(err.Error(), "not the expected JSON") {
		t.Fatalf("garbage: api %q, err %v", api, err)
	}
	garbled.Store(false)
	if api, err := s.API(context.Background()); err != nil || api != APIV3 {
		t.Fatalf("after the garbage: api %q, err %v; want v3", api, err)
	}
}

// TestBodyCap: an answer over the byte cap is dropped with an error
// naming the cap (the cap is lowered here; it is 64 MiB).
func TestBodyCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// One span with a 2 MB attribute: few spans, many bytes.
		fmt.Fprintf(w, `{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01","spanId":"02","attributes":[{"key":"k","value":{"stringValue":"%s"}}]}]}]}]}}`,
			strings.Repeat("x", 2<<20))
	}))
	defer srv.Close()
	s := newSource(t, srv.URL, func(c *Config) { c.API = APIV3 })
	s.cl.maxBody = 1 << 20
	_, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID})
	if err == nil || !strings.HasPrefix(err.Error(), "jaeger: answer larger than 1 MiB: ") {
		t.Fatalf("want the body cap named: %v", err)
	}
}

// TestTimeoutsAreWordedAsTheTimeout: the transport's response-header
// timeout and the context's deadline are the same timeout.
func TestTimeoutsAreWordedAsTheTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s := newSource(t, srv.URL, func(c *Config) { c.API = APIV3; c.Timeout = 200 * time.Millisecond })
	for range 3 {
		_, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID})
		if err == nil || !strings.HasPrefix(err.Error(), "jaeger: timed out after 200ms: ") || strings.Contains(err.Error(), "awaiting response headers") {
			t.Fatalf("hang: %v", err)
		}
	}
}
