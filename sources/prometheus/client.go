package prometheus

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
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
	return &authTransport{
		base:      base,
		token:     c.BearerToken,
		tokenFile: c.BearerTokenFile,
		user:      c.Username,
		pass:      c.Password,
		headers:   c.Headers,
		maxBody:   DefaultMaxBodyBytes,
	}, nil
}

// authTransport adds credentials and headers to a clone of each request,
// refuses anything but reads of the query API, and bounds the body.
type authTransport struct {
	base      http.RoundTripper
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
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	switch {
	case t.tokenFile != "":
		b, err := os.ReadFile(t.tokenFile)
		if err != nil {
			// Name the setting, not the token.
			return nil, fmt.Errorf("prometheus: bearer_token_file: %w", err)
		}
		r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	case t.token != "":
		r.Header.Set("Authorization", "Bearer "+t.token)
	case t.user != "" || t.pass != "":
		r.SetBasicAuth(t.user, t.pass)
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", "perch")
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.maxBody}
	return resp, nil
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

// errBodyTooLarge is returned when a response exceeds the byte cap.
var errBodyTooLarge = errors.New("response body exceeds 64 MiB (too many series: narrow the query or lower max_series)")

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

// redactor removes secrets from error text (defence in depth: net/http
// already strips URL passwords, and credentials never go into URLs here).
type redactor []string

func newRedactor(c Config) redactor {
	var r redactor
	for _, s := range []string{c.BearerToken, c.Password} {
		if s != "" {
			r = append(r, s)
		}
	}
	if c.Username != "" || c.Password != "" {
		// The Authorization header a server might echo back.
		r = append(r, base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)))
	}
	if c.BearerTokenFile != "" {
		if b, err := os.ReadFile(c.BearerTokenFile); err == nil {
			if s := strings.TrimSpace(string(b)); s != "" {
				r = append(r, s)
			}
		}
	}
	for k, v := range c.Headers {
		if sensitiveHeader(k) && v != "" {
			r = append(r, v)
		}
	}
	return r
}

func sensitiveHeader(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"auth", "token", "key", "secret", "cookie", "password"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func (r redactor) string(s string) string {
	for _, secret := range r {
		s = strings.ReplaceAll(s, secret, "<redacted>")
	}
	return s
}

// wrap returns err with every secret replaced. errors.Is still sees the
// original chain; Unwrap does not expose it (its text holds the secret).
func (r redactor) wrap(err error) error {
	if err == nil || len(r) == 0 {
		return err
	}
	msg := err.Error()
	clean := r.string(msg)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
