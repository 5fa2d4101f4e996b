package promexport

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/prometheus/metricnames"
	"github.com/perch-dev/perch/sources/sim"
)

// Grid of the counters: the simulator's 15 s controller grid, and a
// counter reset every hour (like an exporter restart) so that computing a
// counter never integrates more than one hour of simulation.
const (
	gridStep      = 15 * time.Second
	counterPeriod = time.Hour
)

// Lambda facts the CloudWatch exporter would add.
const (
	awsAccount     = "123456789012"
	cloudwatchSecs = 60.0 // period_seconds: *_sum values are totals per minute
)

// famType is a metric family's type.
type famType uint8

const (
	gauge famType = iota
	counter
	histogram
)

// fam is one metric family.
type fam struct {
	name string
	typ  famType
	help string
}

// omName is the OpenMetrics family name (counters drop _total).
func (f *fam) omName() string {
	if f.typ == counter {
		return strings.TrimSuffix(f.name, "_total")
	}
	return f.name
}

func (f *fam) typeName() string {
	return [...]string{"gauge", "counter", "histogram"}[f.typ]
}

// The families, in output order.
var (
	fKubeDeploySpec    = &fam{metricnames.KubeDeploymentSpecReplicas, gauge, "Number of desired pods for a deployment."}
	fKubeDeployStatus  = &fam{metricnames.KubeDeploymentStatusReplicas, gauge, "The number of replicas per deployment."}
	fKubeDeployReady   = &fam{metricnames.KubeDeploymentReady, gauge, "The number of ready replicas per deployment."}
	fKubeDeployAvail   = &fam{metricnames.KubeDeploymentAvailable, gauge, "The number of available replicas per deployment."}
	fKubeRSOwner       = &fam{metricnames.KubeReplicaSetOwner, gauge, "Information about the ReplicaSet's owner."}
	fKubeSTSSpec       = &fam{metricnames.KubeStatefulSetReplicas, gauge, "Number of desired pods for a StatefulSet."}
	fKubeSTSStatus     = &fam{metricnames.KubeStatefulSetStatusReplicas, gauge, "The number of replicas per StatefulSet."}
	fKubeSTSReady      = &fam{metricnames.KubeStatefulSetReady, gauge, "The number of ready replicas per StatefulSet."}
	fKubeDSDesired     = &fam{metricnames.KubeDaemonSetDesired, gauge, "The number of nodes that should be running the daemon pod."}
	fKubeDSCurrent     = &fam{metricnames.KubeDaemonSetCurrent, gauge, "The number of nodes running at least one daemon pod and are supposed to."}
	fKubeDSReady       = &fam{metricnames.KubeDaemonSetReady, gauge, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."}
	fKubeHPAInfo       = &fam{metricnames.KubeHPAInfo, gauge, "Information about this autoscaler."}
	fKubeHPAMin        = &fam{metricnames.KubeHPAMin, gauge, "Lower limit for the number of pods that can be set by the autoscaler, default 1."}
	fKubeHPAMax        = &fam{metricnames.KubeHPAMax, gauge, "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas."}
	fKubeHPADesired    = &fam{metricnames.KubeHPADesired, gauge, "Desired number of replicas of pods managed by this autoscaler."}
	fKubeHPACurrent    = &fam{metricnames.KubeHPACurrent, gauge, "Current number of replicas of pods managed by this autoscaler."}
	fKubePodOwner      = &fam{metricnames.KubePodOwner, gauge, "Information about the Pod's owner."}
	fKubePodRequests   = &fam{metricnames.KubePodContainerRequests, gauge, "The number of requested request resource by a container."}
	fCAdvisorCPU       = &fam{metricnames.CAdvisorCPU, counter, "Cumulative cpu time consumed in seconds."}
	fCAdvisorMem       = &fam{metricnames.CAdvisorMemory, gauge, "Current working set in bytes."}
	fIstioRequests     = &fam{metricnames.IstioRequests, counter, "Total requests."}
	fIstioDuration     = &fam{metricnames.IstioDuration, histogram, "Request duration in milliseconds."}
	fOFInvocations     = &fam{metricnames.OpenFaaSInvocations, counter, "Function metrics"}
	fOFSeconds         = &fam{metricnames.OpenFaaSSeconds, histogram, "Function time taken"}
	fOFReplicas        = &fam{metricnames.OpenFaaSReplicas, gauge, "Current count of replicas for function"}
	fOFInflight        = &fam{metricnames.OpenFaaSInflight, gauge, "Total inflight function invocations"}
	fKnDesired         = &fam{metricnames.KnOTelPodsDesired, gauge, "Number of pods the autoscaler wants to allocate"}
	fKnCount           = &fam{metricnames.KnOTelPodsCount, gauge, "Number of pods that are allocated currently"}
	fKnNotReady        = &fam{metricnames.KnOTelPodsNotReady, gauge, "Number of pods that are not ready currently"}
	fKnConcurrency     = &fam{metricnames.KnOTelConcurrency, gauge, "Average of request count per observed pod over the stable window"}
	fKnDuration        = &fam{metricnames.KnOTelDuration, histogram, "The duration of the task execution"}
	fLambdaInvocations = &fam{metricnames.LambdaInvocations, gauge, "Help is not implemented yet."}
	fLambdaErrors      = &fam{metricnames.LambdaErrors, gauge, "Help is not implemented yet."}
	fLambdaThrottles   = &fam{metricnames.LambdaThrottles, gauge, "Help is not implemented yet."}
	fLambdaDurAvg      = &fam{metricnames.LambdaDurationAvg, gauge, "Help is not implemented yet."}
	fLambdaDurP50      = &fam{metricnames.LambdaDurationP50, gauge, "Help is not implemented yet."}
	fLambdaDurP95      = &fam{metricnames.LambdaDurationP95, gauge, "Help is not implemented yet."}
	fLambdaDurP99      = &fam{metricnames.LambdaDurationP99, gauge, "Help is not implemented yet."}
	fLambdaConcurrent  = &fam{metricnames.LambdaConcurrent, gauge, "Help is not implemented yet."}
	fLambdaMemory      = &fam{metricnames.LambdaInsightsMemoryYACE, gauge, "Help is not implemented yet."}
	fLambdaInit        = &fam{metricnames.LambdaInsightsInitCountYACE, gauge, "Help is not implemented yet."}

	families = []*fam{
		fKubeDeploySpec, fKubeDeployStatus, fKubeDeployReady, fKubeDeployAvail, fKubeRSOwner,
		fKubeSTSSpec, fKubeSTSStatus, fKubeSTSReady, fKubeDSDesired, fKubeDSCurrent, fKubeDSReady,
		fKubeHPAInfo, fKubeHPAMin, fKubeHPAMax, fKubeHPADesired, fKubeHPACurrent,
		fKubePodOwner, fKubePodRequests, fCAdvisorCPU, fCAdvisorMem,
		fIstioRequests, fIstioDuration,
		fOFInvocations, fOFSeconds, fOFReplicas, fOFInflight,
		fKnDesired, fKnCount, fKnNotReady, fKnConcurrency, fKnDuration,
		fLambdaInvocations, fLambdaErrors, fLambdaThrottles, fLambdaDurAvg, fLambdaDurP50, fLambdaDurP95,
		fLambdaDurP99, fLambdaConcurrent, fLambdaMemory, fLambdaInit,
	}
)

// famIndex maps a family to its position in families.
var famIndex = func() map[*fam]int {
	m := make(map[*fam]int, len(families))
	for i, f := range families {
		m[f] = i
	}
	return m
}()

// sink receives one frame's series. labels are rendered without braces.
type sink interface {
	sample(f *fam, labels string, v float64)
	hist(f *fam, labels string, h *histSpec, cum []float64, sum, count float64)
}

// histSpec is a histogram layout: bounds in the exported unit, and how
// many exported units make a second.
type histSpec struct {
	bounds []float64
	scale  float64
	les    []string // rendered bounds
}

func newHistSpec(bounds []float64, scale float64) *histSpec {
	h := &histSpec{bounds: bounds, scale: scale}
	for _, b := range bounds {
		h.les = append(h.les, formatFloat(b))
	}
	return h
}

var (
	istioHist    = newHistSpec(istioBucketsMS, 1000)
	openfaasHist = newHistSpec(openfaasBuckets, 1)
	knativeHist  = newHistSpec(knativeBuckets, 1)
)

// shape is how a workload is exported.
type shape uint8

const (
	shapeKube     shape = iota // Deployment/StatefulSet/DaemonSet + Istio
	shapeKnative               // Knative revision Deployment + kn_* metrics
	shapeOpenFaaS              // function Deployment + gateway metrics
	shapeLambda                // CloudWatch through YACE
)

// wl is one workload's static export description.
type wl struct {
	w       sources.Workload
	shape   shape
	hpa     bool
	objKind string // Deployment, StatefulSet or DaemonSet
	obj     string // the Kubernetes object's name
	rs      string // a Deployment's current ReplicaSet
	// containers: the first gets the usage; requests are split as given.
	containers []container
	hist       *histSpec
	splitCodes bool // histogram per response code (Knative: counts come from it)
	nodes      int

	// Pre-rendered label sets.
	ns, objLabels, istio, ofName, kn, aws, awsInsights string
}

type container struct {
	name     string
	cpuShare float64 // fixed cores per pod; negative = the rest
	memShare float64 // fixed bytes per pod; negative = the rest
}

// Knative's queue-proxy sidecar requests, as the simulator models them.
const (
	queueProxyCPU = 0.025
	queueProxyMem = 32 << 20
)

// model is the exporter's static view of a simulator.
type model struct {
	s     *sim.Sim
	wls   []wl
	index map[sources.WorkloadID]int
	start time.Time
}

func newModel(s *sim.Sim) *model {
	m := &model{s: s, index: map[sources.WorkloadID]int{}, start: s.Start()}
	// Which workloads have an HPA: the simulator reports min/max for them.
	probe := s.At(s.Start())
	hasMin := map[sources.WorkloadID]bool{}
	for _, smp := range probe {
		if smp.Metric == sources.ReplicasMin {
			hasMin[smp.ID] = true
		}
	}
	nodes := max(6, len(s.Workloads())/25)
	for i, w := range s.Workloads() {
		x := wl{w: w, nodes: nodes, ns: lv("namespace", w.ID.Namespace)}
		switch w.Platform {
		case sources.Lambda:
			x.shape = shapeLambda
		case sources.Knative:
			x.shape = shapeKnative
		case sources.OpenFaaS:
			x.shape = shapeOpenFaaS
		default:
			x.shape = shapeKube
		}
		if x.shape != shapeLambda {
			x.objKind, x.obj = string(w.Kind), w.ID.Name
			if x.objKind == string(sources.Function) || x.objKind == "" {
				x.objKind = string(sources.Deployment)
			}
			if x.shape == shapeKnative {
				x.obj = w.ID.Name + "-00001-deployment"
			}
			if x.objKind == string(sources.Deployment) {
				x.rs = x.obj + "-" + suffix(x.obj, 0, 10)
			}
			x.hpa = x.shape == shapeKube && hasMin[w.ID]
			x.containers = []container{{name: w.ID.Name, cpuShare: -1, memShare: -1}}
			if x.shape == shapeKnative {
				x.containers = []container{{"user-container", -1, -1}, {"queue-proxy", queueProxyCPU, queueProxyMem}}
			}
			x.objLabels = x.ns + "," + lv(strings.ToLower(x.objKind), x.obj)
		}
		switch x.shape {
		case shapeKube:
			x.hist = istioHist
			x.istio = lv("destination_service", fmt.Sprintf("%s.%s.svc.cluster.local", w.ID.Name, w.ID.Namespace)) + "," +
				lv("destination_workload", w.ID.Name) + "," + lv("destination_workload_namespace", w.ID.Namespace) + "," +
				`reporter="destination",source_workload="unknown"`
		case shapeOpenFaaS:
			x.hist = openfaasHist
			x.ofName = lv("function_name", w.ID.Name+"."+w.ID.Namespace)
		case shapeKnative:
			x.hist, x.splitCodes = knativeHist, true
			x.kn = lv("k8s_namespace_name", w.ID.Namespace) + "," + lv("kn_configuration_name", w.ID.Name) + "," +
				lv("kn_revision_name", w.ID.Name+"-00001") + "," + lv("kn_service_name", w.ID.Name)
		case shapeLambda:
			arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", w.ID.Namespace, awsAccount, w.ID.Name)
			x.aws = lv("account_id", awsAccount) + "," + lv("dimension_FunctionName", w.ID.Name) + "," +
				lv("name", arn) + "," + lv("region", w.ID.Namespace)
			x.awsInsights = lv("account_id", awsAccount) + "," + lv("dimension_function_name", w.ID.Name) + "," +
				lv("name", arn) + "," + lv("region", w.ID.Namespace)
		}
		m.index[w.ID] = i
		m.wls = append(m.wls, x)
	}
	return m
}

// state is every workload's metrics at one instant.
type state struct {
	v   [][sources.NumMetrics]float64
	has []uint32
}

func (m *model) stateAt(t time.Time) *state {
	st := &state{v: make([][sources.NumMetrics]float64, len(m.wls)), has: make([]uint32, len(m.wls))}
	for _, smp := range m.s.At(t) {
		i, ok := m.index[smp.ID]
		if !ok || smp.Metric >= sources.NumMetrics {
			continue
		}
		st.v[i][smp.Metric] = smp.V
		st.has[i] |= 1 << smp.Metric
	}
	return st
}

func (st *state) get(i int, metric sources.Metric) (float64, bool) {
	return st.v[i][metric], st.has[i]&(1<<metric) != 0
}

func (st *state) val(i int, metric sources.Metric) float64 {
	v, _ := st.get(i, metric)
	return v
}

// emit writes one frame: gauges from st, counters from ctr.
func (m *model) emit(st *state, ctr []wctr, out sink) {
	for i := range m.wls {
		x := &m.wls[i]
		c := &ctr[i]
		if x.shape == shapeLambda {
			m.emitLambda(i, x, st, out)
			continue
		}
		desired, cur, ready := st.val(i, sources.ReplicasDesired), st.val(i, sources.ReplicasCurrent), st.val(i, sources.ReplicasReady)
		switch x.objKind {
		case string(sources.StatefulSet):
			out.sample(fKubeSTSSpec, x.objLabels, desired)
			out.sample(fKubeSTSStatus, x.objLabels, cur)
			out.sample(fKubeSTSReady, x.objLabels, ready)
		case string(sources.DaemonSet):
			out.sample(fKubeDSDesired, x.objLabels, desired)
			out.sample(fKubeDSCurrent, x.objLabels, cur)
			out.sample(fKubeDSReady, x.objLabels, ready)
		default:
			out.sample(fKubeDeploySpec, x.objLabels, desired)
			out.sample(fKubeDeployStatus, x.objLabels, cur)
			out.sample(fKubeDeployReady, x.objLabels, ready)
			out.sample(fKubeDeployAvail, x.objLabels, ready)
			out.sample(fKubeRSOwner, x.ns+`,owner_is_controller="true",owner_kind="Deployment",`+lv("owner_name", x.obj)+","+lv("replicaset", x.rs), 1)
		}
		if x.hpa {
			hl := lv("horizontalpodautoscaler", x.obj) + "," + x.ns
			out.sample(fKubeHPAInfo, hl+`,scaletargetref_api_version="apps/v1",`+lv("scaletargetref_kind", x.objKind)+","+lv("scaletargetref_name", x.obj), 1)
			out.sample(fKubeHPAMin, hl, st.val(i, sources.ReplicasMin))
			out.sample(fKubeHPAMax, hl, st.val(i, sources.ReplicasMax))
			out.sample(fKubeHPADesired, hl, desired)
			out.sample(fKubeHPACurrent, hl, cur)
		}
		m.emitPods(i, x, st, c, out)
		switch x.shape {
		case shapeKube:
			out.sample(fIstioRequests, x.istio+`,response_code="200"`, c.ok)
			out.sample(fIstioRequests, x.istio+`,response_code="503"`, c.errs)
			out.hist(fIstioDuration, x.istio+`,response_code="200"`, x.hist, c.hist[0], c.hsum[0], c.hcount[0])
		case shapeOpenFaaS:
			out.sample(fOFInvocations, `code="200",`+x.ofName, c.ok)
			out.sample(fOFInvocations, `code="500",`+x.ofName, c.errs)
			out.hist(fOFSeconds, `code="200",`+x.ofName, x.hist, c.hist[0], c.hsum[0], c.hcount[0])
			out.sample(fOFReplicas, x.ofName, cur)
			out.sample(fOFInflight, x.ofName, st.val(i, sources.Concurrency))
		case shapeKnative:
			out.sample(fKnDesired, x.kn, desired)
			out.sample(fKnCount, x.kn, cur)
			out.sample(fKnNotReady, x.kn, max(0, cur-ready))
			out.sample(fKnConcurrency, x.kn, st.val(i, sources.Concurrency))
			out.hist(fKnDuration, `http_response_status_code="200",`+x.kn, x.hist, c.hist[0], c.hsum[0], c.hcount[0])
			out.hist(fKnDuration, `http_response_status_code="500",`+x.kn, x.hist, c.hist[1], c.hsum[1], c.hcount[1])
		}
	}
}

// emitPods writes kube_pod_owner, requests and cAdvisor series of the
// workload's current pods (with cAdvisor's pod-level cgroup series, whose
// container label is empty, as the real kubelet does).
func (m *model) emitPods(i int, x *wl, st *state, c *wctr, out sink) {
	cur := int(st.val(i, sources.ReplicasCurrent) + 0.5)
	if cur <= 0 {
		return
	}
	cpuReq := st.val(i, sources.CPURequest) / float64(cur)
	memReq := st.val(i, sources.MemRequest) / float64(cur)
	memUse := st.val(i, sources.MemUsage) / float64(cur)
	ownerKind, owner := x.objKind, x.obj
	if x.objKind == string(sources.Deployment) {
		ownerKind, owner = "ReplicaSet", x.rs
	}
	for p := range cur {
		gen := 0
		if p < len(c.gen) {
			gen = c.gen[p]
		}
		pod := m.podName(x, p, c.period, gen)
		pl := x.ns + "," + lv("pod", pod)
		node := lv("node", "node-"+strconv.Itoa(int(hash32(pod))%x.nodes))
		out.sample(fKubePodOwner, pl+`,owner_is_controller="true",`+lv("owner_kind", ownerKind)+","+lv("owner_name", owner), 1)
		restCPU, restMem := cpuReq, memReq
		for _, ct := range x.containers {
			if ct.cpuShare >= 0 {
				restCPU -= ct.cpuShare
			}
			if ct.memShare >= 0 {
				restMem -= ct.memShare
			}
		}
		for _, ct := range x.containers {
			cpu, mem := ct.cpuShare, ct.memShare
			if cpu < 0 {
				cpu = restCPU
			}
			if mem < 0 {
				mem = restMem
			}
			cl := lv("container", ct.name) + "," + x.ns + "," + node + "," + lv("pod", pod)
			out.sample(fKubePodRequests, cl+`,resource="cpu",unit="core"`, cpu)
			out.sample(fKubePodRequests, cl+`,resource="memory",unit="byte"`, mem)
		}
		var used float64
		if p < len(c.cpu) {
			used = c.cpu[p]
		}
		main := lv("container", x.containers[0].name) + "," + pl
		podLevel := `container="",` + pl
		out.sample(fCAdvisorCPU, main+`,cpu="total"`, used)
		out.sample(fCAdvisorCPU, podLevel+`,cpu="total"`, used)
		out.sample(fCAdvisorMem, main, memUse)
		out.sample(fCAdvisorMem, podLevel, memUse)
	}
}

// podName names ordinal p's pod of a period and generation:
// StatefulSets count (and keep the name), the others carry hash suffixes
// like the controllers make, new for every pod started.
func (m *model) podName(x *wl, p int, period int64, gen int) string {
	seed := int(period)*1_000_003 + p*1009 + gen
	switch x.objKind {
	case string(sources.StatefulSet):
		return x.obj + "-" + strconv.Itoa(p)
	case string(sources.DaemonSet):
		return x.obj + "-" + suffix(x.obj, seed, 5)
	default:
		return x.rs + "-" + suffix(x.rs, seed, 5)
	}
}

func (m *model) emitLambda(i int, x *wl, st *state, out sink) {
	rps := st.val(i, sources.RequestRate)
	out.sample(fLambdaInvocations, x.aws, rps*cloudwatchSecs)
	if e, ok := st.get(i, sources.ErrorRatio); ok {
		out.sample(fLambdaErrors, x.aws, rps*e*cloudwatchSecs)
	} else {
		out.sample(fLambdaErrors, x.aws, 0)
	}
	out.sample(fLambdaThrottles, x.aws, 0)
	p50, ok50 := st.get(i, sources.LatencyP50)
	p95, ok95 := st.get(i, sources.LatencyP95)
	p99, ok99 := st.get(i, sources.LatencyP99)
	if ok50 && ok95 && ok99 && rps > 0 {
		out.sample(fLambdaDurAvg, x.aws, lognormalMean(p50, p99)*1000)
		out.sample(fLambdaDurP50, x.aws, p50*1000)
		out.sample(fLambdaDurP95, x.aws, p95*1000)
		out.sample(fLambdaDurP99, x.aws, p99*1000)
	}
	out.sample(fLambdaConcurrent, x.aws, st.val(i, sources.Concurrency))
	out.sample(fLambdaMemory, x.awsInsights, x.w.MemoryMB)
	out.sample(fLambdaInit, x.awsInsights, st.val(i, sources.ColdStarts)*cloudwatchSecs/60)
}

// ---- labels ----

// lv renders name="value" with the exposition format's escaping.
func lv(name, value string) string {
	var b strings.Builder
	b.Grow(len(name) + len(value) + 3)
	b.WriteString(name)
	b.WriteString(`="`)
	for _, r := range value {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// suffix is n characters of Kubernetes' name alphabet, stable for (s, i).
func suffix(s string, i, n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", s, i)
	x := h.Sum64()
	b := make([]byte, n)
	for j := range b {
		b[j] = alphabet[x%uint64(len(alphabet))]
		x /= uint64(len(alphabet))
		if x == 0 {
			x = h.Sum64() ^ uint64(j+1)*0x9E3779B97F4A7C15
		}
	}
	return string(b)
}
