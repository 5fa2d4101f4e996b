package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// lockedBuffer is written by the server while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveFixture is a config dir with one viewer key in authorized_keys.
func serveFixture(t *testing.T) (dir string, viewer gossh.Signer, getenv func(string) string) {
	t.Helper()
	dir = t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	viewer, err = gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "perch"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "perch", "authorized_keys"), gossh.MarshalAuthorizedKey(viewer.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"XDG_CONFIG_HOME": dir, "HOME": dir}
	return dir, viewer, func(k string) string { return vars[k] }
}

func TestServeUsageErrors(t *testing.T) {
	dir, _, getenv := serveFixture(t)
	missing := filepath.Join(dir, "nope", "authorized_keys")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--demo"}, "--ssh ADDR is required"},
		{[]string{"--demo", "--ssh", ":0", "--authorized-keys", missing}, missing},
		{[]string{"--demo", "--ssh", ":0", "--max-sessions", "0"}, "must be positive"},
		{[]string{"--ssh", ":0"}, "no data sources configured"},
	}
	for _, c := range cases {
		var errOut lockedBuffer
		err := runServe(context.Background(), env{stdout: &errOut, stderr: &errOut, getenv: getenv}, c.args)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v: err = %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
}

func TestServePortInUse(t *testing.T) {
	_, _, getenv := serveFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var errOut lockedBuffer
	err = runServe(context.Background(), env{stdout: &errOut, stderr: &errOut, getenv: getenv}, []string{"--demo", "--ssh", ln.Addr().String()})
	if err == nil || errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) ||
		!strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err = %v, want a runtime error naming the address", err)
	}
}

// TestServeEndToEnd starts the command, takes a markdown snapshot over
// SSH and stops it with the context, as SIGTERM would.
func TestServeEndToEnd(t *testing.T) {
	dir, viewer, getenv := serveFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, env{stdout: &errOut, stderr: &errOut, getenv: getenv}, []string{"--demo", "--ssh", "127.0.0.1:0"})
	}()
	port := regexp.MustCompile(`ssh -p (\d+) HOST`)
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil; m = port.FindStringSubmatch(errOut.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("server did not say where it listens:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	hostKey := filepath.Join(dir, "perch", "ssh_host_ed25519_key")
	if st, err := os.Stat(hostKey); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("host key at the default path: %v %v", st, err)
	}
	client, err := gossh.Dial("tcp", "127.0.0.1:"+m[1], &gossh.ClientConfig{
		User: "oncall", Auth: []gossh.AuthMethod{gossh.PublicKeys(viewer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("snapshot --format markdown")
	if err != nil {
		t.Fatalf("snapshot over ssh: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(string(out), "**perch snapshot**") || !strings.Contains(string(out), "| shop | checkout |") {
		t.Errorf("markdown snapshot:\n%s", out)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	for _, want := range []string{"msg=listening", "msg=connect", "mode=snapshot", "msg=disconnect"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, errOut.String())
		}
	}
}
