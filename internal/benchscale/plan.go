package main

import (
	"fmt"
	"math"
)

// workloadSpec is one workload the feeder creates.
type workloadSpec struct {
	Namespace, Name string
	StatefulSet     bool
	HPA             bool    // a HorizontalPodAutoscaler targets it (Deployments only)
	Weight          float64 // share of the pods, 1..12
}

var namespaceNames = []string{
	"accounts", "ads", "analytics", "billing", "catalog", "checkout", "identity", "inventory", "logistics", "media",
	"messaging", "ml", "risk", "search", "support", "payments", "platform", "notifications", "pricing", "reviews",
}

var nameHeads = []string{"orders", "users", "cart", "ledger", "invoice", "auth", "profile", "feed", "notify", "media",
	"report", "price", "stock", "ship", "risk", "score", "chat", "mail", "geo", "rank"}

var nameTails = []string{"api", "worker", "svc", "gateway", "cache", "db", "sync", "consumer", "indexer", "proxy"}

// plan is the benchmark's inventory: n workloads over the namespaces,
// mostly Deployments (one in eight is a StatefulSet), two in five
// Deployments with an HPA, and a skewed, deterministic share of the pods
// (log-uniform 1..12, StatefulSets half) so a few workloads are large.
func plan(n, namespaces int) []workloadSpec {
	out := make([]workloadSpec, n)
	for i := range out {
		ns := fmt.Sprintf("team-%02d", i%namespaces)
		if namespaces <= len(namespaceNames) {
			ns = namespaceNames[i%namespaces]
		}
		u := unit(uint64(i))
		w := workloadSpec{
			Namespace: ns,
			Name:      fmt.Sprintf("%s-%s-%03d", nameHeads[i%len(nameHeads)], nameTails[(i/len(nameHeads))%len(nameTails)], i),
			Weight:    math.Exp(u * math.Log(12)),
		}
		if i%8 == 7 {
			w.StatefulSet, w.Weight = true, w.Weight/2
		} else {
			w.HPA = i%5 < 2
		}
		out[i] = w
	}
	return out
}

// replicas splits pods over the plan (every workload gets at least one).
func replicas(p []workloadSpec, pods int) ([]int, error) {
	if pods < len(p) {
		return nil, fmt.Errorf("%d pods cannot cover %d workloads (at least one pod each)", pods, len(p))
	}
	w := make([]float64, len(p))
	for i := range p {
		w[i] = p[i].Weight
	}
	return distribute(pods, w), nil
}

// unit is a deterministic value in [0, 1) for i (splitmix64).
func unit(i uint64) float64 {
	z := i + 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}
