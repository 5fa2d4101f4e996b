package cost

import (
	"math"
	"sort"

	"github.com/perch-dev/perch/sources"
)

// Total is the cost of a group of workloads.
type Total struct {
	Key       string  // cluster, namespace (cluster/namespace) or platform; "" for all
	Hourly    float64 // $/h, sum of the workloads that report a cost
	Idle      float64 // $/h of requested-but-unused CPU and memory among them
	Workloads int
	NoCost    int // workloads without a cost (not in Hourly)
}

// Daily is the group's cost projected over a day.
func (t Total) Daily() float64 { return Daily(t.Hourly) }

// Monthly is the group's cost projected over a 730-hour month.
func (t Total) Monthly() float64 { return Monthly(t.Hourly) }

// IdleShare is Idle / Hourly, NaN when the group costs nothing.
func (t Total) IdleShare() float64 {
	if !(t.Hourly > 0) {
		return math.NaN()
	}
	return t.Idle / t.Hourly
}

// Spender is one workload in the top-spenders list.
type Spender struct {
	ID       sources.WorkloadID
	Platform sources.Platform
	Hourly   float64
	Idle     float64 // idle share 0..1, NaN unknown
}

// Totals are the cost summary page's figures.
type Totals struct {
	All                                Total
	ByCluster, ByNamespace, ByPlatform []Total // highest cost first
	Top                                []Spender
}

// Totals sums workloads' reported costs ($/h) by cluster, namespace and
// platform and lists the top n spenders. A workload's idle cost is its
// reported cost times its idle share (OpenCost's rule at the table's
// default node prices).
func (p Prices) Totals(rows []sources.Summary, top int) Totals {
	var t Totals
	clusters, namespaces, platforms := map[string]*Total{}, map[string]*Total{}, map[string]*Total{}
	add := func(m map[string]*Total, key string, hourly, idle float64) {
		g := m[key]
		if g == nil {
			g = &Total{Key: key}
			m[key] = g
		}
		g.Workloads++
		if math.IsNaN(hourly) {
			g.NoCost++
			return
		}
		g.Hourly += hourly
		g.Idle += idle
	}
	var spenders []Spender
	for i := range rows {
		r := &rows[i]
		hourly := r.Latest[sources.CostRate]
		if math.IsInf(hourly, 0) || hourly < 0 {
			hourly = math.NaN()
		}
		share := math.NaN()
		if runsInPods(r.Platform) {
			share = p.IdleShare(r)
		}
		idle := 0.0
		if !math.IsNaN(share) && !math.IsNaN(hourly) {
			idle = share * hourly
		}
		ns := r.ID.Namespace
		if r.ID.Cluster != "" {
			ns = r.ID.Cluster + "/" + ns
		}
		add(clusters, r.ID.Cluster, hourly, idle)
		add(namespaces, ns, hourly, idle)
		add(platforms, string(r.Platform), hourly, idle)
		t.All.Workloads++
		if math.IsNaN(hourly) {
			t.All.NoCost++
			continue
		}
		t.All.Hourly += hourly
		t.All.Idle += idle
		spenders = append(spenders, Spender{ID: r.ID, Platform: r.Platform, Hourly: hourly, Idle: share})
	}
	t.ByCluster, t.ByNamespace, t.ByPlatform = sorted(clusters), sorted(namespaces), sorted(platforms)
	sort.SliceStable(spenders, func(i, j int) bool {
		if spenders[i].Hourly != spenders[j].Hourly {
			return spenders[i].Hourly > spenders[j].Hourly
		}
		return spenders[i].ID.Less(spenders[j].ID)
	})
	if top >= 0 && len(spenders) > top {
		spenders = spenders[:top]
	}
	t.Top = spenders
	return t
}

func sorted(m map[string]*Total) []Total {
	out := make([]Total, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Hourly != out[j].Hourly {
			return out[i].Hourly > out[j].Hourly
		}
		return out[i].Key < out[j].Key
	})
	return out
}
