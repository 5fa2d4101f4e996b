package faultproxy

import (
	"io"
	"net"
	"sync"
	"time"
)

// serveTCP forwards one client connection byte for byte, applying the
// connection-level modes.
func (p *Proxy) serveTCP(c *trackedConn) {
	defer c.Close()
	m := p.Mode()
	if m.kind == kindHang {
		c.hang()
		_, _ = io.Copy(io.Discard, c) // until the client or Close ends it
		return
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	up, err := d.Dial("tcp", p.target)
	if err != nil {
		c.reset()
		return
	}
	c.peer.Store(&up)
	select {
	case <-c.done: // closed while dialing: Close saw no peer to close
		up.Close()
		return
	default:
	}
	p.forwarded.Add(1)
	if m.kind == kindCut {
		c.cutAfter(m.after)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // client → server
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 && !c.hung.Load() {
				if _, werr := up.Write(buf[:n]); werr != nil {
					c.reset()
					return
				}
			}
			if err != nil {
				if err == io.EOF {
					closeWrite(up)
				} else {
					c.reset()
				}
				return
			}
		}
	}()
	p.pumpDown(c, up) // server → client
	wg.Wait()
}

// pumpDown copies the server's bytes to the client, delaying them under
// Slow, dropping them once hung and cutting under CutMidBody.
func (p *Proxy) pumpDown(c *trackedConn, up net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 && !c.hung.Load() {
			if m := p.Mode(); m.kind == kindSlow {
				t := time.NewTimer(m.delay)
				select {
				case <-t.C:
				case <-c.done:
					t.Stop()
					return
				}
			}
			chunk := buf[:n]
			cut := false
			if left := c.cut.Load(); left >= 0 {
				k := int64(n / 2)
				if left > 0 {
					k = min(left, int64(n))
				}
				chunk, cut = chunk[:k], left == 0 || k == left
				if !cut {
					c.cut.Store(left - k)
				}
			}
			if _, werr := c.Write(chunk); werr != nil || cut {
				c.reset()
				return
			}
		}
		if err != nil {
			switch {
			case c.hung.Load(): // a black hole sends no FIN either
				<-c.done
			case err == io.EOF:
				closeWrite(c.Conn)
			default:
				c.reset()
			}
			return
		}
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		_ = c.Close()
	}
}
