package main

import (
	"context"
	"io"
	"math"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/sim"
)

func TestDemoFeederMirrorsTheSimulation(t *testing.T) {
	start := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	s, err := sim.New(sim.Config{Seed: 1, Start: start, History: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset()
	f := &demoFeeder{cs: cs, sim: s, kwok: true, log: io.Discard}
	ctx := context.Background()
	quiet := start.Add(4 * time.Hour)                // the night low
	busy := start.Add(14*time.Hour + 25*time.Minute) // the daily incident: scaled out
	if err := f.setup(ctx, quiet); err != nil {
		t.Fatal(err)
	}
	if _, err := f.follow(ctx, quiet); err != nil {
		t.Fatal(err)
	}
	kinds := map[sources.Kind]int{}
	for _, w := range f.demoWorkloads() {
		kinds[w.Kind]++
	}
	deps, _ := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	sets, _ := cs.AppsV1().StatefulSets("").List(ctx, metav1.ListOptions{})
	dss, _ := cs.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{})
	hpas, _ := cs.AutoscalingV2().HorizontalPodAutoscalers("").List(ctx, metav1.ListOptions{})
	if len(deps.Items) != kinds[sources.Deployment] || len(sets.Items) != kinds[sources.StatefulSet] || len(dss.Items) != kinds[sources.DaemonSet] ||
		len(deps.Items) == 0 || len(sets.Items) == 0 || len(dss.Items) == 0 || len(hpas.Items) == 0 {
		t.Fatalf("created %d deployments, %d statefulsets, %d daemonsets, %d hpas; sim has %v",
			len(deps.Items), len(sets.Items), len(dss.Items), len(hpas.Items), kinds)
	}
	for _, h := range hpas.Items {
		if h.Spec.Behavior == nil || *h.Spec.Behavior.ScaleUp.SelectPolicy != "Disabled" {
			t.Errorf("HPA %s/%s would fight the simulation", h.Namespace, h.Name)
		}
	}
	want := f.latest(quiet)
	for _, d := range deps.Items {
		id := sources.WorkloadID{Cluster: "demo", Namespace: d.Namespace, Name: d.Name}
		if got, w := float64(*d.Spec.Replicas), want[id][sources.ReplicasDesired]; got != w {
			t.Errorf("%s replicas = %v, want %v", id, got, w)
		}
		c := d.Spec.Template.Spec.Containers[0]
		if c.Resources.Requests.Cpu().MilliValue() == 0 || d.Spec.Template.Annotations["kwok.x-k8s.io/usage-cpu"] == "" ||
			d.Spec.Template.Spec.NodeSelector["type"] != "kwok" {
			t.Errorf("%s pod template = %+v", id, d.Spec.Template)
		}
	}

	// Later in the day the replica counts follow the simulation.
	n, err := f.follow(ctx, busy)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("nothing scaled between the night low and the incident")
	}
	want = f.latest(busy)
	changed := 0
	deps, _ = cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	for _, d := range deps.Items {
		id := sources.WorkloadID{Cluster: "demo", Namespace: d.Namespace, Name: d.Name}
		w := want[id][sources.ReplicasDesired]
		if math.IsNaN(w) || float64(*d.Spec.Replicas) != w {
			t.Errorf("%s replicas = %d, want %v", id, *d.Spec.Replicas, w)
		}
		if float64(*d.Spec.Replicas) != f.latest(quiet)[id][sources.ReplicasDesired] {
			changed++
		}
	}
	if changed == 0 {
		t.Error("no deployment changed size")
	}
	// setup is idempotent (re-running demo-cluster updates in place).
	if err := f.setup(ctx, busy); err != nil {
		t.Fatal(err)
	}
}
