package prometheus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/perch-dev/perch/sources/secret"
)

// timedOut words a deadline as the configured timeout; other errors are
// returned as they are, but for the query of a URL they quote: perch's
// own parameters there are PromQL, which QueryError shows anyway; after
// a redirect the query is the server's (secret.StripURLQuery).
func (s *Source) timedOut(err error) error {
	err = secret.StripURLQuery(err)
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &timeoutError{after: s.cfg.Timeout, err: err}
	}
	return err
}

// QueryError is a failed query: which one, its PromQL, and the server's
// (or transport's) error.
type QueryError struct {
	Name  string // family name or "override <metric>"
	Query string // the PromQL
	Err   error
}

func (e *QueryError) Error() string {
	detail := e.Err.Error()
	if c := cause(e.Err); c != "" {
		// The cause first, so a narrow header still shows it.
		if detail == c {
			return fmt.Sprintf("%s: query %s [PromQL: %s]", c, e.Name, abbreviate(e.Query, 400))
		}
		return fmt.Sprintf("%s: query %s: %s [PromQL: %s]", c, e.Name, strings.TrimPrefix(detail, c+": "), abbreviate(e.Query, 400))
	}
	return fmt.Sprintf("query %s: %s [PromQL: %s]", e.Name, detail, abbreviate(e.Query, 400))
}

// cause is a short name for what went wrong ("connection refused", "timed
// out after 2s", "HTTP 503"), or "" when none is known.
func cause(err error) string {
	var to *timeoutError
	var apiErr *v1.Error
	var ne net.Error
	var tooLarge *responseTooLargeError
	switch {
	case errors.As(err, &to):
		return to.short()
	case errors.As(err, &tooLarge):
		return tooLarge.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.As(err, &apiErr):
		var code int
		if _, e := fmt.Sscanf(apiErr.Msg, "server error: %d", &code); e == nil {
			return fmt.Sprintf("HTTP %d", code)
		}
		if _, e := fmt.Sscanf(apiErr.Msg, "client error: %d", &code); e == nil {
			return fmt.Sprintf("HTTP %d", code)
		}
		if m := strings.TrimSpace(apiErr.Msg); m != "" && !strings.ContainsAny(m, "\n") {
			return abbreviate(m, 60) // the server's own words ("too many queries in flight")
		}
		return string(apiErr.Type)
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return ""
}

// leadWithCause puts err's short cause before context text.
func leadWithCause(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if c := cause(err); c != "" {
		msg = c + ": " + msg
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// timeoutError says a call ran out of the configured timeout.
type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string { return e.short() + ": " + e.err.Error() }
func (e *timeoutError) short() string { return fmt.Sprintf("timed out after %s", e.after) }
func (e *timeoutError) Unwrap() error { return e.err }

func (e *QueryError) Unwrap() error { return e.Err }

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// describe turns a client error into text that carries the server's message.
func describe(err error) error {
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		msg := string(apiErr.Type) + ": " + apiErr.Msg
		if d := strings.TrimSpace(apiErr.Detail); d != "" && !strings.Contains(msg, d) {
			msg += ": " + abbreviate(strings.Join(strings.Fields(d), " "), 300)
		}
		return &serverError{msg: msg, err: err}
	}
	return err
}

type serverError struct {
	msg string
	err error
}

func (e *serverError) Error() string { return e.msg }
func (e *serverError) Unwrap() error { return e.err }
