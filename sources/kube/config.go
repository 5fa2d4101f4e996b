package kube

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/perch-dev/perch/cost"
)

// Defaults.
const (
	DefaultRefresh     = 15 * time.Second
	DefaultQPS         = 20
	DefaultBurst       = 40
	DefaultTimeout     = 15 * time.Second
	DefaultEventWindow = time.Hour
	// DefaultKnativeRecheck is how often discovery is asked again for a
	// missing Knative Serving.
	DefaultKnativeRecheck = 3 * time.Minute
	// MaxWarnings is the most warning events Warnings returns.
	MaxWarnings = 50
)

// Metrics modes.
const (
	MetricsAuto = "auto" // use metrics.k8s.io when the cluster serves it
	MetricsOff  = "off"  // never ask for usage
)

// Config configures the Kubernetes source: which kubeconfig, which contexts
// (one cluster per context), which namespaces.
type Config struct {
	// Name of the source in perch ("kubernetes" when empty).
	Name string `yaml:"-"`
	// Kubeconfig is the kubeconfig file, like kubectl --kubeconfig. Empty:
	// $KUBECONFIG (a list of files, merged), then ~/.kube/config.
	Kubeconfig string `yaml:"kubeconfig"`
	// Contexts to watch at once; each becomes WorkloadID.Cluster. Empty:
	// the kubeconfig's current context. Context (singular) is kubectl's
	// --context and is added to Contexts.
	Context  string   `yaml:"context"`
	Contexts []string `yaml:"contexts"`
	// Namespace limits perch to one namespace, like kubectl -n.
	// AllNamespaces (kubectl -A) watches every namespace. With neither,
	// perch uses the context's namespace when the kubeconfig sets one and
	// every namespace otherwise.
	Namespace     string `yaml:"namespace"`
	AllNamespaces bool   `yaml:"all_namespaces"`
	// Namespaces are watched one by one when listing a resource across all
	// namespaces is forbidden (namespace-scoped RBAC). Empty: the context's
	// namespace.
	Namespaces []string `yaml:"namespaces"`
	// Refresh is how often perch emits an update (changes are batched).
	Refresh time.Duration `yaml:"refresh"`
	// QPS and Burst bound the client's request rate (default 20 and 40).
	QPS   float64 `yaml:"qps"`
	Burst int     `yaml:"burst"`
	// Timeout bounds one-shot requests (metrics, health); watches are long-lived.
	Timeout time.Duration `yaml:"timeout"`
	// MaxResponseBytes bounds one answer that is not a watch stream
	// (default 256 MiB); a larger one fails with a message saying so.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// Metrics is "auto" (metrics.k8s.io when served) or "off".
	Metrics string `yaml:"metrics"`
	// EventWindow is how far back warning events are shown (default 1h).
	EventWindow time.Duration `yaml:"event_window"`
	// Knative is "auto" (show Knative Services when the cluster serves
	// serving.knative.dev/v1, and say so when it does not) or "off".
	Knative string `yaml:"knative"`
	// KnativeRecheck is how often perch asks discovery again while Knative
	// is not installed (default 3m), so an install is picked up without a
	// restart.
	KnativeRecheck time.Duration `yaml:"knative_recheck"`

	// Prices for cost; zero means cost.Defaults(). Set by the caller.
	Prices cost.Prices `yaml:"-"`
	// Clock stamps updates; nil is time.Now.
	Clock func() time.Time `yaml:"-"`
	// Getenv reads KUBECONFIG and HOME; nil is os.Getenv.
	Getenv func(string) string `yaml:"-"`
	// UserAgent identifies perch to the API server.
	UserAgent string `yaml:"-"`
}

// withDefaults returns a copy with defaults filled in, or an error naming
// the bad setting (never its value).
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = "kubernetes"
	}
	if c.Namespace != "" && c.AllNamespaces {
		return c, errors.New("kube: all_namespaces and namespace cannot both be set")
	}
	var contexts []string
	seen := map[string]bool{}
	for _, ctx := range append([]string{c.Context}, c.Contexts...) {
		for _, part := range strings.Split(ctx, ",") { // --context a,b
			part = strings.TrimSpace(part)
			if part != "" && !seen[part] {
				seen[part] = true
				contexts = append(contexts, part)
			}
		}
	}
	c.Context, c.Contexts = "", contexts
	// Messages name the setting, never its value (config errors must not
	// echo what the file holds).
	if c.Namespace != "" && !validDNSLabel(c.Namespace) {
		return c, errors.New("kube: namespace must be a namespace name (lowercase letters, digits and -)")
	}
	for i, ns := range c.Namespaces {
		if !validDNSLabel(ns) {
			return c, fmt.Errorf("kube: namespaces[%d] must be a namespace name (lowercase letters, digits and -)", i)
		}
	}
	for name, v := range map[string]*time.Duration{"refresh": &c.Refresh, "timeout": &c.Timeout, "event_window": &c.EventWindow,
		"knative_recheck": &c.KnativeRecheck} {
		if *v < 0 {
			return c, fmt.Errorf("kube: %s must not be negative", name)
		}
	}
	if c.Refresh == 0 {
		c.Refresh = DefaultRefresh
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxResponseBytes < 0 {
		return c, errors.New("kube: max_response_bytes must not be negative")
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.EventWindow == 0 {
		c.EventWindow = DefaultEventWindow
	}
	if c.KnativeRecheck == 0 {
		c.KnativeRecheck = DefaultKnativeRecheck
	}
	if c.QPS < 0 || math.IsNaN(c.QPS) || math.IsInf(c.QPS, 0) || c.Burst < 0 {
		return c, errors.New("kube: qps and burst must not be negative")
	}
	if c.QPS == 0 {
		c.QPS = DefaultQPS
	}
	if c.Burst == 0 {
		c.Burst = max(DefaultBurst, int(math.Ceil(c.QPS)))
	}
	switch c.Metrics {
	case "":
		c.Metrics = MetricsAuto
	case MetricsAuto, MetricsOff:
	default:
		return c, fmt.Errorf("kube: metrics must be %q or %q", MetricsAuto, MetricsOff)
	}
	switch c.Knative {
	case "":
		c.Knative = KnativeAuto
	case KnativeAuto, KnativeOff:
	default:
		return c, fmt.Errorf("kube: knative must be %q or %q", KnativeAuto, KnativeOff)
	}
	if c.Prices == (cost.Prices{}) {
		c.Prices = cost.Defaults()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.UserAgent == "" {
		c.UserAgent = "perch"
	}
	return c, nil
}

// validDNSLabel reports whether s is an RFC 1123 label (a namespace name).
func validDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}
