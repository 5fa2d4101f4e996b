package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/tui"
	"github.com/perch-dev/perch/views/snapshot"
)

// dashboardFPS caps frames per second per session: data changes at most
// once a second, keys need no more to feel instant.
const dashboardFPS = 30

// Bounds on what a client may put in a session's environment.
const (
	maxEnvVars    = 64
	maxEnvPayload = 4 << 10
)

// sessionChannel accepts a session channel through a request filter.
func (s *Server) sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	ssh.DefaultSessionHandler(srv, conn, filteredChannel{NewChannel: nc, s: s, ctx: ctx}, ctx)
}

// filteredChannel passes on only the requests a dashboard needs. The
// others (agent and X11 forwarding, subsystems such as sftp, signals) are
// refused here, because the ssh library would otherwise accept an agent
// request.
type filteredChannel struct {
	gossh.NewChannel
	s   *Server
	ctx ssh.Context
}

func (f filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := f.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go func() {
		defer close(out)
		envs := 0
		for req := range reqs {
			switch req.Type {
			case "pty-req", "shell", "exec", "window-change":
			case "env":
				envs++
				if envs > maxEnvVars || len(req.Payload) > maxEnvPayload {
					_ = req.Reply(false, nil)
					continue
				}
			default:
				f.s.log.Warn("refused request", "request", req.Type, "user", f.ctx.User(), "remote", addr(f.ctx.RemoteAddr()))
				_ = req.Reply(false, nil)
				continue
			}
			out <- req
		}
	}()
	return ch, out, nil
}

// allowSession accepts a shell (the dashboard) and the snapshot command;
// any other command is refused before it starts.
func (s *Server) allowSession(sess ssh.Session, kind string) bool {
	switch kind {
	case "shell":
		return true
	case "exec":
		if cmd := sess.Command(); len(cmd) > 0 && cmd[0] == "snapshot" {
			return true
		}
		s.log.Warn("refused command", "command", clip(sess.RawCommand(), 60), "user", sess.User(), "remote", addr(sess.RemoteAddr()))
		return false
	}
	return false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// handle runs one accepted session: the snapshot command, a snapshot for
// a client without a terminal, or the dashboard.
func (s *Server) handle(sess ssh.Session) {
	id := s.nextID.Add(1)
	fp, label, ok := "", "", false
	if key := sess.PublicKey(); key != nil {
		fp = gossh.FingerprintSHA256(key)
		label, ok = s.keys.lookup(key)
	}
	log := s.log.With("session", id, "user", sess.User(), "remote", addr(sess.RemoteAddr()), "key", fp, "viewer", label)
	if !ok {
		// The key was removed from the file after this connection logged in.
		log.Warn("session refused: key no longer authorized")
		fmt.Fprintln(sess.Stderr(), "perch: this key is no longer authorized")
		_ = sess.Exit(1)
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		log.Warn("session refused: server full", "max_sessions", s.cfg.MaxSessions)
		fmt.Fprintf(sess.Stderr(), "perch: %d viewers are connected, the limit; try again later\n", s.cfg.MaxSessions)
		_ = sess.Exit(1)
		return
	}

	// Everything the session starts hangs off ctx: the model's store
	// wait, its pod requests, the output limiter.
	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()
	out := newRateWriter(ctx, sess, s.cfg.MaxOutputRate)
	cmd := sess.Command()
	_, _, hasPty := sess.Pty()
	start := time.Now()
	code, reason := 0, ""
	switch {
	case len(cmd) > 0:
		log.Info("connect", "mode", "snapshot", "args", clip(strings.Join(cmd[1:], " "), 60))
		code = s.runSnapshot(ctx, sess, out, cmd[1:])
		reason = fmt.Sprintf("exit %d", code)
	case !hasPty:
		log.Info("connect", "mode", "snapshot", "args", "(no terminal)")
		code = s.runSnapshot(ctx, sess, out, nil)
		reason = fmt.Sprintf("exit %d", code)
	default:
		pty, _, _ := sess.Pty()
		log.Info("connect", "mode", "dashboard", "term", pty.Term, "size", fmt.Sprintf("%dx%d", pty.Window.Width, pty.Window.Height))
		reason = s.runDashboard(ctx, sess, out, log)
	}
	log.Info("disconnect", "reason", reason, "duration", time.Since(start).Round(time.Millisecond), "bytes_sent", out.Written())
	_ = sess.Exit(code)
}

// runDashboard runs one tui.Model on the shared store until the viewer
// quits, disconnects or stays idle too long. It returns why it ended.
func (s *Server) runDashboard(ctx context.Context, sess ssh.Session, out io.Writer, log *slog.Logger) string {
	pty, _, _ := sess.Pty()
	// The terminal's identity comes from the client, never from the
	// server's own environment.
	envs := append(sess.Environ(), "TERM="+pty.Term)
	model, err := tui.New(tui.Config{
		Context: ctx, Store: s.cfg.Store, Sources: s.views, ThemeName: s.cfg.ThemeName,
		Getenv: lookupEnv(envs), Clock: s.cfg.Clock, Refresh: s.cfg.Refresh, Hint: s.cfg.Hint, ASCII: s.cfg.ASCII,
	})
	if err != nil {
		fmt.Fprintln(sess.Stderr(), "perch:", err)
		log.Error("dashboard", "err", err)
		return "error"
	}

	var lastInput atomic.Int64
	touch := func() { lastInput.Store(time.Now().UnixNano()) }
	touch()
	var prog *tea.Program
	in := &sessionInput{r: sess, ctx: ctx, onEnd: func() { prog.Quit() }}
	w, h := clampSize(pty.Window.Width, pty.Window.Height)
	opts := append(bubbletea.MakeOptions(sess),
		tea.WithInput(in),
		tea.WithOutput(out),
		tea.WithWindowSize(w, h),
		tea.WithoutSignalHandler(), // the server's signals are not the viewer's
		tea.WithFPS(dashboardFPS),
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			switch m := msg.(type) {
			case tea.SuspendMsg:
				return tea.ResumeMsg{} // a remote program cannot be suspended
			case tea.WindowSizeMsg:
				touch()
				m.Width, m.Height = clampSize(m.Width, m.Height)
				return m
			case tea.KeyMsg, tea.MouseMsg, tea.PasteMsg:
				touch()
			}
			return msg
		}),
	)
	prog = tea.NewProgram(model, opts...)

	var idle atomic.Bool
	go watchIdle(ctx, &lastInput, s.cfg.IdleTimeout, func() {
		idle.Store(true)
		prog.Quit()
	})
	// wish's middleware runs the program and turns the client's window
	// changes into WindowSizeMsg.
	bubbletea.MiddlewareWithProgramHandler(func(ssh.Session) *tea.Program { return prog })(func(ssh.Session) {})(sess)

	switch {
	case idle.Load():
		fmt.Fprintf(sess.Stderr(), "perch: closed after %s without a key press\n", s.cfg.IdleTimeout)
		return "idle timeout"
	case sess.Context().Err() != nil || in.ended.Load():
		return "client closed"
	default:
		return "quit"
	}
}

// sessionInput ends the program with a Quit when the client closes its
// input, instead of an error the library would log as a crash, then
// blocks until the session is torn down.
type sessionInput struct {
	r     io.Reader
	ctx   context.Context
	onEnd func()
	ended atomic.Bool
}

func (in *sessionInput) Read(p []byte) (int, error) {
	n, err := in.r.Read(p)
	if err == nil || n > 0 {
		return n, nil
	}
	if in.ended.CompareAndSwap(false, true) {
		in.onEnd()
	}
	<-in.ctx.Done()
	return 0, err
}

func watchIdle(ctx context.Context, last *atomic.Int64, timeout time.Duration, fire func()) {
	every := min(max(timeout/10, 10*time.Millisecond), 5*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if time.Since(time.Unix(0, last.Load())) >= timeout {
				fire()
				return
			}
		}
	}
}

func clampSize(w, h int) (int, int) {
	return max(min(w, MaxWidth), 0), max(min(h, MaxHeight), 0)
}

// lookupEnv reads a session's KEY=value list; the last value wins, as
// the client's TERM is appended last.
func lookupEnv(envs []string) func(string) string {
	return func(key string) string {
		v := ""
		for _, kv := range envs {
			if k, val, ok := strings.Cut(kv, "="); ok && k == key {
				v = val
			}
		}
		return v
	}
}

// runSnapshot is `ssh host snapshot [--format table|json|markdown]`: the
// overview once, from the shared store. It returns the exit status.
func (s *Server) runSnapshot(ctx context.Context, sess ssh.Session, out io.Writer, args []string) int {
	stderr := sess.Stderr()
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("format", "table", "output format: "+strings.Join(snapshot.Formats(), ", "))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "snapshot: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	write, ok := snapshot.Lookup(*name)
	if !ok {
		fmt.Fprintf(stderr, "snapshot: --format %q: want %s\n", *name, strings.Join(snapshot.Formats(), ", "))
		return 2
	}
	rows, err := s.readyRows(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "snapshot:", err)
		return 1
	}
	if err := write(out, rows, s.cfg.Clock()); err != nil {
		return 1
	}
	return 0
}

// readyRows waits until every source finished a settled round (not
// estimates while its lists load) or failed, then returns the overview
// rows. On a running server this is immediate.
func (s *Server) readyRows(ctx context.Context) ([]sources.Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SnapshotTimeout)
	defer cancel()
	st := s.cfg.Store
	if err := st.WaitFor(ctx, len(s.cfg.Sources), store.Answered); err != nil {
		return nil, fmt.Errorf("sources did not answer within %s", s.cfg.SnapshotTimeout)
	}
	if err := st.Failures(); err != nil && st.Len() == 0 {
		return nil, err
	}
	return st.Summaries(s.cfg.Clock(), 0), nil
}
