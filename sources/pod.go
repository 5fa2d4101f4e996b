package sources

import "time"

// PodPhase mirrors the Kubernetes pod phase; functions use Running/Pending.
type PodPhase string

// Pod phases.
const (
	PodPending   PodPhase = "Pending"
	PodRunning   PodPhase = "Running"
	PodSucceeded PodPhase = "Succeeded"
	PodFailed    PodPhase = "Failed"
	PodUnknown   PodPhase = "Unknown"
)

// Pod is one pod of a workload, or one instance of a function.
type Pod struct {
	Name     string
	Owner    WorkloadID
	Phase    PodPhase
	Ready    bool
	Restarts int
	Node     string
	Created  time.Time
	// CPU in cores, memory in bytes; zero when unknown.
	CPUUsage, CPURequest float64
	MemUsage, MemRequest float64
}

// Age is how long the pod has existed at now.
func (p Pod) Age(now time.Time) time.Duration {
	if p.Created.IsZero() || now.Before(p.Created) {
		return 0
	}
	return now.Sub(p.Created)
}
