package influxdb

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// Errors to test with errors.Is.
var (
	// ErrUnauthorized: the server refused the token (HTTP 401/403).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrBucketNotFound: the bucket (or 1.8 database) does not exist.
	ErrBucketNotFound = errors.New("bucket not found")
	// ErrQuery: the server rejected or failed the Flux query.
	ErrQuery = errors.New("flux query failed")
	// ErrTimeout: a query did not finish within the timeout.
	ErrTimeout = errors.New("timed out")
	// ErrNoData: the bucket has none of the presets' data in the inventory window.
	ErrNoData = errors.New("no function data")
	// ErrNoPresets: no known measurement in the bucket and no overrides.
	ErrNoPresets = errors.New("no known measurements in the bucket")
	// ErrPartial marks an Update.Err whose round still delivered data
	// (one family failed, or a result was capped at max_series).
	ErrPartial = errors.New("partial result")
)

// QueryError is a failed query: which one, its Flux, and the server's (or
// transport's) error.
type QueryError struct {
	Name  string // family name, e.g. "invocations latency", or "override latency_p95"
	Query string // the Flux
	Err   error
}

// Error leads with a short cause (so a narrow header still shows it),
// names the query and, when the query itself may be at fault (the server
// rejected it, or it ran too long), shows its Flux.
func (e *QueryError) Error() string {
	detail := e.Err.Error()
	prefix := ""
	if c := cause(e.Err); c != "" {
		prefix = c + ": "
		// "HTTP 401: query x: Unauthorized: …", not "HTTP 401: query x: HTTP 401 Unauthorized: …".
		if rest, ok := strings.CutPrefix(detail, c); ok && (rest == "" || strings.HasPrefix(rest, ": ") || strings.HasPrefix(rest, " ")) {
			detail = strings.TrimLeft(rest, ": ")
		}
	}
	head := prefix + "query " + e.Name
	if detail != "" {
		head += ": " + detail
	}
	if errors.Is(e.Err, ErrQuery) || errors.Is(e.Err, ErrTimeout) {
		return fmt.Sprintf("%s [Flux: %s]", head, abbreviate(oneLine(e.Query), 600))
	}
	return head
}

// cause is a short name for what went wrong ("connection refused",
// "timed out after 2s", "HTTP 503"), or "" when the error's own text is
// short enough.
func cause(err error) string {
	var se *serverError
	var ne net.Error
	switch {
	case errors.Is(err, ErrTimeout) && errors.As(err, &se):
		c, _, _ := strings.Cut(se.msg, ": ")
		return c
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, errTruncated):
		return "answer cut short"
	case errors.Is(err, errNotFlux):
		return "not a Flux answer"
	case errors.Is(err, errMalformed):
		return "malformed answer"
	case errors.Is(err, errBodyTooLarge):
		return "response body exceeds 64 MiB"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.As(err, &se) && se.status >= 300:
		return fmt.Sprintf("HTTP %d", se.status)
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return ""
}

func (e *QueryError) Unwrap() error { return e.Err }

// errMalformed is an answer the CSV reader could not parse (cut in the
// middle of a row, or not Flux at all).
var errMalformed = errors.New("malformed answer")

// serverError carries the server's message and a classification.
type serverError struct {
	msg    string
	kind   error // one of the sentinels, or nil
	status int   // the HTTP status, 0 when none applies
	err    error
}

func (e *serverError) Error() string { return e.msg }
func (e *serverError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.err}
	}
	return []error{e.err}
}

// describe turns a transport or HTTP error of the client into text that
// carries the server's message and says what to do about the common ones.
func describe(ctx context.Context, err error, bucket string, timeout time.Duration) error {
	if err == nil {
		return nil
	}
	// The transport's response-header timeout is the same timeout: it must
	// not be worded differently when it fires a moment before the context.
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)) ||
		errors.As(err, &ne) && ne.Timeout() {
		return &serverError{msg: fmt.Sprintf("timed out after %s: raise timeout, or narrow window/inventory", timeout), kind: ErrTimeout, err: err}
	}
	var he *http2.Error
	if !errors.As(err, &he) || he.StatusCode == 0 {
		return err // transport: connection refused, TLS, DNS... already clear
	}
	// 1.8 puts its message in a header (and a CSV body); 2.x in JSON.
	msg := strings.TrimSpace(he.Header.Get("X-Influxdb-Error"))
	if msg == "" {
		msg = csvErrorMessage(strings.TrimSpace(he.Message))
	}
	if msg == "" && he.Err != nil {
		msg = he.Err.Error()
	}
	return classify(msg, he.StatusCode, bucket, err)
}

// describeInBand classifies an error the server reported inside a 200
// response (a Flux runtime error) or a malformed body.
func describeInBand(err error, bucket string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, errBodyTooLarge) || errors.Is(err, errTruncated) || errors.Is(err, io.ErrUnexpectedEOF) {
		return err // the transport's or perch's words, not the server's
	}
	if msg := err.Error(); strings.HasPrefix(msg, "parsing error") {
		// The client could not read the CSV: not the server's words.
		return &serverError{msg: "malformed answer: " + msg, kind: errMalformed, err: err}
	}
	return classify(err.Error(), http.StatusOK, bucket, err)
}

// classify maps a status and the server's message to a clear error.
func classify(msg string, status int, bucket string, err error) error {
	se := classifyStatus(msg, status, bucket, err)
	se.status = status
	return se
}

func classifyStatus(msg string, status int, bucket string, err error) *serverError {
	// One line: error pages (and gateways quoting the request) span many,
	// and the error is shown in a one-line header.
	msg = oneLine(msg)
	lower := strings.ToLower(msg)
	notFound := strings.Contains(lower, "could not find bucket") || strings.Contains(lower, "bucket not found") ||
		strings.Contains(lower, "database not found") || strings.Contains(lower, "no database") || (status == http.StatusNotFound && strings.Contains(lower, "bucket"))
	with := func(text string) string {
		if msg != "" {
			return text + ": server said: " + abbreviate(msg, 600)
		}
		return text
	}
	switch {
	case strings.Contains(lower, "flux query service disabled"):
		return &serverError{msg: with("Flux is disabled on the server (1.8: set flux-enabled = true in [http])"), kind: ErrQuery, err: err}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &serverError{msg: with(fmt.Sprintf("HTTP %d %s: the server refused the token (2.x: an API token that can read the bucket; 1.8: \"user:password\")",
			status, http.StatusText(status))), kind: ErrUnauthorized, err: err}
	case notFound:
		return &serverError{msg: with(fmt.Sprintf("bucket %q not found (on 1.8 the bucket is database/retention-policy)", bucket)), kind: ErrBucketNotFound, err: err}
	case status == http.StatusNotFound:
		return &serverError{msg: with("HTTP 404 Not Found: is this an InfluxDB 2.x server, or 1.8+ with flux-enabled = true?"), err: err}
	case status == http.StatusOK || status == http.StatusBadRequest || status == http.StatusInternalServerError:
		if msg == "" {
			msg = fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
		}
		return &serverError{msg: "server error: " + abbreviate(msg, 600), kind: ErrQuery, err: err}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &serverError{msg: fmt.Sprintf("HTTP %d: %s", status, abbreviate(msg, 600)), err: err}
}

// csvErrorMessage extracts the message of a Flux error table
// ("error,reference" header, then the quoted message); other text is
// returned as it is.
func csvErrorMessage(body string) string {
	if !strings.HasPrefix(body, "error") {
		return body
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) < 2 || len(recs[1]) == 0 {
		return body
	}
	return strings.TrimSpace(recs[1][0])
}
