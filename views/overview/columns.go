package overview

import (
	"math"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/views/format"
)

// Group is the column group a column belongs to; groups get a header line.
type Group uint8

// Column groups, left to right.
const (
	GroupWorkload Group = iota
	GroupCost
	GroupScaling
	GroupLatency
	GroupTraffic
)

var groupTitles = [...]string{"WORKLOAD", "COST", "SCALING", "LATENCY", "TRAFFIC"}

// Column identifies one overview column.
type Column uint8

// Columns in display order.
const (
	ColName Column = iota
	ColNamespace
	ColPlatform
	ColCost
	ColCostDay
	ColCostMonth
	ColCostPerM
	ColIdle
	ColReplicas
	ColReplicasTrend
	ColP50
	ColP95
	ColP99
	ColLatencyTrend
	ColRate
	ColErrors
	numColumns
)

type column struct {
	title    string
	group    Group
	width    int  // fixed width; ColName takes what is left
	priority int  // lower is dropped first when the terminal is narrow
	right    bool // right-aligned numbers
	sortable bool
	// key extracts the sort key; strings sort by name.
	key func(*sources.Summary) float64
}

var columns = [numColumns]column{
	ColName:          {title: "NAME", group: GroupWorkload, width: 0, priority: 100, sortable: true},
	ColNamespace:     {title: "NAMESPACE", group: GroupWorkload, width: 12, priority: 30, sortable: true},
	ColPlatform:      {title: "PLATFORM", group: GroupWorkload, width: 8, priority: 60, sortable: true},
	ColCost:          {title: "$/h", group: GroupCost, width: 7, priority: 95, right: true, sortable: true, key: metricKey(sources.CostRate)},
	ColCostDay:       {title: "$/day", group: GroupCost, width: 7, priority: 35, right: true, sortable: true, key: scaled(sources.CostRate, 24)},
	ColCostMonth:     {title: "$/month", group: GroupCost, width: 8, priority: 15, right: true, sortable: true, key: scaled(sources.CostRate, HoursPerMonth)},
	ColCostPerM:      {title: "$/1M req", group: GroupCost, width: 8, priority: 50, right: true, sortable: true, key: func(s *sources.Summary) float64 { return s.CostPerMillion() }},
	ColIdle:          {title: "idle", group: GroupCost, width: 5, priority: 10, right: true, sortable: true, key: func(s *sources.Summary) float64 { return s.IdleShare }},
	ColReplicas:      {title: "REPLICAS", group: GroupScaling, width: 13, priority: 90, sortable: true, key: metricKey(sources.ReplicasCurrent)},
	ColReplicasTrend: {title: "", group: GroupScaling, width: 8, priority: 55},
	ColP50:           {title: "p50", group: GroupLatency, width: 6, priority: 40, right: true, sortable: true, key: metricKey(sources.LatencyP50)},
	ColP95:           {title: "p95", group: GroupLatency, width: 6, priority: 70, right: true, sortable: true, key: metricKey(sources.LatencyP95)},
	ColP99:           {title: "p99", group: GroupLatency, width: 6, priority: 92, right: true, sortable: true, key: metricKey(sources.LatencyP99)},
	ColLatencyTrend:  {title: "", group: GroupLatency, width: 8, priority: 57},
	ColRate:          {title: "req/s", group: GroupTraffic, width: 6, priority: 80, right: true, sortable: true, key: metricKey(sources.RequestRate)},
	ColErrors:        {title: "err", group: GroupTraffic, width: 5, priority: 75, right: true, sortable: true, key: metricKey(sources.ErrorRatio)},
}

// HoursPerMonth is the month perch projects costs over (730 h, as cloud
// price lists do).
const HoursPerMonth = 730

func scaled(m sources.Metric, factor float64) func(*sources.Summary) float64 {
	return func(s *sources.Summary) float64 { return s.Latest[m] * factor }
}

func metricKey(m sources.Metric) func(*sources.Summary) float64 {
	return func(s *sources.Summary) float64 { return s.Latest[m] }
}

// String is the column's title for the sort indicator and help.
func (c Column) String() string {
	if c == ColReplicasTrend || c == ColLatencyTrend {
		return "trend"
	}
	return columns[c].title
}

const minNameWidth = 14

// cell is one laid-out column.
type cell struct {
	col   Column
	width int
}

// layout picks the columns that fit width, dropping the lowest priority
// first; the name column takes the remaining space up to a limit, then the
// sparklines grow.
func layout(width int, hideNamespace bool) []cell {
	active := make([]bool, numColumns)
	for c := range active {
		active[c] = true
	}
	if hideNamespace {
		active[ColNamespace] = false
	}
	used := func() int {
		// 1 cell of selection gutter, a space between columns, and two
		// extra cells of separator between groups.
		total, prevGroup, n := 1, Group(255), 0
		for c := Column(0); c < numColumns; c++ {
			if !active[c] {
				continue
			}
			if n > 0 {
				total++
				if columns[c].group != prevGroup {
					total += 2
				}
			}
			prevGroup = columns[c].group
			total += columns[c].width
			n++
		}
		return total
	}
	for used()+minNameWidth > width {
		drop, lowest := Column(255), math.MaxInt
		for c := Column(0); c < numColumns; c++ {
			if active[c] && c != ColName && columns[c].priority < lowest {
				drop, lowest = c, columns[c].priority
			}
		}
		if drop == 255 {
			break
		}
		active[drop] = false
	}
	spare := width - used()
	nameWidth := min(max(spare, minNameWidth), maxNameWidth)
	spare -= nameWidth
	var trends int
	if active[ColReplicasTrend] {
		trends++
	}
	if active[ColLatencyTrend] {
		trends++
	}
	var out []cell
	for c := Column(0); c < numColumns; c++ {
		if !active[c] {
			continue
		}
		w := columns[c].width
		switch {
		case c == ColName:
			w = nameWidth
		case (c == ColReplicasTrend || c == ColLatencyTrend) && spare > 0:
			w += min(spare/trends, maxTrendWidth-w)
		}
		out = append(out, cell{col: c, width: w})
	}
	return out
}

const (
	maxNameWidth  = 40
	maxTrendWidth = 30
)

// platformLabel is the short platform tag shown in the table.
func platformLabel(p sources.Platform) string {
	switch p {
	case sources.Kubernetes:
		return "k8s"
	case sources.Knative:
		return "knative"
	case sources.OpenFaaS:
		return "openfaas"
	case sources.Lambda:
		return "lambda"
	case sources.AppEngine:
		return "appengine"
	case sources.CloudRun:
		return "cloudrun"
	}
	return string(p)
}

// replicasText renders "cur/desired min..max" for pods and "cur min..max"
// plus concurrency for functions.
func replicasText(s *sources.Summary) string {
	cur, des := s.Latest[sources.ReplicasCurrent], s.Latest[sources.ReplicasDesired]
	lo, hi := s.Latest[sources.ReplicasMin], s.Latest[sources.ReplicasMax]
	txt := format.Count(cur)
	if !math.IsNaN(des) && des != cur {
		txt += "→" + format.Count(des)
	}
	if !math.IsNaN(lo) && !math.IsNaN(hi) {
		txt += " " + format.Count(lo) + ".." + format.Count(hi)
	}
	return txt
}
