package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/prometheus/metricnames"
	"github.com/perch-dev/perch/sources/promexport"
	"github.com/perch-dev/perch/sources/sim"
)

var exporterEpoch = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// exposition serves the simulator at 16:00 (peak: every function has pods)
// through the --only filter (only == "": unfiltered).
func exposition(t *testing.T, s *sim.Sim, only string) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	at := exporterEpoch.Add(16 * time.Hour)
	var h http.Handler = promexport.NewHandler(s, func() time.Time { return at })
	f, err := newWorkloadFilter(only, s.Workloads())
	if err != nil {
		t.Fatal(err)
	}
	if f != nil {
		h = filteredHandler{inner: h, f: f}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Length") != strconv.Itoa(rec.Body.Len()) {
		t.Fatalf("status %d, content-length %q for %d bytes", rec.Code, rec.Header().Get("Content-Length"), rec.Body.Len())
	}
	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("--only %q: exposition does not parse: %v", only, err)
	}
	return rec.Body.String(), fams
}

func sampleLines(text string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		if l != "" && l[0] != '#' {
			out[l] = true
		}
	}
	return out
}

func seriesCount(fams map[string]*dto.MetricFamily, name string) int {
	if f := fams[name]; f != nil {
		return len(f.GetMetric())
	}
	return 0
}

// TestDemoExporterOnlySplitsTheSimulator: --only functions and --only
// kubernetes split the exposition into two disjoint halves whose union is
// the whole, each with exactly its own side's objects.
func TestDemoExporterOnlySplitsTheSimulator(t *testing.T) {
	for _, n := range []int{0, 400} { // the built-in shop and a generated inventory
		t.Run("workloads="+strconv.Itoa(n), func(t *testing.T) {
			s, err := sim.New(sim.Config{Seed: 1, Workloads: n, Start: exporterEpoch, Clock: func() time.Time { return exporterEpoch }})
			if err != nil {
				t.Fatal(err)
			}
			count := map[sources.Platform]int{}
			deployments := map[bool]int{} // by "is a function": Knative and OpenFaaS run a Deployment each
			for _, w := range s.Workloads() {
				count[w.Platform]++
				if w.Platform == sources.Knative || w.Platform == sources.OpenFaaS || w.Kind == sources.Deployment {
					deployments[w.Platform.IsServerless()]++
				}
			}
			if count[sources.Kubernetes] == 0 || count[sources.Knative] == 0 || count[sources.OpenFaaS] == 0 || count[sources.Lambda] == 0 {
				t.Fatalf("the simulator should have every platform: %v", count)
			}
			allText, all := exposition(t, s, "")
			fnText, fn := exposition(t, s, "functions")
			kubeText, kube := exposition(t, s, "kubernetes")

			whole, fnLines, kubeLines := sampleLines(allText), sampleLines(fnText), sampleLines(kubeText)
			for l := range fnLines {
				if kubeLines[l] {
					t.Fatalf("line in both halves: %s", l)
				}
				if !whole[l] {
					t.Fatalf("line not in the unfiltered exposition: %s", l)
				}
			}
			if len(fnLines)+len(kubeLines) != len(whole) {
				t.Fatalf("functions %d + kubernetes %d lines != %d", len(fnLines), len(kubeLines), len(whole))
			}

			// Each side's own families are complete, the other side's are gone.
			for name, want := range map[string]int{
				metricnames.KnOTelPodsDesired:   count[sources.Knative],
				metricnames.OpenFaaSReplicas:    count[sources.OpenFaaS],
				metricnames.LambdaInvocations:   count[sources.Lambda],
				metricnames.KubeDeploymentReady: deployments[true],
			} {
				if got := seriesCount(fn, name); got != want {
					t.Errorf("functions: %s has %d series, want %d", name, got, want)
				}
			}
			for _, name := range []string{metricnames.KnOTelPodsDesired, metricnames.OpenFaaSReplicas, metricnames.LambdaInvocations,
				metricnames.KubeDeploymentReady, metricnames.KubePodOwner} {
				if seriesCount(all, name) != seriesCount(fn, name)+seriesCount(kube, name) {
					t.Errorf("%s: %d series, split %d + %d", name, seriesCount(all, name), seriesCount(fn, name), seriesCount(kube, name))
				}
			}
			for _, name := range []string{metricnames.IstioRequests, metricnames.KubeStatefulSetReady, metricnames.KubeHPAMin} {
				if seriesCount(fn, name) != 0 || seriesCount(kube, name) != seriesCount(all, name) || seriesCount(all, name) == 0 {
					t.Errorf("%s: functions %d, kubernetes %d, all %d", name, seriesCount(fn, name), seriesCount(kube, name), seriesCount(all, name))
				}
			}
			if got, want := seriesCount(kube, metricnames.KubeDeploymentReady), deployments[false]; got != want {
				t.Errorf("kubernetes: %d deployments, want %d", got, want)
			}
			for _, name := range []string{metricnames.KnOTelPodsDesired, metricnames.OpenFaaSReplicas, metricnames.LambdaInvocations} {
				if seriesCount(kube, name) != 0 {
					t.Errorf("kubernetes: %s has %d series", name, seriesCount(kube, name))
				}
			}
			// Pods follow their workload: the functions' pods have owners
			// named after a function.
			if seriesCount(fn, metricnames.KubePodOwner) == 0 || seriesCount(kube, metricnames.KubePodOwner) == 0 {
				t.Fatal("both sides should have pods at 16:00")
			}
			for _, m := range fn[metricnames.KubePodOwner].GetMetric() {
				owner := ""
				for _, l := range m.GetLabel() {
					if l.GetName() == "owner_name" {
						owner = l.GetValue()
					}
				}
				if !startsWithFunction(owner, s.Workloads()) {
					t.Errorf("functions side has pod owner %q", owner)
				}
			}
		})
	}
}

func startsWithFunction(name string, ws []sources.Workload) bool {
	for _, w := range ws {
		if w.Platform.IsServerless() && (name == w.ID.Name || strings.HasPrefix(name, w.ID.Name+"-")) {
			return true
		}
	}
	return false
}

// TestFilterWriterIsChunkingProof: the history path streams through the
// filter in whatever pieces the writer gets.
func TestFilterWriterIsChunkingProof(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 1, Start: exporterEpoch, Clock: func() time.Time { return exporterEpoch }})
	if err != nil {
		t.Fatal(err)
	}
	f, err := newWorkloadFilter("functions", s.Workloads())
	if err != nil {
		t.Fatal(err)
	}
	var whole bytes.Buffer
	if err := promexport.WriteHistory(&whole, s, exporterEpoch.Add(time.Hour), exporterEpoch.Add(time.Hour+time.Minute), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	var once, pieces bytes.Buffer
	fw := &filterWriter{f: f, w: &once}
	if _, err := fw.Write(whole.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	fw = &filterWriter{f: f, w: &pieces}
	b := whole.Bytes()
	for i, size := 0, 1; i < len(b); i, size = i+size, size%97+1 {
		if _, err := fw.Write(b[i:min(i+size, len(b))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	if once.Len() == 0 || once.Len() >= whole.Len() || !bytes.Equal(once.Bytes(), pieces.Bytes()) {
		t.Fatalf("filtered %d of %d bytes at once, %d in pieces", once.Len(), whole.Len(), pieces.Len())
	}
	if !strings.HasSuffix(once.String(), "# EOF\n") || strings.Contains(once.String(), "istio_requests_total{") {
		t.Fatalf("history lost its end marker or kept Kubernetes series:\n%.300s", once.String())
	}
}

func TestFilterKeepsCommentsAndUnlabelledLines(t *testing.T) {
	f := &workloadFilter{drop: map[string]struct{}{"cart": {}}}
	for line, want := range map[string]bool{
		`# HELP x cart things`:                          true,
		`up 1`:                                          true,
		`x{pod="cart-7d9f-abcde"} 1`:                    false,
		`x{function_name="cart.openfaas-fn"} 1`:         false,
		`x{deployment="cart"} 1`:                        false,
		`x{deployment="carts"} 1`:                       true,
		`x{a="b\"cart",deployment="shop-cart"} 1`:       true,
		`x{a="\\",deployment="cart"} 1`:                 false,
		`x{namespace="shop",le="+Inf"} 1 1700000000000`: true,
		`x{broken="cart`:                                true,
	} {
		if got := f.keep([]byte(line)); got != want {
			t.Errorf("keep(%s) = %v, want %v", line, got, want)
		}
	}
}

func TestDemoExporterOnlyUsage(t *testing.T) {
	var stderr bytes.Buffer
	err := runDemoExporter(context.Background(), env{stdout: &stderr, stderr: &stderr, getenv: func(string) string { return "" }},
		[]string{"--only", "lambdas"})
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "want functions or kubernetes") {
		t.Fatalf("got %v", err)
	}
	// --history with --only writes only the functions' series.
	out := filepath.Join(t.TempDir(), "h.om")
	if err := runDemoExporter(context.Background(), env{stdout: &stderr, stderr: &stderr, getenv: func(string) string { return "" }},
		[]string{"--only", "functions", "--history", "1m", "--out", out}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "kn_revision_pods_desired{") || strings.Contains(string(b), "istio_requests_total{") {
		t.Fatalf("history with --only functions:\n%.400s", b)
	}
}
