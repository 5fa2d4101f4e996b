package config

import (
	"strconv"
	"strings"

	"github.com/perch-dev/perch/cost"
)

// Example returns a commented example configuration: the demo source is
// on, the other backends are shown commented out with their likely keys,
// and prices shows the current defaults. Parse(Example()) succeeds.
func Example() string {
	p := cost.Defaults()
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	var b strings.Builder
	for _, l := range []struct{ key, value, unit string }{
		{"cpu_hour", f(p.CPUHour), "$ per vCPU-hour"},
		{"gib_hour", f(p.GiBHour), "$ per GiB-hour of memory"},
		{"gpu_hour", f(p.GPUHour), "$ per GPU-hour"},
		{"lambda_per_million_requests", f(p.LambdaPerMillionRequests), "$ per million Lambda requests"},
		{"lambda_gb_second", f(p.LambdaGBSecond), "$ per Lambda GB-second"},
	} {
		line := "#   " + l.key + ": " + l.value
		b.WriteString(line + strings.Repeat(" ", max(1, 48-len(line))) + "# " + l.unit + "\n")
	}
	return strings.Replace(exampleTemplate, "{prices}\n", b.String(), 1)
}

const exampleTemplate = `# perch configuration
#
# Read from $XDG_CONFIG_HOME/perch/config.yaml (usually
# ~/.config/perch/config.yaml). Every key is optional. Unknown keys and
# wrong types are errors reported as file:line: key.

# How often sources poll, as a duration (10s, 1m30s). At least 1s.
refresh: 15s

# Colours: auto (from the terminal background; plain under NO_COLOR),
# dark, light or plain.
theme: auto

# Prices that turn usage into dollars. Uncomment to override; keys left
# out keep these defaults (OpenCost node prices, AWS Lambda x86 us-east-1).
# Prices must not be negative.
# prices:
{prices}

# Where the data comes from. Each entry needs a type; name defaults to the
# type and must be unique. Every other key is that source's own setting.
# Prefer token files or environment variables to tokens written here.
sources:
  # Synthetic workloads: try perch without a cluster.
  - type: demo
    name: demo
    seed: 1

  # Prometheus, or any PromQL API (Thanos, Mimir, VictoriaMetrics).
  # - type: prometheus
  #   name: prod
  #   url: http://127.0.0.1:9090
  #   timeout: 10s
  #   headers:
  #     X-Scope-OrgID: team-a
  #   bearer_token_file: /var/run/secrets/prometheus/token
  #   tls:
  #     ca_file: /etc/ssl/certs/prometheus-ca.pem
  #     insecure_skip_verify: false
  #   # Caps on one answer: series kept (the rest is not read) and bytes.
  #   max_series: 20000
  #   max_response_bytes: 67108864    # 64 MiB

  # InfluxDB.
  # - type: influxdb
  #   name: influx
  #   url: http://127.0.0.1:8086
  #   org: my-org
  #   bucket: metrics
  #   token_file: ~/.config/perch/influxdb.token
  #   timeout: 10s

  # Kubernetes API: workloads, replicas, pods and their requests.
  # Kubernetes through informers (get/list/watch only): workloads, Jobs,
  # pods, HPAs, nodes, warning events; Knative Services when installed.
  # kubeconfig defaults to $KUBECONFIG, then ~/.kube/config (like kubectl;
  # an explicit path is taken literally, so write it in full).
  # - type: kubernetes
  #   name: cluster
  #   contexts: [prod-eu, prod-us]   # one rollup with a cluster column
  #   namespaces: [default, shop]    # watched one by one if cluster-wide list is forbidden
  #   knative: auto                  # or off

  # Jaeger query API: traces per service.
  # - type: jaeger
  #   name: traces
  #   url: http://127.0.0.1:16686
  #   timeout: 10s
`
