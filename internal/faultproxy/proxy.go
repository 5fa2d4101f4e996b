// Package faultproxy is a test proxy that sits between perch and a real
// server and, on command, misbehaves the way backends do during an
// incident: it refuses or resets connections, hangs, answers slowly,
// answers 5xx, cuts the body in the middle, sends garbage, truncated or
// huge answers, and flips back to healthy.
//
// Start makes an HTTP-aware proxy (every mode; for plain-HTTP servers such
// as Prometheus, InfluxDB, Jaeger's query API); StartTLS makes one that
// terminates TLS and speaks TLS to the server (every mode for HTTPS
// servers such as kube-apiserver). StartTCP makes a byte-stream
// proxy for any TCP protocol (TLS to kube-apiserver, gRPC); it supports the
// connection-level modes Healthy, Refuse, Reset, Hang, Slow and CutMidBody.
//
// Set switches the mode at any time. New connections and requests follow
// the new mode at once; open ones follow it where that means something: an
// open stream goes silent under Hang, is cut under CutMidBody, slows down
// under Slow and is reset under Refuse and Reset.
//
// The proxy listens on 127.0.0.1 only. Close frees every goroutine and
// socket it made.
package faultproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a running fault proxy.
type Proxy struct {
	target string
	isHTTP bool
	ls     *switchListener
	srv    *http.Server    // HTTP proxies
	tr     *http.Transport // HTTP proxies: to the target
	// serveTLS and upstreamTLS: TLS towards clients and towards the target
	// (StartTLS).
	serveTLS, upstreamTLS bool

	mu       sync.Mutex
	mode     Mode
	changed  chan struct{} // closed and replaced on every Set
	conns    map[*trackedConn]struct{}
	isClosed bool
	wg       sync.WaitGroup // every goroutine and handler the proxy runs

	closed    chan struct{}
	closeOnce sync.Once
	stopCtx   func() bool

	connections atomic.Int64
	requests    atomic.Int64
	forwarded   atomic.Int64
}

// Stats counts what the proxy saw since Start.
type Stats struct {
	// Connections accepted from clients (including those reset at once).
	Connections int64
	// Requests read (HTTP proxies only).
	Requests int64
	// Forwarded requests (HTTP) or connections (TCP) that reached the target.
	Forwarded int64
	// Open client connections now.
	Open int
}

// Start runs an HTTP-aware proxy to target (host:port of a plain-HTTP
// server) on 127.0.0.1:0. It stops when ctx ends or Close is called.
func Start(ctx context.Context, target string) (*Proxy, error) {
	return startHTTPProxy(ctx, target, nil, nil)
}

// startHTTPProxy runs an HTTP-aware proxy; serve (TLS towards clients) and
// upstream (TLS towards the target) are nil for plain HTTP.
func startHTTPProxy(ctx context.Context, target string, serve, upstream *tls.Config) (*Proxy, error) {
	p, err := newProxy(ctx, target, true)
	if err != nil {
		return nil, err
	}
	p.upstreamTLS = upstream != nil
	p.tr = &http.Transport{
		DialContext:       (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		DisableKeepAlives: true, // one backend connection per request: nothing idles after Close
		// Bodies pass through as the server sent them; Accept-Encoding is
		// dropped from requests so they are identity-encoded.
		DisableCompression:  true,
		TLSClientConfig:     upstream,
		TLSHandshakeTimeout: 5 * time.Second,
	}
	p.srv = &http.Server{
		Handler: http.HandlerFunc(p.serveHTTP),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if tc, ok := c.(*tls.Conn); ok {
				c = tc.NetConn() // the tracked connection under the TLS layer
			}
			return context.WithValue(ctx, connKey{}, c)
		},
		ErrorLog: log.New(io.Discard, "", 0), // injected faults make the server complain
	}
	var l net.Listener = acceptor{p}
	if serve != nil {
		p.serveTLS = true
		cfg := serve.Clone()
		// HTTP/1.1 only: one request per stream and connection, so the
		// connection-level modes hit exactly the requests they should.
		cfg.NextProtos = []string{"http/1.1"}
		l = tls.NewListener(l, cfg)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_ = p.srv.Serve(l)
	}()
	return p, nil
}

// StartTCP runs a byte-stream proxy to target (host:port) on 127.0.0.1:0,
// for protocols the proxy does not parse (TLS, gRPC). HTTP-only modes are
// refused by Set.
func StartTCP(ctx context.Context, target string) (*Proxy, error) {
	p, err := newProxy(ctx, target, false)
	if err != nil {
		return nil, err
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := acceptor{p}.Accept()
			if err != nil {
				return
			}
			if !p.track(func() { p.serveTCP(c.(*trackedConn)) }) {
				c.Close()
				return
			}
		}
	}()
	return p, nil
}

func newProxy(ctx context.Context, target string, isHTTP bool) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("faultproxy: target %q: want host:port: %w", target, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{
		target:  target,
		isHTTP:  isHTTP,
		ls:      newSwitchListener(l),
		changed: make(chan struct{}),
		conns:   map[*trackedConn]struct{}{},
		closed:  make(chan struct{}),
	}
	p.stopCtx = context.AfterFunc(ctx, func() { p.Close() })
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ls.addr.String() }

// URL is http:// (https:// for a proxy that serves TLS) and Addr, the
// base URL to give an HTTP client.
func (p *Proxy) URL() string {
	if p.serveTLS {
		return "https://" + p.Addr()
	}
	return "http://" + p.Addr()
}

// Target is the host:port the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Mode is the current mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// modeFor returns the mode that applies to a request, and a channel
// closed at the next Set.
func (p *Proxy) modeFor(r reqInfo) (Mode, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mode.appliesTo(r) {
		return Healthy, p.changed
	}
	return p.mode, p.changed
}

// Set switches to m. It fails for HTTP-only modes on a TCP proxy, after
// Close, and when the port cannot be bound again after Refuse (another
// process took it).
func (p *Proxy) Set(m Mode) error {
	if !p.isHTTP && m.httpOnly() {
		return fmt.Errorf("faultproxy: %s needs an HTTP proxy (Start), this one forwards bytes (StartTCP)", m)
	}
	p.mu.Lock()
	if p.isClosed {
		p.mu.Unlock()
		return errors.New("faultproxy: proxy is closed")
	}
	p.mode = m
	close(p.changed)
	p.changed = make(chan struct{})
	open := make([]*trackedConn, 0, len(p.conns))
	for c := range p.conns {
		open = append(open, c)
	}
	p.mu.Unlock()

	if m.kind == kindRefuse {
		p.ls.down()
	} else if err := p.ls.up(); err != nil {
		return err
	}
	connLevel := !m.filtered() || !p.isHTTP
	for _, c := range open {
		switch {
		case m.kind == kindRefuse, m.kind == kindReset && connLevel:
			c.reset()
		case !p.isHTTP && m.kind == kindHang:
			c.hang()
		case !p.isHTTP && m.kind == kindCut:
			c.cutAfter(m.after)
		}
	}
	return nil
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	open := len(p.conns)
	p.mu.Unlock()
	return Stats{
		Connections: p.connections.Load(),
		Requests:    p.requests.Load(),
		Forwarded:   p.forwarded.Load(),
		Open:        open,
	}
}

// Close stops the proxy: the port is released, every connection is reset,
// and Close returns when every goroutine the proxy started has ended.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.stopCtx()
		p.mu.Lock()
		p.isClosed = true
		close(p.closed)
		open := make([]*trackedConn, 0, len(p.conns))
		for c := range p.conns {
			open = append(open, c)
		}
		p.mu.Unlock()
		if p.srv != nil {
			_ = p.srv.Close() // closes the listener and every connection it knows
		}
		_ = p.ls.Close()
		for _, c := range open {
			c.reset()
		}
		p.wg.Wait()
		if p.tr != nil {
			p.tr.CloseIdleConnections()
		}
	})
	return nil
}

// track runs f in a goroutine the proxy waits for at Close; it returns
// false (and runs nothing) once the proxy is closed.
func (p *Proxy) track(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isClosed {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}

// enter registers a handler the proxy waits for at Close (the HTTP server
// runs handlers on its own goroutines); it returns false once closed.
func (p *Proxy) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isClosed {
		return false
	}
	p.wg.Add(1)
	return true
}

// acceptor hands out tracked client connections and resets those that
// arrive under Reset.
type acceptor struct{ p *Proxy }

func (a acceptor) Accept() (net.Conn, error) {
	p := a.p
	for {
		c, err := p.ls.Accept()
		if err != nil {
			return nil, err
		}
		p.connections.Add(1)
		m := p.Mode()
		if m.kind == kindReset && (!m.filtered() || !p.isHTTP) || m.kind == kindRefuse {
			resetConn(c) // Refuse: one that raced with closing the port
			continue
		}
		tc := &trackedConn{Conn: c, p: p, done: make(chan struct{})}
		tc.cut.Store(-1)
		p.mu.Lock()
		if p.isClosed {
			p.mu.Unlock()
			resetConn(c)
			return nil, net.ErrClosed
		}
		p.conns[tc] = struct{}{}
		p.mu.Unlock()
		return tc, nil
	}
}

func (a acceptor) Close() error   { return a.p.ls.Close() }
func (a acceptor) Addr() net.Addr { return a.p.ls.addr }

type connKey struct{}

// trackedConn is a client connection the proxy can reset, hang or cut.
type trackedConn struct {
	net.Conn
	p    *Proxy
	done chan struct{} // closed by Close
	once sync.Once
	hung atomic.Bool
	// cut is the number of server bytes still let through before a cut:
	// -1 none, 0 half of the next chunk.
	cut  atomic.Int64
	peer atomic.Pointer[net.Conn] // TCP proxies: the connection to the target
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.p.mu.Lock()
		delete(c.p.conns, c)
		c.p.mu.Unlock()
		if peer := c.peer.Load(); peer != nil {
			(*peer).Close()
		}
	})
	return c.Conn.Close()
}

// reset closes with RST instead of FIN, so the client sees ECONNRESET.
func (c *trackedConn) reset() {
	if peer := c.peer.Load(); peer != nil {
		resetConn(*peer)
	}
	setLinger0(c.Conn)
	c.Close()
}

func (c *trackedConn) hang() { c.hung.Store(true) }

func (c *trackedConn) cutAfter(n int64) { c.cut.Store(n) }

func setLinger0(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}

func resetConn(c net.Conn) {
	setLinger0(c)
	_ = c.Close()
}

// switchListener is a listener whose socket can be closed (so connecting
// is refused) and bound again on the same port, while Accept callers
// simply wait.
type switchListener struct {
	addr *net.TCPAddr

	mu     sync.Mutex
	l      net.Listener  // nil while refusing
	wake   chan struct{} // closed when l is set again or on Close
	closed bool
}

func newSwitchListener(l net.Listener) *switchListener {
	wake := make(chan struct{})
	close(wake)
	return &switchListener{addr: l.Addr().(*net.TCPAddr), l: l, wake: wake}
}

func (s *switchListener) Accept() (net.Conn, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, net.ErrClosed
		}
		l, wake := s.l, s.wake
		s.mu.Unlock()
		if l == nil {
			<-wake
			continue
		}
		c, err := l.Accept()
		if err == nil {
			return c, nil
		}
		s.mu.Lock()
		swapped := s.l != l || s.closed
		s.mu.Unlock()
		if !swapped {
			return nil, err
		}
	}
}

// down closes the socket: connecting is refused until up.
func (s *switchListener) down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l == nil || s.closed {
		return
	}
	_ = s.l.Close()
	s.l = nil
	s.wake = make(chan struct{})
}

// up binds the port again after down. The kernel may briefly refuse the
// bind, so it retries for up to two seconds.
func (s *switchListener) up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l != nil || s.closed {
		return nil
	}
	var err error
	for deadline := time.Now().Add(2 * time.Second); ; {
		var l net.Listener
		if l, err = net.Listen("tcp", s.addr.String()); err == nil {
			s.l = l
			close(s.wake)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("faultproxy: binding %s again after refuse: %w", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *switchListener) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.l != nil {
		_ = s.l.Close()
		s.l = nil
	} else {
		close(s.wake)
	}
	return nil
}

func (s *switchListener) Addr() net.Addr { return s.addr }
