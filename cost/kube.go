package cost

import (
	"fmt"
	"math"

	"github.com/perch-dev/perch/sources"
)

// NodePrice overrides the node prices for one instance type (the node's
// node.kubernetes.io/instance-type label) and spot flag. A price left out
// (nil) is inherited from the table: CPUHour/GiBHour for on-demand nodes,
// SpotCPUHour/SpotGiBHour for spot nodes, GPUHour for both. An empty
// InstanceType matches every type with that spot flag; an exact type wins
// over it.
type NodePrice struct {
	InstanceType string   `json:"instance_type,omitempty" yaml:"instance_type"`
	Spot         bool     `json:"spot,omitempty" yaml:"spot"`
	CPUHour      *float64 `json:"cpu_hour,omitempty" yaml:"cpu_hour"` // $ per vCPU-hour
	GiBHour      *float64 `json:"gib_hour,omitempty" yaml:"gib_hour"` // $ per GiB-hour
	GPUHour      *float64 `json:"gpu_hour,omitempty" yaml:"gpu_hour"` // $ per GPU-hour
}

// Price is a helper for NodePrice literals: Price(0.05) is a *float64.
func Price(v float64) *float64 { return &v }

func (n NodePrice) equal(o NodePrice) bool {
	eq := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	return n.InstanceType == o.InstanceType && n.Spot == o.Spot &&
		eq(n.CPUHour, o.CPUHour) && eq(n.GiBHour, o.GiBHour) && eq(n.GPUHour, o.GPUHour)
}

// Rates are the prices of one node: what a pod scheduled on it costs.
type Rates struct {
	CPUHour, GiBHour, GPUHour float64
	// Basis says where the rates came from, for the UI: "default",
	// "spot default", "m5.large", "m5.large (spot)".
	Basis string
	// Unknown is set when the node's instance type has no override although
	// the table has overrides: the defaults were used instead.
	Unknown bool
}

// Rates returns the table's default on-demand node prices.
func (p Prices) Rates() Rates {
	return Rates{CPUHour: p.CPUHour, GiBHour: p.GiBHour, GPUHour: p.GPUHour, Basis: "default"}
}

// Node returns the prices of a node by its instance type and spot flag:
// the exact override, else the override for every type with that spot
// flag, else the table's (spot) defaults. An empty instanceType (unknown
// node) gets the defaults.
func (p Prices) Node(instanceType string, spot bool) Rates {
	r := p.Rates()
	if spot {
		r.CPUHour, r.GiBHour, r.Basis = p.SpotCPUHour, p.SpotGiBHour, "spot default"
	}
	list := p.NodeList()
	var exact, every *NodePrice
	for i := range list {
		n := &list[i]
		if n.Spot != spot {
			continue
		}
		if instanceType != "" && n.InstanceType == instanceType && exact == nil {
			exact = n
		}
		if n.InstanceType == "" && every == nil {
			every = n
		}
	}
	match := exact
	if match == nil {
		match = every
	}
	if match == nil {
		r.Unknown = instanceType != "" && len(list) > 0 && !p.hasType(instanceType)
	}
	if match != nil {
		if match.CPUHour != nil {
			r.CPUHour = *match.CPUHour
		}
		if match.GiBHour != nil {
			r.GiBHour = *match.GiBHour
		}
		if match.GPUHour != nil {
			r.GPUHour = *match.GPUHour
		}
		if match.InstanceType != "" {
			r.Basis = match.InstanceType
			if spot {
				r.Basis += " (spot)"
			}
		} else if spot {
			r.Basis = "spot nodes"
		} else {
			r.Basis = "all nodes"
		}
	}
	return r
}

// hasType reports whether any override names this instance type (with
// either spot flag): a type priced only on-demand is known, not a typo.
func (p Prices) hasType(instanceType string) bool {
	for _, n := range p.NodeList() {
		if n.InstanceType == instanceType {
			return true
		}
	}
	return false
}

// Usage is what a container, pod or whole workload requests and uses.
// Unknown values are NaN.
type Usage struct {
	CPURequest, CPUUsage float64 // cores
	MemRequest, MemUsage float64 // bytes
	GPUs                 float64 // devices requested (GPUs are not shared: request = use)
}

// UsageOf reads a workload's latest requests and usage from its summary.
func UsageOf(s *sources.Summary) Usage {
	return Usage{
		CPURequest: s.Latest[sources.CPURequest], CPUUsage: s.Latest[sources.CPUUsage],
		MemRequest: s.Latest[sources.MemRequest], MemUsage: s.Latest[sources.MemUsage],
		GPUs: math.NaN(),
	}
}

// Add sums two usages; a side that is NaN counts as zero unless both are.
func (u Usage) Add(o Usage) Usage {
	add := func(a, b float64) float64 {
		if math.IsNaN(a) && math.IsNaN(b) {
			return math.NaN()
		}
		return nz(a) + nz(b)
	}
	return Usage{add(u.CPURequest, o.CPURequest), add(u.CPUUsage, o.CPUUsage),
		add(u.MemRequest, o.MemRequest), add(u.MemUsage, o.MemUsage), add(u.GPUs, o.GPUs)}
}

// Scale multiplies every quantity by n (n pods of this shape).
func (u Usage) Scale(n float64) Usage {
	return Usage{u.CPURequest * n, u.CPUUsage * n, u.MemRequest * n, u.MemUsage * n, u.GPUs * n}
}

// Hourly is OpenCost's rule at these rates: per resource max(request,
// usage) times its price, GPUs by request.
func (r Rates) Hourly(u Usage) float64 {
	cpu := math.Max(nz(u.CPURequest), nz(u.CPUUsage))
	mem := math.Max(nz(u.MemRequest), nz(u.MemUsage)) / GiB
	return cpu*nz(r.CPUHour) + mem*nz(r.GiBHour) + nz(u.GPUs)*nz(r.GPUHour)
}

// PodHourly applies OpenCost's rule container by container, as OpenCost
// does, and sums: a container's unused request is not offset by another
// container's usage above its request.
func (r Rates) PodHourly(containers ...Usage) float64 {
	var sum float64
	for _, c := range containers {
		sum += r.Hourly(c)
	}
	return sum
}

// KubeBill is a Kubernetes workload's cost with its idle part.
type KubeBill struct {
	Hourly float64 // $/h, OpenCost's rule
	// IdleHourly is what the requested-but-unused CPU and memory cost:
	// (max(request − usage, 0)) × price; NaN when usage is unknown.
	IdleHourly float64
	// NoRequests: neither CPU nor memory has a request, so the workload is
	// billed on usage alone (and nothing is idle).
	NoRequests bool
}

// IdleShare is the idle part of the bill, 0..1; NaN when unknown or the
// bill is zero.
func (b KubeBill) IdleShare() float64 {
	if math.IsNaN(b.IdleHourly) || !(b.Hourly > 0) {
		return math.NaN()
	}
	return b.IdleHourly / b.Hourly
}

// Note is a short remark for the UI: "no requests set: billed on usage".
func (b KubeBill) Note() string {
	if b.NoRequests {
		return "no requests set: billed on usage"
	}
	return ""
}

// Bill is Hourly plus the idle part.
func (r Rates) Bill(u Usage) KubeBill {
	b := KubeBill{Hourly: r.Hourly(u), IdleHourly: math.NaN()}
	b.NoRequests = !(u.CPURequest > 0) && !(u.MemRequest > 0)
	if known(u.CPUUsage) && known(u.MemUsage) {
		idleCPU := math.Max(nz(u.CPURequest)-u.CPUUsage, 0)
		idleMem := math.Max(nz(u.MemRequest)-u.MemUsage, 0) / GiB
		b.IdleHourly = idleCPU*nz(r.CPUHour) + idleMem*nz(r.GiBHour)
	}
	return b
}

// IdleShare is the share of a workload's cost that pays for requested but
// unused CPU and memory, at the table's default node prices: the overview's
// idle column. NaN when usage is unknown or the workload costs nothing.
func (p Prices) IdleShare(s *sources.Summary) float64 {
	return p.Rates().Bill(UsageOf(s)).IdleShare()
}

// QueueProxy is one Knative queue-proxy sidecar's request.
func (p Prices) QueueProxy() Usage {
	return Usage{CPURequest: nz(p.QueueProxyCPU), MemRequest: nz(p.QueueProxyMiB) * MiB}
}

// PodsBill is the cluster cost of a platform's pods: the user containers'
// usage (summed over pods) plus, for Knative, one queue-proxy sidecar per
// pod, so scale to zero (pods = 0) shows up as saved cost. OpenFaaS runs its
// watchdog inside the function container, so it adds nothing. The sidecar
// is billed by its request (its usage is not reported separately).
func (p Prices) PodsBill(platform sources.Platform, user Usage, pods float64, r Rates) KubeBill {
	b := r.Bill(user)
	if platform == sources.Knative && pods > 0 {
		side := r.Hourly(p.QueueProxy()) * pods
		// The sidecar's request is not idle capacity the user can trim, so
		// it adds to the bill but not to the idle part.
		b.Hourly += side
	}
	return b
}

// PriceError is a bad value in a price table. Key is the snake_case path
// under prices: (cpu_hour, nodes[1].gpu_hour).
type PriceError struct{ Key, Msg string }

func (e *PriceError) Error() string { return "prices." + e.Key + ": " + e.Msg }

// Validate returns the first bad price: negative, NaN or infinite values,
// and node overrides that match nothing or repeat another.
func (p Prices) Validate() error {
	for _, l := range p.Table() {
		if err := checkPrice(l.Key, l.Value); err != nil {
			return err
		}
	}
	seen := map[[2]string]int{}
	for i, n := range p.NodeList() {
		key := fmt.Sprintf("nodes[%d]", i)
		for _, f := range []struct {
			name string
			v    *float64
		}{{"cpu_hour", n.CPUHour}, {"gib_hour", n.GiBHour}, {"gpu_hour", n.GPUHour}} {
			if f.v != nil {
				if err := checkPrice(key+"."+f.name, *f.v); err != nil {
					return err
				}
			}
		}
		if n.CPUHour == nil && n.GiBHour == nil && n.GPUHour == nil {
			return &PriceError{key, "sets no price (give cpu_hour, gib_hour or gpu_hour)"}
		}
		id := [2]string{n.InstanceType, fmt.Sprint(n.Spot)}
		if first, dup := seen[id]; dup {
			return &PriceError{key, fmt.Sprintf("repeats nodes[%d] (same instance_type and spot)", first)}
		}
		seen[id] = i
	}
	return nil
}

func checkPrice(key string, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return &PriceError{key, "must be a finite number"}
	case v < 0:
		return &PriceError{key, "must not be negative"}
	}
	return nil
}

// PriceLine is one scalar entry of a price table, for the config example
// and the UI's "active price table" view.
type PriceLine struct {
	Key   string // yaml key under prices:
	Value float64
	Unit  string
}

// Table lists every numeric price and setting of p in a stable order.
func (p Prices) Table() []PriceLine {
	return []PriceLine{
		{"cpu_hour", p.CPUHour, "$ per vCPU-hour"},
		{"gib_hour", p.GiBHour, "$ per GiB-hour of memory"},
		{"gpu_hour", p.GPUHour, "$ per GPU-hour"},
		{"spot_cpu_hour", p.SpotCPUHour, "$ per vCPU-hour on spot nodes"},
		{"spot_gib_hour", p.SpotGiBHour, "$ per GiB-hour on spot nodes"},
		{"queue_proxy_cpu", p.QueueProxyCPU, "cores requested by Knative's queue-proxy"},
		{"queue_proxy_mib", p.QueueProxyMiB, "MiB requested by Knative's queue-proxy"},
		{"lambda_per_million_requests", p.LambdaPerMillionRequests, "$ per million Lambda requests"},
		{"lambda_gb_second", p.LambdaGBSecond, "$ per Lambda GB-second (x86_64)"},
		{"lambda_arm_gb_second", p.LambdaArmGBSecond, "$ per Lambda GB-second (arm64)"},
		{"cloud_run_vcpu_second", p.CloudRunVCPUSecond, "$ per Cloud Run vCPU-second"},
		{"cloud_run_gib_second", p.CloudRunGiBSecond, "$ per Cloud Run GiB-second"},
		{"cloud_run_per_million_requests", p.CloudRunPerMillionRequests, "$ per million Cloud Run requests"},
		{"app_engine_instance_hour", p.AppEngineInstanceHour, "$ per App Engine F1/B1 instance-hour"},
	}
}
