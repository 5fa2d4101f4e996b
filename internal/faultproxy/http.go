package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// garbageSize is the length of a Garbage body.
const garbageSize = 4 << 10

// maxTruncateBody bounds what Truncate buffers from the server.
const maxTruncateBody = 256 << 20

// hopHeaders are per-connection headers a proxy must not forward.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.enter() {
		panic(http.ErrAbortHandler)
	}
	defer p.wg.Done()
	p.requests.Add(1)
	c, _ := r.Context().Value(connKey{}).(*trackedConn)
	info := readInfo(r)
	m, changed := p.modeFor(info)
	p.respond(w, r, info, c, m, changed)
}

// maxMatchBody is how much of a request body OnRequestText looks at.
const maxMatchBody = 1 << 20

// reqInfo is what mode filters look at.
type reqInfo struct{ path, text string }

// readInfo reads the start of the body (putting it back for forwarding)
// and collects the text OnRequestText matches: raw and URL-decoded.
func readInfo(r *http.Request) reqInfo {
	text := r.URL.RawQuery
	if r.Body != nil && r.Body != http.NoBody {
		head, _ := io.ReadAll(io.LimitReader(r.Body, maxMatchBody))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		text += "\n" + string(head)
	}
	if dec, err := url.QueryUnescape(text); err == nil {
		text += "\n" + dec
	}
	return reqInfo{path: r.URL.Path, text: text}
}

// respond answers r under mode m; changed is closed at the next Set.
func (p *Proxy) respond(w http.ResponseWriter, r *http.Request, info reqInfo, c *trackedConn, m Mode, changed <-chan struct{}) {
	switch m.kind {
	case kindRefuse, kindReset:
		c.reset() // Refuse: a request that raced with closing the port
		panic(http.ErrAbortHandler)
	case kindHang:
		p.hangRequest(r, c)
		panic(http.ErrAbortHandler)
	case kindSlow:
		t := time.NewTimer(m.delay)
		defer t.Stop()
		select {
		case <-t.C:
			p.forward(w, r, info, c, m)
		case <-changed: // the mode changed while waiting: follow it now
			next, _ := p.modeFor(info)
			if next.kind == kindSlow {
				next = Healthy
			}
			p.respond(w, r, info, c, next, nil)
		case <-r.Context().Done():
		case <-c.done:
		case <-p.closed:
		}
	case kindStatus:
		w.Header().Set("Content-Type", m.contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(m.body)))
		w.WriteHeader(m.code)
		_, _ = io.WriteString(w, m.body)
	case kindGarbage:
		rng := rand.New(rand.NewPCG(uint64(p.requests.Load()), 0x9e3779b97f4a7c15))
		b := make([]byte, garbageSize)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	case kindEcho:
		var b strings.Builder
		fmt.Fprintf(&b, "%d %s\n%s %s\n", m.code, http.StatusText(m.code), r.Method, r.URL.RequestURI())
		_ = r.Header.Write(&b)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
		w.WriteHeader(m.code)
		_, _ = io.WriteString(w, b.String())
	case kindHuge:
		w.Header().Set("Content-Type", m.huge.ContentType)
		w.WriteHeader(http.StatusOK)
		_ = m.huge.Write(w)
	default: // Healthy, CutMidBody, Truncate
		p.forward(w, r, info, c, m)
	}
}

// hangRequest reads the request and waits, answering nothing, until the
// client gives up or the proxy closes the connection.
func (p *Proxy) hangRequest(r *http.Request, c *trackedConn) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-c.done:
	case <-p.closed:
	}
}

// forward sends r to the target and copies the answer back under mode m
// (Healthy, CutMidBody or Truncate; Slow once its delay is over), following
// mode changes while the body streams: a stream that was already flowing
// when the proxy turned Slow has each chunk delayed.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, info reqInfo, c *trackedConn, m Mode) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = "http"
	if p.upstreamTLS {
		out.URL.Scheme = "https"
	}
	out.URL.Host = p.target
	out.Host = p.target
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.Header.Del("Accept-Encoding")
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		http.Error(w, "faultproxy: target "+p.target+": "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	p.forwarded.Add(1)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	for _, h := range hopHeaders {
		w.Header().Del(h)
	}

	switch m.kind {
	case kindTruncate:
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxTruncateBody))
		if err != nil && r.Context().Err() != nil {
			return
		}
		body = body[:len(body)/2]
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
		return
	case kindCut:
		left := m.after // bytes still let through; -1: half of the next chunk
		if n := resp.ContentLength; n > 0 {
			if left == 0 || left >= n {
				left = n / 2
			}
		} else {
			// Unknown or empty length: send chunked, so stopping early is
			// always visible as a cut.
			w.Header().Del("Content-Length")
			if left == 0 {
				left = -1
			}
		}
		w.WriteHeader(resp.StatusCode)
		p.copyThenCut(w, resp.Body, left)
		return
	}

	w.WriteHeader(resp.StatusCode)
	flush(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			cur, _ := p.modeFor(info)
			switch cur.kind {
			case kindHang: // an open stream goes silent
				p.hangRequest(r, c)
				panic(http.ErrAbortHandler)
			case kindCut:
				cutAt(w, buf[:n], cur.after)
			case kindRefuse, kindReset:
				c.reset()
				panic(http.ErrAbortHandler)
			case kindSlow:
				if m.kind == kindSlow { // this response has had its delay
					break
				}
				if !sleep(r.Context(), c, p, cur.delay) {
					return
				}
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			flush(w)
		}
		if err != nil {
			return
		}
	}
}

// copyThenCut copies left bytes of body (-1: half of the first chunk) to
// w, flushes and aborts the connection.
func (p *Proxy) copyThenCut(w http.ResponseWriter, body io.Reader, left int64) {
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			k := int64(n)
			if left < 0 {
				k = int64(n / 2)
			} else {
				k = min(k, left)
			}
			_, _ = w.Write(buf[:k])
			if left >= 0 {
				left -= k
			}
			if left <= 0 {
				break
			}
		}
		if err != nil {
			break
		}
	}
	flush(w)
	panic(http.ErrAbortHandler)
}

// cutAt sends the first half of chunk (or after bytes of it) and aborts.
func cutAt(w http.ResponseWriter, chunk []byte, after int64) {
	k := int64(len(chunk) / 2)
	if after > 0 {
		k = min(after, int64(len(chunk)))
	}
	_, _ = w.Write(chunk[:k])
	flush(w)
	panic(http.ErrAbortHandler)
}

func flush(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
}

// sleep waits d; false when the request or proxy ended first.
func sleep(ctx context.Context, c *trackedConn, p *Proxy, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-c.done:
	case <-p.closed:
	}
	return false
}
