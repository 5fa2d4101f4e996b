package cost

import (
	"fmt"
	"math"
	"time"

	"github.com/perch-dev/perch/sources"
)

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
