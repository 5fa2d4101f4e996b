// Package serve is `perch serve`: the dashboard over SSH for an on-call
// team. Every SSH session gets its own tui.Model (page, sort, filter,
// size, theme from the client's terminal) while all sessions share one
// store and one run of each source, so fifty viewers cost the backends
// what one does.
//
// Only public keys from an authorized_keys file (and GitHub-style key
// files) get in. There is no shell: a session is the dashboard, or the
// `snapshot` command, and nothing else (no exec, no forwarding, no SFTP,
// no X11, no agent).
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/tui"
)

// Defaults for the limits.
const (
	DefaultMaxSessions     = 20
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultMaxOutputRate   = 64 << 10 // bytes per second per session
	DefaultSnapshotTimeout = 30 * time.Second
	// Terminals larger than this are drawn at this size: a client claiming
	// 65535×65535 must not make the server allocate a screen buffer for it.
	MaxWidth, MaxHeight = 500, 200
	handshakeTimeout    = 20 * time.Second
)

// Config configures a Server.
type Config struct {
	// Store is shared by every session; New makes one when nil.
	Store *store.Store
	// Sources are run once each by Serve, feeding Store.
	Sources []sources.Source

	// AuthorizedKeys is an OpenSSH authorized_keys file. It is re-read
	// when it changes, so adding a viewer needs no restart.
	AuthorizedKeys string
	// KeyFiles are GitHub-style key files (one public key per line, as
	// served at https://github.com/USER.keys); the file name labels the
	// viewer in the log.
	KeyFiles []string
	// HostKeyPath is the server's ed25519 key, generated (mode 0600) on
	// first start.
	HostKeyPath string

	MaxSessions int // concurrent sessions; default 20
	// IdleTimeout closes a dashboard without a key press or resize for
	// this long (and a connection without any traffic); default 30 min.
	IdleTimeout time.Duration
	// MaxOutputRate bounds each session's output in bytes per second
	// (bursts up to 4 s worth); default 64 KiB/s, negative for no bound.
	MaxOutputRate int
	// SnapshotTimeout bounds how long `snapshot` waits for the first data.
	SnapshotTimeout time.Duration

	// Dashboard settings, as for tui.Config.
	ThemeName string
	Refresh   time.Duration
	Hint      string
	ASCII     bool
	Clock     func() time.Time

	// Logger receives connect, disconnect and refusals (fingerprints,
	// never key material); default text on stderr.
	Logger *slog.Logger
}

// Server serves the dashboard over SSH.
type Server struct {
	cfg     Config
	log     *slog.Logger
	keys    *keyring
	hostKey gossh.Signer
	slots   chan struct{} // one per open session
	conns   atomic.Int64
	nextID  atomic.Uint64
	pods    *podCache
	// views are the sources as sessions see them: pod lookups go through
	// one shared cache instead of one query per viewer.
	views []sources.Source
}

// New checks the configuration, loads the viewers' keys and loads or
// creates the host key. Errors name the file at fault.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		cfg.Store = store.New()
		cfg.Store.KeepHistory(tui.HistoryMetrics()...)
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxOutputRate == 0 {
		cfg.MaxOutputRate = DefaultMaxOutputRate
	}
	if cfg.SnapshotTimeout <= 0 {
		cfg.SnapshotTimeout = DefaultSnapshotTimeout
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 15 * time.Second
	}
	cfg.Store.SetStaleAfter(3 * cfg.Refresh) // a silent source's rows read as stale
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.HostKeyPath == "" {
		return nil, errors.New("serve: no host key path")
	}
	keys, err := loadKeyring(cfg.AuthorizedKeys, cfg.KeyFiles, cfg.Logger)
	if err != nil {
		return nil, err
	}
	hostKey, created, err := loadOrCreateHostKey(cfg.HostKeyPath)
	if err != nil {
		return nil, err
	}
	if created {
		cfg.Logger.Info("generated host key", "path", cfg.HostKeyPath, "fingerprint", gossh.FingerprintSHA256(hostKey.PublicKey()))
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, keys: keys, hostKey: hostKey,
		slots: make(chan struct{}, cfg.MaxSessions),
	}
	s.pods = newPodCache(cfg.Refresh, cfg.Clock)
	s.views = shareSources(cfg.Sources, s.pods)
	return s, nil
}

// HostKey is the server's public host key (for known_hosts).
func (s *Server) HostKey() gossh.PublicKey { return s.hostKey.PublicKey() }

// Store is the store every session reads.
func (s *Server) Store() *store.Store { return s.cfg.Store }

// Serve runs every source once, feeding the shared store, and serves SSH
// on ln until ctx ends. It closes ln and every connection on return.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.pods.start(ctx)
	var feeds sync.WaitGroup
	for _, src := range s.cfg.Sources {
		feeds.Add(1)
		go func() { defer feeds.Done(); s.cfg.Store.Feed(ctx, src) }()
	}
	defer feeds.Wait()
	defer cancel()

	srv := s.sshServer()
	s.log.Info("listening", "addr", ln.Addr().String(), "host_key", gossh.FingerprintSHA256(s.hostKey.PublicKey()),
		"viewers", s.keys.count(), "max_sessions", s.cfg.MaxSessions)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		_ = srv.Close()
		<-errc
		return nil
	case err := <-errc:
		_ = srv.Close()
		if errors.Is(err, ssh.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("ssh server: %w", err)
	}
}

// sshServer wires the policy: public keys only, sessions only, a request
// filter on every session channel, no global requests (no tcpip-forward).
func (s *Server) sshServer() *ssh.Server {
	return &ssh.Server{
		Handler:          s.handle,
		HostSigners:      []ssh.Signer{s.hostKey},
		Version:          "perch",
		PublicKeyHandler: s.authorize,
		HandshakeTimeout: handshakeTimeout,
		IdleTimeout:      s.cfg.IdleTimeout,
		ChannelHandlers: map[string]ssh.ChannelHandler{
			"session": s.sessionChannel,
		},
		RequestHandlers:        map[string]ssh.RequestHandler{},
		SubsystemHandlers:      map[string]ssh.SubsystemHandler{},
		SessionRequestCallback: s.allowSession,
		ServerConfigCallback: func(ssh.Context) *gossh.ServerConfig {
			return &gossh.ServerConfig{MaxAuthTries: 6, AuthLogCallback: s.logAuth}
		},
		ConnCallback: s.admit,
		ConnectionFailedCallback: func(conn net.Conn, err error) {
			if !errors.Is(err, io.EOF) {
				s.log.Debug("connection failed", "remote", conn.RemoteAddr().String(), "err", err)
			}
		},
	}
}

// admit bounds open connections (authenticated or not) so a flood of
// half-open handshakes cannot exhaust the server.
func (s *Server) admit(_ ssh.Context, conn net.Conn) net.Conn {
	limit := int64(2*s.cfg.MaxSessions + 16)
	if s.conns.Add(1) > limit {
		s.conns.Add(-1)
		s.log.Warn("connection refused: too many connections", "remote", conn.RemoteAddr().String(), "limit", limit)
		return nil
	}
	return &countedConn{Conn: conn, open: &s.conns}
}

type countedConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// authorize accepts the viewers' keys and logs every other one by
// fingerprint.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	if _, ok := s.keys.lookup(key); ok {
		return true
	}
	s.log.Warn("rejected key", "fingerprint", gossh.FingerprintSHA256(key), "type", key.Type(),
		"user", ctx.User(), "remote", addr(ctx.RemoteAddr()))
	return false
}

// logAuth records attempts with methods perch never accepts.
func (s *Server) logAuth(conn gossh.ConnMetadata, method string, err error) {
	if err == nil || method == "none" || method == "publickey" {
		return
	}
	s.log.Warn("refused authentication method", "method", method, "user", conn.User(), "remote", addr(conn.RemoteAddr()))
}

func addr(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
