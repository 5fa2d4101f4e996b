package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/internal/golden"
	"github.com/perch-dev/perch/sources"
)

// clusterSource is a fakeSource that also lists warnings and every pod,
// like the kubernetes source.
type clusterSource struct {
	fakeSource
	allErr error
}

func (c *clusterSource) Events(ctx context.Context, id sources.WorkloadID) ([]sources.Event, error) {
	return []sources.Event{{Object: "Pod/" + id.Name + "-7d9f-abcde", Reason: "BackOff", Message: "Back-off restarting failed container", Count: 7, Last: now.Add(-time.Minute)}}, nil
}

func (c *clusterSource) AllPods(ctx context.Context) ([]sources.Pod, error) {
	if c.allErr != nil {
		return nil, c.allErr
	}
	var out []sources.Pod
	for _, id := range []sources.WorkloadID{checkout, payments, {Cluster: "demo", Namespace: "ops", Name: ""}} {
		out = append(out, sources.Pod{Name: id.Namespace + "-" + id.Name + "-pod", Owner: id, Phase: sources.PodRunning, Ready: true, Created: now.Add(-time.Hour)})
	}
	return out, nil
}

func TestWorkloadPodsPageShowsWarningEvents(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 120, 40)
	m.cfg.Sources = []sources.Source{&clusterSource{}}
	cmd := send(m, press("enter"), press("p"))
	_ = cmd
	cmd = m.requestPods() // the pods request of the page now in front
	send(m, cmd())
	frame := ansi.Strip(m.Render())
	if !strings.Contains(frame, "BackOff") || !strings.Contains(frame, "Back-off restarting failed container") {
		t.Fatalf("the pods page must show the workload's warning events:\n%s", frame)
	}
	golden.CheckFrame(t, m.Render(), 120, 40)
}

func TestAllPodsPageFromOverview(t *testing.T) {
	src := &clusterSource{}
	m, _ := newTestModel(t, &fakeSource{}, 120, 30)
	m.cfg.Sources = []sources.Source{src}
	if !strings.Contains(ansi.Strip(m.Render()), "P all pods") {
		t.Fatalf("the footer must offer the all-pods page when a source lists pods:\n%s", ansi.Strip(m.Render()))
	}
	cmd := send(m, press("P"))
	if m.page != pagePods || cmd == nil || !strings.Contains(ansi.Strip(m.Render()), "oading") {
		t.Fatalf("P must open the all-pods page and request the pods:\n%s", ansi.Strip(m.Render()))
	}
	msg := cmd()
	pm, ok := msg.(podsMsg)
	if !ok || !pm.all {
		t.Fatalf("all-pods command returned %#v", msg)
	}
	stale := pm
	stale.reqID--
	stale.pods = []sources.Pod{{Name: "ghost-pod"}}
	send(m, stale)
	send(m, pm)
	frame := ansi.Strip(m.Render())
	for _, want := range []string{"All pods", "3 pods", "shop-payments-pod", "demo/ops/<none>"} {
		if !strings.Contains(frame, want) {
			t.Errorf("all-pods page lacks %q:\n%s", want, frame)
		}
	}
	if strings.Contains(frame, "ghost-pod") {
		t.Error("a stale answer was shown")
	}
	golden.CheckFrame(t, m.Render(), 120, 30)

	// The page refreshes while open; leaving it drops answers in flight
	// and enter opens one workload again, not every pod.
	refresh := send(m, podsRefreshMsg{reqID: m.podsReq})
	if refresh == nil {
		t.Fatal("the all-pods page must refresh while open")
	}
	late := refresh()
	send(m, press("esc"))
	if m.page != pageOverview || m.allPods {
		t.Fatalf("esc must return to the overview and leave all-pods mode (page %d)", m.page)
	}
	send(m, late)
	if m.pods != nil {
		t.Fatal("an all-pods answer arriving after leaving was kept")
	}
	cmd = send(m, press("enter"))
	if pm, ok := cmd().(podsMsg); !ok || pm.all || pm.id != payments {
		t.Fatalf("enter after the all-pods page must fetch the selected workload's pods, got %#v", pm)
	}
}

func TestAllPodsErrorKeepsOtherSourcesPods(t *testing.T) {
	broken := &clusterSource{allErr: errors.New("kube: context prod: pods is forbidden")}
	m, _ := newTestModel(t, &fakeSource{}, 200, 30)
	m.cfg.Sources = []sources.Source{broken, &clusterSource{}}
	cmd := send(m, press("P"))
	send(m, cmd())
	frame := ansi.Strip(m.Render())
	if !strings.Contains(frame, "shop-payments-pod") || !strings.Contains(frame, "partial: kube: context prod: pods is forbidden") {
		t.Fatalf("a failing source must not hide the other source's pods, and must be named:\n%s", frame)
	}
}

func TestAllPodsWithoutListerSaysWhich(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 120, 30)
	if strings.Contains(ansi.Strip(m.Render()), "all pods") {
		t.Error("the footer must not offer a page no source can fill")
	}
	send(m, press("P"))
	if frame := ansi.Strip(m.Render()); !strings.Contains(frame, "no source lists pods") {
		t.Fatalf("P without a pod-listing source must say why:\n%s", frame)
	}
}

// loadingSource lists no pods yet: its source is still loading them.
type loadingSource struct{ fakeSource }

func (l *loadingSource) Pods(ctx context.Context, id sources.WorkloadID) ([]sources.Pod, error) {
	return nil, fmt.Errorf("kube: context prod: pods %w", sources.ErrLoading)
}

func TestPodsStillLoadingShowLoadingAndAskAgainSoon(t *testing.T) {
	m, _ := newTestModel(t, &fakeSource{}, 120, 30)
	m.cfg.Sources = []sources.Source{&loadingSource{}}
	send(m, press("enter"), press("p"))
	again := send(m, m.requestPods()())
	frame := ansi.Strip(m.Render())
	if !strings.Contains(frame, "Loading pods") || strings.Contains(frame, "unavailable") {
		t.Fatalf("pods still loading are not a failure: the page must say it is loading:\n%s", frame)
	}
	if again == nil {
		t.Fatal("no request again")
	}
	start := time.Now()
	if _, ok := again().(podsRefreshMsg); !ok {
		t.Fatal("the page must ask for the pods again")
	}
	// The refresh is 15 s: a page waiting on a list asks again sooner.
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("asked again after %s, want about %s", waited, podsLoadingRetry)
	}
}
