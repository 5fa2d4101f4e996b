package jaeger

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults and limits.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultRefresh      = 30 * time.Second
	DefaultSearchDepth  = 200
	MaxSearchDepth      = 5000
	DefaultLimit        = 20
	MaxLimit            = 500
	DefaultWindow       = 15 * time.Minute
	DefaultMaxBodyBytes = 64 << 20
	// DefaultMaxSpans caps the spans of one answer: a search's
	// search_depth traces (200 traces of 250 spans), or one trace.
	DefaultMaxSpans = 50_000
)

// API selects the query API generation.
const (
	APIAuto = "auto" // v3 when the server has it, else v1
	APIV1   = "v1"   // /api/traces (Jaeger UI's JSON)
	APIV3   = "v3"   // /api/v3/traces (OTLP JSON)
)

// TLSConfig configures the HTTPS connection to the query service.
type TLSConfig struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Config configures one Jaeger query service (v1 or v2, any storage).
type Config struct {
	// Name of the source in perch ("jaeger" when empty).
	Name string `yaml:"-"`
	// URL is the query service root, e.g. http://jaeger-query:16686 (a
	// path prefix such as /jaeger is kept).
	URL string `yaml:"url"`
	// BearerToken or TokenFile (re-read on every request, so rotated
	// tokens work) set Authorization: Bearer.
	BearerToken string    `yaml:"bearer_token"`
	TokenFile   string    `yaml:"token_file"`
	TLS         TLSConfig `yaml:"tls"`
	// Timeout bounds every HTTP call (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// Cluster is the WorkloadID.Cluster of the services; when set, trace
	// queries for workloads of another cluster are refused (one Jaeger per
	// cluster).
	Cluster string `yaml:"cluster"`
	// API is auto (default), v1 or v3.
	API string `yaml:"api"`
	// SearchDepth is how many traces one search may return (default 200):
	// the failed traces are looked for among them, and the slowest are
	// refined with minDuration from there.
	SearchDepth int `yaml:"search_depth"`
	// Refresh is how often Run checks the server (default 30s).
	Refresh time.Duration `yaml:"refresh"`
	// MaxSpans caps the spans read from one answer (default 50,000);
	// past it the answer is dropped with an error saying so, so memory
	// stays bounded whatever the server sends.
	MaxSpans int `yaml:"max_spans"`
	// ListServices makes Run report every traced service as a workload.
	// Off by default: with a metrics source the rows come from there, and
	// Jaeger knows neither kinds nor platforms.
	ListServices bool `yaml:"list_services"`

	// Clock is "now" for default windows; nil is time.Now.
	Clock func() time.Time `yaml:"-"`
}

// withDefaults returns a copy with defaults filled in, or an error naming
// the bad setting (never its value).
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = "jaeger"
	}
	if strings.TrimSpace(c.URL) == "" {
		return c, errors.New("jaeger: url is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, errors.New("jaeger: url must be an absolute http:// or https:// URL")
	}
	if u.User != nil {
		return c, errors.New("jaeger: url must not contain credentials (use bearer_token or token_file)")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return c, errors.New("jaeger: url must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c.URL = u.String()
	if c.BearerToken != "" && c.TokenFile != "" {
		return c, errors.New("jaeger: set bearer_token or token_file, not both")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return c, errors.New("jaeger: tls.cert_file and tls.key_file go together")
	}
	if c.Timeout < 0 || c.Refresh < 0 {
		return c, errors.New("jaeger: timeout and refresh must not be negative")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Refresh == 0 {
		c.Refresh = DefaultRefresh
	}
	switch c.API {
	case "":
		c.API = APIAuto
	case APIAuto, APIV1, APIV3:
	default:
		return c, fmt.Errorf("jaeger: api must be %s, %s or %s", APIAuto, APIV1, APIV3)
	}
	if c.SearchDepth < 0 || c.SearchDepth > MaxSearchDepth {
		return c, fmt.Errorf("jaeger: search_depth must be between 1 and %d", MaxSearchDepth)
	}
	if c.SearchDepth == 0 {
		c.SearchDepth = DefaultSearchDepth
	}
	if c.MaxSpans < 0 {
		return c, errors.New("jaeger: max_spans must not be negative")
	}
	if c.MaxSpans == 0 {
		c.MaxSpans = DefaultMaxSpans
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c, nil
}
