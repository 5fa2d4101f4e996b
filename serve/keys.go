package serve

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// harmlessOptions are authorized_keys options perch enforces anyway (it
// never forwards or runs commands). Any other option (from=, command=,
// expiry-time=...) would be silently ignored, widening what the key may
// do, so a file that uses one is refused.
var harmlessOptions = map[string]bool{
	"restrict": true, "no-port-forwarding": true, "no-agent-forwarding": true,
	"no-x11-forwarding": true, "no-user-rc": true,
}

// keyFile is one file of allowed keys, re-read when it changes.
type keyFile struct {
	path    string
	github  bool // label keys by file name, not comment
	modTime time.Time
	size    int64
	keys    map[string]string // marshalled key -> label
}

// keyring holds the viewers' keys from every file.
type keyring struct {
	mu    sync.Mutex
	files []*keyFile
	log   *slog.Logger
}

func loadKeyring(authorized string, github []string, log *slog.Logger) (*keyring, error) {
	kr := &keyring{log: log}
	if authorized != "" {
		kr.files = append(kr.files, &keyFile{path: authorized})
	}
	for _, p := range github {
		kr.files = append(kr.files, &keyFile{path: p, github: true})
	}
	if len(kr.files) == 0 {
		return nil, errors.New("no authorized keys: give an authorized_keys file or a key file")
	}
	for _, f := range kr.files {
		if err := f.load(); err != nil {
			return nil, err
		}
	}
	if kr.count() == 0 {
		paths := make([]string, len(kr.files))
		for i, f := range kr.files {
			paths[i] = f.path
		}
		return nil, fmt.Errorf("%s: no keys: nobody could log in", strings.Join(paths, ", "))
	}
	return kr, nil
}

func (kr *keyring) count() int {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	n := 0
	for _, f := range kr.files {
		n += len(f.keys)
	}
	return n
}

// lookup returns the label of an allowed key. Files that changed since
// the last look are re-read first; a file that no longer parses allows
// nobody until fixed (failing closed: a half-edited file must not keep a
// removed key working).
func (kr *keyring) lookup(key gossh.PublicKey) (string, bool) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	for _, f := range kr.files {
		if f.changed() {
			if err := f.load(); err != nil {
				f.keys = nil
				kr.log.Error("authorized keys unusable, its keys are refused until fixed", "err", err)
			} else {
				kr.log.Info("reloaded keys", "path", f.path, "keys", len(f.keys))
			}
		}
	}
	want := string(key.Marshal())
	for _, f := range kr.files {
		if label, ok := f.keys[want]; ok {
			return label, true
		}
	}
	return "", false
}

func (f *keyFile) changed() bool {
	st, err := os.Stat(f.path)
	if err != nil {
		return f.keys != nil || !f.modTime.IsZero()
	}
	return !st.ModTime().Equal(f.modTime) || st.Size() != f.size
}

func (f *keyFile) load() error {
	// Stat before reading: an edit in between shows as a change next time.
	st, err := os.Stat(f.path)
	var data []byte
	if err == nil {
		data, err = os.ReadFile(f.path)
	}
	if err != nil {
		f.modTime, f.size = time.Time{}, 0
		return fmt.Errorf("authorized keys: %w", err)
	}
	f.modTime, f.size = st.ModTime(), st.Size()
	keys := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		key, comment, options, _, err := gossh.ParseAuthorizedKey([]byte(text))
		if err != nil {
			return fmt.Errorf("%s:%d: not a public key: %v", f.path, line, err)
		}
		if _, isCert := key.(*gossh.Certificate); isCert {
			return fmt.Errorf("%s:%d: certificates are not supported, list the plain public key", f.path, line)
		}
		for _, o := range options {
			name, _, _ := strings.Cut(o, "=")
			if !harmlessOptions[strings.ToLower(name)] {
				return fmt.Errorf("%s:%d: option %q is not supported by perch serve (it would be ignored); remove it", f.path, line, name)
			}
		}
		label := comment
		if f.github || label == "" {
			label = strings.TrimSuffix(filepath.Base(f.path), ".keys")
		}
		keys[string(key.Marshal())] = label
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	f.keys = keys
	return nil
}

// loadOrCreateHostKey reads the host key, or generates an ed25519 key
// and writes it with mode 0600 (its folder 0700) when the file does not
// exist. A key readable by others is refused, as sshd does.
func loadOrCreateHostKey(path string) (gossh.Signer, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		signer, err := createHostKey(path)
		return signer, err == nil, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("host key: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, false, fmt.Errorf("host key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("host key %s is readable by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, false, fmt.Errorf("host key %s: %w", path, err)
	}
	return signer, false, nil
}

func createHostKey(path string) (gossh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "perch serve host key")
	if err != nil {
		return nil, fmt.Errorf("encode host key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("host key folder: %w", err)
	}
	// O_EXCL: two servers starting together must not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write host key: %w", err)
	}
	if _, err := f.Write(pem.EncodeToMemory(block)); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write host key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write host key %s: %w", path, err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	return signer, nil
}
