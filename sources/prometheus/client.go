package prometheus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/perch-dev/perch/sources/secret"
)

// newTransport builds the HTTP round tripper: TLS, auth, extra headers,
// read-only guard and a cap on response bodies.
func newTransport(c Config) (http.RoundTripper, error) {
	tlsCfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: c.TLS.InsecureSkipVerify, //nolint:gosec // opt-in from config
		ServerName:         c.TLS.ServerName,
	}
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("prometheus: tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("prometheus: tls.ca_file holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			// The error may quote the files' paths, never key material.
			return nil, fmt.Errorf("prometheus: tls client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	backstop := c.Timeout + 2*roundMargin(c.Timeout)
	base := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		// The caller's context (the configured timeout) bounds every call
		// and says "timed out after <timeout>"; these backstops fire
		// later, so the transport's own wording never wins the race.
		DialContext: (&net.Dialer{
			Timeout:   backstop,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   backstop,
		ResponseHeaderTimeout: backstop,
		MaxIdleConnsPerHost:   c.MaxConcurrency,
		IdleConnTimeout:       90 * time.Second,
	}
	origin, err := secret.OriginOf(c.URL)
	if err != nil {
		return nil, errors.New("prometheus: url must be an absolute http:// or https:// URL")
	}
	// Credentials and the configured headers go to the configured server
	// only: the Guard strips them off a redirect elsewhere (which the HTTP
	// client follows, calling this transport again) and off a downgrade
	// from https to http.
	headers := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		headers = append(headers, k)
	}
	return &authTransport{
		base:      &secret.Guard{Base: base, Origin: origin, Headers: headers},
		token:     c.BearerToken,
		tokenFile: c.BearerTokenFile,
		user:      c.Username,
		pass:      c.Password,
		headers:   c.Headers,
		maxBody:   c.MaxResponseBytes,
	}, nil
}

// authTransport adds credentials and headers to a clone of each request
// to the configured server, refuses anything but reads of the query API,
// and bounds the body.
type authTransport struct {
	base      http.RoundTripper // ends in a secret.Guard
	token     string
	tokenFile string
	user      string
	pass      string
	headers   map[string]string
	maxBody   int64
}

// readOnlyPaths are the API endpoints perch calls. client_golang sends
// queries as POST form bodies (falling back to GET), which are reads.
var readOnlyPaths = []string{"/api/v1/query", "/api/v1/query_range", "/api/v1/label/", "/api/v1/labels", "/api/v1/series", "/api/v1/status/buildinfo", "/-/ready", "/-/healthy"}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isReadOnly(req) {
		return nil, fmt.Errorf("prometheus: refusing %s %s: perch only reads", req.Method, req.URL.Path)
	}
	r := req.Clone(req.Context())
	if err := t.authorize(r); err != nil {
		return nil, err
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", "perch")
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.maxBody, limit: t.maxBody}
	return resp, nil
}

// authorize sets the configured headers and credentials on r.
func (t *authTransport) authorize(r *http.Request) error {
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	switch {
	case t.tokenFile != "":
		b, err := os.ReadFile(t.tokenFile)
		if err != nil {
			// Name the setting, not the token.
			return fmt.Errorf("prometheus: bearer_token_file: %w", err)
		}
		r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	case t.token != "":
		r.Header.Set("Authorization", "Bearer "+t.token)
	case t.user != "" || t.pass != "":
		r.SetBasicAuth(t.user, t.pass)
	}
	return nil
}

func isReadOnly(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		return false
	}
	p := req.URL.Path
	for _, ok := range readOnlyPaths {
		if strings.HasSuffix(ok, "/") {
			if strings.Contains(p, ok) {
				return true
			}
			continue
		}
		if strings.HasSuffix(p, ok) {
			return true
		}
	}
	return false
}

// responseTooLargeError says an answer went past max_response_bytes.
type responseTooLargeError struct{ limit int64 }

func (e *responseTooLargeError) Error() string {
	return fmt.Sprintf("answer exceeds %s (max_response_bytes)", formatBytes(e.limit))
}

// formatBytes writes a byte count the way it is usually configured.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitedBody fails reads past the cap, so neither a decoder nor an
// error page can hold more than max_response_bytes of an answer.
type limitedBody struct {
	rc    io.ReadCloser
	left  int64
	limit int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, &responseTooLargeError{limit: l.limit}
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }
