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
		base:      guardCredentials(c, base),
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
		return nil, fmt.Errorf("%w: unexpected %s response to a Flux query (is the URL an InfluxDB server, not a proxy or UI?)", errNotFlux, ct)
	}
	// The client library asks for gzip and inflates the body itself, past
	// this transport: a compressed stream that stops early fails in gzip,
	// so only identity-encoded answers need the end-of-answer check.
	enc := resp.Header.Get("Content-Encoding")
	resp.Body = &limitedBody{rc: resp.Body, left: t.maxBody,
		flux: resp.StatusCode == http.StatusOK && req.Method == http.MethodPost && (enc == "" || strings.EqualFold(enc, "identity"))}
	return resp, nil
}

// errNotFlux is a 200 answer to a query that is not annotated CSV.
var errNotFlux = errors.New("not a Flux answer")

// errBodyTooLarge is returned when a response exceeds the byte cap.
var errBodyTooLarge = errors.New("response body exceeds 64 MiB (too many series: narrow the query or lower max_series)")

// errTruncated is returned at the end of a Flux answer that stops in the
// middle: InfluxDB ends every answer (an empty one too) with an empty
// line, so one that does not was cut short on the way, and the rows it
// holds would read as a complete but smaller result.
var errTruncated = errors.New("the answer ends in the middle of a table (cut short by the server or a proxy)")

// limitedBody bounds a body and, for Flux answers, checks that it ends
// with the empty line every complete answer ends with.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	flux bool
	read int64
	tail [4]byte // the last bytes read
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
	if l.flux {
		l.remember(p[:n])
		if err == io.EOF && l.read > 0 && !endsWithEmptyLine(l.tail[len(l.tail)-int(min(l.read, int64(len(l.tail)))):]) {
			err = errTruncated
		}
	}
	return n, err
}

func (l *limitedBody) remember(b []byte) {
	l.read += int64(len(b))
	if len(b) >= len(l.tail) {
		copy(l.tail[:], b[len(b)-len(l.tail):])
		return
	}
	copy(l.tail[:], l.tail[len(b):])
	copy(l.tail[len(l.tail)-len(b):], b)
}

// endsWithEmptyLine: the text ends with a line break that follows
// another one (or is only a line break): "\r\n\r\n", "\n\n", "\r\n".
func endsWithEmptyLine(tail []byte) bool {
	s := string(tail)
	s, ok := strings.CutSuffix(s, "\n")
	if !ok {
		return false
	}
	s = strings.TrimSuffix(s, "\r")
	return s == "" || strings.HasSuffix(s, "\n")
}

func (l *limitedBody) Close() error { return l.rc.Close() }
