package faultproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/leakcheck"
)

// TestTLS: a proxy that terminates TLS in front of an HTTPS server applies
// the HTTP modes, including to open streams, and forwards credentials.
func TestTLS(t *testing.T) {
	leakcheck.Verify(t)
	be := backend(t, true)
	roots := x509.NewCertPool()
	roots.AddCert(be.Certificate())
	// httptest's certificate is valid for 127.0.0.1, so the proxy can serve it too.
	serve := &tls.Config{Certificates: be.TLS.Certificates}
	if _, err := StartTLS(context.Background(), hostPort(t, be.URL), nil, nil); err == nil {
		t.Fatal("StartTLS without a certificate must fail")
	}
	p, err := StartTLS(context.Background(), hostPort(t, be.URL), serve, &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := p.URL(); got != "https://"+p.Addr() {
		t.Fatalf("URL = %s", got)
	}
	tlsClient := func(timeout time.Duration) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Timeout: timeout, Transport: tr}
	}
	cases := []struct {
		mode    Mode
		timeout time.Duration
		check   func(o outcome) bool
	}{
		{Healthy, 2 * time.Second, func(o outcome) bool { return o.status == 200 && bytes.Equal(o.body, payload) }},
		{Refuse, 2 * time.Second, func(o outcome) bool { return isRefused(o.err) }},
		{Reset, 2 * time.Second, func(o outcome) bool { return isReset(o.err) }},
		{Hang, 300 * time.Millisecond, func(o outcome) bool { return isTimeout(o.err) }},
		{Status(503), 2 * time.Second, func(o outcome) bool { return o.status == 503 }},
		{Garbage, 2 * time.Second, func(o outcome) bool { return o.status == 200 && !json.Valid(o.body) }},
		{Truncate, 2 * time.Second, func(o outcome) bool { return o.status == 200 && len(o.body) == len(payload)/2 }},
		{CutMidBody, 2 * time.Second, func(o outcome) bool { return o.status == 200 && o.bodyErr != nil }},
		{Healthy, 2 * time.Second, func(o outcome) bool { return o.status == 200 && bytes.Equal(o.body, payload) }},
	}
	for _, tc := range cases {
		set(t, p, tc.mode)
		o := get(tlsClient(tc.timeout), p.URL()+"/json")
		t.Logf("tls %s: %s", tc.mode, o)
		if !tc.check(o) {
			t.Errorf("tls %s: unexpected %s", tc.mode, o)
		}
	}

	t.Run("headers reach the server", func(t *testing.T) {
		set(t, p, Healthy)
		req, _ := http.NewRequest(http.MethodGet, p.URL()+"/headers", nil)
		req.Header.Set("Authorization", "Bearer tls-secret")
		resp, err := tlsClient(2 * time.Second).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h http.Header
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Get("Authorization") != "Bearer tls-secret" {
			t.Fatalf("server saw %v, %v", h, err)
		}
		if resp.ProtoMajor != 1 {
			t.Errorf("proxy spoke %s, want HTTP/1.1", resp.Proto)
		}
	})

	t.Run("open stream is cut", func(t *testing.T) {
		set(t, p, Healthy)
		br, done := stream(t, tlsClient(0), context.Background(), p.URL())
		defer done()
		set(t, p, CutMidBody)
		if _, err := readFor(br, 2*time.Second); err == nil {
			t.Fatal("the stream kept going after CutMidBody")
		}
	})
}
