package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProfilesAreWrittenAndPprofStaysOnLoopback(t *testing.T) {
	dir := t.TempDir()
	p := profileFlags{cpu: filepath.Join(dir, "cpu.pprof"), mem: filepath.Join(dir, "mem.pprof"), addr: "127.0.0.1:0"}
	stop, err := p.start(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	for _, f := range []string{p.cpu, p.mem} {
		st, err := os.Stat(f)
		if err != nil || st.Size() == 0 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}

	for _, addr := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060"} {
		_, err := profileFlags{addr: addr}.start(io.Discard)
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--pprof %s: want a loopback-only refusal, got %v", addr, err)
		}
	}
}

func TestPprofServesProfiles(t *testing.T) {
	ln := freeLoopbackAddr(t)
	stop, err := profileFlags{addr: ln}.start(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + ln + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "heap profile") {
		t.Fatalf("GET heap: %d %.200s", resp.StatusCode, body)
	}
}

// freeLoopbackAddr is a loopback address nothing listens on right now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
