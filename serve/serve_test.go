package serve

import (
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/perch-dev/perch/sources"
)

func TestAuthorizedKeyGetsDashboard(t *testing.T) {
	src := newCountingSource(100 * time.Millisecond)
	ts := startServer(t, []sources.Source{src}, nil)
	c := ts.dial(t)
	tm := openDashboard(t, c, 120, 40)
	tm.waitFor(t, "checkout-api", 0)
	tm.waitFor(t, "thumbnailer", 0)
	tm.waitFor(t, "counting ok", 0) // the header's source health
	if _, err := tm.in.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if err := tm.waitClosed(t, 10*time.Second); err != nil {
		t.Fatalf("quit with q: %v", err)
	}
	fp := gossh.FingerprintSHA256(ts.viewer.PublicKey())
	waitUntil(t, "disconnect logged", 5*time.Second, func() bool { return strings.Contains(ts.logs.String(), "msg=disconnect") })
	logs := ts.logs.String()
	for _, want := range []string{"msg=connect", "mode=dashboard", "key=" + fp, "viewer=alice@laptop", "reason=quit", "bytes_sent="} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestUnknownKeyRefusedAndLoggedByFingerprint(t *testing.T) {
	ts := startServer(t, nil, nil)
	stranger := newSigner(t)
	_, err := gossh.Dial("tcp", ts.addr, ts.clientConfig(gossh.PublicKeys(stranger)))
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("unknown key: err = %v, want an authentication failure", err)
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, "rejected key") || !strings.Contains(logs, gossh.FingerprintSHA256(stranger.PublicKey())) {
		t.Errorf("rejection not logged with the fingerprint:\n%s", logs)
	}
	material := base64.StdEncoding.EncodeToString(stranger.PublicKey().Marshal())
	if strings.Contains(logs, material) || strings.Contains(logs, material[20:40]) {
		t.Errorf("log contains key material:\n%s", logs)
	}
}

func TestPasswordAndKeyboardInteractiveRefused(t *testing.T) {
	ts := startServer(t, nil, nil)
	methods := map[string]gossh.AuthMethod{
		"password": gossh.Password("hunter2"),
		"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return []string{"hunter2"}, nil
		}),
	}
	for name, m := range methods {
		if c, err := gossh.Dial("tcp", ts.addr, ts.clientConfig(m)); err == nil {
			c.Close()
			t.Errorf("%s: logged in", name)
		}
	}
	if logs := ts.logs.String(); strings.Contains(logs, "hunter2") {
		t.Errorf("password logged:\n%s", logs)
	}
}

func TestExecRefusedExceptSnapshot(t *testing.T) {
	src := newCountingSource(50 * time.Millisecond)
	ts := startServer(t, []sources.Source{src}, nil)
	c := ts.dial(t)
	for _, cmd := range []string{"ls -la", "sh -c id", "snapshot; id", "/bin/perch snapshot"} {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err := sess.CombinedOutput(cmd)
		sess.Close()
		if err == nil {
			t.Errorf("exec %q ran: %q", cmd, out)
		}
	}
	if !strings.Contains(ts.logs.String(), `msg="refused command" command="ls -la"`) {
		t.Errorf("refusal not logged:\n%s", ts.logs.String())
	}
}

func TestSnapshotCommand(t *testing.T) {
	src := newCountingSource(50 * time.Millisecond)
	ts := startServer(t, []sources.Source{src}, nil)
	c := ts.dial(t)

	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("snapshot --format markdown")
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	md := string(out)
	for _, want := range []string{"**perch snapshot**", "| NAMESPACE | NAME |", "| shop | checkout-api | kubernetes |", "2 workloads"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}

	sess, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	sess.Stderr = &stderr
	err = sess.Run("snapshot --format yaml")
	var exit *gossh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 2 || !strings.Contains(stderr.String(), `--format "yaml"`) {
		t.Errorf("bad format: err=%v stderr=%q, want exit 2 and a message", err, stderr.String())
	}
}

func TestNoPtyGetsSnapshot(t *testing.T) {
	src := newCountingSource(50 * time.Millisecond)
	ts := startServer(t, []sources.Source{src}, nil)
	c := ts.dial(t)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	sess.Stdout = &out
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Wait(); err != nil {
		t.Fatalf("shell without pty: %v", err)
	}
	if s := out.String(); !strings.Contains(s, "NAMESPACE") || !strings.Contains(s, "checkout-api") || strings.Contains(s, "\x1b[") {
		t.Errorf("want a plain table, got:\n%q", s)
	}
}

func TestForwardingAndExtrasRefused(t *testing.T) {
	ts := startServer(t, nil, nil)
	c := ts.dial(t)
	if conn, err := c.Dial("tcp", ts.addr); err == nil {
		conn.Close()
		t.Error("local port forwarding (direct-tcpip) allowed")
	}
	if ln, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
		t.Error("remote port forwarding (tcpip-forward) allowed")
	}
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := agent.RequestAgentForwarding(sess); err == nil {
		t.Error("agent forwarding allowed")
	}
	x11 := gossh.Marshal(struct {
		Single   bool
		Protocol string
		Cookie   string
		Screen   uint32
	}{false, "MIT-MAGIC-COOKIE-1", "00", 0})
	if ok, err := sess.SendRequest("x11-req", true, x11); ok || err != nil {
		t.Errorf("x11-req: ok=%v err=%v, want refused", ok, err)
	}
	if err := sess.RequestSubsystem("sftp"); err == nil {
		t.Error("sftp subsystem allowed")
	}
	logs := ts.logs.String()
	for _, want := range []string{"request=auth-agent-req@openssh.com", "request=x11-req", "request=subsystem"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestSessionsShareOneSource: twenty viewers cost the backend what one
// does: one Run, rounds at the source's own pace, one pod lookup for
// everyone who opens the same workload.
func TestSessionsShareOneSource(t *testing.T) {
	const viewers = 20
	const interval = 250 * time.Millisecond
	src := newCountingSource(interval)
	ts := startServer(t, []sources.Source{src}, nil)

	// The source's ticker sets its pace: in a window it can do at most
	// window/interval+1 rounds, however many viewers there are.
	checkRounds := func(viewers int) {
		t.Helper()
		before, start := src.rounds.Load(), time.Now()
		time.Sleep(2 * time.Second)
		n, limit := src.rounds.Load()-before, int32(time.Since(start)/interval)+2
		if n < 1 || n > limit {
			t.Errorf("%d rounds in %s with %d viewers, want 1..%d", n, time.Since(start), viewers, limit)
		}
	}
	first := openDashboard(t, ts.dial(t), 80, 24)
	first.waitFor(t, "checkout-api", 0)
	checkRounds(1)

	start := time.Now()
	terms := []*term{first}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range viewers - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := gossh.Dial("tcp", ts.addr, ts.clientConfig())
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(func() { c.Close() })
			tm := openDashboard(t, c, 80, 24)
			mu.Lock()
			terms = append(terms, tm)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(terms) != viewers {
		t.Fatalf("%d sessions open, want %d", len(terms), viewers)
	}
	for _, tm := range terms {
		tm.waitFor(t, "checkout-api", 0)
	}
	t.Logf("%d sessions open and drawn in %s", viewers, time.Since(start))
	checkRounds(viewers)
	if runs := src.runs.Load(); runs != 1 {
		t.Errorf("Run called %d times for %d viewers, want 1", runs, viewers)
	}

	// Everyone opens the detail page of the first row (the top spender,
	// checkout-api).
	marks := make([]int, len(terms))
	for i, tm := range terms {
		marks[i] = tm.out.Len()
		if _, err := tm.in.Write([]byte("\r")); err != nil {
			t.Fatal(err)
		}
	}
	for i, tm := range terms {
		tm.waitFor(t, "PODS (1)", marks[i])
	}
	if n := src.pods.Load(); n != 1 {
		t.Errorf("%d pod lookups for %d viewers of one workload, want 1", n, viewers)
	}
}

func TestDisconnectFreesEverything(t *testing.T) {
	src := newCountingSource(100 * time.Millisecond)
	ts := startServer(t, []sources.Source{src}, nil)
	// Warm up once so lazily started runtime goroutines are in the baseline.
	c := ts.dial(t)
	tm := openDashboard(t, c, 100, 30)
	tm.waitFor(t, "checkout-api", 0)
	c.Close()
	waitUntil(t, "the warm-up session to end", 10*time.Second, func() bool { return len(ts.slots) == 0 })
	time.Sleep(1500 * time.Millisecond) // pending tick commands fire within 1 s
	baseline := runtime.NumGoroutine()

	for i := range 3 {
		c := ts.dial(t)
		tm := openDashboard(t, c, 100, 30)
		tm.waitFor(t, "checkout-api", 0)
		if runtime.NumGoroutine() <= baseline {
			t.Fatalf("a session runs no goroutines? %d <= %d", runtime.NumGoroutine(), baseline)
		}
		if i%2 == 0 {
			c.Close() // the viewer's network goes away
		} else {
			tm.in.Write([]byte("q")) // quits, then the client hangs up
			tm.waitClosed(t, 10*time.Second)
			c.Close()
		}
	}
	waitUntil(t, "sessions to end", 10*time.Second, func() bool { return len(ts.slots) == 0 })
	var n int
	deadline := time.Now().Add(10 * time.Second)
	for n = runtime.NumGoroutine(); n > baseline && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(50 * time.Millisecond)
	}
	if n > baseline {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after three sessions ended, %d before:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
	if ts.conns.Load() != 0 {
		t.Errorf("%d connections still counted", ts.conns.Load())
	}
}

func TestIdleTimeoutCloses(t *testing.T) {
	src := newCountingSource(100 * time.Millisecond)
	ts := startServer(t, []sources.Source{src}, func(c *Config) { c.IdleTimeout = 600 * time.Millisecond })
	tm := openDashboard(t, ts.dial(t), 100, 30)
	tm.waitFor(t, "checkout-api", 0)
	// Key presses keep the session open past the timeout...
	for range 8 {
		time.Sleep(150 * time.Millisecond)
		if _, err := tm.in.Write([]byte("j")); err != nil {
			t.Fatalf("session closed while the viewer typed: %v", err)
		}
	}
	select {
	case err := <-tm.done:
		t.Fatalf("closed while active: %v", err)
	default:
	}
	// ...and silence closes it, although the screen keeps changing.
	start := time.Now()
	tm.waitClosed(t, 5*time.Second)
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("closed %s after the last key, before the timeout", d)
	}
	if !strings.Contains(tm.errOut.String(), "without a key press") {
		t.Errorf("no explanation on stderr: %q", tm.errOut.String())
	}
	waitUntil(t, "idle logged", 5*time.Second, func() bool { return strings.Contains(ts.logs.String(), `reason="idle timeout"`) })
}

func TestResize(t *testing.T) {
	src := newCountingSource(100 * time.Millisecond)
	ts := startServer(t, []sources.Source{src}, nil)
	tm := openDashboard(t, ts.dial(t), 120, 40)
	tm.waitFor(t, "checkout-api", 0)

	mark := tm.out.Len()
	if err := tm.sess.WindowChange(12, 50); err != nil {
		t.Fatal(err)
	}
	tm.waitFor(t, "50×12", mark) // "perch needs at least 60×16; this terminal is 50×12"

	mark = tm.out.Len()
	if err := tm.sess.WindowChange(30, 90); err != nil {
		t.Fatal(err)
	}
	tm.waitFor(t, "checkout-api", mark)

	// An absurd size is drawn at the cap, not allocated.
	mark = tm.out.Len()
	if err := tm.sess.WindowChange(4000, 4000); err != nil {
		t.Fatal(err)
	}
	if err := tm.sess.WindowChange(10, 40); err != nil {
		t.Fatal(err)
	}
	tm.waitFor(t, "40×10", mark)
}

func TestMaxSessions(t *testing.T) {
	src := newCountingSource(100 * time.Millisecond)
	ts := startServer(t, []sources.Source{src}, func(c *Config) { c.MaxSessions = 2 })
	c := ts.dial(t)
	a := openDashboard(t, c, 80, 24)
	b := openDashboard(t, c, 80, 24)
	a.waitFor(t, "checkout-api", 0)
	b.waitFor(t, "checkout-api", 0)

	third := openDashboard(t, c, 80, 24)
	err := third.waitClosed(t, 10*time.Second)
	var exit *gossh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 1 || !strings.Contains(third.errOut.String(), "the limit") {
		t.Fatalf("third session: err=%v stderr=%q, want exit 1 and a reason", err, third.errOut.String())
	}
	a.in.Write([]byte("q"))
	a.waitClosed(t, 10*time.Second)
	waitUntil(t, "a slot to free", 5*time.Second, func() bool { return len(ts.slots) == 1 })
	openDashboard(t, c, 80, 24).waitFor(t, "checkout-api", 0)
	if !strings.Contains(ts.logs.String(), "server full") {
		t.Errorf("refusal not logged:\n%s", ts.logs.String())
	}
}

func TestRemovedKeyStopsNewSessions(t *testing.T) {
	ts := startServer(t, []sources.Source{newCountingSource(100 * time.Millisecond)}, nil)
	c := ts.dial(t)
	other := newSigner(t)
	line := string(gossh.MarshalAuthorizedKey(other.PublicKey()))
	writeFile(t, ts.cfg.AuthorizedKeys, line+"\n# alice removed\n")
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := sess.Output("snapshot"); err == nil {
		t.Fatalf("removed key still gets a snapshot: %s", out)
	}
	if _, err := gossh.Dial("tcp", ts.addr, ts.clientConfig()); err == nil {
		t.Fatal("removed key can still log in")
	}
	if _, err := gossh.Dial("tcp", ts.addr, ts.clientConfig(gossh.PublicKeys(other))); err != nil {
		t.Fatalf("added key refused: %v", err)
	}
}
