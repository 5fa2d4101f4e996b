package sim

import (
	"fmt"
	"math"

	"github.com/perch-dev/perch/sources"
)

const (
	mib = 1 << 20
	gib = 1 << 30

	// Knative's queue-proxy sidecar requests (cpu 25m; memory is our choice).
	queueProxyCPU = 0.025
	queueProxyMem = 32 * mib

	lambdaMaxConcurrency = 1000 // the default account limit
)

// scaler is how a workload's replica count is decided.
type scaler uint8

const (
	scaleFixed  scaler = iota // StatefulSet, DaemonSet, Deployment without HPA
	scaleHPA                  // HorizontalPodAutoscaler on CPU
	scaleKPA                  // Knative / OpenFaaS: in-flight requests per instance
	scaleLambda               // warm execution environments
)

// edge is an incoming call: the caller sends calls requests to this
// workload per request it serves. Async edges carry load only.
type edge struct {
	from  int32
	calls float64
	async bool
}

// callee is an outgoing synchronous call, for latency, errors and traces.
type callee struct {
	to    int32
	calls float64
}

// spec is the static model of one workload.
type spec struct {
	w      sources.Workload
	scaler scaler
	fixed  int // replicas of a fixed workload
	min    int
	max    int
	// createDelay is how many sync periods pass between the autoscaler's
	// decision and the pods existing; startup how many until they are ready.
	createDelay int
	startup     int
	lag         int // KPA: metric lag in sync periods
	scaleToZero bool

	// Traffic: ext is the external request rate at the daily peak.
	ext      float64
	night    float64 // diurnal low as a fraction of the peak (1 = flat)
	burstP   float64 // probability per minute of a 2-5x burst
	noise    float64 // relative amplitude of the smooth noise
	sparseLo float64 // if sparseLo+sparseHi>0, a minute is active with
	sparseHi float64 // probability sparseLo+sparseHi*diurnal
	winStart float64 // if winLen>0, traffic only in [winStart, winStart+winLen)
	winLen   float64 // seconds of the day

	callers []edge
	callees []callee

	// Service model.
	svc            float64 // own median latency at low load, seconds
	err0           float64 // base error ratio
	cpuPerReq      float64 // core-seconds per request
	cpuPerInflight float64 // cores per in-flight request
	cpuIdle        float64 // cores per pod
	cpuReq         float64 // cores per pod incl. sidecars
	cpuBasis       float64 // HPA: the container request the target refers to
	memReq         float64 // bytes per pod incl. sidecars
	memBase        float64 // bytes per pod
	memPerInflight float64 // bytes per in-flight request
	target         float64 // HPA: CPU utilisation; KPA: in-flight per instance
	cold           float64 // cold start, seconds (functions)
	incident       bool    // slow during the daily incident window

	downstream   string // external dependency shown in traces
	downstreamOp string
	ops          []string

	// Derived by prepare.
	key      uint64
	nl0, nl1 float64 // nominal mean latency = nl0 + (incidentMult-1)*nl1
}

func (sp *spec) function() bool { return sp.w.Platform.IsServerless() }

// metrics lists what the workload reports (latency and error ratio only
// while it has traffic).
func (sp *spec) metrics() []sources.Metric {
	m := []sources.Metric{sources.CostRate, sources.ReplicasDesired, sources.ReplicasCurrent, sources.ReplicasReady}
	if sp.scaler != scaleFixed {
		m = append(m, sources.ReplicasMin, sources.ReplicasMax)
	}
	if sp.function() {
		m = append(m, sources.Concurrency)
	}
	m = append(m, sources.RequestRate, sources.ErrorRatio, sources.LatencyP50, sources.LatencyP95, sources.LatencyP99)
	if sp.function() {
		m = append(m, sources.ColdStarts)
	}
	if sp.w.Platform == sources.Lambda {
		return append(m, sources.MemRequest)
	}
	return append(m, sources.CPUUsage, sources.CPURequest, sources.MemUsage, sources.MemRequest)
}

// builder assembles specs by name.
type builder struct {
	cluster string
	specs   []spec
	byName  map[string]int32
}

func (b *builder) add(sp spec) *spec {
	if b.byName == nil {
		b.byName = map[string]int32{}
	}
	sp.w.ID.Cluster = b.cluster
	if sp.noise == 0 {
		sp.noise = 0.06
	}
	if sp.night == 0 {
		sp.night = 0.15
	}
	if sp.cpuBasis == 0 {
		sp.cpuBasis = sp.cpuReq
	}
	b.byName[sp.w.ID.Name] = int32(len(b.specs))
	b.specs = append(b.specs, sp)
	return &b.specs[len(b.specs)-1]
}

// call declares that caller calls callee calls times per request.
func (b *builder) call(caller, callee string, calls float64, async bool) {
	from, ok1 := b.byName[caller]
	to, ok2 := b.byName[callee]
	if !ok1 || !ok2 {
		panic(fmt.Sprintf("sim: bad edge %s -> %s", caller, callee))
	}
	b.specs[to].callers = append(b.specs[to].callers, edge{from: from, calls: calls, async: async})
}

func kube(ns, name string, kind sources.Kind) sources.Workload {
	return sources.Workload{ID: sources.WorkloadID{Namespace: ns, Name: name}, Kind: kind, Platform: sources.Kubernetes}
}

func fn(ns, name string, p sources.Platform, memMB float64, runtime string) sources.Workload {
	return sources.Workload{ID: sources.WorkloadID{Namespace: ns, Name: name}, Kind: sources.Function,
		Platform: p, MemoryMB: memMB, Runtime: runtime}
}

// hpa fills the HorizontalPodAutoscaler defaults: 60 % CPU target, pods
// created one sync after the decision and ready 30 s later.
func hpa(sp spec, min, max int) spec {
	sp.scaler, sp.min, sp.max, sp.target = scaleHPA, min, max, 0.6
	sp.createDelay, sp.startup = 1, 2
	return sp
}

func fixed(sp spec, n int) spec {
	sp.scaler, sp.fixed, sp.min, sp.max = scaleFixed, n, n, n
	return sp
}

func knative(sp spec, target float64, max int) spec {
	sp.scaler, sp.min, sp.max, sp.target, sp.scaleToZero = scaleKPA, 0, max, target, true
	sp.createDelay, sp.startup, sp.lag = 0, 1, 0
	sp.cpuBasis = sp.cpuReq
	sp.cpuReq += queueProxyCPU
	sp.memReq = sp.w.MemoryMB*mib + queueProxyMem
	return sp
}

func openfaas(sp spec, target float64, min, max int) spec {
	sp.scaler, sp.min, sp.max, sp.target, sp.scaleToZero = scaleKPA, min, max, target, min == 0
	sp.createDelay, sp.startup, sp.lag = 1, 1, 2
	sp.memReq = sp.w.MemoryMB * mib
	return sp
}

func lambda(sp spec) spec {
	sp.scaler, sp.min, sp.max = scaleLambda, 0, lambdaMaxConcurrency
	sp.memReq = sp.w.MemoryMB * mib
	return sp
}

// builtin is the realistic demo set.
func builtin(cluster string) []spec {
	b := &builder{cluster: cluster}
	const shop, platform, obs = "shop", "platform", "observability"
	ops := func(o ...string) []string { return o }

	// platform
	b.add(hpa(spec{w: kube(platform, "ingress-nginx", sources.Deployment), ext: 1100, night: 0.12, burstP: 0.003,
		svc: 0.002, err0: 0.0005, cpuPerReq: 0.0005, cpuPerInflight: 0.002, cpuIdle: 0.01,
		cpuReq: 0.25, memReq: 256 * mib, memBase: 110 * mib, memPerInflight: 0.05 * mib,
		ops: ops("GET /", "POST /api")}, 2, 10))
	// shop
	b.add(hpa(spec{w: kube(shop, "frontend", sources.Deployment),
		svc: 0.012, err0: 0.002, cpuPerReq: 0.002, cpuPerInflight: 0.04, cpuIdle: 0.02,
		cpuReq: 0.5, memReq: 512 * mib, memBase: 220 * mib, memPerInflight: 1.5 * mib,
		ops: ops("GET /", "GET /product/{id}", "POST /cart")}, 3, 24))
	b.add(hpa(spec{w: kube(shop, "cart", sources.Deployment),
		svc: 0.008, err0: 0.001, cpuPerReq: 0.0015, cpuPerInflight: 0.01, cpuIdle: 0.01,
		cpuReq: 0.25, memReq: 256 * mib, memBase: 90 * mib, memPerInflight: 0.5 * mib,
		ops: ops("GET /cart", "POST /cart/items")}, 2, 8))
	b.add(hpa(spec{w: kube(shop, "catalog", sources.Deployment),
		svc: 0.015, err0: 0.001, cpuPerReq: 0.002, cpuPerInflight: 0.02, cpuIdle: 0.02,
		cpuReq: 0.5, memReq: 512 * mib, memBase: 260 * mib, memPerInflight: 1 * mib,
		ops: ops("GET /products", "GET /products/{id}")}, 2, 12))
	b.add(hpa(spec{w: kube(shop, "search", sources.Deployment),
		svc: 0.04, err0: 0.002, cpuPerReq: 0.012, cpuPerInflight: 0.01, cpuIdle: 0.05,
		cpuReq: 1, memReq: 1536 * mib, memBase: 900 * mib, memPerInflight: 4 * mib,
		ops: ops("GET /search")}, 2, 10))
	b.add(hpa(spec{w: kube(shop, "checkout", sources.Deployment),
		svc: 0.05, err0: 0.003, cpuPerReq: 0.015, cpuPerInflight: 0.05, cpuIdle: 0.02,
		cpuReq: 0.25, memReq: 384 * mib, memBase: 150 * mib, memPerInflight: 2 * mib,
		ops: ops("POST /checkout")}, 2, 20))
	b.add(hpa(spec{w: kube(shop, "payments", sources.Deployment),
		svc: 0.12, err0: 0.002, cpuPerReq: 0.01, cpuPerInflight: 0.01, cpuIdle: 0.01,
		cpuReq: 0.25, memReq: 256 * mib, memBase: 120 * mib, memPerInflight: 1 * mib,
		incident: true, downstream: "bank-gateway", downstreamOp: "POST /v1/charges",
		ops: ops("POST /payments")}, 2, 10))
	// platform, stateful
	b.add(fixed(spec{w: kube(platform, "postgres", sources.StatefulSet), noise: 0.04,
		svc: 0.003, err0: 0.0002, cpuPerReq: 0.001, cpuPerInflight: 0.05, cpuIdle: 0.15,
		cpuReq: 2, memReq: 8 * gib, memBase: 6 * gib, memPerInflight: 8 * mib,
		ops: ops("SELECT", "INSERT", "UPDATE")}, 3))
	b.add(fixed(spec{w: kube(platform, "redis", sources.StatefulSet), noise: 0.04,
		svc: 0.0006, err0: 0.0001, cpuPerReq: 0.00005, cpuPerInflight: 0.01, cpuIdle: 0.02,
		cpuReq: 0.5, memReq: 1 * gib, memBase: 600 * mib, memPerInflight: 0.1 * mib,
		ops: ops("GET", "SET")}, 3))
	b.add(fixed(spec{w: kube(platform, "otel-collector", sources.Deployment), ext: 80,
		svc: 0.004, err0: 0.0005, cpuPerReq: 0.002, cpuPerInflight: 0.01, cpuIdle: 0.02,
		cpuReq: 0.5, memReq: 512 * mib, memBase: 200 * mib, memPerInflight: 1 * mib,
		ops: ops("Export")}, 2))
	// observability
	b.add(fixed(spec{w: kube(obs, "node-exporter", sources.DaemonSet), ext: 0.4, night: 1, noise: 0.01,
		svc: 0.015, err0: 0.0001, cpuPerReq: 0.05, cpuIdle: 0.005,
		cpuReq: 0.1, memReq: 64 * mib, memBase: 28 * mib,
		ops: ops("GET /metrics")}, 6))
	b.add(fixed(spec{w: kube(obs, "prometheus", sources.StatefulSet), ext: 1, night: 0.4, noise: 0.05,
		svc: 0.05, err0: 0.0005, cpuPerReq: 0.05, cpuPerInflight: 0.1, cpuIdle: 0.3,
		cpuReq: 1, memReq: 4 * gib, memBase: 2800 * mib, memPerInflight: 30 * mib,
		ops: ops("GET /api/v1/query_range", "GET /api/v1/query")}, 2))
	b.add(fixed(spec{w: kube(obs, "grafana", sources.Deployment), ext: 1.5, night: 0.05, noise: 0.1,
		svc: 0.03, err0: 0.001, cpuPerReq: 0.02, cpuPerInflight: 0.02, cpuIdle: 0.01,
		cpuReq: 0.25, memReq: 256 * mib, memBase: 140 * mib, memPerInflight: 2 * mib,
		ops: ops("GET /api/ds/query", "GET /d/{uid}")}, 1))

	// Knative.
	const kn = "serverless"
	b.add(knative(spec{w: fn(kn, "thumbnailer", sources.Knative, 512, "go1.23"), ext: 20, burstP: 0.01,
		sparseLo: 0.05, sparseHi: 0.8, noise: 0.15,
		svc: 0.35, err0: 0.003, cpuPerReq: 0.3, cpuIdle: 0.005, cpuReq: 0.5,
		memBase: 120 * mib, memPerInflight: 40 * mib, cold: 2.5,
		downstream: "s3", downstreamOp: "PutObject", ops: ops("POST /")}, 5, 20))
	b.add(knative(spec{w: fn(kn, "pdf-render", sources.Knative, 1024, "node20"), ext: 3,
		sparseLo: 0.03, sparseHi: 0.6, noise: 0.15,
		svc: 1.2, err0: 0.01, cpuPerReq: 0.9, cpuIdle: 0.005, cpuReq: 1,
		memBase: 300 * mib, memPerInflight: 150 * mib, cold: 4,
		ops: ops("POST /render")}, 2, 15))
	b.add(knative(spec{w: fn(kn, "webhook-relay", sources.Knative, 128, "go1.22"), ext: 25, burstP: 0.01,
		sparseLo: 0.3, sparseHi: 0.7, noise: 0.1,
		svc: 0.05, err0: 0.004, cpuPerReq: 0.01, cpuIdle: 0.002, cpuReq: 0.1,
		memBase: 30 * mib, memPerInflight: 2 * mib, cold: 1.2,
		downstream: "github-api", downstreamOp: "POST /repos/{repo}/dispatches", ops: ops("POST /hook")}, 20, 10))
	b.add(knative(spec{w: fn(kn, "ml-infer", sources.Knative, 4096, "python3.12"), ext: 2,
		sparseLo: 0.02, sparseHi: 0.3, noise: 0.1,
		svc: 0.6, err0: 0.005, cpuPerReq: 1.2, cpuIdle: 0.05, cpuReq: 2,
		memBase: 2500 * mib, memPerInflight: 200 * mib, cold: 9,
		ops: ops("POST /v1/models/ranker:predict")}, 1, 8))

	// OpenFaaS.
	const of = "openfaas-fn"
	b.add(openfaas(spec{w: fn(of, "resize-image", sources.OpenFaaS, 256, "python3.11"), ext: 6, burstP: 0.01,
		sparseLo: 0.1, sparseHi: 0.7, noise: 0.15,
		svc: 0.25, err0: 0.004, cpuPerReq: 0.2, cpuIdle: 0.003, cpuReq: 0.2,
		memBase: 60 * mib, memPerInflight: 30 * mib, cold: 3,
		ops: ops("POST /function/resize-image")}, 4, 0, 12))
	b.add(openfaas(spec{w: fn(of, "send-email", sources.OpenFaaS, 128, "node20"),
		svc: 0.4, err0: 0.006, cpuPerReq: 0.005, cpuIdle: 0.002, cpuReq: 0.05,
		memBase: 45 * mib, memPerInflight: 1 * mib, cold: 1.5,
		downstream: "smtp-relay", downstreamOp: "SEND", ops: ops("POST /function/send-email")}, 10, 1, 5))
	b.add(openfaas(spec{w: fn(of, "geoip", sources.OpenFaaS, 64, "go1.22"), ext: 40, night: 0.1,
		svc: 0.004, err0: 0.0005, cpuPerReq: 0.001, cpuIdle: 0.002, cpuReq: 0.05,
		memBase: 25 * mib, memPerInflight: 0.2 * mib, cold: 0.8,
		ops: ops("POST /function/geoip")}, 20, 1, 6))

	// Lambda.
	const region = "us-east-1"
	b.add(lambda(spec{w: fn(region, "order-events", sources.Lambda, 256, "python3.12"),
		svc: 0.12, err0: 0.002, cold: 0.45, downstream: "dynamodb", downstreamOp: "PutItem",
		ops: ops("Invoke")}))
	b.add(lambda(spec{w: fn(region, "invoice-pdf", sources.Lambda, 1024, "nodejs20.x"),
		svc: 1.8, err0: 0.004, cold: 1.1, downstream: "s3", downstreamOp: "PutObject",
		ops: ops("Invoke")}))
	b.add(lambda(spec{w: fn(region, "auth-token", sources.Lambda, 128, "provided.al2023"), ext: 220, night: 0.1, burstP: 0.003,
		svc: 0.018, err0: 0.001, cold: 0.09, ops: ops("Invoke")}))
	b.add(lambda(spec{w: fn(region, "nightly-report", sources.Lambda, 3008, "java21"), ext: 1.5, night: 1,
		winStart: 2 * 3600, winLen: 25 * 60, noise: 0.1,
		svc: 38, err0: 0.01, cold: 3.5, downstream: "athena", downstreamOp: "StartQueryExecution",
		ops: ops("Invoke")}))

	// Call graph.
	b.call("ingress-nginx", "frontend", 0.85, false)
	b.call("frontend", "cart", 0.3, false)
	b.call("frontend", "catalog", 0.9, false)
	b.call("frontend", "search", 0.25, false)
	b.call("frontend", "checkout", 0.05, false)
	b.call("frontend", "redis", 1, false)
	b.call("cart", "redis", 2, false)
	b.call("cart", "postgres", 0.1, false)
	b.call("catalog", "postgres", 0.3, false)
	b.call("catalog", "redis", 0.8, false)
	b.call("checkout", "payments", 1, false)
	b.call("checkout", "postgres", 3, false)
	b.call("payments", "postgres", 1, false)
	b.call("grafana", "prometheus", 8, false)
	b.call("frontend", "geoip", 0.05, false)
	b.call("checkout", "send-email", 1, true)
	b.call("checkout", "order-events", 1, true)
	b.call("order-events", "invoice-pdf", 0.3, true)
	b.call("frontend", "auth-token", 0.02, true)
	return b.specs
}

// Scale mode vocabulary.
var (
	teamNamespaces = []string{"accounts", "ads", "analytics", "billing", "catalog", "checkout",
		"identity", "inventory", "logistics", "media", "messaging", "ml", "risk", "search", "support"}
	regions    = []string{"us-east-1", "eu-west-1", "ap-southeast-2"}
	nameHeads  = []string{"orders", "users", "cart", "ledger", "invoice", "auth", "profile", "feed", "notify", "media", "report", "price", "stock", "ship", "risk", "score", "chat", "mail", "geo", "rank"}
	nameTails  = []string{"api", "worker", "svc", "gateway", "cache", "db", "sync", "consumer", "indexer", "proxy"}
	runtimesFn = []string{"go1.23", "python3.12", "node20", "java21"}
	runtimesL  = []string{"python3.12", "nodejs20.x", "provided.al2023", "java21"}
)

// generate builds n workloads deterministically from seed: ~20 namespaces
// (15 team namespaces, monitoring, openfaas-fn and three Lambda regions)
// and every platform, with callers always earlier in the list.
func generate(cluster string, n int, seed uint64, nodes int) []spec {
	b := &builder{cluster: cluster}
	r := func(i int, stream uint64) float64 { return unit(hash(seed^0xA11CE, stream, int64(i))) }
	logU := func(u, lo, hi float64) float64 { return lo * math.Exp(u*math.Log(hi/lo)) }
	pick := func(u float64, n int) int { return min(int(u*float64(n)), n-1) }
	// callable deployments per team namespace, newest last
	callable := map[string][]int32{}
	peak := make([]float64, 0, n) // approximate peak request rate, for HPA bounds

	for i := range n {
		name := fmt.Sprintf("%s-%s-%d", nameHeads[pick(r(i, 1), len(nameHeads))], nameTails[pick(r(i, 2), len(nameTails))], i)
		team := teamNamespaces[pick(r(i, 3), len(teamNamespaces))]
		kindU := r(i, 4)
		sp := spec{
			ext: logU(r(i, 5), 0.5, 400), night: 0.05 + 0.3*r(i, 6), burstP: 0.004 * r(i, 7),
			noise: 0.03 + 0.1*r(i, 8), svc: logU(r(i, 9), 0.002, 0.3), err0: logU(r(i, 10), 0.0001, 0.01),
		}
		sp.cpuPerReq = sp.svc * (0.05 + 0.3*r(i, 11))
		sp.cpuPerInflight = 0.01 + 0.03*r(i, 12)
		sp.cpuIdle = 0.005 + 0.03*r(i, 13)
		sp.ops = []string{"GET /" + name, "POST /" + name}

		var caller int32 = -1
		if cs := callable[team]; len(cs) > 0 && r(i, 14) < 0.45 {
			caller = cs[len(cs)-1-pick(r(i, 15), min(5, len(cs)))]
		}
		calls := 0.2 + 1.0*r(i, 16)
		if caller >= 0 {
			sp.ext = 0
		}
		load := sp.ext
		if caller >= 0 {
			load = calls * peak[caller]
		}
		cpuAtPeak := load * (sp.cpuPerReq + sp.svc*sp.cpuPerInflight)

		var x *spec
		switch {
		case kindU < 0.55: // Deployment
			sp.w = kube(team, name, sources.Deployment)
			sp.cpuReq = []float64{0.1, 0.25, 0.5, 1}[pick(r(i, 17), 4)]
			sp.memBase = logU(r(i, 18), 40, 1500) * mib
			sp.memReq = math.Ceil(sp.memBase*1.5/(64*mib)) * 64 * mib
			sp.memPerInflight = sp.memBase * 0.005
			sp.incident = caller >= 0 && r(i, 19) < 0.08
			if sp.incident {
				sp.downstream, sp.downstreamOp = "partner-api", "POST /v2/requests"
			}
			if r(i, 20) < 0.75 {
				lo := 1 + pick(r(i, 21), 3)
				need := int(math.Ceil(cpuAtPeak / (0.6 * sp.cpuReq)))
				x = b.add(hpa(sp, lo, max(lo+2, int(float64(need)*1.4)+1)))
			} else {
				x = b.add(fixed(sp, 1+pick(r(i, 21), 4)))
			}
			callable[team] = append(callable[team], int32(i))
		case kindU < 0.63: // StatefulSet
			sp.w = kube(team, name, sources.StatefulSet)
			sp.cpuReq = []float64{0.5, 1, 2}[pick(r(i, 17), 3)]
			sp.memBase = logU(r(i, 18), 200, 6000) * mib
			sp.memReq = math.Ceil(sp.memBase*1.3/gib) * gib
			sp.memPerInflight = 4 * mib
			x = b.add(fixed(sp, 1+pick(r(i, 21), 5)))
		case kindU < 0.64: // DaemonSet
			sp.w = kube("monitoring", name, sources.DaemonSet)
			sp.ext, caller = 0.05*float64(nodes), -1
			sp.night, sp.noise = 1, 0.01
			sp.cpuReq, sp.memBase, sp.memReq = 0.1, 30*mib, 64*mib
			x = b.add(fixed(sp, nodes))
		case kindU < 0.76: // Knative
			mem := []float64{128, 256, 512, 1024, 2048}[pick(r(i, 17), 5)]
			sp.w = fn(team, name, sources.Knative, mem, runtimesFn[pick(r(i, 18), 4)])
			sp.cpuReq = mem / 1024
			sp.memBase, sp.memPerInflight = mem*mib*0.3, mem*mib*0.05
			sp.cold = logU(r(i, 19), 0.5, 8)
			sp.sparseLo, sp.sparseHi = 0.05, 0.4+0.55*r(i, 20)
			target := []float64{1, 5, 10, 20}[pick(r(i, 21), 4)]
			x = b.add(knative(sp, target, max(3, int(load*sp.svc/target*2)+1)))
		case kindU < 0.84: // OpenFaaS
			mem := []float64{64, 128, 256, 512}[pick(r(i, 17), 4)]
			sp.w = fn("openfaas-fn", name, sources.OpenFaaS, mem, runtimesFn[pick(r(i, 18), 4)])
			sp.cpuReq = 0.05 + mem/2048
			sp.memBase, sp.memPerInflight = mem*mib*0.3, mem*mib*0.05
			sp.cold = logU(r(i, 19), 0.5, 5)
			lo := 0
			if r(i, 20) < 0.6 {
				lo = 1
			} else {
				sp.sparseLo, sp.sparseHi = 0.1, 0.7
			}
			target := []float64{2, 5, 10, 20}[pick(r(i, 21), 4)]
			x = b.add(openfaas(sp, target, lo, max(3, int(load*sp.svc/target*2)+1)))
		default: // Lambda
			mem := []float64{128, 256, 512, 1024, 1769, 3008}[pick(r(i, 17), 6)]
			sp.w = fn(regions[pick(r(i, 18), 3)], name, sources.Lambda, mem, runtimesL[pick(r(i, 19), 4)])
			sp.cold = logU(r(i, 20), 0.1, 3)
			x = b.add(lambda(sp))
		}
		peak = append(peak, load)
		if caller >= 0 {
			async := x.w.Platform == sources.Lambda
			b.specs[i].callers = append(b.specs[i].callers, edge{from: caller, calls: calls, async: async})
		}
	}
	return b.specs
}
