package scrape

import (
	"os"
	"strings"
	"testing"
	"time"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

// FuzzParse feeds arbitrary expositions through the parser and the
// window's computation: errors are fine, panics are not.
func FuzzParse(f *testing.F) {
	f.Add(kubeText)
	f.Add("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 4\nh_count 3\n")
	f.Add("gateway_function_invocation_total{function_name=\"f.ns\",code=\"500\"} 3\n")
	f.Add("istio_requests_total{reporter=\"destination\",destination_workload=\"w\"} NaN\n")
	f.Add("<html>")
	f.Add("x{le=\"-Inf\"} -1e309\n# EOF\n")
	f.Fuzz(func(t *testing.T, in string) {
		pts, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		w := newWindow(1, time.Minute, 1000)
		t0 := time.Unix(0, 0)
		w.add(0, t0, pts)
		w.add(0, t0.Add(15*time.Second), pts)
		c := computer{w: w}
		c.compute(t0.Add(15 * time.Second))
	})
}
