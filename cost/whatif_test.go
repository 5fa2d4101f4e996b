package cost

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
)

// web is a Kubernetes service observed over an hour: 3 replicas requesting
// 1 core and 1 GiB each but using far less, 40 req/s on average, 90 at peak.
func web() Observed {
	return Observed{
		Platform: sources.Kubernetes, Source: "demo", Window: time.Hour,
		MeanRPS: 40, PeakRPS: 90, P50: 0.04, P95: 0.12, P99: 0.3, PeakConcurrency: math.NaN(),
		MemoryMB: math.NaN(), CPUUsageMean: 0.8, CPUUsagePeak: 1.6, MemUsageMean: 900 * MiB,
		CPUPerReplicaP95: 0.5, MemPerReplicaP95: 320 * MiB, CPURequest: 3, MemRequest: 3 * GiB, GPUs: math.NaN(),
		Replicas: 3, CostRate: math.NaN(), ColdStartsPerMin: math.NaN(),
	}
}

func unknownObserved() Observed {
	n := math.NaN()
	return Observed{MeanRPS: n, PeakRPS: n, P50: n, P95: n, P99: n, PeakConcurrency: n, MemoryMB: n,
		CPUUsageMean: n, CPUUsagePeak: n, MemUsageMean: n, CPUPerReplicaP95: n, MemPerReplicaP95: n,
		CPURequest: n, MemRequest: n, GPUs: n, Replicas: n, CostRate: n, ColdStartsPerMin: n}
}

// TestWhatIfWorkedExample checks every column against the arithmetic.
func TestWhatIfWorkedExample(t *testing.T) {
	p := Defaults()
	c := p.Compare(web(), DefaultAssumptions())
	opt := func(k OptionKind) Option { return c.Options[k] }

	// Now: OpenCost's rule on the whole workload.
	//   CPU max(3, 0.8) = 3 × 0.031611 = 0.094833; memory max(3 GiB, 0.879 GiB) = 3 × 0.004237 = 0.012711
	if now := opt(AsNow); !near(now.Hourly, 0.094833+0.012711) || !near(now.Monthly, (0.094833+0.012711)*730) {
		t.Errorf("now = %+v", now)
	}
	// Right-sized: requests per replica 0.5 × 1.2 = 0.6 cores, 320 Mi × 1.2 = 384 Mi;
	// replicas ceil(1.6 / (0.6 × 0.8)) = ceil(3.33) = 4;
	// 4 × (0.6 × 0.031611 + 0.375 × 0.004237) = 4 × 0.02055548 = 0.08222192 $/h.
	pod := 0.6*0.031611 + 0.375*0.004237
	if rs := opt(RightSized); !near(rs.Hourly, 4*pod) || !strings.HasPrefix(rs.Explain, "4 × 600m CPU, 384Mi") {
		t.Errorf("right-sized = %+v", rs)
	}
	// Mean duration: log-normal through p50 40 ms and p99 300 ms:
	//   σ = ln(0.3/0.04) / 2.326, mean = 0.04 · e^(σ²/2) ≈ 58.2 ms, billed 59 ms.
	sigma := math.Log(0.3/0.04) / 2.326
	dur := 0.04 * math.Exp(sigma*sigma/2)
	if math.Abs(dur-0.0582) > 0.0001 {
		t.Fatalf("mean duration %v", dur)
	}
	// CPU per in-flight request: 0.8 cores / (40 × 0.0582) = 0.3436, so
	// Lambda needs 0.3436 × 1,769 = 607.8 → 608 MB (more than 384 MB of memory).
	perReq := 0.8 / (40 * dur)
	mem := math.Ceil(perReq * 1769)
	if mem != 608 {
		t.Fatalf("lambda memory %v", mem)
	}
	// Lambda: 40 × 3600 × 730 = 105,120,000 requests × $0.20/1M = $21.024
	//         + 105,120,000 × 0.059 s × 608/1024 GB × $0.0000166667 = $61.38
	reqs := 40.0 * 3600 * 730
	lambdaMonthly := reqs/1e6*0.20 + reqs*0.059*mem/1024*0.0000166667
	if l := opt(AsLambda); !near(l.Monthly, lambdaMonthly) || math.Abs(l.Monthly-82.40) > 0.01 {
		t.Errorf("lambda = %v, want %v", l.Monthly, lambdaMonthly)
	}
	// Cloud Run: 1 vCPU, 384 Mi; concurrency floor(1 × 0.8 / 0.3436) = 2;
	// in flight 2.33 → 2 instances, each busy 1 − e^(−40 × 0.1 / 2);
	// 2(1 − e^−2) × 2,628,000 s × (0.000024 + 0.375 × 0.0000025) + 105.12M × $0.40/1M = $155.38
	busy := 2 * -math.Expm1(-2)
	crMonthly := busy*2628000*(0.000024+0.375*0.0000025) + reqs/1e6*0.40
	if cr := opt(AsCloudRun); !near(cr.Monthly, crMonthly) || !strings.Contains(cr.Explain, "concurrency 2") {
		t.Errorf("cloud run = %v (%s), want %v", cr.Monthly, cr.Explain, crMonthly)
	}
	// Knative: always up at 40 req/s; pods at mean load ceil(0.8 / 0.48) = 2,
	// each the right-sized pod plus a 25m queue-proxy.
	kn := 2 * (pod + 0.025*0.031611)
	if k := opt(AsKnative); !near(k.Hourly, kn) {
		t.Errorf("knative = %v, want %v", k.Hourly, kn)
	}
	if c.Cheapest != int(AsKnative) {
		t.Errorf("cheapest = %d, want Knative", c.Cheapest)
	}
	for _, o := range c.Options {
		if o.Explain == "" || len(o.Inputs) == 0 {
			t.Errorf("%s: no explanation", o.Kind)
		}
		if !near(o.PerMillion, o.Hourly/(40*3600)*1e6) {
			t.Errorf("%s: $/1M %v", o.Kind, o.PerMillion)
		}
	}
	if len(c.Lacks) != 0 {
		t.Errorf("lacks %v", c.Lacks)
	}
	if c.PricesName != p.Name {
		t.Errorf("prices name %q", c.PricesName)
	}
}

func TestWhatIfArmIsCheaper(t *testing.T) {
	a := DefaultAssumptions()
	x := Defaults().Compare(web(), a).Options[AsLambda]
	a.LambdaArch = Arm
	arm := Defaults().Compare(web(), a).Options[AsLambda]
	if !(arm.Hourly < x.Hourly) || !strings.Contains(arm.Explain, "arm64") {
		t.Fatalf("arm %v (%s) vs x86 %v", arm.Hourly, arm.Explain, x.Hourly)
	}
}

func TestWhatIfSaysWhatItLacks(t *testing.T) {
	o := web()
	o.MeanRPS, o.PeakRPS = math.NaN(), math.NaN()
	c := Defaults().Compare(o, DefaultAssumptions())
	for _, k := range []OptionKind{AsLambda, AsCloudRun, AsKnative} {
		opt := c.Options[k]
		if opt.Known() || opt.Missing != "no traffic data (req/s)" || opt.Explain != opt.Missing {
			t.Errorf("%s without traffic: %+v", k, opt)
		}
		if !math.IsNaN(opt.Monthly) || !math.IsNaN(opt.PerMillion) {
			t.Errorf("%s: numbers from nothing: %+v", k, opt)
		}
	}
	if !c.Options[RightSized].Known() || !c.Options[AsNow].Known() {
		t.Error("right-sizing and now need no traffic")
	}
	if !slices.Contains(c.Lacks, "no traffic data (req/s)") {
		t.Errorf("lacks %v", c.Lacks)
	}
	for _, be := range c.BreakEven {
		if !math.IsNaN(be.RPS) || be.Note == "" {
			t.Errorf("break-even without traffic: %+v", be)
		}
	}

	// Nothing known at all: every column says why, nothing panics or divides by zero.
	c = Defaults().Compare(unknownObserved(), Assumptions{})
	for _, opt := range c.Options {
		if opt.Known() || opt.Missing == "" {
			t.Errorf("%s from nothing: %+v", opt.Kind, opt)
		}
	}
	if c.Cheapest != -1 {
		t.Errorf("cheapest of nothing = %d", c.Cheapest)
	}

	// Traffic but no latency.
	o = web()
	o.P50, o.P95, o.P99 = math.NaN(), math.NaN(), math.NaN()
	c = Defaults().Compare(o, DefaultAssumptions())
	if c.Options[AsLambda].Missing != "no latency data" || !slices.Contains(c.Lacks, "no latency data") {
		t.Errorf("no latency: %+v %v", c.Options[AsLambda], c.Lacks)
	}
}

func TestWhatIfZeroTrafficIsFreeOnPayPerUse(t *testing.T) {
	o := web()
	o.MeanRPS, o.PeakRPS, o.CPUUsageMean, o.CPUUsagePeak = 0, 0, 0.02, 0.03
	c := Defaults().Compare(o, DefaultAssumptions())
	for _, k := range []OptionKind{AsLambda, AsCloudRun, AsKnative} {
		opt := c.Options[k]
		if opt.Hourly != 0 || !math.IsNaN(opt.PerMillion) || opt.ColdStartsPerMin != 0 {
			t.Errorf("%s at zero traffic: %+v", k, opt)
		}
	}
	if rs := c.Options[RightSized]; !(rs.Hourly > 0) || !strings.HasPrefix(rs.Explain, "1 ×") {
		t.Errorf("always-on keeps its minimum replica: %+v", rs)
	}
}

func TestWhatIfNoRequestsAndUnknownNode(t *testing.T) {
	o := web()
	o.CPURequest, o.MemRequest = math.NaN(), 0
	o.InstanceType = "m9.huge"
	p := Defaults().WithNodes(NodePrice{InstanceType: "m5.large", CPUHour: Price(0.05)})
	c := p.Compare(o, DefaultAssumptions())
	want := []string{"no requests set: billed on usage", "unknown instance type m9.huge: default node prices"}
	for _, w := range want {
		if !slices.Contains(c.Lacks, w) {
			t.Errorf("lacks %v, want %q", c.Lacks, w)
		}
	}
	// Billed on usage: 0.8 cores and 900 MiB.
	if now := c.Options[AsNow]; !near(now.Hourly, 0.8*0.031611+900.0/1024*0.004237) {
		t.Errorf("now on usage = %v", now.Hourly)
	}
	// A known node type is priced by its override.
	o.InstanceType = "m5.large"
	c = p.Compare(o, DefaultAssumptions())
	if !near(c.Options[AsNow].Hourly, 0.8*0.05+900.0/1024*0.004237) {
		t.Errorf("m5.large now = %v", c.Options[AsNow].Hourly)
	}
}

func TestWhatIfMissingPrices(t *testing.T) {
	p := Defaults()
	p.CloudRunVCPUSecond, p.CloudRunGiBSecond, p.CloudRunPerMillionRequests = 0, 0, 0
	c := p.Compare(web(), DefaultAssumptions())
	if cr := c.Options[AsCloudRun]; cr.Known() || cr.Missing != "no Cloud Run prices in the price table" {
		t.Errorf("cloud run without prices: %+v", cr)
	}
	// The zero table is the defaults, not free.
	if z := (Prices{}).Compare(web(), DefaultAssumptions()); z.PricesName != Defaults().Name || !(z.Options[AsLambda].Hourly > 0) {
		t.Errorf("zero table: %q %v", z.PricesName, z.Options[AsLambda].Hourly)
	}
}

func TestWhatIfFunctionWithoutCPUData(t *testing.T) {
	o := unknownObserved()
	o.Platform, o.Window = sources.Lambda, time.Hour
	o.MeanRPS, o.PeakRPS, o.P50, o.P95, o.P99, o.MemoryMB, o.PeakConcurrency = 3, 8, 0.08, 0.2, 0.4, 512, 2
	c := Defaults().Compare(o, DefaultAssumptions())
	// Now is the function on Lambda: its own memory and duration.
	dur := MeanDuration(0.08, 0.2, 0.4)
	want := Defaults().Lambda(LambdaUsage{RPS: 3, DurationSeconds: dur, MemoryMB: 512}).Hourly
	if now := c.Options[AsNow]; !near(now.Hourly, want) || !near(c.Options[AsLambda].Hourly, want) {
		t.Errorf("now %v, lambda %v, want %v", now.Hourly, c.Options[AsLambda].Hourly, want)
	}
	// Right-sized from an estimate: 2 in flight × 512/1769 cores = 0.579 cores,
	// one pod of 0.579 × 1.25 = 0.724 cores (its target utilisation asks more
	// than its headroom) and 512 MiB.
	rs := c.Options[RightSized]
	if !rs.Known() || !strings.HasPrefix(rs.Explain, "1 × 724m CPU, 512Mi") || !strings.Contains(strings.Join(rs.Inputs, "\n"), "estimated") {
		t.Errorf("right-sized function: %+v", rs)
	}
}

func TestObservedFromSeriesAndFallbacks(t *testing.T) {
	var s sources.Summary
	for i := range s.Latest {
		s.Latest[i] = math.NaN()
	}
	s.Platform, s.Source, s.MemoryMB = sources.Kubernetes, "prom", 0
	s.Latest[sources.RequestRate] = 7
	s.Latest[sources.CPUUsage], s.Latest[sources.ReplicasCurrent] = 1, 4
	s.Latest[sources.CostRate], s.Latest[sources.CPURequest] = 0.3, 2
	nan := math.NaN()
	ser := Series{
		Window:         time.Hour,
		RequestRate:    []float64{10, nan, 20, 30},
		RequestRateMax: []float64{12, nan, 25, 45},
		CPUUsage:       []float64{1, 2, 3, 4},
		Replicas:       []float64{1, 2, 3, 4},
		LatencyP50:     []float64{0.1, 0.3},
	}
	o := ObservedFrom(&s, ser)
	if o.MeanRPS != 20 || o.PeakRPS != 45 || o.P50 != 0.2 || o.CPUUsageMean != 2.5 || o.CPUUsagePeak != 4 {
		t.Errorf("from series: %+v", o)
	}
	// Per replica usage is 1 core at every point: p95 = 1.
	if o.CPUPerReplicaP95 != 1 || o.Replicas != 2.5 {
		t.Errorf("per replica: %v replicas %v", o.CPUPerReplicaP95, o.Replicas)
	}
	// Latest values stand in for missing series; unknowns stay NaN.
	if o.CostRate != 0.3 || o.CPURequest != 2 || !math.IsNaN(o.MemUsageMean) || !math.IsNaN(o.MemoryMB) || !math.IsNaN(o.P99) {
		t.Errorf("fallbacks: %+v", o)
	}
	o = ObservedFrom(&s, Series{})
	if o.MeanRPS != 7 || o.PeakRPS != 7 || o.CPUPerReplicaP95 != 0.25 {
		t.Errorf("latest only: %+v", o)
	}
}

func TestAssumptionsDefaultsFillBadKnobs(t *testing.T) {
	bad := Assumptions{Headroom: math.NaN(), TargetUtilisation: 1.5, MinReplicas: -2, LambdaArch: "sparc", CloudRunConcurrency: -1}
	got := bad.withDefaults()
	d := DefaultAssumptions()
	if got.Headroom != d.Headroom || got.TargetUtilisation != d.TargetUtilisation || got.MinReplicas != 1 ||
		got.LambdaArch != X86 || got.CloudRunConcurrency != 0 || got.KnativeIdle != d.KnativeIdle {
		t.Fatalf("withDefaults = %+v", got)
	}
	ok := Assumptions{Headroom: 0, TargetUtilisation: 0.5, MinReplicas: 2.2, LambdaArch: Arm, CloudRunConcurrency: 10, LambdaIdle: time.Minute}
	if g := ok.withDefaults(); g.Headroom != 0 || g.TargetUtilisation != 0.5 || g.MinReplicas != 3 || g.LambdaArch != Arm || g.CloudRunConcurrency != 10 || g.LambdaIdle != time.Minute {
		t.Fatalf("good knobs changed: %+v", g)
	}
}

// randomObserved draws plausible workloads, some with gaps.
func randomObserved(r *rand.Rand) Observed {
	o := web()
	o.Platform = []sources.Platform{sources.Kubernetes, sources.Knative, sources.OpenFaaS, sources.Lambda}[r.IntN(4)]
	o.MeanRPS = math.Pow(10, r.Float64()*5-2)
	o.PeakRPS = o.MeanRPS * (1 + 4*r.Float64())
	o.P50 = 0.005 + r.Float64()*0.5
	o.P95 = o.P50 * (1 + 3*r.Float64())
	o.P99 = o.P95 * (1 + 2*r.Float64())
	o.Replicas = float64(1 + r.IntN(20))
	o.CPUUsageMean = o.Replicas * r.Float64()
	o.CPUUsagePeak = o.CPUUsageMean * (1 + r.Float64())
	o.CPUPerReplicaP95 = o.CPUUsagePeak / o.Replicas
	o.MemPerReplicaP95 = (50 + 2000*r.Float64()) * MiB
	o.MemUsageMean = o.MemPerReplicaP95 * o.Replicas * 0.8
	o.CPURequest, o.MemRequest = o.Replicas*r.Float64()*2, o.Replicas*GiB*r.Float64()*2
	if o.Platform == sources.Lambda {
		o.MemoryMB = float64(128 + r.IntN(3000))
		o.CPUUsageMean, o.CPUUsagePeak, o.CPUPerReplicaP95, o.MemPerReplicaP95 = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	if r.IntN(5) == 0 {
		o.PeakConcurrency = o.PeakRPS * o.P95
	}
	return o
}

// Properties over random workloads: no negative or infinite cost, costs
// never fall as traffic grows, the cheapest is the minimum, and the
// break-even is where the pay-per-use curve crosses the always-on one.
func TestWhatIfProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	p := Defaults()
	rates := []float64{0, 0.001, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 100, 300, 1000, 5000}
	for i := range 300 {
		o := randomObserved(r)
		c := p.Compare(o, DefaultAssumptions())
		for _, opt := range c.Options {
			if opt.Known() && (opt.Hourly < 0 || math.IsInf(opt.Hourly, 0)) {
				t.Fatalf("case %d %s: cost %v", i, opt.Kind, opt.Hourly)
			}
			if opt.Known() && c.Cheapest >= 0 && opt.Hourly < c.Options[c.Cheapest].Hourly {
				t.Fatalf("case %d: %s is cheaper than the marked cheapest", i, opt.Kind)
			}
		}
		for k := RightSized; k < NumOptions; k++ {
			curve := c.Curve(k, rates)
			for j := 1; j < len(curve); j++ {
				if curve[j] < curve[j-1]-1e-9*curve[j-1] || curve[j] < 0 {
					t.Fatalf("case %d %s: cost fell from %v to %v between %v and %v req/s", i, k, curve[j-1], curve[j], rates[j-1], rates[j])
				}
			}
		}
		for _, be := range c.BreakEven {
			if math.IsNaN(be.RPS) || math.IsInf(be.RPS, 0) || be.RPS == 0 {
				continue
			}
			x := []float64{be.RPS * (1 - 1e-7), be.RPS}
			pay, always := c.Curve(be.Option, x), c.Curve(RightSized, x)
			if !(pay[0] < always[0]) || !(pay[1] >= always[1]) {
				t.Fatalf("case %d %s: break-even %v is not a crossing: pay %v/%v always %v/%v", i, be.Option, be.RPS, pay[0], pay[1], always[0], always[1])
			}
			// Below it pay-per-use is cheaper at every point of the search grid.
			var grid []float64
			for r := BreakEvenFrom; r < be.RPS/BreakEvenStep; r *= BreakEvenStep {
				grid = append(grid, r)
			}
			pay, always = c.Curve(be.Option, grid), c.Curve(RightSized, grid)
			for j := range grid {
				if !(pay[j] < always[j]) {
					t.Fatalf("case %d %s: not the first crossing: %v req/s is below %v", i, be.Option, grid[j], be.RPS)
				}
			}
		}
	}
}

// Property: the right-sized cost grows with usage; Lambda with memory.
func TestWhatIfMonotoneInUsage(t *testing.T) {
	p := Defaults()
	prevRS, prevL := 0.0, 0.0
	for f := 0.2; f < 5; f *= 1.25 {
		o := web()
		o.CPUPerReplicaP95 *= f
		o.CPUUsagePeak *= f
		o.MemPerReplicaP95 *= f
		c := p.Compare(o, DefaultAssumptions())
		rs, l := c.Options[RightSized].Hourly, c.Options[AsLambda].Hourly
		if rs < prevRS || l < prevL {
			t.Fatalf("usage ×%.2f: right-sized %v (was %v), lambda %v (was %v)", f, rs, prevRS, l, prevL)
		}
		prevRS, prevL = rs, l
	}
}

func TestBreakEvenWorkedExample(t *testing.T) {
	// A small service: Lambda is cheaper while traffic is low. With the
	// defaults the right-sized pod costs 0.02055548 $/h at up to 0.48 cores of
	// demand; the crossing must be where the two curves meet.
	c := Defaults().Compare(web(), DefaultAssumptions())
	var lambda BreakEven
	for _, be := range c.BreakEven {
		if be.Option == AsLambda {
			lambda = be
		}
	}
	if !(lambda.RPS > 0 && lambda.RPS < 40) {
		t.Fatalf("lambda break-even %+v: Lambda costs more than right-sized at 40 req/s, so it must cross below", lambda)
	}
	at := []float64{lambda.RPS}
	if d := c.Curve(AsLambda, at)[0] - c.Curve(RightSized, at)[0]; d < 0 || d > 0.01 {
		t.Fatalf("curves %v apart at the break-even", d)
	}
	if got := c.Curve(AsNow, at); !math.IsNaN(got[0]) {
		t.Fatal("now has no curve")
	}
}

func TestStats(t *testing.T) {
	nan := math.NaN()
	xs := []float64{3, nan, 1, 2, math.Inf(1), 4}
	if Mean(xs) != 2.5 || Peak(xs) != 4 || Quantile(xs, 0.5) != 2.5 || Quantile(xs, 1) != 4 || Quantile(xs, 0) != 1 {
		t.Fatalf("mean %v peak %v median %v", Mean(xs), Peak(xs), Quantile(xs, 0.5))
	}
	// p95 of 1..4: rank 0.95 × 3 = 2.85 → 3 + 0.85 × (4 − 3) = 3.85
	if q := Quantile([]float64{4, 3, 2, 1}, 0.95); !near(q, 3.85) {
		t.Fatalf("p95 = %v", q)
	}
	if !math.IsNaN(Mean(nil)) || !math.IsNaN(Peak([]float64{nan})) || !math.IsNaN(Quantile(nil, 0.5)) {
		t.Fatal("no data must be NaN")
	}
	pr := PerReplica([]float64{2, 2, nan, 3}, []float64{2, 0, 1, 3})
	if pr[0] != 1 || !math.IsNaN(pr[1]) || !math.IsNaN(pr[2]) || pr[3] != 1 {
		t.Fatalf("per replica %v", pr)
	}
	if d := MeanDuration(0.1, nan, 0.1); d != 0.1 {
		t.Fatalf("no spread: mean %v", d)
	}
	if d := MeanDuration(nan, 0.2, nan); d != 0.2 {
		t.Fatalf("p95 only: %v", d)
	}
	if d := MeanDuration(nan, nan, nan); !math.IsNaN(d) {
		t.Fatalf("nothing: %v", d)
	}
}

func TestTotals(t *testing.T) {
	row := func(cluster, ns, name string, pl sources.Platform, cost, cpuReq, cpuUse float64) sources.Summary {
		var s sources.Summary
		for i := range s.Latest {
			s.Latest[i] = math.NaN()
		}
		s.ID = sources.WorkloadID{Cluster: cluster, Namespace: ns, Name: name}
		s.Platform = pl
		s.Latest[sources.CostRate] = cost
		s.Latest[sources.CPURequest], s.Latest[sources.CPUUsage] = cpuReq, cpuUse
		s.Latest[sources.MemRequest], s.Latest[sources.MemUsage] = 0, 0
		return s
	}
	rows := []sources.Summary{
		row("a", "shop", "web", sources.Kubernetes, 0.4, 2, 0.5), // idle share 0.75 → 0.3 $/h idle
		row("a", "shop", "api", sources.Kubernetes, 0.1, 1, 1),   // nothing idle
		row("b", "fn", "thumb", sources.Lambda, 0.05, nan(), nan()),
		row("b", "fn", "broken", sources.Lambda, nan(), nan(), nan()),
	}
	tot := Defaults().Totals(rows, 2)
	if !near(tot.All.Hourly, 0.55) || !near(tot.All.Idle, 0.3) || tot.All.Workloads != 4 || tot.All.NoCost != 1 {
		t.Fatalf("all = %+v", tot.All)
	}
	if !near(tot.All.Daily(), 13.2) || !near(tot.All.Monthly(), 401.5) || !near(tot.All.IdleShare(), 0.3/0.55) {
		t.Fatalf("projections %v %v", tot.All.Daily(), tot.All.Monthly())
	}
	if len(tot.ByNamespace) != 2 || tot.ByNamespace[0].Key != "a/shop" || !near(tot.ByNamespace[0].Hourly, 0.5) || tot.ByNamespace[1].NoCost != 1 {
		t.Fatalf("namespaces %+v", tot.ByNamespace)
	}
	if len(tot.ByPlatform) != 2 || tot.ByPlatform[0].Key != "kubernetes" || tot.ByCluster[1].Key != "b" {
		t.Fatalf("platforms %+v clusters %+v", tot.ByPlatform, tot.ByCluster)
	}
	if len(tot.Top) != 2 || tot.Top[0].ID.Name != "web" || tot.Top[1].ID.Name != "api" || !near(tot.Top[0].Idle, 0.75) {
		t.Fatalf("top %+v", tot.Top)
	}
	if z := (Total{}).IdleShare(); !math.IsNaN(z) {
		t.Fatal("idle share of nothing")
	}
}

func nan() float64 { return math.NaN() }
