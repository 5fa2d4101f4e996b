package cost

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/perch-dev/perch/sources"
)

// OptionKind is one column of the what-if comparison.
type OptionKind uint8

// The what-if options, in display order.
const (
	AsNow      OptionKind = iota // as it runs now
	RightSized                   // Kubernetes, requests at p95 usage + headroom, replicas for peak
	AsLambda                     // AWS Lambda
	AsCloudRun                   // Google Cloud Run, request-based billing
	AsKnative                    // Knative with scale to zero
	NumOptions
)

var optionNames = [NumOptions]string{"now", "k8s right-sized", "Lambda", "Cloud Run", "Knative to zero"}

func (k OptionKind) String() string {
	if k < NumOptions {
		return optionNames[k]
	}
	return "unknown"
}

// PayPerUse reports whether the option's cost follows traffic down to zero.
func (k OptionKind) PayPerUse() bool { return k == AsLambda || k == AsCloudRun || k == AsKnative }

// Observed is what the what-if model knows about one workload or function
// over a window. Totals are over all replicas; NaN means unknown. Build it
// with ObservedFrom, or by hand in tests.
type Observed struct {
	Platform sources.Platform
	Source   string        // the source that reports it, for explanations
	Window   time.Duration // what the means and peaks cover

	MeanRPS, PeakRPS float64 // requests per second
	P50, P95, P99    float64 // latency, seconds
	// PeakConcurrency is in-flight requests at peak; NaN = PeakRPS × mean
	// duration (Little's law).
	PeakConcurrency float64

	MemoryMB float64 // a function's configured memory size (0 or NaN for pods)

	CPUUsageMean, CPUUsagePeak float64 // cores, whole workload
	MemUsageMean               float64 // bytes, whole workload
	CPUPerReplicaP95           float64 // cores, p95 over the window of usage per replica
	MemPerReplicaP95           float64 // bytes, likewise
	CPURequest, MemRequest     float64 // whole workload, now
	GPUs                       float64 // devices requested, whole workload
	Replicas                   float64 // mean replicas over the window

	CostRate         float64 // $/h as the source reports it, mean over the window
	ColdStartsPerMin float64 // as observed

	// The node the pods run on, for node price overrides ("" = unknown).
	InstanceType string
	Spot         bool
}

// Series are a workload's series over the what-if window from the store
// (store.Range), oldest first, NaN for gaps. Any may be nil. The *Max
// series (store.Max aggregation) give truer peaks; without them peaks come
// from the mean series.
type Series struct {
	Window                             time.Duration
	Cost, RequestRate, RequestRateMax  []float64
	CPUUsage, CPUUsageMax, MemUsage    []float64
	Replicas, Concurrency, ColdStarts  []float64
	LatencyP50, LatencyP95, LatencyP99 []float64
}

// ObservedFrom combines a workload's latest values with its series: means,
// peaks and p95s come from the series where they have data and fall back
// to the latest values.
func ObservedFrom(s *sources.Summary, ser Series) Observed {
	l := &s.Latest
	or := func(v, fallback float64) float64 {
		if math.IsNaN(v) {
			return fallback
		}
		return v
	}
	peak := func(max, mean []float64, fallback float64) float64 {
		return or(Peak(max), or(Peak(mean), fallback))
	}
	perReplica := func(total []float64, latest float64) float64 {
		q := Quantile(PerReplica(total, ser.Replicas), 0.95)
		if math.IsNaN(q) && l[sources.ReplicasCurrent] > 0 {
			q = latest / l[sources.ReplicasCurrent]
		}
		return q
	}
	o := Observed{
		Platform: s.Platform, Source: s.Source, Window: ser.Window,
		MeanRPS:          or(Mean(ser.RequestRate), l[sources.RequestRate]),
		PeakRPS:          peak(ser.RequestRateMax, ser.RequestRate, l[sources.RequestRate]),
		P50:              or(Mean(ser.LatencyP50), l[sources.LatencyP50]),
		P95:              or(Mean(ser.LatencyP95), l[sources.LatencyP95]),
		P99:              or(Mean(ser.LatencyP99), l[sources.LatencyP99]),
		PeakConcurrency:  or(Peak(ser.Concurrency), l[sources.Concurrency]),
		MemoryMB:         s.MemoryMB,
		CPUUsageMean:     or(Mean(ser.CPUUsage), l[sources.CPUUsage]),
		CPUUsagePeak:     peak(ser.CPUUsageMax, ser.CPUUsage, l[sources.CPUUsage]),
		MemUsageMean:     or(Mean(ser.MemUsage), l[sources.MemUsage]),
		CPUPerReplicaP95: perReplica(ser.CPUUsage, l[sources.CPUUsage]),
		MemPerReplicaP95: perReplica(ser.MemUsage, l[sources.MemUsage]),
		CPURequest:       l[sources.CPURequest],
		MemRequest:       l[sources.MemRequest],
		GPUs:             math.NaN(),
		Replicas:         or(Mean(ser.Replicas), l[sources.ReplicasCurrent]),
		CostRate:         or(Mean(ser.Cost), l[sources.CostRate]),
		ColdStartsPerMin: or(Mean(ser.ColdStarts), l[sources.ColdStarts]),
	}
	if o.MemoryMB <= 0 {
		o.MemoryMB = math.NaN()
	}
	return o
}

// Assumptions are the what-if model's knobs (config: whatif:).
type Assumptions struct {
	// Headroom above p95 usage for right-sized requests (0.2 = +20%).
	Headroom float64 `json:"headroom" yaml:"headroom"`
	// TargetUtilisation is how full (usage / request) replicas run at peak.
	TargetUtilisation float64 `json:"target_utilisation" yaml:"target_utilisation"`
	// MinReplicas an always-on workload keeps.
	MinReplicas float64 `json:"min_replicas" yaml:"min_replicas"`
	// LambdaArch picks the Lambda GB-second price.
	LambdaArch Arch `json:"lambda_arch" yaml:"lambda_arch"`
	// CloudRunConcurrency fixes Cloud Run's per-instance concurrency; 0
	// derives it from observed CPU per in-flight request.
	CloudRunConcurrency float64 `json:"cloud_run_concurrency" yaml:"cloud_run_concurrency"`
	// How long an idle instance stays warm before it is reclaimed.
	LambdaIdle   time.Duration `json:"lambda_idle" yaml:"lambda_idle"`
	CloudRunIdle time.Duration `json:"cloud_run_idle" yaml:"cloud_run_idle"`
	KnativeIdle  time.Duration `json:"knative_idle" yaml:"knative_idle"`
}

// DefaultAssumptions are perch's defaults.
func DefaultAssumptions() Assumptions {
	return Assumptions{
		Headroom: 0.2, TargetUtilisation: 0.8, MinReplicas: 1, LambdaArch: X86,
		// AWS does not document how long idle environments live; 5-15
		// minutes is what public measurements report.
		LambdaIdle: 10 * time.Minute,
		// Cloud Run keeps idle instances up to 15 minutes
		// (https://cloud.google.com/run/docs/about-instance-autoscaling).
		CloudRunIdle: 15 * time.Minute,
		// Knative: stable-window 60s + scale-to-zero-grace-period 30s
		// (config-autoscaler defaults).
		KnativeIdle: 90 * time.Second,
	}
}

// withDefaults fills zero or invalid knobs from DefaultAssumptions.
func (a Assumptions) withDefaults() Assumptions {
	d := DefaultAssumptions()
	if !(a.Headroom >= 0) || math.IsInf(a.Headroom, 0) {
		a.Headroom = d.Headroom
	}
	if !(a.TargetUtilisation > 0 && a.TargetUtilisation <= 1) {
		a.TargetUtilisation = d.TargetUtilisation
	}
	if !(a.MinReplicas >= 1) || math.IsInf(a.MinReplicas, 0) {
		a.MinReplicas = d.MinReplicas
	}
	a.MinReplicas = math.Ceil(a.MinReplicas)
	if a.LambdaArch != Arm {
		a.LambdaArch = X86
	}
	if !(a.CloudRunConcurrency >= 0) || math.IsInf(a.CloudRunConcurrency, 0) {
		a.CloudRunConcurrency = 0
	}
	if a.LambdaIdle <= 0 {
		a.LambdaIdle = d.LambdaIdle
	}
	if a.CloudRunIdle <= 0 {
		a.CloudRunIdle = d.CloudRunIdle
	}
	if a.KnativeIdle <= 0 {
		a.KnativeIdle = d.KnativeIdle
	}
	return a
}

// Option is one column of the comparison.
type Option struct {
	Kind       OptionKind
	Hourly     float64 // $/h, NaN when it cannot be computed (see Missing)
	Monthly    float64 // $ per 730-hour month
	PerMillion float64 // $ per 1M requests at the mean rate, NaN without traffic
	// ColdStartsPerMin is the expected rate of requests that find no warm
	// instance; ColdShare is that as a share of requests. NaN = unknown.
	ColdStartsPerMin, ColdShare float64
	Explain                     string   // one line: how the number comes about
	Inputs                      []string // the inputs behind it, for the explain view
	Missing                     string   // what is lacking when Hourly is NaN
}

// Known reports whether the option has a cost.
func (o Option) Known() bool { return !math.IsNaN(o.Hourly) }

// BreakEven is the mean request rate at which a pay-per-use option costs as
// much as the always-on right-sized Kubernetes option: below it pay-per-use
// is cheaper. +Inf: cheaper at every rate tried (up to MaxBreakEvenRPS);
// 0: never cheaper; NaN: unknown (see Note).
type BreakEven struct {
	Option OptionKind
	RPS    float64
	Note   string
}

// MaxBreakEvenRPS is the highest rate the break-even search tries.
const MaxBreakEvenRPS = 1e7

// Comparison is the what-if answer for one workload.
type Comparison struct {
	Observed    Observed
	Assumptions Assumptions
	PricesName  string
	FreeTier    bool
	Options     [NumOptions]Option
	// Cheapest is the index of the cheapest known option, -1 when none is.
	Cheapest  int
	BreakEven []BreakEven // Lambda, Cloud Run, Knative against right-sized
	// Lacks lists missing inputs ("no traffic data (req/s)") and warnings
	// ("unknown instance type x: default node prices").
	Lacks []string

	model *model
}

// Computed reports whether c came from Compare (the zero Comparison did not).
func (c Comparison) Computed() bool { return c.model != nil }

// Compare runs the what-if model for one workload.
func (p Prices) Compare(o Observed, a Assumptions) Comparison {
	p = p.OrDefaults()
	a = a.withDefaults()
	m := p.newModel(o, a)
	c := Comparison{Observed: o, Assumptions: a, PricesName: p.Name, FreeTier: p.FreeTier, Cheapest: -1, model: m}
	s := m.size(o)
	c.Lacks = s.lacks()
	for k := range NumOptions {
		opt := s.option(k)
		opt.Kind = k
		opt.Monthly = Monthly(opt.Hourly)
		opt.PerMillion = PerMillion(opt.Hourly, o.MeanRPS)
		if !math.IsNaN(opt.ColdStartsPerMin) && o.MeanRPS > 0 {
			opt.ColdShare = math.Min(1, opt.ColdStartsPerMin/(o.MeanRPS*60))
		} else {
			opt.ColdShare = math.NaN()
		}
		c.Options[k] = opt
		if opt.Known() && (c.Cheapest < 0 || opt.Hourly < c.Options[c.Cheapest].Hourly) {
			c.Cheapest = int(k)
		}
	}
	for _, k := range []OptionKind{AsLambda, AsCloudRun} {
		c.BreakEven = append(c.BreakEven, m.breakEven(&s, k))
	}
	return c
}

// Curve is an option's monthly cost at each mean request rate, the other
// traffic figures (peak, CPU, in-flight requests) following it as the model
// does for the break-even. AsNow has no curve (NaN).
func (c Comparison) Curve(k OptionKind, rates []float64) []float64 {
	out := make([]float64, len(rates))
	for i, r := range rates {
		if k == AsNow || k >= NumOptions || c.model == nil {
			out[i] = math.NaN()
			continue
		}
		s := c.model.sizeFor(c.model.scaled(r), 1<<k)
		out[i] = Monthly(s.hourly(k))
	}
	return out
}

// model is what the what-if derives once from the observation and keeps
// while traffic is scaled for curves and break-even searches.
type model struct {
	p   Prices
	a   Assumptions
	o   Observed
	dur float64 // mean request duration, s
	// perInflight is the CPU (cores) one in-flight request uses. It is
	// measured (mean CPU / mean in-flight requests) when that is at most one
	// core; above that an idle baseline dominates and it is assumed to be
	// what Lambda gives the workload's memory (1,769 MB per vCPU).
	perInflight float64
	measured    bool
	baseline    float64 // idle CPU (cores) that does not follow traffic
	memNeedMB   float64 // p95 memory per replica + headroom, or the function's size; NaN unknown
}

func (p Prices) newModel(o Observed, a Assumptions) *model {
	m := &model{p: p, a: a, o: o, dur: MeanDuration(o.P50, o.P95, o.P99), memNeedMB: math.NaN()}
	switch {
	case o.MemPerReplicaP95 > 0 && finite(o.MemPerReplicaP95):
		m.memNeedMB = o.MemPerReplicaP95 * (1 + a.Headroom) / MiB
	case o.MemoryMB > 0 && finite(o.MemoryMB):
		m.memNeedMB = o.MemoryMB
	}
	inflight := math.NaN()
	if known(m.dur) && known(o.MeanRPS) {
		inflight = o.MeanRPS * m.dur
	}
	if known(o.CPUUsageMean) && inflight > 0 && o.CPUUsageMean <= inflight {
		m.perInflight, m.measured = o.CPUUsageMean/inflight, true
	} else {
		ref := float64(LambdaMinMemoryMB)
		if m.memNeedMB > ref {
			ref = m.memNeedMB
		}
		m.perInflight = math.Min(1, ref/LambdaMBPerVCPU)
	}
	if known(o.CPUUsageMean) && known(inflight) {
		m.baseline = math.Max(0, o.CPUUsageMean-m.perInflight*inflight)
	}
	return m
}

// scaled is the observation with traffic at mean rate r: the peak keeps its
// ratio to the mean, CPU is the idle baseline plus perInflight per
// in-flight request, in-flight peaks and replicas scale in proportion.
func (m *model) scaled(r float64) Observed {
	o := m.o
	s := o
	s.CostRate, s.ColdStartsPerMin = math.NaN(), math.NaN()
	ratio := 1.0
	if o.MeanRPS > 0 && o.PeakRPS >= o.MeanRPS {
		ratio = o.PeakRPS / o.MeanRPS
	}
	s.MeanRPS, s.PeakRPS = r, r*ratio
	f := math.NaN()
	if o.MeanRPS > 0 {
		f = r / o.MeanRPS
	}
	s.PeakConcurrency = o.PeakConcurrency * f // NaN without a base rate
	if known(f) {
		s.Replicas = o.Replicas * f
	}
	if known(o.CPUUsageMean) && known(m.dur) {
		s.CPUUsageMean = m.baseline + m.perInflight*r*m.dur
		if known(o.CPUUsagePeak) {
			grow := m.perInflight * (s.PeakRPS - nz(o.PeakRPS)) * m.dur
			s.CPUUsagePeak = math.Max(s.CPUUsageMean, o.CPUUsagePeak+grow)
		}
	} else {
		s.CPUUsageMean *= f
		s.CPUUsagePeak *= f
	}
	return s
}

// sizing is the numeric core of the model: no strings, so the break-even
// search can evaluate it thousands of times.
type sizing struct {
	m     *model
	o     Observed // as observed, or scaled to another rate
	a     Assumptions
	p     Prices
	rates Rates

	traffic          bool    // MeanRPS known
	dur              float64 // mean duration, s
	inflightMean     float64 // requests in flight, mean
	inflightPeak     float64
	cpuEstimated     bool    // CPU demand estimated from function memory
	demandPeak       float64 // cores at peak, whole workload
	demandMean       float64
	podCPU, podMem   float64 // right-sized request per replica (cores, bytes)
	podGPU           float64
	podHourly        float64
	replicas         float64 // right-sized, serving the peak
	rightMissing     string
	nowBill          KubeBill
	nowHourly        float64
	nowMissing       string
	nowComputed      bool
	lambdaMem        float64
	lambda           LambdaBill
	lambdaMissing    string
	crVCPU, crMemGiB float64
	crConc           float64
	cloudRun         CloudRunBill
	crMissing        string
	knActive         float64 // replicas while scaled up
	knUp             float64 // share of time scaled up
	knHourly         float64
	knMissing        string
	cold             [NumOptions]float64
}

// size evaluates every option for o.
func (m *model) size(o Observed) sizing { return m.sizeFor(o, allOptions) }

// allOptions is the sizeFor mask of every option.
const allOptions = 1<<NumOptions - 1

// sizeFor evaluates only the options in the mask (bit k = OptionKind k);
// the right-sized option is always evaluated since Knative builds on it.
func (m *model) sizeFor(o Observed, want uint) sizing {
	s := sizing{m: m, o: o, a: m.a, p: m.p, rates: m.p.Node(o.InstanceType, o.Spot)}
	// Options left out of the mask stay unknown, never a misleading $0.
	s.nowHourly, s.lambda.Hourly, s.cloudRun.Hourly, s.knHourly = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	for i := range s.cold {
		s.cold[i] = math.NaN()
	}
	s.traffic = known(o.MeanRPS)
	mean, peak := nz(o.MeanRPS), nz(o.PeakRPS)
	if peak < mean {
		peak = mean
	}
	s.dur = m.dur
	if known(s.dur) {
		s.inflightMean = mean * s.dur
		s.inflightPeak = peak * s.dur
	}
	if known(o.PeakConcurrency) && o.PeakConcurrency > s.inflightPeak {
		s.inflightPeak = o.PeakConcurrency
	}
	if want&(1<<AsNow) != 0 {
		s.sizeNow()
	}
	s.sizeRight()
	if want&(1<<AsLambda) != 0 {
		s.sizeLambda()
	}
	if want&(1<<AsCloudRun) != 0 {
		s.sizeCloudRun()
	}
	if want&(1<<AsKnative) != 0 {
		s.sizeKnative()
	}
	return s
}

func (s *sizing) sizeNow() {
	o := &s.o
	s.nowHourly = math.NaN()
	if known(o.CostRate) {
		s.nowHourly = o.CostRate
	} else {
		switch o.Platform {
		case sources.Lambda:
			if s.traffic && known(s.dur) && o.MemoryMB > 0 {
				s.nowHourly = s.p.Lambda(LambdaUsage{RPS: o.MeanRPS, DurationSeconds: s.dur, MemoryMB: o.MemoryMB}).Hourly
				s.nowComputed = true
			} else {
				s.nowMissing = "needs req/s, latency and memory size"
			}
		case sources.CloudRun, sources.AppEngine:
			s.nowMissing = "the source reports no cost"
		default:
			if !known(o.CPURequest) && !known(o.CPUUsageMean) && !known(o.MemRequest) && !known(o.MemUsageMean) {
				s.nowMissing = "no cost, requests or usage reported"
				break
			}
			u := Usage{CPURequest: o.CPURequest, CPUUsage: o.CPUUsageMean, MemRequest: o.MemRequest, MemUsage: o.MemUsageMean, GPUs: o.GPUs}
			s.nowBill = s.p.PodsBill(o.Platform, u, nz(o.Replicas), s.rates)
			s.nowHourly = s.nowBill.Hourly
			s.nowComputed = true
		}
	}
	switch {
	case known(o.ColdStartsPerMin):
		s.cold[AsNow] = o.ColdStartsPerMin
	case o.Platform == sources.Kubernetes || o.Platform == "":
		s.cold[AsNow] = 0
	}
}

func (s *sizing) sizeRight() {
	o, a := &s.o, &s.a
	s.podHourly, s.replicas = math.NaN(), math.NaN()
	// Without CPU data (a function) demand is estimated from in-flight
	// requests at the CPU share the function's memory buys on Lambda.
	functionCPU := math.NaN()
	if o.MemoryMB > 0 {
		functionCPU = s.m.perInflight
	}
	switch {
	case known(o.CPUUsagePeak):
		s.demandPeak = o.CPUUsagePeak
	case known(o.CPUPerReplicaP95) && known(o.Replicas):
		s.demandPeak = o.CPUPerReplicaP95 * o.Replicas
	case known(functionCPU) && (s.inflightPeak > 0 || s.traffic):
		s.demandPeak, s.cpuEstimated = s.inflightPeak*functionCPU, true
	default:
		s.rightMissing = "no CPU usage data"
		return
	}
	switch {
	case known(o.CPUUsageMean) && !s.cpuEstimated:
		s.demandMean = math.Min(o.CPUUsageMean, s.demandPeak)
	case s.cpuEstimated:
		s.demandMean = s.inflightMean * functionCPU
	case o.PeakRPS > 0 && known(o.MeanRPS):
		s.demandMean = s.demandPeak * math.Min(1, o.MeanRPS/o.PeakRPS)
	default:
		s.demandMean = s.demandPeak
	}
	switch {
	case o.CPUPerReplicaP95 > 0 && !s.cpuEstimated:
		s.podCPU = roundUp(o.CPUPerReplicaP95*(1+a.Headroom), 0.001)
	default:
		// No per-replica figure: one pod sized for the whole peak (its
		// headroom or its target utilisation, whichever asks more), at most
		// one core when the demand is only estimated.
		s.podCPU = roundUp(math.Max(s.demandPeak, 0.001)*math.Max(1+a.Headroom, 1/a.TargetUtilisation), 0.001)
		if s.cpuEstimated {
			s.podCPU = math.Min(1, s.podCPU)
		}
	}
	switch {
	case o.MemPerReplicaP95 > 0:
		s.podMem = roundUp(o.MemPerReplicaP95*(1+a.Headroom), MiB)
	case o.MemoryMB > 0:
		s.podMem = o.MemoryMB * MiB
	default:
		s.rightMissing = "no memory usage data"
		return
	}
	if o.GPUs > 0 && o.Replicas > 0 {
		s.podGPU = math.Ceil(o.GPUs / o.Replicas)
	}
	capacity := s.podCPU * a.TargetUtilisation
	s.replicas = math.Max(a.MinReplicas, math.Ceil(s.demandPeak/capacity-1e-9))
	s.podHourly = s.rates.Hourly(Usage{CPURequest: s.podCPU, MemRequest: s.podMem, GPUs: s.podGPU})
	s.cold[RightSized] = 0
}

func (s *sizing) needTraffic() string {
	switch {
	case !s.traffic:
		return "no traffic data (req/s)"
	case !known(s.dur):
		return "no latency data"
	}
	return ""
}

func (s *sizing) sizeLambda() {
	o, a := &s.o, &s.a
	s.lambda.Hourly = math.NaN()
	if s.lambdaMissing = s.needTraffic(); s.lambdaMissing != "" {
		return
	}
	if o.Platform == sources.Lambda && o.MemoryMB > 0 {
		s.lambdaMem = o.MemoryMB
	} else {
		need := nz(s.m.memNeedMB)
		if s.m.measured {
			// Enough memory for the CPU a request uses: 1,769 MB per vCPU.
			need = math.Max(need, s.m.perInflight*LambdaMBPerVCPU)
		}
		if need <= 0 {
			s.lambdaMissing = "no memory data"
			return
		}
		s.lambdaMem = math.Min(math.Max(math.Ceil(need-1e-9), LambdaMinMemoryMB), LambdaMaxMemoryMB)
	}
	if s.p.LambdaPerMillionRequests == 0 && s.p.LambdaGBSecond == 0 && s.p.LambdaArmGBSecond == 0 {
		s.lambdaMissing = "no Lambda prices in the price table"
		return
	}
	s.lambda = s.p.Lambda(LambdaUsage{RPS: o.MeanRPS, DurationSeconds: s.dur, MemoryMB: s.lambdaMem, Arch: a.LambdaArch})
	extra := math.Max(0, math.Ceil(s.inflightPeak-1e-9)-math.Ceil(s.inflightMean-1e-9))
	s.cold[AsLambda] = coldStartsPerMinute(o.MeanRPS, a.LambdaIdle, extra, o.Window)
}

// Cloud Run's vCPU sizes above 1 and the memory each allows at most
// (https://cloud.google.com/run/docs/configuring/services/cpu, checked
// 2026-11-26).
var cloudRunCPUs = []struct{ vcpu, maxGiB float64 }{{1, 4}, {2, 8}, {4, 16}, {6, 24}, {8, 32}}

func (s *sizing) sizeCloudRun() {
	o, a := &s.o, &s.a
	s.cloudRun.Hourly = math.NaN()
	if s.crMissing = s.needTraffic(); s.crMissing != "" {
		return
	}
	if s.p.CloudRunVCPUSecond == 0 && s.p.CloudRunGiBSecond == 0 && s.p.CloudRunPerMillionRequests == 0 {
		s.crMissing = "no Cloud Run prices in the price table"
		return
	}
	cpuNeed := 1.0
	if o.CPUPerReplicaP95 > 0 {
		cpuNeed = o.CPUPerReplicaP95 * (1 + a.Headroom)
	}
	memMiB := 512.0 // Cloud Run's default memory limit
	switch {
	case o.MemPerReplicaP95 > 0:
		memMiB = math.Ceil(o.MemPerReplicaP95*(1+a.Headroom)/MiB - 1e-9)
	case o.MemoryMB > 0:
		memMiB = o.MemoryMB
	}
	memMiB = math.Max(memMiB, 128)
	s.crVCPU = cloudRunCPUs[len(cloudRunCPUs)-1].vcpu
	for _, c := range cloudRunCPUs {
		if c.vcpu >= cpuNeed-1e-9 && memMiB <= c.maxGiB*1024 {
			s.crVCPU = c.vcpu
			break
		}
	}
	memMiB = math.Min(memMiB, 32*1024)
	s.crMemGiB = memMiB / 1024
	switch {
	case a.CloudRunConcurrency >= 1:
		s.crConc = math.Floor(a.CloudRunConcurrency)
	case s.m.measured && s.m.perInflight > 0:
		s.crConc = math.Min(math.Max(math.Floor(s.crVCPU*a.TargetUtilisation/s.m.perInflight), 1), 1000)
	default:
		s.crConc = CloudRunDefaultConcurrency
	}
	s.cloudRun = s.p.CloudRun(CloudRunUsage{RPS: o.MeanRPS, DurationSeconds: s.dur, VCPU: s.crVCPU, MemoryGiB: s.crMemGiB, Concurrency: s.crConc})
	extra := math.Max(0, math.Ceil(s.inflightPeak/s.crConc-1e-9)-math.Ceil(s.inflightMean/s.crConc-1e-9))
	s.cold[AsCloudRun] = coldStartsPerMinute(o.MeanRPS, a.CloudRunIdle, extra, o.Window)
}

func (s *sizing) sizeKnative() {
	o, a := &s.o, &s.a
	s.knHourly = math.NaN()
	switch {
	case !s.traffic:
		s.knMissing = "no traffic data (req/s)"
		return
	case math.IsNaN(s.podHourly):
		s.knMissing = s.rightMissing
		return
	}
	capacity := s.podCPU * a.TargetUtilisation
	s.knActive = math.Max(1, math.Ceil(s.demandMean/capacity-1e-9))
	// Poisson arrivals: the service is up when a request arrived within the
	// idle timeout (or is still running).
	s.knUp = -math.Expm1(-o.MeanRPS * (a.KnativeIdle.Seconds() + nz(s.dur)))
	sidecar := s.rates.Hourly(s.p.QueueProxy())
	s.knHourly = s.knUp * s.knActive * (s.podHourly + sidecar)
	extra := math.Max(0, s.replicas-s.knActive)
	s.cold[AsKnative] = coldStartsPerMinute(o.MeanRPS, a.KnativeIdle, extra, o.Window)
}

// coldStartsPerMinute estimates requests per minute that find no warm
// instance: those arriving after an idle gap longer than idle (Poisson
// arrivals at rate rps: 60·λ·e^(−λ·idle)), plus one per instance added as
// traffic climbs from its mean to its peak, once per window.
func coldStartsPerMinute(rps float64, idle time.Duration, extraAtPeak float64, window time.Duration) float64 {
	if !(rps > 0) {
		return 0
	}
	c := 60 * rps * math.Exp(-rps*idle.Seconds())
	if window > 0 {
		c += extraAtPeak / window.Minutes()
	}
	return c
}

// hourly is one option's $/h (NaN when unknown).
func (s *sizing) hourly(k OptionKind) float64 {
	switch k {
	case AsNow:
		return s.nowHourly
	case RightSized:
		return s.replicas * s.podHourly
	case AsLambda:
		return s.lambda.Hourly
	case AsCloudRun:
		return s.cloudRun.Hourly
	case AsKnative:
		return s.knHourly
	}
	return math.NaN()
}

func (s *sizing) lacks() []string {
	var out []string
	add := func(msg string) {
		for _, m := range out {
			if m == msg {
				return
			}
		}
		out = append(out, msg)
	}
	if !s.traffic {
		add("no traffic data (req/s)")
	} else if !known(s.dur) {
		add("no latency data")
	}
	if s.rightMissing != "" {
		add(s.rightMissing)
	}
	if s.rates.Unknown {
		add(fmt.Sprintf("unknown instance type %s: default node prices", s.o.InstanceType))
	}
	o := &s.o
	if runsInPods(o.Platform) && !(o.CPURequest > 0) && !(o.MemRequest > 0) && (known(o.CPUUsageMean) || known(o.MemUsageMean)) {
		add("no requests set: billed on usage")
	}
	return out
}

// option builds one column with its explanation.
func (s *sizing) option(k OptionKind) Option {
	o, a := &s.o, &s.a
	opt := Option{Hourly: s.hourly(k), ColdStartsPerMin: s.cold[k]}
	prices := s.rates.Basis + " node prices"
	switch k {
	case AsNow:
		opt.Missing = s.nowMissing
		switch {
		case known(o.CostRate):
			src := o.Source
			if src == "" {
				src = "the source"
			}
			opt.Explain = "reported by " + src + meanOver(o.Window)
			opt.Inputs = []string{fmt.Sprintf("%s/h from %s%s", fmtMoney(o.CostRate), src, meanOver(o.Window))}
		case s.nowComputed && o.Platform == sources.Lambda:
			opt.Explain = fmt.Sprintf("%s MB, %s ms billed at %s req/s", fmtNum(o.MemoryMB), fmtNum(s.lambda.BilledMS), fmtNum(o.MeanRPS))
			opt.Inputs = s.lambdaInputs(o.MemoryMB, X86)
		case s.nowComputed:
			opt.Explain = fmt.Sprintf("%s replicas: max(request, usage) × %s", fmtNum(o.Replicas), prices)
			opt.Inputs = []string{
				fmt.Sprintf("CPU max(request %s, usage %s) × $%s/vCPU-h", fmtCores(o.CPURequest), fmtCores(o.CPUUsageMean), fmtPrice(s.rates.CPUHour)),
				fmt.Sprintf("memory max(request %s, usage %s) × $%s/GiB-h", fmtBytes(o.MemRequest), fmtBytes(o.MemUsageMean), fmtPrice(s.rates.GiBHour)),
			}
			if o.Platform == sources.Knative {
				opt.Inputs = append(opt.Inputs, fmt.Sprintf("+ queue-proxy %s CPU per pod × %s pods", fmtCores(s.p.QueueProxyCPU), fmtNum(o.Replicas)))
			}
			if s.nowBill.NoRequests {
				opt.Inputs = append(opt.Inputs, s.nowBill.Note())
			}
		}
	case RightSized:
		opt.Missing = s.rightMissing
		if opt.Known() {
			opt.Explain = fmt.Sprintf("%s × %s CPU, %s: p95 +%s, peak at %s", fmtNum(s.replicas), fmtCores(s.podCPU), fmtBytes(s.podMem),
				fmtPct(a.Headroom), fmtPct(a.TargetUtilisation))
			demand := fmt.Sprintf("peak CPU %s cores", fmtNum(s.demandPeak))
			if s.cpuEstimated {
				demand += fmt.Sprintf(" (estimated: %s in flight × %s MB / %d MB per vCPU)", fmtNum(s.inflightPeak), fmtNum(o.MemoryMB), LambdaMBPerVCPU)
			}
			perReplica := fmt.Sprintf("requests per replica: p95 usage %s CPU, %s + %s headroom", fmtCores(o.CPUPerReplicaP95), fmtBytes(o.MemPerReplicaP95), fmtPct(a.Headroom))
			if s.cpuEstimated {
				perReplica = fmt.Sprintf("requests per replica: %s CPU (estimated), %s (function memory)", fmtCores(s.podCPU), fmtBytes(s.podMem))
			}
			opt.Inputs = []string{
				perReplica,
				fmt.Sprintf("replicas: %s / (%s × %s target) → %s (min %s)", demand, fmtCores(s.podCPU), fmtPct(a.TargetUtilisation), fmtNum(s.replicas), fmtNum(a.MinReplicas)),
				fmt.Sprintf("%s per replica at %s", fmtMoney(s.podHourly)+"/h", prices),
			}
		}
	case AsLambda:
		opt.Missing = s.lambdaMissing
		if opt.Known() {
			opt.Explain = fmt.Sprintf("%s MB %s, %s ms billed at %s req/s", fmtNum(s.lambdaMem), a.LambdaArch, fmtNum(s.lambda.BilledMS), fmtNum(o.MeanRPS))
			opt.Inputs = s.lambdaInputs(s.lambdaMem, a.LambdaArch)
		}
	case AsCloudRun:
		opt.Missing = s.crMissing
		if opt.Known() {
			opt.Explain = fmt.Sprintf("%s vCPU %s, concurrency %s: %s busy instances", fmtNum(s.crVCPU), fmtBytes(s.crMemGiB*GiB), fmtNum(s.crConc), fmtNum(s.cloudRun.Instances))
			conc := "concurrency: Cloud Run default"
			switch {
			case a.CloudRunConcurrency >= 1:
				conc = "concurrency: configured"
			case s.m.measured && s.m.perInflight > 0:
				conc = fmt.Sprintf("concurrency: %s vCPU × %s / %s cores per in-flight request", fmtNum(s.crVCPU), fmtPct(a.TargetUtilisation), fmtNum(s.m.perInflight))
			}
			opt.Inputs = []string{
				fmt.Sprintf("%s req/s × %s s, billed %s s each (100 ms steps)", fmtNum(o.MeanRPS), fmtNum(s.dur), fmtNum(s.cloudRun.BilledSeconds)),
				conc + " → " + fmtNum(s.crConc),
				fmt.Sprintf("busy instances %s × (%s vCPU × $%s/s + %s GiB × $%s/s) + $%s/1M req",
					fmtNum(s.cloudRun.Instances), fmtNum(s.crVCPU), fmtPrice(s.p.CloudRunVCPUSecond), fmtNum(s.crMemGiB), fmtPrice(s.p.CloudRunGiBSecond), fmtPrice(s.p.CloudRunPerMillionRequests)),
			}
			if s.p.FreeTier {
				opt.Inputs = append(opt.Inputs, "free tier: 180k vCPU-s, 360k GiB-s, 2M requests a month")
			}
		}
	case AsKnative:
		opt.Missing = s.knMissing
		if opt.Known() {
			opt.Explain = fmt.Sprintf("%s up %s of the time (idle after %s)", plural(s.knActive, "pod"), fmtPct(s.knUp), fmtDuration(a.KnativeIdle))
			opt.Inputs = []string{
				fmt.Sprintf("up: 1 − e^(−%s req/s × (%s + %s s)) = %s", fmtNum(o.MeanRPS), fmtDuration(a.KnativeIdle), fmtNum(nz(s.dur)), fmtPct(s.knUp)),
				fmt.Sprintf("pods at mean load: %s cores / (%s × %s) → %s", fmtNum(s.demandMean), fmtCores(s.podCPU), fmtPct(a.TargetUtilisation), fmtNum(s.knActive)),
				fmt.Sprintf("per pod: right-sized %s/h + queue-proxy %s CPU", fmtMoney(s.podHourly), fmtCores(s.p.QueueProxyCPU)),
			}
		}
	}
	if !opt.Known() && opt.Missing == "" {
		opt.Missing = "not enough data"
	}
	if opt.Missing != "" && !opt.Known() {
		opt.Explain = opt.Missing
	}
	if !math.IsNaN(opt.ColdStartsPerMin) && k != AsNow && k != RightSized {
		opt.Inputs = append(opt.Inputs, fmt.Sprintf("cold starts: idle gaps + scale-up from mean to peak over %s", fmtDuration(o.Window)))
	}
	return opt
}

func (s *sizing) lambdaInputs(memMB float64, arch Arch) []string {
	o := &s.o
	gb := s.p.LambdaGBSecond
	if arch == Arm {
		gb = s.p.LambdaArmGBSecond
	}
	memWhy := "configured memory"
	switch {
	case o.Platform == sources.Lambda:
	case s.m.measured:
		memWhy = fmt.Sprintf("memory need, at least %s cores × 1,769 MB per vCPU", fmtNum(s.m.perInflight))
	default:
		memWhy = "memory need; CPU per request unknown"
	}
	in := []string{
		fmt.Sprintf("%s req/s × 730 h = %s requests a month × $%s/1M", fmtNum(o.MeanRPS), fmtNum(s.lambda.RequestsPerMonth), fmtPrice(s.p.LambdaPerMillionRequests)),
		fmt.Sprintf("mean duration %s s (from p50 %s, p99 %s) billed %s ms", fmtNum(s.dur), fmtNum(o.P50), fmtNum(o.P99), fmtNum(s.lambda.BilledMS)),
		fmt.Sprintf("%s MB (%s) × duration = %s GB-s a month × $%s", fmtNum(memMB), memWhy, fmtNum(s.lambda.GBSecondsPerMonth), fmtPrice(gb)),
	}
	if s.p.FreeTier {
		in = append(in, "free tier: 1M requests and 400,000 GB-s a month")
	}
	return in
}

func (s *sizing) ok(k OptionKind) bool { return !math.IsNaN(s.hourly(k)) }

// Break-even search grid: rates from BreakEvenFrom up by BreakEvenStep.
const (
	BreakEvenFrom = 1e-3
	BreakEvenStep = 1.05
)

// breakEven finds the lowest mean rate at which option k costs at least as
// much as the right-sized always-on option. The always-on cost rises in
// steps (one more replica), so the two curves can cross more than once: the
// rates are walked on a grid 5% apart from BreakEvenFrom up, and the first
// grid step where pay-per-use is no longer cheaper is narrowed by bisection.
// A crossing narrower than one grid step can be missed.
func (m *model) breakEven(now *sizing, k OptionKind) BreakEven {
	be := BreakEven{Option: k, RPS: math.NaN()}
	if !now.ok(RightSized) {
		be.Note = "needs the right-sized cost: " + now.rightMissing
		return be
	}
	if !now.ok(k) {
		be.Note = now.option(k).Missing
		return be
	}
	diff := func(r float64) float64 {
		s := m.sizeFor(m.scaled(r), 1<<k)
		return s.hourly(k) - s.hourly(RightSized)
	}
	lo, hi := 0.0, BreakEvenFrom
	d := diff(lo)
	switch {
	case math.IsNaN(d):
		be.Note = "not enough data"
		return be
	case d >= 0:
		be.RPS, be.Note = 0, "never cheaper"
		return be
	}
	for {
		d = diff(hi)
		if math.IsNaN(d) {
			be.Note = "not enough data"
			return be
		}
		if d >= 0 {
			break
		}
		lo, hi = hi, hi*BreakEvenStep
		if hi > MaxBreakEvenRPS {
			be.RPS, be.Note = math.Inf(1), "cheaper at any rate"
			return be
		}
	}
	for range 40 {
		if hi-lo <= 1e-9*hi {
			break
		}
		mid := (lo + hi) / 2
		if diff(mid) >= 0 {
			hi = mid
		} else {
			lo = mid
		}
	}
	be.RPS = hi
	return be
}

// runsInPods reports whether the platform bills as cluster pods.
func runsInPods(p sources.Platform) bool {
	return p == sources.Kubernetes || p == sources.Knative || p == sources.OpenFaaS || p == ""
}

func roundUp(v, step float64) float64 { return math.Ceil(v/step-1e-9) * step }

func meanOver(w time.Duration) string {
	if w <= 0 {
		return ""
	}
	return ", mean over " + fmtDuration(w)
}

// Small formatters for explanations (the views have their own for cells).

func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "?"
	case math.IsInf(v, 0):
		return "∞"
	case a >= 1e6:
		return trimZeros(fmt.Sprintf("%.3g", v/1e6)) + "M"
	case a >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a >= 100 || a == math.Trunc(a):
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return trimZeros(fmt.Sprintf("%.2f", v))
	default:
		return trimZeros(fmt.Sprintf("%.3g", v))
	}
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") && !strings.ContainsAny(s, "e") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func fmtMoney(v float64) string {
	switch {
	case math.IsNaN(v):
		return "$?"
	case v >= 100:
		return fmt.Sprintf("$%.0f", v)
	case v >= 0.1:
		return fmt.Sprintf("$%.2f", v)
	default:
		return fmt.Sprintf("$%.4f", v)
	}
}

// fmtPrice writes a unit price in full (0.0000166667, not 1.66667e-05).
func fmtPrice(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func plural(n float64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmtNum(n) + " " + unit + "s"
}

func fmtPct(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }

func fmtCores(v float64) string {
	switch {
	case math.IsNaN(v):
		return "?"
	case v < 1:
		return fmt.Sprintf("%.0fm", v*1000)
	default:
		return trimZeros(fmt.Sprintf("%.2f", v))
	}
}

func fmtBytes(v float64) string {
	switch {
	case math.IsNaN(v):
		return "?"
	case v >= GiB:
		return trimZeros(fmt.Sprintf("%.2f", v/GiB)) + "Gi"
	default:
		return fmt.Sprintf("%.0fMi", v/MiB)
	}
}

func fmtDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0 && d >= time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0 && d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return d.String()
	}
}
