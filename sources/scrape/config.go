package scrape

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/perch-dev/perch/cost"
)

// Defaults.
const (
	DefaultInterval       = 15 * time.Second
	DefaultTimeout        = 5 * time.Second
	DefaultWindow         = 2 * time.Minute
	DefaultMaxSeries      = 20_000
	DefaultMaxConcurrency = 8
	DefaultMaxBodyBytes   = 32 << 20
)

// Config configures scrape mode: perch reads exporters' /metrics itself
// (kube-state-metrics, the kubelet's cAdvisor, the OpenFaaS gateway,
// Istio sidecars) and keeps a short window of raw samples for rates and
// histogram quantiles, for clusters without room for a Prometheus server.
type Config struct {
	// Name of the source in perch ("scrape" when empty).
	Name string `yaml:"-"`
	// Targets are the /metrics URLs scraped every round.
	Targets []string `yaml:"targets"`
	// Interval between rounds (default 15s).
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one target's scrape (default 5s).
	Timeout time.Duration `yaml:"timeout"`
	// Cluster is the WorkloadID.Cluster of every workload.
	Cluster string `yaml:"cluster"`
	// Headers are added to every scrape.
	Headers map[string]string `yaml:"headers"`
	// BearerTokenFile is re-read on every scrape (rotated service-account
	// tokens keep working) and sent as Authorization: Bearer.
	BearerTokenFile string `yaml:"bearer_token_file"`
	// MaxSeries caps the raw series kept across all targets (default
	// 20,000); new series past the cap are dropped and the update says so.
	MaxSeries int `yaml:"max_series"`
	// Window is how much raw history rates and quantiles use (default 2m).
	Window time.Duration `yaml:"window"`

	// Prices for cost (zero value: cost defaults).
	Prices cost.Prices `yaml:"-"`
	// Clock is the time of each round (nil: time.Now); tests step it.
	Clock func() time.Time `yaml:"-"`
	// MaxConcurrency bounds parallel scrapes (default 8).
	MaxConcurrency int `yaml:"-"`
	// MaxBodyBytes bounds one response (default 32 MiB).
	MaxBodyBytes int64 `yaml:"-"`
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = "scrape"
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.MaxSeries == 0 {
		c.MaxSeries = DefaultMaxSeries
	}
	if c.MaxConcurrency <= 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	c.Prices = c.Prices.OrDefaults()
	var errs []error
	if len(c.Targets) == 0 {
		errs = append(errs, errors.New("targets: at least one /metrics URL is required"))
	}
	for i, t := range c.Targets {
		u, err := url.Parse(t)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("targets[%d]: %q is not an http(s) URL", i, redact(t)))
		}
	}
	if c.Interval < 0 || c.Timeout < 0 || c.Window < 0 || c.MaxSeries < 0 {
		errs = append(errs, errors.New("interval, timeout, window and max_series must not be negative"))
	}
	if c.Window > 0 && c.Window < 2*c.Interval {
		errs = append(errs, fmt.Errorf("window %v must hold at least two scrapes (2 × interval %v)", c.Window, c.Interval))
	}
	return c, errors.Join(errs...)
}

// redact hides a URL's password (user:pass@host).
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	return u.Redacted()
}
