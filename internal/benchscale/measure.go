package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Terminal size of every run (issue 10: 200×60).
const (
	termWidth  = 200
	termHeight = 60
)

// tmux drives tmux servers on private sockets in the work dir: a new
// server (and socket) per run, so a run never meets the previous run's
// server while it shuts down.
type tmux struct {
	dir, socket, conf string
	n                 int
}

// next switches to a fresh socket for the next run.
func (t *tmux) next() {
	t.n++
	t.socket = filepath.Join(t.dir, fmt.Sprintf("tmux-%d.sock", t.n))
}

func newTmux(dir string) (*tmux, error) {
	t := &tmux{dir: dir, conf: filepath.Join(dir, "tmux.conf")}
	t.next()
	// No status line (the pane gets all 60 rows), a 256-colour terminal
	// type like a modern terminal's, no user config.
	conf := "set -g status off\nset -g default-terminal tmux-256color\nset -g history-limit 100\n"
	return t, os.WriteFile(t.conf, []byte(conf), 0o644)
}

func (t *tmux) cmd(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{"-u", "-S", t.socket, "-f", t.conf}, args...)
	c := exec.CommandContext(ctx, "tmux", full...)
	// The server (and so perch) inherits this environment: nothing of the
	// caller's (NO_COLOR, KUBECONFIG, themes), a UTF-8 locale.
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LANG=C.UTF-8", "TMPDIR=" + os.TempDir()}
	out, err := c.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out, fmt.Errorf("tmux %s: %w: %s", args[0], err, bytes.TrimSpace(ee.Stderr))
		}
		return out, fmt.Errorf("tmux %s: %w", args[0], err)
	}
	return out, nil
}

func (t *tmux) killServer() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = t.cmd(ctx, "kill-server")
	os.Remove(t.socket)
}

// firstLine is the pane's top row (perch's header), without colours.
func (t *tmux) firstLine(ctx context.Context) (string, error) {
	out, err := t.cmd(ctx, "capture-pane", "-p", "-t", "bench", "-S", "0", "-E", "0")
	return strings.TrimRight(string(out), "\n "), err
}

// measurer runs perch once per repetition and measures it.
type measurer struct {
	st       *stack
	tmux     *tmux
	perch    string
	config   string
	dir      string
	sources  []string
	audit    string
	profiles string // folder for --cpuprofile/--memprofile, "" for none
	poll     time.Duration
	timeout  time.Duration // first complete frame
	settle   time.Duration
	idle     time.Duration
	log      func(format string, args ...any)
}

// loadingNote is in the header while a source's values are provisional
// (sources.ErrLoading: the kube source's pods still loading).
const loadingNote = "still loading"

// podsInLabel names, next to the sources' first "ok", when the header
// stopped saying "still loading": the pods' own values replaced the
// estimates.
const podsInLabel = "all loaded"

// measure starts perch in tmux, times the first complete frame, waits
// settle, then measures an idle window, and stops perch.
func (m *measurer) measure(ctx context.Context, pods, rep, workloads int) (measurement, error) {
	r := measurement{Pods: pods, Rep: rep, FirstFrame: math.NaN(), SourceOK: map[string]float64{}}
	tty := filepath.Join(m.dir, fmt.Sprintf("tty-%d-%d.out", pods, rep))
	stderr := filepath.Join(m.dir, fmt.Sprintf("perch-%d-%d.err", pods, rep))
	args := []string{shellQuote(m.perch), "--config", shellQuote(m.config)}
	if m.profiles != "" {
		args = append(args,
			"--cpuprofile", shellQuote(filepath.Join(m.profiles, fmt.Sprintf("cpu-%d-%d.pprof", pods, rep))),
			"--memprofile", shellQuote(filepath.Join(m.profiles, fmt.Sprintf("mem-%d-%d.pprof", pods, rep))))
	}
	command := "exec " + strings.Join(args, " ") + " 2>" + shellQuote(stderr)

	m.tmux.next()
	start := time.Now()
	if _, err := m.tmux.cmd(ctx, "new-session", "-d", "-s", "bench", "-x", strconv.Itoa(termWidth), "-y", strconv.Itoa(termHeight),
		"-e", "COLORTERM=truecolor", "-e", "XDG_CONFIG_HOME="+m.dir, command); err != nil {
		return r, err
	}
	defer m.stopPerch()
	pidOut, err := m.tmux.cmd(ctx, "display-message", "-p", "-t", "bench", "#{pane_pid}")
	if err != nil {
		return r, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidOut)))
	if err != nil {
		return r, fmt.Errorf("tmux pane pid %q: %w", pidOut, err)
	}
	if _, err := m.tmux.cmd(ctx, "pipe-pane", "-o", "-t", "bench", "cat > "+shellQuote(tty)); err != nil {
		return r, err
	}

	// First complete frame: every source "● NAME ok" and the full count.
	// Every distinct header on the way, and until all is loaded, goes to
	// frames-PODS-REP.log.
	frames, err := os.Create(filepath.Join(m.dir, fmt.Sprintf("frames-%d-%d.log", pods, rep)))
	if err != nil {
		return r, err
	}
	defer frames.Close()
	var last string
	for {
		line, err := m.tmux.firstLine(ctx)
		if err == nil {
			if line != last {
				fmt.Fprintf(frames, "%7.3f %s\n", time.Since(start).Seconds(), line)
			}
			last = line
			h := parseHeader(line)
			for name := range h.OK {
				if _, seen := r.SourceOK[name]; !seen {
					r.SourceOK[name] = time.Since(start).Seconds()
				}
			}
			if h.complete(m.sources, workloads) {
				r.FirstFrame = time.Since(start).Seconds()
				break
			}
		}
		if !alive(pid) {
			return r, fmt.Errorf("perch exited before its first complete frame (stderr: %s): last header %q", readTail(stderr, 500), last)
		}
		if time.Since(start) > m.timeout {
			why := ""
			if strings.HasSuffix(last, "…") {
				why = " (the header is cut off at the terminal's width, so a source's health or the workload count may be hidden)"
			}
			m.log("run %d/%d pods: no complete frame within %s%s; last header: %q", rep, pods, m.timeout, why, last)
			break
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(m.poll):
		}
	}

	// Until the pods are in, the kube source's rows are estimates from the
	// pod templates and its header says "pods still loading": note when
	// that ends, within the settle time.
	settled := time.Now().Add(m.settle)
	for loading := true; loading && time.Now().Before(settled); {
		line, err := m.tmux.firstLine(ctx)
		if err == nil && line != last {
			fmt.Fprintf(frames, "%7.3f %s\n", time.Since(start).Seconds(), line)
			last = line
		}
		if err == nil && !math.IsNaN(r.FirstFrame) && !strings.Contains(line, loadingNote) {
			r.SourceOK[podsInLabel] = time.Since(start).Seconds()
			loading = false
			continue
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(m.poll):
		}
	}
	select {
	case <-ctx.Done():
		return r, ctx.Err()
	case <-time.After(time.Until(settled)):
	}

	// The idle window.
	ticks0, err := readTicks(pid)
	if err != nil {
		return r, err
	}
	tty0 := fileSize(tty)
	q0, err := m.st.promRequests(ctx)
	if err != nil {
		return r, err
	}
	w0 := time.Now()
	var loads []float64
	for end := w0.Add(m.idle); time.Now().Before(end); {
		if l, err := readLoad(); err == nil {
			loads = append(loads, l)
		}
		wait := min(5*time.Second, time.Until(end))
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(wait):
		}
	}
	ticks1, err := readTicks(pid)
	if err != nil {
		return r, fmt.Errorf("perch died during the idle window: %w (stderr: %s)", err, readTail(stderr, 500))
	}
	w1 := time.Now()
	tty1 := fileSize(tty)
	q1, err := m.st.promRequests(ctx)
	if err != nil {
		return r, err
	}
	mem, err := readMem(pid)
	if err != nil {
		return r, err
	}
	if l, err := readLoad(); err == nil {
		loads = append(loads, l)
	}
	secs := w1.Sub(w0).Seconds()
	perMin := 60 / secs
	r.Window = secs
	r.CPU = float64(ticks1-ticks0) / userHZ / secs * 100
	r.TTY = float64(tty1-tty0) / secs
	r.RSS, r.HWM = float64(mem.RSS), float64(mem.HWM)
	r.Load = summarize(loads).Median
	r.Queries = map[string]float64{}
	for h, n := range queriesBetween(q0, q1) {
		r.Queries[h] = n * perMin
	}
	r.Header, _ = m.tmux.firstLine(ctx)

	// API requests: the audit log, read once the window is over (the API
	// server writes it synchronously, --audit-log-mode=blocking).
	reqs, err := m.readAudit()
	if err != nil {
		return r, err
	}
	r.API = map[string]float64{}
	for v, n := range verbsBetween(reqs, w0, w1) {
		r.API[v] = float64(n) * perMin
	}
	return r, nil
}

func (m *measurer) readAudit() (map[string]auditRequest, error) {
	f, err := os.Open(m.audit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	return readAudit(f, "audited")
}

// auditTotals counts every request of perch's user in the whole run.
func (m *measurer) auditTotals() (map[string]int, error) {
	reqs, err := m.readAudit()
	if err != nil {
		return nil, err
	}
	return verbsBetween(reqs, time.Time{}, time.Now().Add(time.Hour)), nil
}

// stopPerch quits perch with "q" (so profiles are written), then stops
// the tmux server.
func (m *measurer) stopPerch() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if pidOut, err := m.tmux.cmd(ctx, "display-message", "-p", "-t", "bench", "#{pane_pid}"); err == nil {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(pidOut)))
		_, _ = m.tmux.cmd(ctx, "send-keys", "-t", "bench", "q")
		for i := 0; i < 100 && pid > 0 && alive(pid); i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
	m.tmux.killServer()
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie is gone for our purposes.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func readTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatTicks(b)
}

func readMem(pid int) (memStatus, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, err
	}
	defer f.Close()
	return parseStatus(f)
}

func readLoad() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	return parseLoadavg(b)
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func readTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no stderr: " + err.Error() + ")"
	}
	return tail(strings.TrimSpace(string(b)), n)
}

// shellQuote quotes s for the sh -c tmux runs the pane command with.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
