package prometheus

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
)

// Defaults.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultRefresh        = 15 * time.Second
	DefaultRateWindow     = 5 * time.Minute
	DefaultMaxSeries      = 20_000
	DefaultMaxConcurrency = 4
	// DefaultMaxResponseBytes caps one answer's body (max_response_bytes).
	DefaultMaxResponseBytes = 64 << 20
	// DefaultCloudWatchPeriod is the period_seconds of the CloudWatch
	// exporter: its *_sum values are totals over one period.
	DefaultCloudWatchPeriod = 60 * time.Second
	// DefaultCloudWatchLookback covers CloudWatch's publication delay (the
	// exporters stamp samples up to ~10 min in the past).
	DefaultCloudWatchLookback = 15 * time.Minute
	// DefaultLambdaMemoryMB is used for cost when no Lambda Insights
	// total_memory series exists for a function (Lambda's own default).
	DefaultLambdaMemoryMB = 128
)

// TLSConfig configures the HTTPS connection to the server.
type TLSConfig struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Config configures one Prometheus-compatible server (Prometheus, Thanos
// Query, Mimir/Cortex, VictoriaMetrics: they share the HTTP API).
type Config struct {
	// Name of the source in perch ("prometheus" when empty).
	Name string `yaml:"-"`
	// URL is the API root, e.g. http://prometheus:9090 or
	// https://mimir.example/prometheus (the path prefix is kept).
	URL string `yaml:"url"`
	// BearerToken or BearerTokenFile (re-read on every request, so rotated
	// service-account tokens work) set Authorization: Bearer.
	BearerToken     string `yaml:"bearer_token"`
	BearerTokenFile string `yaml:"bearer_token_file"`
	// Username and Password set HTTP basic auth.
	Username string    `yaml:"username"`
	Password string    `yaml:"password"`
	TLS      TLSConfig `yaml:"tls"`
	// Headers are added to every request (e.g. X-Scope-OrgID for Mimir).
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds every HTTP call (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// Refresh is the polling interval (default 15s).
	Refresh time.Duration `yaml:"refresh"`
	// Cluster is the WorkloadID.Cluster of every workload (when
	// ClusterLabel is empty or missing on a series).
	Cluster string `yaml:"cluster"`
	// ClusterLabel, when set, is an external label (e.g. "cluster") that
	// splits one server's data into clusters (Thanos, Mimir).
	ClusterLabel string `yaml:"cluster_label"`
	// Presets to use; empty means auto-detect from the metric names the
	// server has. Known: kubernetes, istio, openfaas, knative (either
	// generation), knative-otel, knative-opencensus, lambda, appengine.
	Presets []string `yaml:"presets"`
	// Overrides replace a column's query: metric name (as in
	// sources.Metric.String(), e.g. "latency_p95") → PromQL returning one
	// series per workload with labels namespace and workload (optionally
	// workload_kind, platform).
	Overrides map[string]string `yaml:"overrides"`
	// MaxSeries caps the series taken from one query (default 20,000):
	// decoding stops at the first series beyond it and the round keeps
	// the first MaxSeries, saying so.
	MaxSeries int `yaml:"max_series"`
	// MaxResponseBytes caps the bytes read from one answer (default 64
	// MiB); an answer beyond it fails with "answer exceeds … MiB
	// (max_response_bytes)". With max_series it bounds perch's memory.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// MaxConcurrency bounds the queries in flight (default 4).
	MaxConcurrency int `yaml:"max_concurrency"`
	// RateWindow is the range of rate() and histogram quantiles (default 5m).
	RateWindow time.Duration `yaml:"rate_window"`
	// CloudWatchPeriod and CloudWatchLookback describe the CloudWatch
	// exporter (defaults 60s and 15m).
	CloudWatchPeriod   time.Duration `yaml:"cloudwatch_period"`
	CloudWatchLookback time.Duration `yaml:"cloudwatch_lookback"`
	// LambdaMemoryMB is the memory assumed for cost when the server has no
	// Lambda Insights memory series (default 128).
	LambdaMemoryMB float64 `yaml:"lambda_memory_mb"`

	// Prices for cost; zero means cost.Defaults(). Set by the caller.
	Prices cost.Prices `yaml:"-"`
	// Clock returns the evaluation time of each round; nil is time.Now.
	Clock func() time.Time `yaml:"-"`
}

// Preset names.
const (
	PresetKubernetes        = "kubernetes"
	PresetIstio             = "istio"
	PresetOpenFaaS          = "openfaas"
	PresetKnative           = "knative" // alias: whichever generation the server has
	PresetKnativeOTel       = "knative-otel"
	PresetKnativeOpenCensus = "knative-opencensus"
	PresetLambda            = "lambda"
	PresetAppEngine         = "appengine"
)

// withDefaults returns a copy with defaults filled in, or an error naming
// the bad setting (never its value).
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = "prometheus"
	}
	if strings.TrimSpace(c.URL) == "" {
		return c, errors.New("prometheus: url is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, errors.New("prometheus: url must be an absolute http:// or https:// URL")
	}
	if u.User != nil {
		// Move credentials out of the URL so they never reach an error.
		if c.Username == "" {
			c.Username = u.User.Username()
		}
		if p, ok := u.User.Password(); ok && c.Password == "" {
			c.Password = p
		}
		u.User = nil
		c.URL = u.String()
	}
	if c.BearerToken != "" && c.BearerTokenFile != "" {
		return c, errors.New("prometheus: set bearer_token or bearer_token_file, not both")
	}
	if (c.BearerToken != "" || c.BearerTokenFile != "") && (c.Username != "" || c.Password != "") {
		return c, errors.New("prometheus: set a bearer token or basic auth, not both")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return c, errors.New("prometheus: tls.cert_file and tls.key_file go together")
	}
	for k := range c.Headers {
		if strings.EqualFold(k, "Authorization") && (c.BearerToken != "" || c.BearerTokenFile != "" || c.Username != "") {
			return c, errors.New("prometheus: headers.Authorization conflicts with bearer token / basic auth")
		}
	}
	for name, v := range map[string]*time.Duration{
		"timeout": &c.Timeout, "refresh": &c.Refresh, "rate_window": &c.RateWindow,
		"cloudwatch_period": &c.CloudWatchPeriod, "cloudwatch_lookback": &c.CloudWatchLookback,
	} {
		if *v < 0 {
			return c, fmt.Errorf("prometheus: %s must not be negative", name)
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Refresh == 0 {
		c.Refresh = DefaultRefresh
	}
	if c.RateWindow == 0 {
		c.RateWindow = DefaultRateWindow
	}
	if c.CloudWatchPeriod == 0 {
		c.CloudWatchPeriod = DefaultCloudWatchPeriod
	}
	if c.CloudWatchLookback == 0 {
		c.CloudWatchLookback = DefaultCloudWatchLookback
	}
	if c.LambdaMemoryMB < 0 {
		return c, errors.New("prometheus: lambda_memory_mb must not be negative")
	}
	if c.LambdaMemoryMB == 0 {
		c.LambdaMemoryMB = DefaultLambdaMemoryMB
	}
	if c.MaxSeries < 0 || c.MaxConcurrency < 0 {
		return c, errors.New("prometheus: max_series and max_concurrency must not be negative")
	}
	if c.MaxSeries == 0 {
		c.MaxSeries = DefaultMaxSeries
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.MaxResponseBytes < 0 {
		return c, errors.New("prometheus: max_response_bytes must not be negative")
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.ClusterLabel != "" && !validLabelName(c.ClusterLabel) {
		return c, errors.New("prometheus: cluster_label must be a Prometheus label name")
	}
	for _, p := range c.Presets {
		if _, ok := presetAliases[p]; !ok {
			return c, fmt.Errorf("prometheus: unknown preset %q (known: %s)", p, strings.Join(knownPresetNames(), ", "))
		}
	}
	for k, q := range c.Overrides {
		if _, ok := sources.ParseMetric(k); !ok {
			return c, fmt.Errorf("prometheus: overrides: unknown metric %q (known: %s)", k, strings.Join(metricNames(), ", "))
		}
		if strings.TrimSpace(q) == "" {
			return c, fmt.Errorf("prometheus: overrides.%s is empty", k)
		}
	}
	if c.Prices == (cost.Prices{}) {
		c.Prices = cost.Defaults()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c, nil
}

func validLabelName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func metricNames() []string {
	var out []string
	for m := sources.Metric(0); m < sources.NumMetrics; m++ {
		out = append(out, m.String())
	}
	return out
}

func knownPresetNames() []string {
	var out []string
	for k := range presetAliases {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
