package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/perch-dev/perch/sources"
)

func TestAllPodsComeFromTheCacheWithOwners(t *testing.T) {
	shop := shopCluster()
	batch := batchCluster()
	s := newTestSource(t, Config{AllNamespaces: true}, map[string]*fakeCluster{"prod": shop, "batch": batch, "gone": nil})
	out := runSource(t, s)
	waitFor(t, out, "usage in prod and batch's rows", func(u sources.Update) bool {
		_, usage := values(u)[id("prod", "shop", "web")][sources.CPUUsage]
		_, batch := values(u)[id("batch", "batch", "nightly")]
		return usage && batch
	})
	before := len(shop.core.Actions()) + len(batch.core.Actions())
	pods, err := s.AllPods(context.Background())
	if after := len(shop.core.Actions()) + len(batch.core.Actions()); after != before {
		t.Errorf("AllPods made %d API requests, want none", after-before)
	}
	// The context that cannot connect is named; the others' pods still come.
	if err == nil || !strings.Contains(err.Error(), "context gone") {
		t.Errorf("err = %v, want it to name context gone", err)
	}
	var got []string
	for _, p := range pods {
		got = append(got, p.Owner.Cluster+"/"+p.Owner.Namespace+"/"+p.Name+"→"+p.Owner.Name)
	}
	want := []string{
		"batch/batch/migrate-aaaaa→migrate", "batch/batch/migrate-bbbbb→migrate", "batch/batch/migrate-ccccc→migrate", "batch/batch/migrate-ddddd→migrate",
		"batch/batch/nightly-29000000-xxxxx→nightly", "batch/batch/nightly-29000060-yyyyy→nightly",
		"prod/kube-system/agent-x1y2z→agent",
		"prod/shop/db-0→db", "prod/shop/db-1→db",
		"prod/shop/debug→",         // a bare pod: no row
		"prod/shop/migrate-q8d7x→", // its Job is not in the cluster: no row
		"prod/shop/web-7d9f-aaaaa→web", "prod/shop/web-7d9f-bbbbb→web", "prod/shop/web-7d9f-ccccc→web",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("pods:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range pods {
		if p.Name == "web-7d9f-aaaaa" && (!near(p.CPUUsage, 0.1) || !near(p.CPURequest, 0.25) || p.Phase != sources.PodRunning || p.Node != "node-1") {
			t.Errorf("pod = %+v", p)
		}
	}
}

func TestAllPodsBeforeStartIsAnError(t *testing.T) {
	s := newTestSource(t, Config{Metrics: MetricsOff}, map[string]*fakeCluster{"c": {core: fake.NewClientset()}})
	if _, err := s.AllPods(context.Background()); err == nil {
		t.Error("AllPods before Run: no error")
	}
}

// BenchmarkAllPods10k lists 10,000 cached pods (the all-pods page).
func BenchmarkAllPods10k(b *testing.B) {
	fc := syntheticCluster(10_000)
	s := newTestSource(b, Config{Metrics: MetricsOff, Refresh: time.Hour}, map[string]*fakeCluster{"bench": fc})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan sources.Update, 1)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()
	for u := range out {
		if loaded(u) {
			break
		}
	}
	before := len(fc.core.Actions())
	b.ReportAllocs()
	for b.Loop() {
		pods, err := s.AllPods(ctx)
		if err != nil || len(pods) != 10_000 || pods[0].Owner.Name != "svc-0000" {
			b.Fatalf("%d pods, %v", len(pods), err)
		}
	}
	if after := len(fc.core.Actions()); after != before {
		b.Fatalf("AllPods made %d API requests", after-before)
	}
	cancel()
	<-done
}
