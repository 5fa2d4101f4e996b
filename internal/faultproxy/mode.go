package faultproxy

import (
	"fmt"
	"strings"
	"time"
)

type kind uint8

const (
	kindHealthy kind = iota
	kindRefuse
	kindReset
	kindHang
	kindSlow
	kindStatus
	kindCut
	kindGarbage
	kindTruncate
	kindHuge
	kindEcho
)

// Mode is one behaviour of the proxy. The zero Mode is Healthy. Modes are
// values: build them with the variables and functions below and switch
// with Proxy.Set.
type Mode struct {
	kind        kind
	delay       time.Duration // Slow
	code        int           // Status
	contentType string        // Status
	body        string        // Status
	after       int64         // CutMidBody: bytes let through, 0 = half
	huge        Body          // Huge
	path        string        // HTTP only: requests whose path starts with it
	text        string        // HTTP only: requests whose query or body contains it
}

// Modes that need no parameter.
var (
	// Healthy forwards everything unchanged.
	Healthy = Mode{kind: kindHealthy}
	// Refuse closes the listening socket (clients get ECONNREFUSED) and
	// resets every open connection, like a crashed server. The port is
	// bound again when the proxy leaves Refuse.
	Refuse = Mode{kind: kindRefuse}
	// Reset accepts connections and resets them at once (ECONNRESET), like
	// a server whose accept queue is full or a firewall sending RST. Open
	// connections are reset too. With OnPath, only matching requests are.
	Reset = Mode{kind: kindReset}
	// Hang accepts and reads but never answers, like a black-holed network
	// or a wedged server. Open connections go silent too. A connection that
	// hung stays hung after the proxy recovers (as a half-open TCP
	// connection does); only new connections see the recovery, so a client
	// without a timeout waits forever, which is what the tests look for.
	Hang = Mode{kind: kindHang}
	// CutMidBody forwards the response headers and half of the body, then
	// closes the connection (the client sees an unexpected EOF). On a TCP
	// proxy it forwards half of the next chunk the server sends on each
	// connection, then resets it. CutAfter sets the byte count.
	CutMidBody = Mode{kind: kindCut}
	// Garbage answers 200 with valid headers (Content-Type:
	// application/json) and 4 KiB of random bytes. HTTP only.
	Garbage = Mode{kind: kindGarbage}
	// Truncate answers with the real status and headers and the first half
	// of the real body, correctly framed (Content-Length matches), so the
	// transport succeeds and the decoder fails. HTTP only.
	Truncate = Mode{kind: kindTruncate}
)

// Slow delays every response by d (HTTP: before the request is forwarded;
// TCP: before each chunk the server sends). Open streams slow down too.
// A request waiting out its delay continues as soon as the proxy switches
// to another mode.
func Slow(d time.Duration) Mode { return Mode{kind: kindSlow, delay: d} }

// Status answers every request with code and a short text body, without
// asking the server. HTTP only.
func Status(code int) Mode {
	return Mode{kind: kindStatus, code: code, contentType: "text/plain; charset=utf-8",
		body: fmt.Sprintf("faultproxy: injected %d\n", code)}
}

// Respond answers every request with code, content type and body, e.g. a
// JSON error document in the server's own format. HTTP only.
func Respond(code int, contentType, body string) Mode {
	return Mode{kind: kindStatus, code: code, contentType: contentType, body: body}
}

// Echo answers every request with code and a text body quoting the
// request line and headers, credentials included, as some gateways and
// debug endpoints do: a client must not repeat such a body verbatim in
// its errors. HTTP only.
func Echo(code int) Mode { return Mode{kind: kindEcho, code: code} }

// CutAfter is CutMidBody after exactly n bytes of each response body (HTTP,
// at most all but the last byte when the length is known) or of each
// connection's server stream from the moment the mode is set (TCP, e.g.
// past a TLS handshake).
func CutAfter(n int64) Mode { return Mode{kind: kindCut, after: max(n, 0)} }

// Huge answers 200 with the body b generates, streamed (chunked) so the
// proxy itself holds no more than a buffer. HTTP only.
func Huge(b Body) Mode { return Mode{kind: kindHuge, huge: b} }

// OnPath restricts an HTTP mode to requests whose URL path starts with
// prefix; other requests are forwarded unchanged. Connection-level modes
// (Refuse, and Hang or Reset on a TCP proxy) ignore it.
func (m Mode) OnPath(prefix string) Mode {
	m.path = prefix
	return m
}

// OnRequestText restricts an HTTP mode to requests whose URL query or
// body (its first MiB, raw or URL-decoded) contains s, e.g. one PromQL
// metric name, to fail some queries of a round and not others. Other
// requests are forwarded unchanged.
func (m Mode) OnRequestText(s string) Mode {
	m.text = s
	return m
}

// httpOnly reports whether the mode needs to understand HTTP.
func (m Mode) httpOnly() bool {
	switch m.kind {
	case kindStatus, kindGarbage, kindTruncate, kindHuge, kindEcho:
		return true
	}
	return m.path != "" || m.text != ""
}

// filtered reports whether the mode covers only some requests.
func (m Mode) filtered() bool { return m.path != "" || m.text != "" }

// appliesTo reports whether the mode covers a request.
func (m Mode) appliesTo(r reqInfo) bool {
	return strings.HasPrefix(r.path, m.path) && (m.text == "" || strings.Contains(r.text, m.text))
}

// String names the mode for test tables and failure messages.
func (m Mode) String() string {
	var s string
	switch m.kind {
	case kindHealthy:
		s = "healthy"
	case kindRefuse:
		s = "refuse"
	case kindReset:
		s = "reset"
	case kindHang:
		s = "hang"
	case kindSlow:
		s = "slow " + m.delay.String()
	case kindStatus:
		s = fmt.Sprintf("status %d", m.code)
	case kindCut:
		s = "cut mid-body"
		if m.after > 0 {
			s = fmt.Sprintf("cut after %d B", m.after)
		}
	case kindGarbage:
		s = "garbage"
	case kindTruncate:
		s = "truncate"
	case kindHuge:
		s = "huge " + m.huge.Name
	case kindEcho:
		s = fmt.Sprintf("echo %d", m.code)
	default:
		s = fmt.Sprintf("mode(%d)", m.kind)
	}
	if m.path != "" {
		s += " on " + m.path
	}
	if m.text != "" {
		s += fmt.Sprintf(" for requests with %q", m.text)
	}
	return s
}
