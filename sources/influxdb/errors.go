package influxdb

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strings"
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

// Error names the query and, when the query itself may be at fault (the
// server rejected it, or it ran too long), shows its Flux.
func (e *QueryError) Error() string {
	if errors.Is(e.Err, ErrQuery) || errors.Is(e.Err, ErrTimeout) {
		return fmt.Sprintf("query %s: %v [Flux: %s]", e.Name, e.Err, abbreviate(oneLine(e.Query), 600))
	}
	return fmt.Sprintf("query %s: %v", e.Name, e.Err)
}

func (e *QueryError) Unwrap() error { return e.Err }

// serverError carries the server's message and a classification.
type serverError struct {
	msg  string
	kind error // one of the sentinels, or nil
	err  error
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
	if errors.Is(err, context.DeadlineExceeded) || (ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)) {
		return &serverError{msg: fmt.Sprintf("timed out after %s (raise timeout, or narrow window/inventory)", timeout), kind: ErrTimeout, err: err}
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
	if errors.Is(err, errBodyTooLarge) {
		return err
	}
	return classify(err.Error(), http.StatusOK, bucket, err)
}

// classify maps a status and the server's message to a clear error.
func classify(msg string, status int, bucket string, err error) error {
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
