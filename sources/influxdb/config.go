package influxdb

import (
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
	DefaultTimeout      = 10 * time.Second
	DefaultRefresh      = 15 * time.Second
	DefaultWindow       = 5 * time.Minute
	DefaultInventory    = time.Hour
	DefaultMaxSeries    = 20_000
	DefaultMaxBodyBytes = 64 << 20
	// DefaultCloudWatchPeriod is Telegraf's CloudWatch `period`: each
	// *_sum field is a total over one period.
	DefaultCloudWatchPeriod = time.Minute
	// DefaultCloudWatchLookback covers CloudWatch's publication delay plus
	// Telegraf's `delay` (points are stamped at the period's start).
	DefaultCloudWatchLookback = 15 * time.Minute
	// DefaultLambdaMemoryMB is assumed for cost when no memory is known
	// (Lambda's own default size).
	DefaultLambdaMemoryMB = 128
)

// TLSConfig configures the HTTPS connection to InfluxDB.
type TLSConfig struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Config configures one InfluxDB server: 2.x (org, bucket, API token) or
// 1.8+ in compatibility mode (empty org, bucket "db/rp" or "db", token
// "user:password" or empty).
type Config struct {
	// Name of the source in perch ("influxdb" when empty).
	Name string `yaml:"-"`
	// URL is the server root, e.g. http://influxdb:8086.
	URL string `yaml:"url"`
	// Org is the 2.x organization (name or ID); empty for 1.8.
	Org string `yaml:"org"`
	// Bucket holds the data; on 1.8 "database/retention-policy" or "database".
	Bucket string `yaml:"bucket"`
	// Token (2.x API token, or "user:password" on 1.8 with auth enabled) or
	// TokenFile (re-read on every request, so rotated tokens work).
	Token     string    `yaml:"token"`
	TokenFile string    `yaml:"token_file"`
	TLS       TLSConfig `yaml:"tls"`
	// Timeout bounds every query (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// Refresh is the polling interval (default 15s).
	Refresh time.Duration `yaml:"refresh"`
	// Cluster is the WorkloadID.Cluster of every function.
	Cluster string `yaml:"cluster"`
	// Presets to use; empty means detect them from the measurements in the
	// bucket. Known: invocations, cloudwatch-lambda (alias lambda).
	Presets []string `yaml:"presets"`
	// Overrides replace a column with a Flux query: metric name (as in
	// sources.Metric.String(), e.g. "latency_p95") → Flux returning rows
	// with a "function" column and a numeric _value (the newest row per
	// function counts). ${bucket}, ${start}, ${stop}, ${window} and
	// ${every} are replaced before the query runs.
	Overrides map[string]string `yaml:"overrides"`
	// MaxSeries caps the rows taken from one query (default 20,000).
	MaxSeries int `yaml:"max_series"`
	// Window is the span percentiles, rates and ratios of per-invocation
	// data are computed over (default 5m).
	Window time.Duration `yaml:"window"`
	// Inventory is how far back a function counts as existing (idle
	// functions stay listed with zero traffic; default 1h).
	Inventory time.Duration `yaml:"inventory"`
	// CloudWatchPeriod and CloudWatchLookback describe Telegraf's
	// CloudWatch input (defaults 1m and 15m).
	CloudWatchPeriod   time.Duration `yaml:"cloudwatch_period"`
	CloudWatchLookback time.Duration `yaml:"cloudwatch_lookback"`
	// LambdaMemoryMB is the memory assumed for cost when the data has no
	// memory for a function (default 128).
	LambdaMemoryMB float64 `yaml:"lambda_memory_mb"`

	// Prices for cost; zero means cost.Defaults(). Set by the caller.
	Prices cost.Prices `yaml:"-"`
	// Clock returns the evaluation time of each round; nil is time.Now.
	Clock func() time.Time `yaml:"-"`
}

// Preset names.
const (
	PresetInvocations      = "invocations"
	PresetCloudWatchLambda = "cloudwatch-lambda"
)

var presetAliases = map[string]string{
	PresetInvocations:      PresetInvocations,
	PresetCloudWatchLambda: PresetCloudWatchLambda,
	"lambda":               PresetCloudWatchLambda,
}

// ConfigError is a bad setting: Key is its name in the config (url,
// tls.cert_file...), Msg says what is wrong without quoting secrets.
type ConfigError struct {
	Key, Msg string
}

func (e *ConfigError) Error() string { return "influxdb: " + e.Key + ": " + e.Msg }

func cfgErr(key, format string, args ...any) error {
	return &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// withDefaults returns a copy with defaults filled in, or an error naming
// the bad setting (never its value).
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = "influxdb"
	}
	if strings.TrimSpace(c.URL) == "" {
		return c, cfgErr("url", "is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, cfgErr("url", "must be an absolute http:// or https:// URL")
	}
	if u.User != nil {
		return c, cfgErr("url", "must not hold credentials: use token or token_file")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return c, cfgErr("url", "must not have a query or fragment")
	}
	if strings.TrimSpace(c.Bucket) == "" {
		return c, cfgErr("bucket", "is required (on 1.8: database/retention-policy)")
	}
	if c.Token != "" && c.TokenFile != "" {
		return c, cfgErr("token_file", "set token or token_file, not both")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return c, cfgErr("tls.cert_file", "tls.cert_file and tls.key_file go together")
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"timeout", &c.Timeout, DefaultTimeout},
		{"refresh", &c.Refresh, DefaultRefresh},
		{"window", &c.Window, DefaultWindow},
		{"inventory", &c.Inventory, DefaultInventory},
		{"cloudwatch_period", &c.CloudWatchPeriod, DefaultCloudWatchPeriod},
		{"cloudwatch_lookback", &c.CloudWatchLookback, DefaultCloudWatchLookback},
	} {
		if *d.v < 0 {
			return c, cfgErr(d.name, "must not be negative")
		}
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < time.Second && d.name != "timeout" {
			return c, cfgErr(d.name, "must be at least 1s")
		}
	}
	if c.Inventory < c.Window {
		c.Inventory = c.Window
	}
	if c.LambdaMemoryMB < 0 {
		return c, cfgErr("lambda_memory_mb", "must not be negative")
	}
	if c.LambdaMemoryMB == 0 {
		c.LambdaMemoryMB = DefaultLambdaMemoryMB
	}
	if c.MaxSeries < 0 {
		return c, cfgErr("max_series", "must not be negative")
	}
	if c.MaxSeries == 0 {
		c.MaxSeries = DefaultMaxSeries
	}
	for _, p := range c.Presets {
		if _, ok := presetAliases[p]; !ok {
			return c, cfgErr("presets", "unknown preset %q (known: %s)", p, strings.Join(knownPresetNames(), ", "))
		}
	}
	for k, q := range c.Overrides {
		if _, ok := sources.ParseMetric(k); !ok {
			return c, cfgErr("overrides", "unknown metric %q (known: %s)", k, strings.Join(metricNames(), ", "))
		}
		if strings.TrimSpace(q) == "" {
			return c, cfgErr("overrides."+k, "is empty")
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
