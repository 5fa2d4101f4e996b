package scrape

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	mn "github.com/perch-dev/perch/sources/prometheus/metricnames"
)

// OpenFaaSNamespace is the namespace of functions whose function_name has
// no ".namespace" suffix (OpenFaaS's default function namespace).
const OpenFaaSNamespace = "openfaas-fn"

// knativeRevision matches a Knative revision's Deployment name, so its
// pods' cost lands on the Knative service (as the Prometheus presets do).
var knativeRevision = regexp.MustCompile(`^(.+)-[0-9]{5}-deployment$`)

func workloadName(obj string) string {
	if m := knativeRevision.FindStringSubmatch(obj); m != nil {
		return m[1]
	}
	return obj
}

// entry is one workload being assembled from the window.
type entry struct {
	w    sources.Workload
	prio int
	vals [sources.NumMetrics]float64
	has  [sources.NumMetrics]bool
}

func (e *entry) max(m sources.Metric, v float64) {
	if !e.has[m] || v > e.vals[m] {
		e.vals[m], e.has[m] = v, true
	}
}

func (e *entry) add(m sources.Metric, v float64) {
	e.vals[m] += v
	e.has[m] = true
}

// traffic accumulates request counters and latency buckets of a workload.
type traffic struct {
	total, errs float64
	rated       bool
	buckets     map[float64]float64 // le → increase
	scale       float64             // histogram units per second
}

type podKey struct{ ns, pod string }

type owner struct {
	kind sources.Kind
	name string
}

// computer turns the window into workloads and samples.
type computer struct {
	cluster string
	prices  cost.Prices
	w       *window
	entries map[sources.WorkloadID]*entry
	traffic map[sources.WorkloadID]*traffic
}

func (c *computer) entry(ns, name string, kind sources.Kind, platform sources.Platform, prio int) *entry {
	id := sources.WorkloadID{Cluster: c.cluster, Namespace: ns, Name: name}
	e := c.entries[id]
	if e == nil {
		e = &entry{w: sources.Workload{ID: id, Kind: kind, Platform: platform}, prio: -1}
		c.entries[id] = e
	}
	// A function on Kubernetes is a function; a Deployment beats Istio's guess.
	if prio > e.prio {
		e.prio = prio
		e.w.Kind, e.w.Platform = kind, platform
	}
	return e
}

func (c *computer) traf(id sources.WorkloadID, scale float64) *traffic {
	t := c.traffic[id]
	if t == nil {
		t = &traffic{buckets: map[float64]float64{}, scale: scale}
		c.traffic[id] = t
	}
	return t
}

// rate is the counter's per-second growth over the window (false when the
// target has fewer than two scrapes in it).
func (c *computer) rate(s *series) (float64, bool) {
	el := c.w.elapsed(s.target)
	if el <= 0 {
		return 0, false
	}
	return s.increase(c.w) / el.Seconds(), true
}

// is2xx reports whether an HTTP status code is a success.
func is2xx(code string) bool { return len(code) == 3 && code[0] == '2' }

func is5xx(code string) bool { return len(code) == 3 && code[0] == '5' }

// compute builds the inventory and the samples at now.
func (c *computer) compute(now time.Time) ([]sources.Workload, []sources.Sample) {
	c.entries = map[sources.WorkloadID]*entry{}
	c.traffic = map[sources.WorkloadID]*traffic{}
	type hpaKey struct{ ns, hpa string }
	hpaTarget := map[hpaKey]owner{}
	hpaVals := map[hpaKey]map[sources.Metric]float64{}
	available := map[*entry]float64{}
	podOwners := map[podKey]owner{}
	rsOwners := map[podKey]string{} // (ns, replicaset) → deployment
	type ctrKey struct{ ns, pod, container, resource string }
	requests := map[ctrKey]float64{}
	memory := map[ctrKey]float64{}
	cpu := map[podKey]float64{}
	cpuPods := map[podKey]bool{}

	kube := func(m sources.Metric, objLabel string, kind sources.Kind, s *series) {
		v, current := s.last(c.w)
		obj := s.labels[objLabel]
		if !current || obj == "" {
			return
		}
		e := c.entry(s.labels["namespace"], workloadName(obj), kind, sources.Kubernetes, 1)
		if m == sources.NumMetrics { // deployment "available": fallback for ready
			available[e] = math.Max(available[e], v)
			return
		}
		e.max(m, v)
	}
	realContainer := func(s *series) bool {
		ct := s.labels["container"]
		return ct != "" && ct != "POD"
	}

	for _, s := range c.w.series {
		l := s.labels
		switch s.name {
		case mn.KubeDeploymentSpecReplicas:
			kube(sources.ReplicasDesired, "deployment", sources.Deployment, s)
		case mn.KubeDeploymentStatusReplicas:
			kube(sources.ReplicasCurrent, "deployment", sources.Deployment, s)
		case mn.KubeDeploymentReady:
			kube(sources.ReplicasReady, "deployment", sources.Deployment, s)
		case mn.KubeDeploymentAvailable:
			kube(sources.NumMetrics, "deployment", sources.Deployment, s)
		case mn.KubeStatefulSetReplicas:
			kube(sources.ReplicasDesired, "statefulset", sources.StatefulSet, s)
		case mn.KubeStatefulSetStatusReplicas:
			kube(sources.ReplicasCurrent, "statefulset", sources.StatefulSet, s)
		case mn.KubeStatefulSetReady:
			kube(sources.ReplicasReady, "statefulset", sources.StatefulSet, s)
		case mn.KubeDaemonSetDesired:
			kube(sources.ReplicasDesired, "daemonset", sources.DaemonSet, s)
		case mn.KubeDaemonSetCurrent:
			kube(sources.ReplicasCurrent, "daemonset", sources.DaemonSet, s)
		case mn.KubeDaemonSetReady:
			kube(sources.ReplicasReady, "daemonset", sources.DaemonSet, s)
		case mn.KubeHPAInfo:
			if _, cur := s.last(c.w); cur && l["scaletargetref_name"] != "" {
				hpaTarget[hpaKey{l["namespace"], l["horizontalpodautoscaler"]}] = owner{parseKind(l["scaletargetref_kind"]), l["scaletargetref_name"]}
			}
		case mn.KubeHPAMin, mn.KubeHPAMax:
			if v, cur := s.last(c.w); cur {
				k := hpaKey{l["namespace"], l["horizontalpodautoscaler"]}
				if hpaVals[k] == nil {
					hpaVals[k] = map[sources.Metric]float64{}
				}
				m := sources.ReplicasMin
				if s.name == mn.KubeHPAMax {
					m = sources.ReplicasMax
				}
				hpaVals[k][m] = v
			}
		case mn.KubePodOwner:
			// Any pod seen in the window: its CPU still counts in the rate.
			podOwners[podKey{l["namespace"], l["pod"]}] = owner{parseKind(l["owner_kind"]), l["owner_name"]}
		case mn.KubeReplicaSetOwner:
			if l["owner_kind"] == "Deployment" {
				rsOwners[podKey{l["namespace"], l["replicaset"]}] = l["owner_name"]
			}
		case mn.KubePodContainerRequests:
			if v, cur := s.last(c.w); cur {
				k := ctrKey{l["namespace"], l["pod"], l["container"], l["resource"]}
				requests[k] = math.Max(requests[k], v) // HA kube-state-metrics
			}
		case mn.CAdvisorMemory:
			if v, cur := s.last(c.w); cur && realContainer(s) {
				k := ctrKey{l["namespace"], l["pod"], l["container"], ""}
				memory[k] = math.Max(memory[k], v)
			}
		case mn.CAdvisorCPU:
			if r, ok := c.rate(s); ok && realContainer(s) {
				k := podKey{l["namespace"], l["pod"]}
				cpu[k] += r
				cpuPods[k] = true
			}
		case mn.IstioRequests, mn.IstioDuration + "_bucket":
			if l["reporter"] != "destination" || l["destination_workload"] == "" || l["destination_workload"] == "unknown" {
				continue
			}
			e := c.entry(l["destination_workload_namespace"], l["destination_workload"], sources.Deployment, sources.Kubernetes, 0)
			c.counter(e.w.ID, s, 1000, is5xx(l["response_code"]))
		case mn.OpenFaaSInvocations, mn.OpenFaaSSeconds + "_bucket":
			e := c.function(l["function_name"])
			if e == nil {
				continue
			}
			c.counter(e.w.ID, s, 1, !is2xx(l["code"]))
		case mn.OpenFaaSReplicas:
			if v, cur := s.last(c.w); cur {
				if e := c.function(l["function_name"]); e != nil {
					e.max(sources.ReplicasCurrent, v)
				}
			}
		case mn.OpenFaaSInflight:
			if v, cur := s.last(c.w); cur {
				if e := c.function(l["function_name"]); e != nil {
					e.add(sources.Concurrency, v)
				}
			}
		}
	}

	for e, v := range available {
		if !e.has[sources.ReplicasReady] {
			e.max(sources.ReplicasReady, v)
		}
	}
	for k, tgt := range hpaTarget {
		id := sources.WorkloadID{Cluster: c.cluster, Namespace: k.ns, Name: workloadName(tgt.name)}
		e := c.entries[id]
		if e == nil {
			continue // the target workload is not exported
		}
		for m, v := range hpaVals[k] {
			e.max(m, v)
		}
	}

	// Pods → workloads through kube_pod_owner and kube_replicaset_owner.
	ownerOf := func(ns, pod string) *entry {
		o, ok := podOwners[podKey{ns, pod}]
		if !ok {
			return nil
		}
		kind := o.kind
		name := o.name
		if kind == "ReplicaSet" {
			d, ok := rsOwners[podKey{ns, o.name}]
			if !ok {
				return nil
			}
			kind, name = sources.Deployment, d
		}
		if kind != sources.Deployment && kind != sources.StatefulSet && kind != sources.DaemonSet {
			return nil
		}
		return c.entry(ns, workloadName(name), kind, sources.Kubernetes, 1)
	}
	for k, v := range requests {
		e := ownerOf(k.ns, k.pod)
		switch {
		case e == nil:
		case k.resource == "cpu":
			e.add(sources.CPURequest, v)
		case k.resource == "memory":
			e.add(sources.MemRequest, v)
		}
	}
	for k, v := range memory {
		if e := ownerOf(k.ns, k.pod); e != nil {
			e.add(sources.MemUsage, v)
		}
	}
	for k, v := range cpu {
		if e := ownerOf(k.ns, k.pod); e != nil {
			e.add(sources.CPUUsage, v)
		}
	}

	for id, t := range c.traffic {
		e := c.entries[id]
		if t.rated {
			e.vals[sources.RequestRate], e.has[sources.RequestRate] = t.total, true
			if t.total > 0 {
				e.vals[sources.ErrorRatio], e.has[sources.ErrorRatio] = t.errs/t.total, true
			}
		}
		if len(t.buckets) > 0 {
			bs := make([]bucket, 0, len(t.buckets))
			for le, n := range t.buckets {
				bs = append(bs, bucket{le, n})
			}
			for _, q := range []struct {
				m sources.Metric
				q float64
			}{{sources.LatencyP50, 0.5}, {sources.LatencyP95, 0.95}, {sources.LatencyP99, 0.99}} {
				if v := quantile(q.q, bs); !math.IsNaN(v) && !math.IsInf(v, 0) {
					e.vals[q.m], e.has[q.m] = v/t.scale, true
				}
			}
		}
	}

	wls := make([]sources.Workload, 0, len(c.entries))
	var out []sources.Sample
	for id, e := range c.entries {
		c.cost(e)
		wls = append(wls, e.w)
		for m := range sources.NumMetrics {
			if e.has[m] {
				out = append(out, sources.Sample{ID: id, Metric: m, T: now, V: e.vals[m]})
			}
		}
	}
	return wls, out
}

// function maps an OpenFaaS function_name ("name.namespace", or "name" on
// old gateways) to its workload.
func (c *computer) function(fn string) *entry {
	if fn == "" {
		return nil
	}
	name, ns, ok := strings.Cut(fn, ".")
	if !ok || ns == "" {
		ns = OpenFaaSNamespace
	}
	return c.entry(ns, name, sources.Function, sources.OpenFaaS, 2)
}

// counter adds a request counter or histogram bucket series to id's traffic.
func (c *computer) counter(id sources.WorkloadID, s *series, scale float64, failed bool) {
	r, ok := c.rate(s)
	if !ok {
		return
	}
	t := c.traf(id, scale)
	if strings.HasSuffix(s.name, "_bucket") {
		le, err := strconv.ParseFloat(s.labels["le"], 64)
		if err == nil {
			t.buckets[le] += r
		}
		return
	}
	t.rated = true
	t.total += r
	if failed {
		t.errs += r
	}
}

// cost applies the OpenCost rule (max of request and usage, × prices) to
// workloads with pod resources; functions without pods get no cost.
func (c *computer) cost(e *entry) {
	if e.has[sources.ReplicasCurrent] && e.vals[sources.ReplicasCurrent] == 0 {
		// Scaled to zero: nothing requested or in use now.
		for _, m := range []sources.Metric{sources.CPURequest, sources.MemRequest, sources.CPUUsage, sources.MemUsage} {
			if !e.has[m] {
				e.vals[m], e.has[m] = 0, true
			}
		}
	}
	if !(e.has[sources.CPURequest] || e.has[sources.CPUUsage] || e.has[sources.MemRequest] || e.has[sources.MemUsage]) {
		return
	}
	val := func(m sources.Metric) float64 {
		if e.has[m] {
			return e.vals[m]
		}
		return math.NaN()
	}
	e.vals[sources.CostRate] = c.prices.KubeHourly(val(sources.CPURequest), val(sources.CPUUsage), val(sources.MemRequest), val(sources.MemUsage))
	e.has[sources.CostRate] = true
}

func parseKind(s string) sources.Kind {
	switch strings.ToLower(s) {
	case "deployment":
		return sources.Deployment
	case "statefulset":
		return sources.StatefulSet
	case "daemonset":
		return sources.DaemonSet
	case "replicaset":
		return "ReplicaSet"
	}
	return sources.Kind(s)
}
