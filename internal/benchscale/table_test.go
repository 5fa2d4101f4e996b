package main

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func fakeRow(pods int, rss, cpu, ff, tty float64) row {
	r := row{Pods: pods, Workloads: 500, Functions: 1004}
	for i, k := range []float64{0.9, 1, 1.2} {
		r.Runs = append(r.Runs, measurement{
			Pods: pods, Rep: i + 1, FirstFrame: ff * k, RSS: rss * k, HWM: rss * k * 1.5, CPU: cpu * k, TTY: tty * k,
			API:     map[string]float64{"watch": 1 * k},
			Queries: map[string]float64{"/api/v1/query": 12 * k, "/api/v1/query_range": 0},
			Load:    2, Window: 60,
		})
	}
	return r
}

func TestTableMarksTargetsOnlyAtTenThousand(t *testing.T) {
	rows := []row{fakeRow(1000, 40e6, 1, 0.5, 300), fakeRow(10000, 150e6, 2, 1.5, 800)}
	out := table(rows)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("want header, rule and 2 rows:\n%s", out)
	}
	for _, l := range lines {
		if strings.Count(l, "|") != 15 {
			t.Fatalf("every line needs 14 cells: %s", l)
		}
	}
	if strings.Contains(lines[2], "✓") || strings.Contains(lines[2], "✗") {
		t.Errorf("1,000 pods row must not be judged: %s", lines[2])
	}
	for _, want := range []string{"| 10,000 |", "150.0 MB (135.0–180.0 MB) ✗", "2.0 % (1.8–2.4 %) ✓", "1.50 s (1.35–1.80 s) ✓",
		"800 B/s (720–960 B/s) ✓", "1.0 (0.9–1.2): watch 1.0", "12.0 (10.8–14.4): query 12.0", "823.0 MB", "52.0 %", "650 B/s", "8.30 s"} {
		if !strings.Contains(lines[3], want) {
			t.Errorf("10,000 row lacks %q:\n%s", want, lines[3])
		}
	}
	if !strings.Contains(lines[2], "241.0 MB") || !strings.Contains(lines[2], "1.20 KB/s") {
		t.Errorf("1,000 row lacks k9s's figures: %s", lines[2])
	}
	if strings.Contains(out, "query_range") {
		t.Errorf("handlers with no queries are left out:\n%s", out)
	}
}

func TestTargetsCountFailedFramesAsMissed(t *testing.T) {
	r := fakeRow(10000, 50e6, 1, 1, 100)
	for i := range r.Runs[:2] {
		r.Runs[i].FirstFrame = math.NaN()
	}
	tg := targets(r)
	if tg[2].met || tg[0].met != true {
		t.Fatalf("targets: %+v", tg)
	}
	if out := table([]row{r}); !strings.Contains(out, "2 of 3 never complete") {
		t.Fatalf("table must say frames never completed:\n%s", out)
	}
}

func TestRenderNotes(t *testing.T) {
	o, _ := parseOptions(nil, &strings.Builder{})
	r := fakeRow(10000, 150e6, 2, 1.5, 800)
	for i, k := range []float64{0.8, 1.2, 1.6} {
		r.Runs[i].SourceOK = map[string]float64{"prometheus": 2 * k, "kubernetes": k}
	}
	out := render([]row{r}, notes{
		version: "perch v1", opts: o, functions: 1004, kubeUp: 12 * time.Second, podTimes: []string{"10,000 in 95 s"},
		verbs: map[string]int{"watch": 9, "list": 2, "delete": 1}, total: 17 * time.Minute, failed: errors.New("boom"),
	})
	for _, want := range []string{
		"Targets at 10,000 pods + 1,004 functions (medians): RSS ≤ 100 MB missed (150.0 MB); idle CPU ≤ 3 % met (2.0 %)",
		"perch v1; 3 run(s) per row", "10,000 in 95 s", "Total run 17m0s",
		"delete 1, list 2, watch 9: WRITES: delete×1", "INCOMPLETE: the run stopped early: boom",
		"First shown ok at 10,000 pods: kubernetes 1.20 s (0.80–1.60 s), prometheus 2.40 s (1.60–3.20 s).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestFormatting(t *testing.T) {
	for got, want := range map[string]string{
		thousands(10000): "10,000", thousands(999): "999", thousands(1234567): "1,234,567",
		fmtRate(999): "999 B/s", fmtRate(1250): "1.25 KB/s", fmtSeconds(math.Inf(1)): "never",
		cell([]float64{900, 1100, 1000}, fmtRate): "1.00 KB/s (900 B/s–1.10 KB/s)",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
