package promexport

import (
	"math"

	"github.com/perch-dev/perch/sources"
)

// dist is the latency distribution the exporter assumes from the three
// percentiles the simulator gives: the same quantile function the
// simulator draws trace durations from (linear below the median, then
// geometric between p50, p95 and p99, then a short linear tail to
// 1.5·p99). Bucket counts are exact values of its CDF, so
// histogram_quantile(0.95) of one instant lands in the bucket holding p95.
type dist struct{ p50, p95, p99 float64 }

func newDist(p50, p95, p99 float64) dist {
	// Keep the knots strictly increasing so the CDF is well defined.
	p50 = math.Max(p50, 1e-9)
	p95 = math.Max(p95, p50*(1+1e-9))
	p99 = math.Max(p99, p95*(1+1e-9))
	return dist{p50, p95, p99}
}

// cdf is P(latency <= x), x in seconds.
func (d dist) cdf(x float64) float64 {
	switch {
	case x < 0.45*d.p50:
		return 0
	case x < d.p50:
		return (x/d.p50 - 0.45) / 1.1
	case x < d.p95:
		return 0.5 + 0.45*math.Log(x/d.p50)/math.Log(d.p95/d.p50)
	case x < d.p99:
		return 0.95 + 0.04*math.Log(x/d.p95)/math.Log(d.p99/d.p95)
	case x < 1.5*d.p99:
		return 0.99 + (x/d.p99-1)/50
	default:
		return 1
	}
}

// mean is the integral of the quantile function.
func (d dist) mean() float64 {
	geo := func(w, a, b float64) float64 { return w * (b - a) / math.Log(b/a) }
	return d.p50*(0.45*0.5+0.55*0.25) + geo(0.45, d.p50, d.p95) + geo(0.04, d.p95, d.p99) + d.p99*0.0125
}

// lognormalMean is the mean of a log-normal with these p50 and p99: what
// the simulator bills Lambda by, served as CloudWatch's Duration Average.
func lognormalMean(p50, p99 float64) float64 {
	if p50 <= 0 || p99 <= p50 {
		return p50
	}
	sigma := math.Log(p99/p50) / 2.326
	return p50 * math.Exp(sigma*sigma/2)
}

// Histogram layouts of the real exporters.
var (
	// Istio's default istio_request_duration_milliseconds buckets (ms).
	istioBucketsMS = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}
	// client_golang's DefBuckets, which the OpenFaaS gateway uses (s).
	openfaasBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	// Knative queue-proxy request duration (s).
	knativeBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
)

// LatencyCDF is the distribution the exporter's latency histograms count
// requests by, given the simulator's p50, p95 and p99 (seconds): tests use
// it to compute the exact quantile a histogram over a window describes.
func LatencyCDF(p50, p95, p99 float64) func(seconds float64) float64 {
	return newDist(p50, p95, p99).cdf
}

// Buckets returns the histogram bounds (in seconds) the exporter uses for
// a platform's latency histogram, nil when it exports no histogram.
func Buckets(p sources.Platform) []float64 {
	var h *histSpec
	switch p {
	case sources.Kubernetes:
		h = istioHist
	case sources.OpenFaaS:
		h = openfaasHist
	case sources.Knative:
		h = knativeHist
	default:
		return nil
	}
	out := make([]float64, len(h.bounds))
	for i, b := range h.bounds {
		out[i] = b / h.scale
	}
	return out
}
