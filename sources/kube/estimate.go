package kube

import "github.com/perch-dev/perch/sources"

// Until a cluster's pods are in (the bulk of a big cluster's start: see
// gatesFirstRound), its rows are estimated from the objects that are:
// one pod's requests from the workload's pod template times the replicas
// its status counts. Once the pods arrive every row is recomputed from
// them; the rounds in between say the values are estimates (limits). When
// the pods may not be read at all, the estimates stay, and say so.

// podsUnreadableLocked reports whether no pods informer is left: pods are
// forbidden (or not served) everywhere perch looked. The estimates are
// then the best figures there are, and stay.
func (c *cluster) podsUnreadableLocked() bool {
	return len(c.scopes[resPods]) == 0
}

// estimateLocked sets a row's requests and cost from its pod templates,
// and a Knative service's replicas from its revisions' Deployments. Usage
// stays unknown: it is measured per pod.
func (c *cluster) estimateLocked(k wkKey, st *wlState) {
	var cpu, mem int64
	var rate float64
	prices := c.src.cfg.Prices
	add := func(replicas int32, podCPU, podMem int64) {
		if replicas <= 0 {
			return
		}
		n := int64(replicas)
		cpu += n * podCPU
		mem += n * podMem
		rate += float64(n) * prices.KubeHourly(float64(podCPU)/1000, 0, float64(podMem), 0)
	}
	switch k.Kind {
	case KindJob, KindCronJob:
		for _, j := range c.jobsOfLocked(k) {
			add(j.Active, j.PodCPUReq, j.PodMemReq)
		}
	case kindKnative:
		var current, ready int
		for _, d := range c.revisionDeploymentsLocked(k) {
			add(d.Current, d.PodCPUReq, d.PodMemReq)
			current += int(d.Current)
			ready += int(d.Ready)
		}
		c.knativeReplicasLocked(k, current, ready, st)
	default:
		if w := c.workloadObject(k); w != nil {
			add(w.Current, w.PodCPUReq, w.PodMemReq)
		}
	}
	st.v[sources.CPURequest] = float64(cpu) / 1000
	st.v[sources.MemRequest] = float64(mem)
	st.v[sources.CostRate] = rate
}
