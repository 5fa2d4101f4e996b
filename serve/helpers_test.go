package serve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/perch-dev/perch/sources"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// countingSource is a fake backend that counts what is asked of it.
type countingSource struct {
	interval  time.Duration
	workloads []sources.Workload
	runs      atomic.Int32
	rounds    atomic.Int32
	pods      atomic.Int32
}

func newCountingSource(interval time.Duration) *countingSource {
	return &countingSource{interval: interval, workloads: []sources.Workload{
		{ID: sources.WorkloadID{Cluster: "test", Namespace: "shop", Name: "checkout-api"}, Kind: sources.Deployment, Platform: sources.Kubernetes},
		{ID: sources.WorkloadID{Cluster: "test", Namespace: "shop", Name: "thumbnailer"}, Kind: sources.Function, Platform: sources.Lambda},
	}}
}

func (c *countingSource) Name() string { return "counting" }

func (c *countingSource) Run(ctx context.Context, out chan<- sources.Update) error {
	c.runs.Add(1)
	send := func(u sources.Update) error {
		select {
		case out <- u:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := send(sources.Update{At: time.Now(), Workloads: c.workloads, Full: true}); err != nil {
		return err
	}
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for i := 0; ; i++ {
		now := time.Now()
		var samples []sources.Sample
		for j, w := range c.workloads {
			samples = append(samples,
				sources.Sample{ID: w.ID, Metric: sources.CostRate, T: now, V: 0.9 - 0.8*float64(j)},
				sources.Sample{ID: w.ID, Metric: sources.ReplicasCurrent, T: now, V: float64(3 + i%2)},
				sources.Sample{ID: w.ID, Metric: sources.RequestRate, T: now, V: 100},
				sources.Sample{ID: w.ID, Metric: sources.LatencyP99, T: now, V: 0.2})
		}
		if err := send(sources.Update{At: now, Samples: samples, Complete: true}); err != nil {
			return err
		}
		c.rounds.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (c *countingSource) Pods(ctx context.Context, id sources.WorkloadID) ([]sources.Pod, error) {
	c.pods.Add(1)
	return []sources.Pod{{Name: id.Name + "-7d9f-abcde", Phase: sources.PodRunning}}, nil
}

// testServer is a Server on 127.0.0.1:0 with one authorized viewer.
type testServer struct {
	*Server
	addr   string
	dir    string
	viewer gossh.Signer
	logs   *syncBuffer
	stop   func()
}

func newSigner(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startServer(t testing.TB, srcs []sources.Source, tweak func(*Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	viewer := newSigner(t)
	keys := filepath.Join(dir, "authorized_keys")
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(viewer.PublicKey()))) + " alice@laptop\n"
	if err := os.WriteFile(keys, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg := Config{
		Sources: srcs, AuthorizedKeys: keys, HostKeyPath: filepath.Join(dir, "host_key"),
		ThemeName: "dark", Refresh: time.Minute,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	ts := &testServer{Server: srv, addr: ln.Addr().String(), dir: dir, viewer: viewer, logs: logs}
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Serve did not return after cancel")
			}
		})
	}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) clientConfig(auth ...gossh.AuthMethod) *gossh.ClientConfig {
	if len(auth) == 0 {
		auth = []gossh.AuthMethod{gossh.PublicKeys(ts.viewer)}
	}
	return &gossh.ClientConfig{
		User: "oncall", Auth: auth, HostKeyCallback: gossh.FixedHostKey(ts.HostKey()), Timeout: 10 * time.Second,
	}
}

func (ts *testServer) dial(t testing.TB, auth ...gossh.AuthMethod) *gossh.Client {
	t.Helper()
	c, err := gossh.Dial("tcp", ts.addr, ts.clientConfig(auth...))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// term is one interactive session as a viewer sees it.
type term struct {
	sess   *gossh.Session
	out    *syncBuffer
	errOut *syncBuffer
	in     io.WriteCloser
	done   chan error
}

func openDashboard(t testing.TB, c *gossh.Client, w, h int) *term {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{sess: sess, out: &syncBuffer{}, errOut: &syncBuffer{}, done: make(chan error, 1)}
	sess.Stdout, sess.Stderr = tm.out, tm.errOut
	if tm.in, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", h, w, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	go func() { tm.done <- sess.Wait() }()
	return tm
}

// screen is the output so far without escape sequences.
func (tm *term) screen() string { return ansi.Strip(tm.out.String()) }

func (tm *term) waitFor(t testing.TB, text string, from int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s := tm.out.String()
		if from < len(s) && strings.Contains(ansi.Strip(s[from:]), text) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%q never appeared; the viewer saw:\n%s", text, tm.screen())
}

func (tm *term) waitClosed(t testing.TB, within time.Duration) error {
	t.Helper()
	select {
	case err := <-tm.done:
		return err
	case <-time.After(within):
		t.Fatalf("session still open after %s", within)
		return nil
	}
}

func waitUntil(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
