package kube

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/perch-dev/perch/sources"
)

// job makes a Job (owned by cronJob unless empty) with the given spec and
// status counts; done is "", JobComplete or JobFailed.
func job(ns, name, cronJob string, parallelism, completions, active, ready, succeeded, failed int32, done batchv1.JobConditionType) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1",
			Labels: map[string]string{"job-name": name}, Annotations: map[string]string{"batch.kubernetes.io/job-tracking": ""}},
		Spec: batchv1.JobSpec{Parallelism: ptr(parallelism), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "work", Image: "example/work:1"}}}}},
		Status: batchv1.JobStatus{Active: active, Ready: ptr(ready), Succeeded: succeeded, Failed: failed,
			StartTime: ptr(metav1.NewTime(t0.Add(-10 * time.Minute)))},
	}
	if completions > 0 {
		j.Spec.Completions = ptr(completions)
	}
	if cronJob != "" {
		j.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cronJob, UID: types.UID("u-" + cronJob), Controller: ptr(true)}}
	}
	if done != "" {
		end := metav1.NewTime(t0.Add(-time.Minute))
		j.Status.Conditions = []batchv1.JobCondition{{Type: done, Status: corev1.ConditionTrue, LastTransitionTime: end}}
		if done == batchv1.JobComplete {
			j.Status.CompletionTime = &end
		}
	}
	return j
}

// batchCluster: a Job "migrate" half way (2 running pods, one ready, one
// succeeded, one failed) and a CronJob "nightly" with a finished and a
// running Job.
func batchCluster() *fakeCluster {
	return &fakeCluster{core: fake.NewClientset(
		job("batch", "migrate", "", 2, 4, 2, 1, 1, 1, ""),
		pod("batch", "migrate-aaaaa", "Job", "migrate", corev1.PodRunning, true, 500, 512),
		pod("batch", "migrate-bbbbb", "Job", "migrate", corev1.PodRunning, false, 500, 512),
		pod("batch", "migrate-ccccc", "Job", "migrate", corev1.PodSucceeded, false, 500, 512),
		pod("batch", "migrate-ddddd", "Job", "migrate", corev1.PodFailed, false, 500, 512),
		job("batch", "nightly-29000000", "nightly", 1, 1, 0, 0, 1, 0, batchv1.JobComplete),
		pod("batch", "nightly-29000000-xxxxx", "Job", "nightly-29000000", corev1.PodSucceeded, false, 200, 128),
		job("batch", "nightly-29000060", "nightly", 1, 1, 1, 1, 0, 0, ""),
		pod("batch", "nightly-29000060-yyyyy", "Job", "nightly-29000060", corev1.PodRunning, true, 200, 128),
		warningEvent("batch", "e1", "Job", "nightly-29000000", "BackoffLimitExceeded", "Job has reached the specified backoff limit", t0.Add(-2*time.Minute), corev1.EventTypeWarning),
		warningEvent("batch", "e2", "Pod", "nightly-29000060-yyyyy", "BackOff", "Back-off restarting failed container", t0.Add(-time.Minute), corev1.EventTypeWarning),
		warningEvent("batch", "e3", "Job", "migrate", "FailedCreate", "quota", t0.Add(-time.Minute), corev1.EventTypeWarning),
	)}
}

func TestJobsAndCronJobsAreWorkloads(t *testing.T) {
	fc := batchCluster()
	s := newTestSource(t, Config{Metrics: MetricsOff}, map[string]*fakeCluster{"c": fc})
	out := runSource(t, s)
	u := waitFor(t, out, "complete", func(u sources.Update) bool { return loaded(u) })
	if u.Err != nil || u.Partial != nil {
		t.Fatalf("err = %v, partial = %v", u.Err, u.Partial)
	}
	kinds := map[sources.WorkloadID]sources.Kind{}
	for _, w := range u.Workloads {
		kinds[w.ID] = w.Kind
		if w.Platform != sources.Kubernetes {
			t.Errorf("%s: platform %q", w.ID, w.Platform)
		}
	}
	migrate, nightly := id("c", "batch", "migrate"), id("c", "batch", "nightly")
	if len(kinds) != 2 || kinds[migrate] != KindJob || kinds[nightly] != KindCronJob {
		t.Fatalf("inventory = %v, want the Job and the CronJob (its Jobs rolled up)", kinds)
	}
	v := values(u)
	check := func(name string, got, want float64) {
		t.Helper()
		if !near(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// 4 completions wanted, 1 done: both parallel pods are still wanted.
	check("migrate desired", v[migrate][sources.ReplicasDesired], 2)
	check("migrate current", v[migrate][sources.ReplicasCurrent], 2)
	check("migrate ready", v[migrate][sources.ReplicasReady], 1)
	// Finished pods hold no node resources: cost is the two running ones.
	check("migrate cpu request", v[migrate][sources.CPURequest], 1)
	check("migrate cost", v[migrate][sources.CostRate], 2*prices.KubeHourly(0.5, 0, 512*mib, 0))
	check("nightly desired", v[nightly][sources.ReplicasDesired], 1)
	check("nightly current", v[nightly][sources.ReplicasCurrent], 1)
	check("nightly cpu request", v[nightly][sources.CPURequest], 0.2)

	ctx := context.Background()
	js, ok, err := s.JobStatus(ctx, migrate)
	if err != nil || !ok || js != (JobStatus{Jobs: 1, Running: 1, ActivePods: 2, ReadyPods: 1, SucceededPods: 1, FailedPods: 1,
		Completions: 4, LastStart: t0.Add(-10 * time.Minute)}) {
		t.Errorf("migrate job status = %+v %v %v", js, ok, err)
	}
	js, ok, err = s.JobStatus(ctx, nightly)
	if err != nil || !ok || js.Jobs != 2 || js.Complete != 1 || js.Running != 1 || js.SucceededPods != 1 || js.ActivePods != 1 ||
		js.Completions != 2 || !js.LastEnd.Equal(t0.Add(-time.Minute)) {
		t.Errorf("nightly job status = %+v %v %v", js, ok, err)
	}
	pods, err := s.Pods(ctx, nightly)
	if err != nil || len(pods) != 2 || pods[0].Phase != sources.PodSucceeded || pods[1].Phase != sources.PodRunning || pods[1].Owner != nightly {
		t.Errorf("nightly pods = %+v, %v", pods, err)
	}
	ws, err := s.Events(ctx, nightly)
	if err != nil || len(ws) != 2 || ws[0].Object != "Pod/nightly-29000060-yyyyy" || ws[1].Object != "Job/nightly-29000000" {
		t.Errorf("nightly warnings = %+v, %v", ws, err)
	}
	pods, err = s.Pods(ctx, migrate)
	if err != nil || len(pods) != 4 || pods[3].Phase != sources.PodFailed {
		t.Errorf("migrate pods = %+v, %v", pods, err)
	}

	// migrate completes: nothing wanted, nothing running, nothing to pay.
	done := job("batch", "migrate", "", 2, 4, 0, 0, 4, 1, batchv1.JobComplete)
	done.ResourceVersion = "2"
	if _, err := fc.core.BatchV1().Jobs("batch").Update(ctx, done, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"migrate-aaaaa", "migrate-bbbbb"} {
		p := pod("batch", name, "Job", "migrate", corev1.PodSucceeded, false, 500, 512)
		p.ResourceVersion = "2"
		if _, err := fc.core.CoreV1().Pods("batch").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, out, "migrate complete", func(u sources.Update) bool {
		w := values(u)[migrate]
		return w[sources.ReplicasDesired] == 0 && w[sources.ReplicasCurrent] == 0 && w[sources.CostRate] == 0 && len(u.Workloads) == 2
	})
	if js, _, _ := s.JobStatus(ctx, migrate); js.Complete != 1 || js.SucceededPods != 4 || js.Running != 0 {
		t.Errorf("completed job status = %+v", js)
	}

	// A CronJob's row lives while it has Jobs.
	if err := fc.core.BatchV1().Jobs("batch").Delete(ctx, "nightly-29000060", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "nightly with one job", func(u sources.Update) bool {
		w, ok := values(u)[nightly]
		return ok && w[sources.ReplicasDesired] == 0
	})
	if err := fc.core.BatchV1().Jobs("batch").Delete(ctx, "nightly-29000000", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "nightly gone with its last job", func(u sources.Update) bool {
		return u.Full && len(u.Workloads) == 1 && u.Workloads[0].ID == migrate
	})
}

func TestJobTransformAndWantedPods(t *testing.T) {
	for _, tc := range []struct {
		name string
		j    *batchv1.Job
		want int32
	}{
		{"parallel, completions left", job("x", "a", "", 3, 10, 3, 3, 2, 0, ""), 3},
		{"fewer completions left than parallelism", job("x", "a", "", 3, 4, 2, 2, 2, 0, ""), 2},
		{"work queue: parallelism", job("x", "a", "", 5, 0, 5, 5, 0, 0, ""), 5},
		{"complete", job("x", "a", "", 3, 3, 0, 0, 3, 0, batchv1.JobComplete), 0},
		{"failed", job("x", "a", "", 3, 3, 0, 0, 0, 7, batchv1.JobFailed), 0},
	} {
		obj, err := slimJob(tc.j)
		if err != nil {
			t.Fatal(err)
		}
		j := obj.(*jobObj)
		if got := j.wanted(); got != tc.want {
			t.Errorf("%s: wanted = %d, want %d", tc.name, got, tc.want)
		}
		if j.Labels != nil || j.Annotations != nil || j.OwnerReferences != nil {
			t.Errorf("%s: transform kept metadata: %+v", tc.name, j.ObjectMeta)
		}
		if again, _ := slimJob(j); again != any(j) {
			t.Errorf("%s: transform is not idempotent", tc.name)
		}
	}
	suspended := job("x", "a", "nightly", 2, 0, 0, 0, 0, 0, "")
	suspended.Spec.Suspend = ptr(true)
	obj, _ := slimJob(suspended)
	if j := obj.(*jobObj); j.wanted() != 0 || j.CronJob != "nightly" || jobKey(j) != (wkKey{KindCronJob, "x", "nightly"}) {
		t.Errorf("suspended cron job = %+v", j)
	}
}
