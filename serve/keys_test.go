package serve

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func authorizedLine(t testing.TB) string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(newSigner(t).PublicKey())))
}

func TestNewRefusesBadKeyFiles(t *testing.T) {
	dir := t.TempDir()
	good := authorizedLine(t)
	cases := []struct {
		name, content, want string
		missing             bool
	}{
		{name: "missing", missing: true, want: "no such file"},
		{name: "garbage", content: good + "\nnot a key at all\n", want: ":2: not a public key"},
		{name: "from option", content: `from="10.0.0.0/8" ` + good + "\n", want: `:1: option "from" is not supported`},
		{name: "command option", content: `command="/bin/sh" ` + good + "\n", want: `option "command"`},
		{name: "empty", content: "# nobody yet\n", want: "no keys: nobody could log in"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if !tc.missing {
				writeFile(t, path, tc.content)
			}
			_, err := New(Config{AuthorizedKeys: path, HostKeyPath: filepath.Join(dir, "hk"), Logger: quietLogger()})
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %s and say %q", err, path, tc.want)
			}
		})
	}
}

func TestKeyFilesAndHarmlessOptions(t *testing.T) {
	dir := t.TempDir()
	bob := newSigner(t)
	gh := filepath.Join(dir, "bob.keys")
	writeFile(t, gh, string(gossh.MarshalAuthorizedKey(bob.PublicKey())))
	auth := filepath.Join(dir, "authorized_keys")
	carol := newSigner(t)
	writeFile(t, auth, "restrict,no-agent-forwarding "+strings.TrimSpace(string(gossh.MarshalAuthorizedKey(carol.PublicKey())))+" carol@desk\n")
	s, err := New(Config{AuthorizedKeys: auth, KeyFiles: []string{gh}, HostKeyPath: filepath.Join(dir, "hk"), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if label, ok := s.keys.lookup(bob.PublicKey()); !ok || label != "bob" {
		t.Errorf("bob: %q %v, want labelled by file name", label, ok)
	}
	if label, ok := s.keys.lookup(carol.PublicKey()); !ok || label != "carol@desk" {
		t.Errorf("carol: %q %v, want labelled by comment", label, ok)
	}
	if _, ok := s.keys.lookup(newSigner(t).PublicKey()); ok {
		t.Error("a stranger's key was accepted")
	}
}

func TestHostKeyCreatedOnceWith0600(t *testing.T) {
	dir := t.TempDir()
	auth := filepath.Join(dir, "authorized_keys")
	writeFile(t, auth, authorizedLine(t)+"\n")
	hk := filepath.Join(dir, "state", "perch", "host_key")
	cfg := Config{AuthorizedKeys: auth, HostKeyPath: hk, Logger: quietLogger()}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(hk)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %04o, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(filepath.Dir(hk)); dst.Mode().Perm() != 0o700 {
		t.Errorf("host key folder mode %04o, want 0700", dst.Mode().Perm())
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if gossh.FingerprintSHA256(a.HostKey()) != gossh.FingerprintSHA256(b.HostKey()) {
		t.Error("second start made a new host key")
	}

	if err := os.Chmod(hk, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "readable by others") || !strings.Contains(err.Error(), hk) {
		t.Errorf("world-readable host key: err = %v", err)
	}
	writeFile(t, hk, "garbage")
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), hk) {
		t.Errorf("garbage host key: err = %v", err)
	}
}
