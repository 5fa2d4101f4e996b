package influxdb

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
)

// newHTTPClient builds the HTTP client the InfluxDB client library uses:
// TLS, the token (re-read from token_file on every request), a read-only
// guard and a cap on response bodies. Timeouts come from each query's
// context.
func newHTTPClient(c Config) (*http.Client, error) {
	tlsCfg, err := tlsConfig(c.TLS)
	if err != nil {
		return nil, err
	}
	base := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   c.Timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   c.Timeout,
		ResponseHeaderTimeout: c.Timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{Transport: &authTransport{
		base:      base,
		token:     c.Token,
		tokenFile: c.TokenFile,
		maxBody:   DefaultMaxBodyBytes,
	}}, nil
}

// tlsConfig loads the CA and client certificate files.
func tlsConfig(t TLSConfig) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in from config
		ServerName:         t.ServerName,
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, &ConfigError{Key: "tls.ca_file", Msg: err.Error()}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, cfgErr("tls.ca_file", "holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			// The error may quote the files' paths, never key material.
			return nil, &ConfigError{Key: "tls.cert_file", Msg: "client certificate: " + err.Error()}
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// authTransport sets the token on a clone of each request, refuses
// anything but the read endpoints and bounds the body.
type authTransport struct {
	base      http.RoundTripper
	token     string
	tokenFile string
	maxBody   int64
}

// readOnly lists the endpoints the source calls: Flux queries (a POST
// that only reads) and the health probes.
func readOnly(req *http.Request) bool {
	p := req.URL.Path
	switch req.Method {
	case http.MethodPost:
		return strings.HasSuffix(p, "/api/v2/query")
	case http.MethodGet, http.MethodHead:
		return strings.HasSuffix(p, "/ping") || strings.HasSuffix(p, "/health")
	}
	return false
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !readOnly(req) {
		return nil, fmt.Errorf("influxdb: refusing %s %s: the source only reads", req.Method, req.URL.Path)
	}
	r := req.Clone(req.Context())
	token := t.token
	if t.tokenFile != "" {
		b, err := os.ReadFile(t.tokenFile)
		if err != nil {
			// Name the setting, not the token.
			return nil, fmt.Errorf("influxdb: token_file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token != "" {
		// 2.x API tokens and 1.8's "user:password" both travel as "Token ...".
		r.Header.Set("Authorization", "Token "+token)
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode == http.StatusOK && req.Method == http.MethodPost &&
		ct != "" && !strings.Contains(ct, "csv") {
		// A login page or some other API: the CSV reader would read it as
		// an empty result and the dashboard would say "no data".
		resp.Body.Close()
		return nil, fmt.Errorf("unexpected %s response to a Flux query (is the URL an InfluxDB server, not a proxy or UI?)", ct)
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.maxBody}
	return resp, nil
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

// redactor removes secrets from error text (defence in depth: tokens only
// travel in headers, which never reach an error).
type redactor []string

func newRedactor(c Config) redactor {
	var r redactor
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		r = append(r, s)
		// 1.8's "user:password": the password alone is a secret too.
		if _, pass, ok := strings.Cut(s, ":"); ok && len(pass) >= 4 {
			r = append(r, pass)
		}
	}
	add(c.Token)
	if c.TokenFile != "" {
		if b, err := os.ReadFile(c.TokenFile); err == nil {
			add(string(b))
		}
	}
	return r
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
