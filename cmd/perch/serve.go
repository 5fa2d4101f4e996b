package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/serve"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/tui"
)

// runServe is `perch serve --ssh ADDR`: the dashboard for a team over SSH,
// every viewer on one shared store and one run of each source.
func runServe(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("perch serve", e.stderr)
	var c commonFlags
	c.register(fs)
	addr := fs.String("ssh", "", "listen for SSH on ADDR, e.g. :2222 (all interfaces) or 127.0.0.1:2222 (required)")
	authorized := fs.String("authorized-keys", "", "OpenSSH authorized_keys file of the viewers (default <config dir>/authorized_keys)")
	var keyFiles stringList
	fs.Var(&keyFiles, "keys", "GitHub-style key file, e.g. saved from https://github.com/USER.keys; the file name labels the viewer (repeatable)")
	hostKey := fs.String("host-key", "", "SSH host key, generated with mode 0600 on first start (default <config dir>/ssh_host_ed25519_key)")
	maxSessions := fs.Int("max-sessions", serve.DefaultMaxSessions, "most concurrent sessions")
	idle := fs.Duration("idle-timeout", serve.DefaultIdleTimeout, "close a dashboard after this long without a key press")
	maxRate := fs.Int("max-rate", serve.DefaultMaxOutputRate, "most output bytes per second per session")
	logPath := fs.String("log", "", "append the connection log to FILE instead of stderr")
	ascii := fs.Bool("ascii", false, "plain ASCII charts for every viewer")
	fs.Usage = func() {
		fmt.Fprint(e.stderr, `Usage: perch serve --ssh ADDR [--demo] [--config FILE] [flags]

Serves the dashboard over SSH: "ssh -p PORT HOST" opens it, "ssh -p PORT HOST
snapshot --format markdown" prints the overview once. Public keys only.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *addr == "" {
		return usageError{errors.New("--ssh ADDR is required, e.g. perch serve --demo --ssh :2222")}
	}
	if *maxSessions < 1 || *idle <= 0 || *maxRate < 1 {
		return usageError{errors.New("--max-sessions, --idle-timeout and --max-rate must be positive")}
	}
	cfg, err := loadConfig(c, e.getenv)
	if err != nil {
		return err
	}
	dir := ""
	if p := config.DefaultPath(e.getenv); p != "" {
		dir = filepath.Dir(p)
	}
	if *hostKey == "" {
		if dir == "" {
			return usageError{errors.New("--host-key is required (no HOME or XDG_CONFIG_HOME for the default)")}
		}
		*hostKey = filepath.Join(dir, "ssh_host_ed25519_key")
	}
	if *authorized == "" && dir != "" {
		def := filepath.Join(dir, "authorized_keys")
		// The default file is optional only when key files are given.
		if _, err := os.Stat(def); err == nil || !errors.Is(err, os.ErrNotExist) || len(keyFiles) == 0 {
			*authorized = def
		}
	}
	if *authorized == "" && len(keyFiles) == 0 {
		return usageError{errors.New("--authorized-keys FILE or --keys FILE is required")}
	}
	srcs, hint, err := pickSources(c, cfg, time.Now)
	if err != nil {
		return err
	}
	if c.demo {
		hint = "demo data" // viewers cannot run perch config init on the server
	}
	logOut, closeLog, err := openLog(*logPath, e.stderr)
	if err != nil {
		return usageError{err}
	}
	defer closeLog()
	st := store.New()
	st.KeepHistory(tui.HistoryMetrics()...)
	tuneMemory(e.getenv)
	deferBulkUntilFirstFrame(ctx, st, srcs)
	srv, err := serve.New(serve.Config{
		Store: st, Sources: srcs, AuthorizedKeys: *authorized, KeyFiles: keyFiles, HostKeyPath: *hostKey,
		MaxSessions: *maxSessions, IdleTimeout: *idle, MaxOutputRate: *maxRate,
		ThemeName: cfg.Theme, Refresh: cfg.Refresh, Hint: hint, ASCII: *ascii,
		Logger: slog.New(slog.NewTextHandler(logOut, nil)),
	})
	if err != nil {
		return usageError{err}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	fmt.Fprintf(e.stderr, "perch serve: ssh -p %s HOST (host key %s)\n", port(ln.Addr()), gossh.FingerprintSHA256(srv.HostKey()))
	releaseAfterFirstRounds(ctx, st, len(srcs))
	return srv.Serve(ctx, ln)
}

func port(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return fmt.Sprint(t.Port)
	}
	return a.String()
}

// openLog opens the connection log for appending (0600: it names who
// connected from where), or returns stderr.
func openLog(path string, stderr io.Writer) (io.Writer, func(), error) {
	if path == "" {
		return stderr, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("--log: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
