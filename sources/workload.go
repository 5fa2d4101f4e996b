// Package sources holds perch's domain vocabulary (workloads, metrics,
// pods, traces), the small Source contract every backend implements, and
// the optional capability interfaces found by type assertion.
//
// It imports nothing but the standard library and no UI package.
package sources

import "fmt"

// Platform is where a workload runs.
type Platform string

// Platforms perch knows about.
const (
	Kubernetes Platform = "kubernetes"
	Knative    Platform = "knative"
	OpenFaaS   Platform = "openfaas"
	Lambda     Platform = "lambda"
	AppEngine  Platform = "appengine"
	CloudRun   Platform = "cloudrun"
)

// IsServerless reports whether the platform bills or scales per request.
func (p Platform) IsServerless() bool { return p != Kubernetes && p != "" }

// Kind is the workload's controller type.
type Kind string

// Kinds of workload.
const (
	Deployment  Kind = "Deployment"
	StatefulSet Kind = "StatefulSet"
	DaemonSet   Kind = "DaemonSet"
	Job         Kind = "Job"
	CronJob     Kind = "CronJob" // seen through the Jobs it created
	Function    Kind = "Function"
)

// WorkloadID identifies one overview row across clusters.
type WorkloadID struct {
	Cluster   string
	Namespace string
	Name      string
}

// String renders the id as cluster/namespace/name (cluster omitted when empty).
func (id WorkloadID) String() string {
	if id.Cluster == "" {
		return id.Namespace + "/" + id.Name
	}
	return fmt.Sprintf("%s/%s/%s", id.Cluster, id.Namespace, id.Name)
}

// Less orders ids by cluster, namespace, then name.
func (id WorkloadID) Less(o WorkloadID) bool {
	if id.Cluster != o.Cluster {
		return id.Cluster < o.Cluster
	}
	if id.Namespace != o.Namespace {
		return id.Namespace < o.Namespace
	}
	return id.Name < o.Name
}

// Workload is one row of the overview: identity plus static facts.
type Workload struct {
	ID       WorkloadID
	Kind     Kind
	Platform Platform
	// MemoryMB is a function's configured memory size (0 for pods).
	MemoryMB float64
	// Runtime is a function's runtime (go1.x, python3.12...), empty for pods.
	Runtime string
}
