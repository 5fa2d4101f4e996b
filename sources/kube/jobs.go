package kube

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/perch-dev/perch/sources"
)

// Workload kinds of batch work. A CronJob is seen through the Jobs it
// created: perch does not watch CronJobs themselves (one informer less),
// so a CronJob has a row while at least one of its Jobs exists (the
// controller keeps the last few by default).
const (
	KindJob     = sources.Job
	KindCronJob = sources.CronJob
)

// jobObj is what perch keeps of a batch/v1 Job.
type jobObj struct {
	metav1.ObjectMeta
	CronJob     string // the owning CronJob, "" when none
	Parallelism int32
	Completions int32 // 0: done at the first success (work-queue Job)
	Suspended   bool
	Active      int32 // pods running or pending
	Ready       int32
	Succeeded   int32
	Failed      int32
	// Done is "Complete" or "Failed" once the Job has finished.
	Done       batchv1.JobConditionType
	Start, End time.Time
	// PodCPUReq and PodMemReq are one pod's requests from the template
	// (the estimate while pods load, estimate.go).
	PodCPUReq, PodMemReq int64
}

func (j *jobObj) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (j *jobObj) DeepCopyObject() runtime.Object {
	c := *j
	j.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

// slimJob is the jobs informer's transform.
func slimJob(obj any) (any, error) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return obj, nil
	}
	s := &jobObj{
		ObjectMeta: slimMeta(&j.ObjectMeta), Parallelism: 1,
		Active: j.Status.Active, Succeeded: j.Status.Succeeded, Failed: j.Status.Failed,
	}
	if kind, name := controllerOf(&j.ObjectMeta); kind == "CronJob" {
		s.CronJob = name
	}
	if j.Spec.Parallelism != nil {
		s.Parallelism = *j.Spec.Parallelism
	}
	if j.Spec.Completions != nil {
		s.Completions = *j.Spec.Completions
	}
	s.Suspended = j.Spec.Suspend != nil && *j.Spec.Suspend
	s.PodCPUReq, s.PodMemReq = podRequests(&j.Spec.Template.Spec)
	if j.Status.Ready != nil {
		s.Ready = *j.Status.Ready
	}
	if j.Status.StartTime != nil {
		s.Start = j.Status.StartTime.Time
	}
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			s.Done, s.End = c.Type, c.LastTransitionTime.Time
		}
	}
	if j.Status.CompletionTime != nil {
		s.End = j.Status.CompletionTime.Time
	}
	return s, nil
}

// wanted is how many pods the Job wants running now, as the Job
// controller computes it: none once finished or suspended, otherwise its
// parallelism, capped by the successes still missing.
func (j *jobObj) wanted() int32 {
	if j.Done != "" || j.Suspended {
		return 0
	}
	if j.Completions > 0 {
		return max(min(j.Parallelism, j.Completions-j.Succeeded), 0)
	}
	return j.Parallelism
}

// jobKey is the row a Job belongs to: its CronJob's, or its own.
func jobKey(j *jobObj) wkKey {
	if j.CronJob != "" {
		return wkKey{KindCronJob, j.Namespace, j.CronJob}
	}
	return wkKey{KindJob, j.Namespace, j.Name}
}

func jobCronJobIndex(obj any) ([]string, error) {
	if j, ok := obj.(*jobObj); ok && j.CronJob != "" {
		return []string{jobKey(j).String()}, nil
	}
	return nil, nil
}

func (c *cluster) job(ns, name string) *jobObj {
	j, _ := c.getFrom(resJobs, ns, name).(*jobObj)
	return j
}

// jobsOfLocked lists the Jobs of a Job or CronJob row.
func (c *cluster) jobsOfLocked(k wkKey) []*jobObj {
	switch k.Kind {
	case KindJob:
		if j := c.job(k.Namespace, k.Name); j != nil && j.CronJob == "" {
			return []*jobObj{j}
		}
	case KindCronJob:
		var out []*jobObj
		for _, obj := range c.byIndex(resJobs, idxCronJob, k.String(), k.Namespace) {
			if j, ok := obj.(*jobObj); ok {
				out = append(out, j)
			}
		}
		return out
	}
	return nil
}

// jobReplicasLocked sets a Job or CronJob row's replica values: pods
// wanted now, active and ready, summed over its Jobs. False when the row
// has no Job (left).
func (c *cluster) jobReplicasLocked(k wkKey, st *wlState) bool {
	jobs := c.jobsOfLocked(k)
	if len(jobs) == 0 {
		return false
	}
	var want, active, ready int32
	for _, j := range jobs {
		want += j.wanted()
		active += j.Active
		ready += j.Ready
	}
	st.v[sources.ReplicasDesired] = float64(want)
	st.v[sources.ReplicasCurrent] = float64(active)
	st.v[sources.ReplicasReady] = float64(ready)
	return true
}

// JobStatus sums up a Job row, or the Jobs a CronJob row still has.
type JobStatus struct {
	// Jobs is how many Jobs the row covers (1 for a Job), by state.
	Jobs, Running, Suspended, Complete, Failed int
	// Pods of those Jobs as the Job controller counts them: active
	// (pending or running), ready, succeeded and failed.
	ActivePods, ReadyPods, SucceededPods, FailedPods int
	// Completions is the successes the Jobs need, summed (a Job without
	// completions needs one).
	Completions int
	// LastStart is when the newest Job started; LastEnd when the last
	// finished Job finished (zero when none has).
	LastStart, LastEnd time.Time
}

// JobStatus returns the Job counts of a Job or CronJob row from the
// cache. ok is false for other rows.
func (s *Source) JobStatus(ctx context.Context, id sources.WorkloadID) (JobStatus, bool, error) {
	if err := ctx.Err(); err != nil {
		return JobStatus{}, false, err
	}
	c, err := s.clusterOf(id)
	if err != nil {
		return JobStatus{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.ids[id]
	if !ok {
		return JobStatus{}, false, fmt.Errorf("kube: unknown workload %s", id)
	}
	jobs := c.jobsOfLocked(k)
	if len(jobs) == 0 {
		return JobStatus{}, false, nil
	}
	var st JobStatus
	for _, j := range jobs {
		st.Jobs++
		switch {
		case j.Done == batchv1.JobComplete:
			st.Complete++
		case j.Done == batchv1.JobFailed:
			st.Failed++
		case j.Suspended:
			st.Suspended++
		default:
			st.Running++
		}
		st.ActivePods += int(j.Active)
		st.ReadyPods += int(j.Ready)
		st.SucceededPods += int(j.Succeeded)
		st.FailedPods += int(j.Failed)
		st.Completions += int(max(j.Completions, 1))
		if j.Start.After(st.LastStart) {
			st.LastStart = j.Start
		}
		if j.Done != "" && j.End.After(st.LastEnd) {
			st.LastEnd = j.End
		}
	}
	return st, true, nil
}
