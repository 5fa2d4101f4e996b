package serve

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/sim"
)

// countingConn counts the bytes the client receives on the wire (SSH
// framing, padding and MACs included).
type countingConn struct {
	net.Conn
	read atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// BenchmarkIdleSession measures what one idle viewer costs in bandwidth:
// the demo simulator refreshing every second, a 200×60 terminal, nobody
// typing. One op is one second of the session, so run it with a count of
// seconds, e.g. -benchtime 60x for a minute:
//
//	go test -run '^$' -bench IdleSession -benchtime 60x ./serve/
//
// Reported: payload bytes/s (what the dashboard writes), wire bytes/s
// (with SSH overhead), both per minute, and the bytes of the first 3 s
// (the full first paint and the first updates).
func BenchmarkIdleSession(b *testing.B) {
	s, err := sim.New(sim.Config{Seed: 1, Interval: time.Second, History: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ts := startServer(b, []sources.Source{s}, func(c *Config) { c.Refresh = time.Second })

	raw, err := net.Dial("tcp", ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	conn := &countingConn{Conn: raw}
	cc, chans, reqs, err := gossh.NewClientConn(conn, ts.addr, ts.clientConfig())
	if err != nil {
		b.Fatal(err)
	}
	client := gossh.NewClient(cc, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	payload := &countingWriter{}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	go io.Copy(payload, stdout)
	// An open stdin: a viewer's terminal never sends EOF.
	stdin, err := sess.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	defer stdin.Close()
	if err := sess.RequestPty("xterm-256color", 60, 200, gossh.TerminalModes{}); err != nil {
		b.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		b.Fatal(err)
	}
	// The first frame (the whole screen), then a few updates to settle.
	waitForBytes(b, payload, 5000)
	time.Sleep(3 * time.Second)
	first := payload.n.Load()

	p0, w0 := payload.n.Load(), conn.read.Load()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		time.Sleep(time.Second)
	}
	secs := time.Since(start).Seconds()
	b.StopTimer()
	perSec := float64(payload.n.Load()-p0) / secs
	wirePerSec := float64(conn.read.Load()-w0) / secs
	b.ReportMetric(perSec, "payload-B/s")
	b.ReportMetric(perSec*60, "payload-B/min")
	b.ReportMetric(wirePerSec, "wire-B/s")
	b.ReportMetric(wirePerSec*60, "wire-B/min")
	b.ReportMetric(float64(first), "startup-B")
}

func waitForBytes(b *testing.B, w *countingWriter, n int64) {
	deadline := time.Now().Add(30 * time.Second)
	for w.n.Load() < n {
		if time.Now().After(deadline) {
			b.Fatalf("only %d bytes arrived", w.n.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
