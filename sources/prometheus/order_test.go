package prometheus

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A round starts its slowest queries first: latency families before any
// timing is known, then by the last round's durations, so the slowest
// query never waits in the max_concurrency queue.
func TestRoundStartsSlowestQueriesFirst(t *testing.T) {
	empty := `{"status":"success","data":{"resultType":"vector","result":[]}}`
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		if strings.Contains(req.query, "gateway_service_count") { // openfaas_traffic
			time.Sleep(80 * time.Millisecond)
		}
		writeJSON(w, http.StatusOK, empty)
	})
	s := newTestSource(t, f.URL, func(c *Config) {
		c.Presets = []string{PresetKubernetes, PresetOpenFaaS}
		c.MaxConcurrency = 1
	})
	family := func(q string) string {
		switch {
		case strings.Contains(q, "gateway_functions_seconds_bucket"):
			return "openfaas_latency"
		case strings.Contains(q, "gateway_service_count"):
			return "openfaas_traffic"
		}
		return "kube"
	}
	var rounds [][]string
	for range 2 {
		f.mu.Lock()
		f.queries = nil
		f.mu.Unlock()
		s.Poll(context.Background())
		f.mu.Lock()
		var order []string
		for _, q := range f.queries {
			order = append(order, family(q))
		}
		f.mu.Unlock()
		rounds = append(rounds, order)
	}
	if len(rounds[0]) < 3 || rounds[0][0] != "openfaas_latency" {
		t.Errorf("first round's order %v: want the latency family first", rounds[0])
	}
	if len(rounds[1]) < 3 || rounds[1][0] != "openfaas_traffic" {
		t.Errorf("second round's order %v: want the slowest of the first round (openfaas_traffic) first", rounds[1])
	}
}
