package jaeger

import (
	"bufio"
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

	"github.com/perch-dev/perch/sources/secret"
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
	red     *secret.Redactor // the token out of server messages (secrets.go)
	timeout time.Duration
	maxBody int64
	// maxSpans caps the spans decoded from one answer (0: no cap).
	maxSpans int
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
		base: c.URL, http: &http.Client{Transport: guardCredentials(c, tr)}, token: c.BearerToken, file: c.TokenFile, red: newRedactor(c),
		timeout: c.Timeout, maxBody: DefaultMaxBodyBytes, maxSpans: c.MaxSpans,
	}, nil
}

// get fetches path?query and decodes the JSON body into v (a *v1Response
// or *v3Response as a stream, up to maxSpans spans). Errors name the
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
	token := c.token
	if c.file != "" {
		b, err := os.ReadFile(c.file)
		if err != nil {
			return fmt.Errorf("jaeger: token_file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, c.transportError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		// Gateways and debug pages quote the request, token included.
		msg := c.red.String(serverMessage(body))
		return fmt.Errorf("GET %s: %w", path, &StatusError{Code: resp.StatusCode, Msg: msg})
	}
	body := &cappedReader{r: resp.Body, left: c.maxBody}
	br := bufio.NewReader(body)
	if head, _ := br.Peek(64); looksLikeHTML(head) {
		return fmt.Errorf("GET %s: %w", path, errHTMLPage)
	}
	dec := json.NewDecoder(br)
	switch v := v.(type) {
	case *v1Response:
		err = decodeV1(dec, c.maxSpans, v)
	case *v3Response:
		err = decodeV3(dec, c.maxSpans, v)
	default:
		err = dec.Decode(v)
	}
	var tooMany *tooManySpansError
	switch {
	case err == nil:
		return nil
	case body.exceeded:
		return fmt.Errorf("GET %s: %w", path, &tooLargeError{max: c.maxBody})
	case errors.As(err, &tooMany):
		return fmt.Errorf("GET %s: %w", path, err)
	case ctx.Err() != nil:
		return fmt.Errorf("GET %s: %w", path, &timeoutError{after: c.timeout, reading: true, err: err})
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("GET %s: %w: %w", path, errCutShort, io.ErrUnexpectedEOF)
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, errWrongShape) {
		return fmt.Errorf("GET %s: %w: %w", path, errNotJSON, err)
	}
	return fmt.Errorf("GET %s: reading the answer: %w", path, c.transportError(err))
}

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 64 << 10

// errCutShort is an answer that ends before its JSON does.
var errCutShort = errors.New("the answer was cut short")

// errHTMLPage is a web page where JSON belongs: older Jaeger UIs answer
// unknown API paths with their index.html (so the v3 API is missing).
var errHTMLPage = fmt.Errorf("%w: an HTML page", errNotJSON)

func looksLikeHTML(head []byte) bool {
	s := strings.ToLower(strings.TrimSpace(string(head)))
	return strings.HasPrefix(s, "<!doctype html") || strings.HasPrefix(s, "<html")
}

// tooLargeError is an answer over the body cap.
type tooLargeError struct{ max int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("answer larger than %d MiB (lower search_depth or the limit)", e.max>>20)
}

// cappedReader fails once more than left bytes are read.
type cappedReader struct {
	r        io.Reader
	left     int64
	exceeded bool
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		c.exceeded = true
		return 0, errors.New("body cap reached")
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		c.exceeded = true
		return n, errors.New("body cap reached")
	}
	return n, err
}

// timeoutError is a call that ran out of the configured timeout, worded
// the same whether the context or the transport's header timeout fired.
type timeoutError struct {
	after   time.Duration
	reading bool // the answer had started
	err     error
}

func (e *timeoutError) Error() string {
	if e.reading {
		return fmt.Sprintf("timed out after %s while reading the answer", e.after)
	}
	return fmt.Sprintf("timed out after %s", e.after)
}

func (e *timeoutError) Unwrap() error { return e.err }

// transportError drops *url.Error's "Get "URL": " prefix (the caller
// names the endpoint already) and words timeouts as the timeout.
func (c *client) transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &timeoutError{after: c.timeout, err: err}
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
