package jaeger

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
)

// errNotJSON marks an answer that does not decode (an HTML page, a proxy's
// error, another API).
var errNotJSON = errors.New("the answer is not the expected JSON (is the url a Jaeger query service?)")

// StatusError is a non-2xx answer of the query service.
type StatusError struct {
	Code int    // HTTP status
	Msg  string // the server's message, shortened
}

func (e *StatusError) Error() string {
	text := http.StatusText(e.Code)
	if e.Msg == "" {
		return fmt.Sprintf("HTTP %d %s", e.Code, text)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Code, text, e.Msg)
}

// client does GETs against the query service: credentials, TLS, a
// timeout per call and a cap on response bodies.
type client struct {
	base    string
	http    *http.Client
	token   string
	file    string
	timeout time.Duration
	maxBody int64
}

func newClient(c Config) (*client, error) {
	tlsCfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: c.TLS.InsecureSkipVerify, //nolint:gosec // opt-in from config
		ServerName:         c.TLS.ServerName,
	}
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("jaeger: tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("jaeger: tls.ca_file holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("jaeger: tls client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: c.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   c.Timeout,
		ResponseHeaderTimeout: c.Timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &client{
		base: c.URL, http: &http.Client{Transport: tr}, token: c.BearerToken, file: c.TokenFile,
		timeout: c.Timeout, maxBody: DefaultMaxBodyBytes,
	}, nil
}

// get fetches path?query and decodes the JSON body into v. Errors name the
// endpoint, never a credential; a non-2xx answer is a *StatusError.
func (c *client) get(ctx context.Context, path string, query url.Values, v any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "perch")
	switch {
	case c.file != "":
		b, err := os.ReadFile(c.file)
		if err != nil {
			return fmt.Errorf("jaeger: token_file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return fmt.Errorf("GET %s: reading the answer: %w", path, err)
	}
	if int64(len(body)) > c.maxBody {
		return fmt.Errorf("GET %s: answer larger than %d MiB (lower search_depth or the limit)", path, c.maxBody>>20)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: %w", path, &StatusError{Code: resp.StatusCode, Msg: serverMessage(body)})
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w: %w", path, errNotJSON, err)
	}
	return nil
}

// unwrapURLError drops *url.Error's "Get "URL": " prefix: the caller
// names the endpoint already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if errors.Is(ue.Err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer within the timeout: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// serverMessage extracts the message of an error answer: Jaeger v1
// ({"errors":[{"msg"}]}), v3 ({"error":{"message"}}) or plain text, in
// one short printable line.
func serverMessage(body []byte) string {
	var v1 struct {
		Errors []struct {
			Msg string `json:"msg"`
		} `json:"errors"`
	}
	var v3 struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := ""
	switch {
	case json.Unmarshal(body, &v1) == nil && len(v1.Errors) > 0:
		var parts []string
		for _, e := range v1.Errors {
			parts = append(parts, e.Msg)
		}
		msg = strings.Join(parts, "; ")
	case json.Unmarshal(body, &v3) == nil && v3.Error.Message != "":
		msg = v3.Error.Message
	default:
		msg = string(body)
	}
	msg = strings.Join(strings.FieldsFunc(msg, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return msg
}
