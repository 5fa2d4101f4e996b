package cost

import (
	"math"
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
