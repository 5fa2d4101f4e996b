package faultmatrix

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/leakcheck"
)

// TestMain runs the matrices, prints the combined table, stops the real
// servers the tests started and checks that nothing is left running.
func TestMain(m *testing.M) {
	flag.Parse()
	prefetch()
	code := m.Run()
	if table := combinedTable(); table != "" {
		fmt.Println(table)
	}
	stopServers()
	if code == 0 && leakedAfterAll() {
		code = 1
	}
	os.Exit(code)
}

// leakedAfterAll checks for goroutines left by every test together: the
// matrices run in parallel, so each cannot check alone.
func leakedAfterAll() bool {
	var r reporter
	leakcheck.Check(&r, leakcheck.DefaultGrace)
	if r.failed {
		fmt.Fprintln(os.Stderr, "FAIL: faultmatrix:", r.msg)
	}
	return r.failed
}

type reporter struct {
	failed bool
	msg    string
}

func (r *reporter) Helper()        {}
func (r *reporter) Cleanup(func()) {}
func (r *reporter) Errorf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}

// prefetch starts the real servers the selected tests need in the
// background, so that they boot while the first tests run. A failure is
// reported by the first test that needs the server.
func prefetch() {
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return
	}
	run := ""
	if f := flag.Lookup("test.run"); f != nil {
		run, _, _ = strings.Cut(f.Value.String(), "/") // the top-level part
	}
	needs := func(tests ...string) bool {
		for _, name := range tests {
			if ok, err := regexp.MatchString(run, name); err == nil && ok {
				return true
			}
		}
		return false
	}
	for _, s := range []struct {
		srv   *server
		tests []string
	}{
		{influxServer, []string{"TestInfluxDBFaultMatrix", "TestInfluxDBRecoversFrom100Faults"}},
		{jaegerServer, []string{"TestJaegerFaultMatrix", "TestJaegerRecoversFrom100Faults"}},
	} {
		if needs(s.tests...) {
			prefetching.Add(1)
			go func() { defer prefetching.Done(); s.srv.get(quiet{}) }()
		}
	}
}

// prefetching is the servers starting in the background. A test checking
// for leaked goroutines waits for it first (t.Cleanup(prefetching.Wait)
// after leakcheck.Verify): starting and seeding run commands and HTTP
// clients of their own.
var prefetching sync.WaitGroup

// quiet is the testing.TB of a background start: the error stays in the
// server and fails the tests that need it.
type quiet struct{ testing.TB }

func (quiet) Helper()           {}
func (quiet) Fatal(args ...any) {}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// server is one real server started through scripts/stack/<name>.sh on
// first use and stopped by TestMain. A server that cannot be built or
// started fails every test that needs it; nothing is skipped.
type server struct {
	name string   // script name: prometheus, influxdb, jaeger
	env  []string // for the script
	args []string // after `start DIR`
	// seed gets what `start` printed and the server's dir, may write data,
	// and returns what get hands out.
	seed func(out, dir string) (any, error)

	once sync.Once
	dir  string
	out  string // what `start` printed
	info any    // what the seeding step returns
	err  error
}

var (
	serversMu sync.Mutex
	started   []*server
)

// script runs scripts/stack/<name>.sh with args.
func script(name string, env []string, args ...string) (string, error) {
	path := filepath.Join(repoRoot(), "scripts", "stack", name+".sh")
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s.sh %s: %v: %s%s", name, strings.Join(args, " "), err, errb.String(), out.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// get runs `<name>.sh start DIR args...` once, then seed, and returns what
// seed returned. It fails t when the server cannot be started or seeded.
func (s *server) get(t testing.TB) any {
	t.Helper()
	s.once.Do(func() {
		t0 := time.Now()
		dir, err := os.MkdirTemp("", "perch-faultmatrix-"+s.name+"-*")
		if err != nil {
			s.err = err
			return
		}
		s.dir = dir
		serversMu.Lock()
		started = append(started, s)
		serversMu.Unlock()
		out, err := script(s.name, s.env, append([]string{"start", dir}, s.args...)...)
		if err != nil {
			s.err = fmt.Errorf("cannot start a real %s (the fault matrix needs it and never skips; build it with `scripts/stack/%s.sh install`): %w", s.name, s.name, err)
			return
		}
		s.out = out
		watch(s.name, dir)
		t1 := time.Now()
		if s.info, s.err = s.seed(out, dir); s.err != nil {
			s.err = fmt.Errorf("%s: seeding: %w", s.name, s.err)
			return
		}
		fmt.Fprintf(os.Stderr, "faultmatrix: real %s started in %v, seeded in %v\n", s.name,
			t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	})
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.info
}

// watch leaves a small shell behind that stops the server when this test
// process is gone, so a crashed or killed test leaves no server running.
func watch(name, dir string) {
	path := filepath.Join(repoRoot(), "scripts", "stack", name+".sh")
	sh := `while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" stop "$3" >/dev/null 2>&1; rm -rf "$3"`
	cmd := exec.Command("sh", "-c", sh, "watch", strconv.Itoa(os.Getpid()), path, dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cmd.Start() == nil {
		_ = cmd.Process.Release()
	}
}

func stopServers() {
	serversMu.Lock()
	defer serversMu.Unlock()
	for _, s := range started {
		if _, err := script(s.name, nil, "stop", s.dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		_ = os.RemoveAll(s.dir)
	}
	started = nil
}
