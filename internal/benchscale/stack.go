package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stack is the servers the benchmark runs: the project's Kubernetes control
// plane with kwok nodes, the demo exporter serving functions only, and the
// project's Prometheus scraping it.
type stack struct {
	repo, dir string
	log       io.Writer

	kubeDir, promDir string
	kubeconfig       string
	promURL          string
	exporter         *exec.Cmd
	exporterAddr     string
}

func (s *stack) script(name string) string { return filepath.Join(s.repo, "scripts", "stack", name) }

// runScript runs a stack script with the watch variables set to this
// process, so a crashed benchmark never leaves a server behind.
func (s *stack) runScript(ctx context.Context, extraEnv []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.script(name), args...)
	pid := strconv.Itoa(os.Getpid())
	cmd.Env = append(append(os.Environ(), "KUBE_WATCH_PID="+pid, "PROM_WATCH_PID="+pid), extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, tail(errb.String(), 2000), tail(out.String(), 500))
	}
	return strings.TrimSpace(out.String()), nil
}

// startKube brings up the control plane with nodes kwok nodes.
func (s *stack) startKube(ctx context.Context, nodes int) error {
	s.kubeDir = filepath.Join(s.dir, "kube")
	if err := os.MkdirAll(s.kubeDir, 0o755); err != nil {
		return err
	}
	// The HPAs are there to be shown; with no metrics API the HPA
	// controller would only fail on each of them every 5 s, writing
	// statuses and events: measured on 10,000 pods, that kept the API
	// server, controller-manager and etcd at 0.45 of a core with perch
	// not running (0.2 without it), on the cores perch is measured on.
	hpaOff := []string{"KUBE_CONTROLLER_FLAGS=--controllers=*,-horizontal-pod-autoscaler-controller"}
	out, err := s.runScript(ctx, hpaOff, "kubernetes.sh", "up", s.kubeDir, strconv.Itoa(nodes))
	if err != nil {
		return fmt.Errorf("starting the Kubernetes control plane: %w", err)
	}
	lines := strings.Split(out, "\n")
	s.kubeconfig = strings.TrimSpace(lines[len(lines)-1])
	if _, err := os.Stat(s.kubeconfig); err != nil {
		return fmt.Errorf("kubernetes.sh up did not print a kubeconfig (got %q): %w", truncate(out, 200), err)
	}
	return nil
}

var exporterAddrRE = regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/metrics`)

// startFunctions runs `perch demo-exporter --only functions` on a free
// loopback port and the project's Prometheus scraping it every scrape.
func (s *stack) startFunctions(ctx context.Context, perch string, simWorkloads int, scrape time.Duration) error {
	cmd := exec.Command(perch, "demo-exporter", "--seed", "1", "--workloads", strconv.Itoa(simWorkloads),
		"--only", "functions", "--listen", "127.0.0.1:0")
	// Dies with the benchmark even on SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	logf, err := os.Create(filepath.Join(s.dir, "exporter.log"))
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(logf, pw)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting perch demo-exporter: %w", err)
	}
	s.exporter = cmd
	_ = os.WriteFile(filepath.Join(s.dir, "exporter.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close(); logf.Close() }()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := exporterAddrRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case s.exporterAddr = <-found:
	case err := <-exited:
		return fmt.Errorf("perch demo-exporter exited: %v (log: %s)", err, filepath.Join(s.dir, "exporter.log"))
	case <-time.After(60 * time.Second):
		return errors.New("perch demo-exporter did not say where it listens within 60 s")
	case <-ctx.Done():
		return ctx.Err()
	}
	s.promDir = filepath.Join(s.dir, "prom")
	out, err := s.runScript(ctx, []string{"PROM_SCRAPE_INTERVAL=" + promDuration(scrape)}, "prometheus.sh", "start", s.promDir, s.exporterAddr)
	if err != nil {
		return fmt.Errorf("starting Prometheus: %w", err)
	}
	lines := strings.Split(out, "\n")
	s.promURL = strings.TrimSpace(lines[len(lines)-1])
	if !strings.HasPrefix(s.promURL, "http://127.0.0.1:") {
		return fmt.Errorf("prometheus.sh start printed %q, want its URL", truncate(out, 200))
	}
	return nil
}

func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return strconv.Itoa(int(d/time.Millisecond)) + "ms"
}

// waitScraped waits until Prometheus holds two scrapes of the exporter
// with the functions' series (rates need two samples).
func (s *stack) waitScraped(ctx context.Context, functions int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	q := `count(count_over_time(up[10m]) >= 2) * 0 + count(kn_revision_pods_desired or gateway_service_count or aws_lambda_invocations_sum)`
	var last string
	for time.Now().Before(deadline) {
		v, err := s.promScalar(ctx, q)
		switch {
		case err != nil:
			last = err.Error()
		case int(v) == functions:
			return nil
		default:
			last = fmt.Sprintf("%v function series with two scrapes, want %d", v, functions)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	return fmt.Errorf("Prometheus did not scrape the exporter's %d functions twice within %s: %s", functions, timeout, last)
}

func (s *stack) promScalar(ctx context.Context, query string) (float64, error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, s.promURL+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return 0, fmt.Errorf("prometheus query: %w", err)
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("prometheus query: %s", body.Error)
	}
	if len(body.Data.Result) == 0 {
		return 0, nil
	}
	str, _ := body.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(str, 64)
}

// promRequests reads Prometheus's own request counters by handler.
func (s *stack) promRequests(ctx context.Context) (map[string]float64, error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, s.promURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading Prometheus's /metrics: %w", err)
	}
	defer resp.Body.Close()
	return parseHTTPRequests(resp.Body)
}

// stop stops everything that was started, in reverse order; it is safe to
// call more than once (bench-scale.sh's trap does the same by pid files).
func (s *stack) stop() {
	if s.promDir != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := s.runScript(ctx, nil, "prometheus.sh", "stop", s.promDir); err != nil {
			fmt.Fprintf(s.log, "bench-scale: %v\n", err)
		}
		cancel()
	}
	if s.exporter != nil && s.exporter.Process != nil {
		_ = s.exporter.Process.Signal(syscall.SIGTERM)
	}
	if s.kubeDir != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if _, err := s.runScript(ctx, nil, "kubernetes.sh", "down", s.kubeDir); err != nil {
			fmt.Fprintf(s.log, "bench-scale: %v\n", err)
		}
		cancel()
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
