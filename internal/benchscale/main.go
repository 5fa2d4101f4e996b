// Command benchscale is perch's scale benchmark (make bench-scale, issue 10):
// perch in tmux at 200×60 on the project's real stack with 1,000, 5,000 and
// 10,000 pods in ~20 namespaces behind 500 workloads, plus 1,000 functions
// in Prometheus, measured against k9s's figures from the issue.
//
// It starts a Kubernetes control plane with kwok nodes
// (scripts/stack/kubernetes.sh), feeds it Deployments, StatefulSets and
// HPAs with client-go as the admin user, serves the simulator's functions
// with `perch demo-exporter --only functions` scraped by the project's
// Prometheus (scripts/stack/prometheus.sh), and runs bin/perch with both
// sources as the audited user, so the API server's audit log holds exactly
// perch's requests. Per pod count and repetition it measures the time to
// the first complete frame, VmRSS/VmHWM, CPU and terminal bytes over an
// idle window, API requests and metric queries per minute and the load
// average, and prints one table with medians (and min–max).
//
// Run it through scripts/bench-scale.sh, which makes the temp dir and
// cleans up by pid files even if this program is killed.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "bench-scale:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	dir, repo, perch, out, profiles string
	pods                            []int
	workloads, namespaces, nodes    int
	simWorkloads                    int
	repeat                          int
	idle, settle, refresh           time.Duration
	frameTimeout, podTimeout        time.Duration
	poll                            time.Duration
	keep, hold                      bool
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench-scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", "", "fresh work `DIR` for the servers' state and logs (default: a new temp dir)")
	fs.StringVar(&o.repo, "repo", ".", "perch's repository root (scripts/stack lives there)")
	fs.StringVar(&o.perch, "perch", "bin/perch", "the perch binary to measure")
	fs.StringVar(&o.out, "out", "bench-scale-results.md", "write the table to this `FILE` too")
	fs.StringVar(&o.profiles, "profile-dir", "", "run perch with --cpuprofile/--memprofile into this `DIR` (one pair per run)")
	pods := fs.String("pods", "1000,5000,10000", "pod counts, comma-separated, ascending")
	fs.IntVar(&o.workloads, "workloads", 500, "Kubernetes workloads (Deployments, 1 in 8 a StatefulSet, 2 in 5 Deployments with an HPA)")
	fs.IntVar(&o.namespaces, "namespaces", 20, "namespaces the workloads are spread over")
	fs.IntVar(&o.nodes, "nodes", 100, "kwok nodes (1,000 pods each at most)")
	fs.IntVar(&o.simWorkloads, "sim-workloads", 2780, "simulator size for the exporter; its functions (~36 %) are served: 2780 gives 1,004")
	fs.IntVar(&o.repeat, "repeat", 3, "runs of perch per pod count (medians are reported)")
	fs.DurationVar(&o.idle, "idle", 60*time.Second, "idle window per run")
	fs.DurationVar(&o.settle, "settle", 15*time.Second, "wait between the first complete frame and the idle window")
	fs.DurationVar(&o.refresh, "refresh", 15*time.Second, "perch's refresh (both sources) and Prometheus's scrape interval")
	fs.DurationVar(&o.frameTimeout, "frame-timeout", 90*time.Second, "give up waiting for the first complete frame after this long")
	fs.DurationVar(&o.podTimeout, "pod-timeout", 20*time.Minute, "give up waiting for the pods of one row after this long")
	fs.DurationVar(&o.poll, "poll", 40*time.Millisecond, "how often the pane is read while waiting for the first frame")
	fs.BoolVar(&o.keep, "keep", false, "keep the work dir (logs, audit log, tty captures, header timelines)")
	fs.BoolVar(&o.hold, "hold", false, "after the last row, keep the stack up until interrupted (to run perch by hand)")
	quick := fs.Bool("quick", false, "development mode: --repeat 1 --idle 20s --settle 5s unless given")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["repeat"] {
			o.repeat = 1
		}
		if !set["idle"] {
			o.idle = 20 * time.Second
		}
		if !set["settle"] {
			o.settle = 5 * time.Second
		}
	}
	var err error
	if o.pods, err = parsePods(*pods); err != nil {
		return o, err
	}
	switch {
	case o.repeat < 1:
		return o, errors.New("--repeat must be at least 1")
	case o.idle < 5*time.Second:
		return o, errors.New("--idle must be at least 5s")
	case o.workloads < 1 || o.namespaces < 1 || o.nodes < 1:
		return o, errors.New("--workloads, --namespaces and --nodes must be positive")
	case o.pods[0] < o.workloads:
		return o, fmt.Errorf("--pods %d is fewer than --workloads %d (every workload has a pod)", o.pods[0], o.workloads)
	case o.pods[len(o.pods)-1] > 1000*o.nodes:
		return o, fmt.Errorf("--pods %d do not fit on %d kwok nodes of 1,000 pods", o.pods[len(o.pods)-1], o.nodes)
	case o.simWorkloads < 1 || o.simWorkloads > sim.MaxWorkloads:
		return o, fmt.Errorf("--sim-workloads must be between 1 and %d", sim.MaxWorkloads)
	case o.refresh < time.Second:
		return o, errors.New("--refresh must be at least 1s")
	}
	return o, nil
}

func parsePods(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(strings.ReplaceAll(part, "_", "")))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--pods %q: want positive counts like 1000,5000,10000", s)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("--pods %q: counts must ascend (pods are only ever added)", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// functionCount is how many functions the exporter serves: the simulator's
// serverless workloads for that size (seed 1, as the exporter is started).
func functionCount(simWorkloads int) (int, error) {
	s, err := sim.New(sim.Config{Seed: 1, Workloads: simWorkloads, Prices: cost.Defaults()})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, w := range s.Workloads() {
		if w.Platform.IsServerless() {
			n++
		}
	}
	return n, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	began := time.Now()
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "bench-scale [%5.0fs] %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, a...))
	}
	if o.repo, err = filepath.Abs(o.repo); err != nil {
		return err
	}
	if o.perch, err = filepath.Abs(o.perch); err != nil {
		return err
	}
	if _, err := os.Stat(o.perch); err != nil {
		return fmt.Errorf("perch binary: %w (build it with make build)", err)
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		return errors.New("tmux is not on PATH (apt-get install tmux)")
	}
	if o.dir == "" {
		if o.dir, err = os.MkdirTemp("", "perch-bench-scale-"); err != nil {
			return err
		}
		defer func() {
			if err == nil && !o.keep {
				os.RemoveAll(o.dir)
			} else {
				fmt.Fprintf(stderr, "bench-scale: logs kept in %s\n", o.dir)
			}
		}()
	}
	if o.profiles != "" {
		if o.profiles, err = filepath.Abs(o.profiles); err != nil {
			return err
		}
		if err := os.MkdirAll(o.profiles, 0o755); err != nil {
			return err
		}
	}
	functions, err := functionCount(o.simWorkloads)
	if err != nil {
		return err
	}
	version, _ := exec.Command(o.perch, "version").Output()

	st := &stack{repo: o.repo, dir: o.dir, log: stderr}
	tm, err := newTmux(o.dir)
	if err != nil {
		return err
	}
	defer st.stop()
	defer tm.killServer()

	// The control plane and the functions side start in parallel.
	logf("starting the control plane with %d kwok nodes, and %d functions in Prometheus (work dir %s)", o.nodes, functions, o.dir)
	t0 := time.Now()
	fnErr := make(chan error, 1)
	go func() { fnErr <- st.startFunctions(ctx, o.perch, o.simWorkloads, o.refresh) }()
	kubeErr := st.startKube(ctx, o.nodes)
	kubeUp := time.Since(t0)
	if err := errors.Join(kubeErr, <-fnErr); err != nil {
		return err
	}
	logf("control plane up in %.1f s; exporter on %s, Prometheus on %s", kubeUp.Seconds(), st.exporterAddr, st.promURL)

	p := plan(o.workloads, o.namespaces)
	fd, err := newFeeder(st.kubeconfig, p, o.pods[len(o.pods)-1], stderr)
	if err != nil {
		return err
	}
	if err := fd.grantReader(ctx); err != nil {
		return err
	}
	config := filepath.Join(o.dir, "perch.yaml")
	if err := writeConfig(config, st.kubeconfig, st.promURL, o.refresh); err != nil {
		return err
	}
	m := &measurer{
		st: st, tmux: tm, perch: o.perch, config: config, dir: o.dir, sources: []string{"kubernetes", "prometheus"},
		audit: filepath.Join(st.kubeDir, "audit.log"), profiles: o.profiles, poll: o.poll, timeout: o.frameTimeout,
		settle: o.settle, idle: o.idle, log: logf,
	}

	var rows []row
	var podTimes []string
	var measured time.Duration // the run without --hold's wait
	defer func() {
		if len(rows) == 0 || len(rows[0].Runs) == 0 {
			return
		}
		// Whatever happened, report what was measured.
		totals, aerr := m.auditTotals()
		report := render(rows, notes{
			version: strings.TrimSpace(string(version)), opts: o, functions: functions, kubeUp: kubeUp,
			podTimes: podTimes, verbs: totals, verbsErr: aerr, total: cmp.Or(measured, time.Since(began)), failed: err,
		})
		fmt.Fprint(stdout, report)
		if werr := os.WriteFile(o.out, []byte(report), 0o644); werr != nil {
			err = errors.Join(err, fmt.Errorf("writing %s: %w", o.out, werr))
		} else {
			logf("results written to %s", o.out)
		}
	}()

	scraped := false
	for i, pods := range o.pods {
		reps, err := replicas(p, pods)
		if err != nil {
			return err
		}
		t := time.Now()
		if i == 0 {
			logf("creating %d namespaces, %d workloads (%d pods)", o.namespaces, len(p), pods)
			err = fd.create(ctx, reps)
		} else {
			logf("scaling to %d pods", pods)
			err = fd.scale(ctx, reps)
		}
		if err != nil {
			return err
		}
		if err := fd.waitRunning(ctx, pods, o.podTimeout); err != nil {
			return err
		}
		took := time.Since(t)
		podTimes = append(podTimes, fmt.Sprintf("%s in %.0f s", thousands(pods), took.Seconds()))
		logf("%d pods Running after %.1f s", pods, took.Seconds())
		if !scraped {
			if err := st.waitScraped(ctx, functions, 3*time.Minute); err != nil {
				return err
			}
			scraped = true
		}
		// Let the controllers' last writes (statuses, HPA events) land.
		if err := sleep(ctx, 10*time.Second); err != nil {
			return err
		}
		// The row is reported with the runs it has, even if a later one fails.
		rows = append(rows, row{Pods: pods, Workloads: len(p), Functions: functions})
		rw := &rows[len(rows)-1]
		for rep := 1; rep <= o.repeat; rep++ {
			r, err := m.measure(ctx, pods, rep, len(p)+functions)
			if err != nil && ctx.Err() == nil {
				// One retry: a shared machine has hiccups (tmux, a slow exec).
				logf("%d pods run %d failed, retrying once: %v", pods, rep, err)
				r, err = m.measure(ctx, pods, rep, len(p)+functions)
			}
			if err != nil {
				return fmt.Errorf("%d pods, run %d: %w", pods, rep, err)
			}
			logf("%d pods run %d: first frame %s (ok: %s), RSS %s (HWM %s), CPU %s, tty %s, API %.1f/min, queries %.1f/min, load %.2f",
				pods, rep, fmtSeconds(r.FirstFrame), orDash(sourcesOK([]measurement{r})), fmtBytes(r.RSS), fmtBytes(r.HWM), fmtPct(r.CPU), fmtRate(r.TTY),
				r.apiTotal(), r.queriesTotal(), r.Load)
			rw.Runs = append(rw.Runs, r)
		}
	}
	measured = time.Since(began)
	if o.hold {
		logf("holding the stack (Ctrl-C stops it): %s --config %s", o.perch, config)
		<-ctx.Done()
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// writeConfig is perch's config: the cluster as the audited user, and the
// Prometheus with the functions, both at the given refresh.
func writeConfig(path, kubeconfig, promURL string, refresh time.Duration) error {
	cfg := fmt.Sprintf(`# perch bench-scale: both sources at the default refresh
refresh: %s
sources:
  - type: kubernetes
    kubeconfig: %s
    context: audited
  - type: prometheus
    url: %s
`, refresh, strconv.Quote(kubeconfig), strconv.Quote(promURL))
	return os.WriteFile(path, []byte(cfg), 0o600)
}

// notes is what goes under the table.
type notes struct {
	version   string
	opts      options
	functions int
	kubeUp    time.Duration
	podTimes  []string
	verbs     map[string]int
	verbsErr  error
	total     time.Duration
	failed    error
}

func render(rows []row, n notes) string {
	var b strings.Builder
	b.WriteString(table(rows))
	b.WriteString("\n")
	for _, r := range rows {
		if ok := sourcesOK(r.Runs); ok != "" {
			fmt.Fprintf(&b, "First shown ok at %s pods: %s.\n", thousands(r.Pods), ok)
		}
	}
	for _, r := range rows {
		if r.Pods != targetPods || len(r.Runs) == 0 {
			continue
		}
		var parts []string
		for _, t := range targets(r) {
			verdict := "missed"
			if t.met {
				verdict = "met"
			}
			parts = append(parts, fmt.Sprintf("%s %s %s (%s)", t.what, t.limit, verdict, t.value))
		}
		fmt.Fprintf(&b, "Targets at 10,000 pods + %s functions (medians): %s.\n", thousands(r.Functions), strings.Join(parts, "; "))
	}
	o := n.opts
	fmt.Fprintf(&b, "\n%s; %d run(s) per row, medians (min–max); tmux %d×%d, TERM=tmux-256color, COLORTERM=truecolor; refresh %s for both sources (Prometheus scrapes every %s); "+
		"first complete frame = tmux new-session until the header shows every source ok and all workloads (the Kubernetes rows' requests and cost are estimates from the pod templates until \"all loaded\": the header stops saying \"pods still loading\"); idle window %s starting %s after it; "+
		"CPU = utime+stime of one core; tty = bytes perch wrote to the pane (tmux pipe-pane); API = requests of perch's user in the audit log; "+
		"queries = Prometheus's prometheus_http_requests_total; load = 1-min load average of the machine; SI units (1 MB = 10^6 B).\n",
		orDash(n.version), o.repeat, termWidth, termHeight, o.refresh, o.refresh, o.idle, o.settle)
	fmt.Fprintf(&b, "Cluster: %d kwok nodes, %d workloads in %d namespaces (Deployments, 1 in 8 a StatefulSet, 2 in 5 Deployments with an HPA), replicas scaled per row; "+
		"%s functions (Knative, OpenFaaS, Lambda) from `perch demo-exporter --only functions --workloads %d`.\n",
		o.nodes, o.workloads, o.namespaces, thousands(n.functions), o.simWorkloads)
	fmt.Fprintf(&b, "Stack: control plane up in %.0f s; pods Running: %s. Total run %s.\n", n.kubeUp.Seconds(), orDash(strings.Join(n.podTimes, ", ")), n.total.Round(time.Second))
	switch {
	case n.verbsErr != nil:
		fmt.Fprintf(&b, "perch's API requests over the whole run: cannot read the audit log: %v\n", n.verbsErr)
	default:
		var parts []string
		for v, c := range n.verbs {
			parts = append(parts, fmt.Sprintf("%s %d", v, c))
		}
		sort.Strings(parts)
		verdict := "only get, list and watch"
		if bad := readOnlyVerbs(n.verbs); len(bad) > 0 {
			sort.Strings(bad)
			verdict = "WRITES: " + strings.Join(bad, ", ")
		}
		fmt.Fprintf(&b, "perch's API requests over the whole run (audit log, user audited): %s: %s.\n", orDash(strings.Join(parts, ", ")), verdict)
	}
	b.WriteString("k9s: issue 10's reference (k9s v0.51.0, pods view, 200×60, idle 60 s, same kind of cluster).\n")
	if n.failed != nil {
		fmt.Fprintf(&b, "INCOMPLETE: the run stopped early: %v\n", n.failed)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
