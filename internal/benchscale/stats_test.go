package main

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want spread
	}{
		{[]float64{3, 1, 2}, spread{2, 1, 3, 3}},
		{[]float64{4, 1, 3, 2}, spread{2.5, 1, 4, 4}},
		{[]float64{5}, spread{5, 5, 5, 1}},
		{[]float64{math.NaN(), 7, 1}, spread{4, 1, 7, 2}},
	} {
		if got := summarize(c.in); got != c.want {
			t.Errorf("summarize(%v) = %+v, want %+v", c.in, got, c.want)
		}
	}
	if s := summarize([]float64{math.NaN()}); s.N != 0 || !math.IsNaN(s.Median) {
		t.Errorf("all NaN: %+v", s)
	}
}

func TestDistribute(t *testing.T) {
	for _, total := range []int{3, 10, 17, 1000} {
		w := []float64{1, 2, 0.5}
		got := distribute(total, w)
		sum := 0
		for _, n := range got {
			if n < 1 {
				t.Fatalf("distribute(%d) = %v: every part must be at least 1", total, got)
			}
			sum += n
		}
		if sum != total {
			t.Fatalf("distribute(%d) = %v sums to %d", total, got, sum)
		}
		if total == 1000 && !(got[1] > got[0] && got[0] > got[2]) {
			t.Fatalf("distribute(1000) = %v does not follow the weights", got)
		}
	}
}

func TestPlanShape(t *testing.T) {
	p := plan(500, 20)
	names, nss := map[string]bool{}, map[string]int{}
	var sets, hpas int
	for _, w := range p {
		if names[w.Namespace+"/"+w.Name] {
			t.Fatalf("duplicate workload %s/%s", w.Namespace, w.Name)
		}
		names[w.Namespace+"/"+w.Name] = true
		nss[w.Namespace]++
		if w.StatefulSet {
			sets++
			if w.HPA {
				t.Fatalf("%s: HPAs only on Deployments here", w.Name)
			}
		}
		if w.HPA {
			hpas++
		}
		if w.Weight < 0.5 || w.Weight > 12 {
			t.Fatalf("%s weight %v", w.Name, w.Weight)
		}
	}
	if len(nss) != 20 || sets < 50 || sets > 75 || hpas < 150 || hpas > 200 {
		t.Fatalf("%d namespaces, %d StatefulSets, %d HPAs", len(nss), sets, hpas)
	}
	if !slices.Equal(mustReplicas(t, p, 10000), mustReplicas(t, plan(500, 20), 10000)) {
		t.Fatal("the plan must be deterministic")
	}
	small, mid, big := mustReplicas(t, p, 1000), mustReplicas(t, p, 5000), mustReplicas(t, p, 10000)
	for i := range p {
		if small[i] > mid[i] || mid[i] > big[i] {
			t.Fatalf("%s goes %d, %d, %d: rows only ever add pods", p[i].Name, small[i], mid[i], big[i])
		}
	}
	if _, err := replicas(p, 499); err == nil {
		t.Fatal("fewer pods than workloads must be an error")
	}
}

func mustReplicas(t *testing.T, p []workloadSpec, pods int) []int {
	t.Helper()
	r, err := replicas(p, pods)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions([]string{"--quick"}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if o.repeat != 1 || o.idle != 20*time.Second || !slices.Equal(o.pods, []int{1000, 5000, 10000}) {
		t.Fatalf("--quick: %+v", o)
	}
	if o, err = parseOptions([]string{"--quick", "--repeat", "2", "--pods", "600,2_000"}, &strings.Builder{}); err != nil || o.repeat != 2 || !slices.Equal(o.pods, []int{600, 2000}) {
		t.Fatalf("explicit flags win over --quick: %+v, %v", o, err)
	}
	for _, bad := range [][]string{
		{"--pods", "5000,1000"}, {"--pods", "x"}, {"--pods", "100"}, {"--repeat", "0"},
		{"--nodes", "5"}, {"--sim-workloads", "9999"}, {"extra"},
	} {
		if _, err := parseOptions(bad, &strings.Builder{}); err == nil {
			t.Errorf("parseOptions(%v) should fail", bad)
		}
	}
}
