package kube

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sync/atomic"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/transport"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/perch-dev/perch/sources/secret"
)

// InClusterContext is the cluster name used when perch runs inside a pod
// without a kubeconfig (service-account credentials).
const InClusterContext = "in-cluster"

// ErrNoKubeconfig is reported when neither a kubeconfig nor in-cluster
// credentials exist.
var ErrNoKubeconfig = errors.New("no kubeconfig found")

// clients are the API clients of one cluster (one context).
type clients struct {
	core    kubernetes.Interface
	metrics metricsclient.Interface // nil when metrics are off
	// dynamic reads custom resources (Knative); nil leaves them out.
	dynamic dynamic.Interface
	// server is the API server URL, for messages.
	server string
	// namespace is the context's namespace, "" when the kubeconfig sets none.
	namespace string
	// supportsWatchList is false for fake clients in tests.
	watchListClient any
	// health probes the API server (health.go); nil for fake clients.
	health *connHealth
	// secrets are the context's credentials, for redaction (secrets.go);
	// nil for fake clients.
	secrets *secret.Redactor
}

// kubeconfigFiles are the files kubectl would read, in precedence order.
func kubeconfigFiles(c Config) []string {
	if c.Kubeconfig != "" {
		return []string{c.Kubeconfig}
	}
	if env := c.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		var files []string
		seen := map[string]bool{}
		for _, f := range filepath.SplitList(env) {
			if f != "" && !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
		return files
	}
	if home := c.Getenv("HOME"); home != "" {
		return []string{filepath.Join(home, clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)}
	}
	return nil
}

// loadKubeconfig reads and merges the kubeconfig like kubectl. It returns
// (nil, rules, nil) when no file exists but in-cluster credentials do.
func loadKubeconfig(c Config) (*clientcmdapi.Config, *clientcmd.ClientConfigLoadingRules, error) {
	files := kubeconfigFiles(c)
	rules := &clientcmd.ClientConfigLoadingRules{Warner: func(error) {}}
	if c.Kubeconfig != "" {
		rules.ExplicitPath = c.Kubeconfig
	} else {
		rules.Precedence = files
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, rules, fmt.Errorf("reading kubeconfig: %w", err)
	}
	if len(raw.Contexts) == 0 {
		if c.Getenv("KUBERNETES_SERVICE_HOST") != "" && c.Kubeconfig == "" {
			return nil, rules, nil
		}
		where := "set KUBECONFIG or create ~/.kube/config"
		if len(files) > 0 {
			where = fmt.Sprintf("looked in %v", files)
		}
		return nil, rules, fmt.Errorf("%w (%s)", ErrNoKubeconfig, where)
	}
	return raw, rules, nil
}

// contextNames resolves the configured contexts (or the current one).
func contextNames(c Config, raw *clientcmdapi.Config) ([]string, error) {
	if raw == nil {
		if len(c.Contexts) > 0 {
			return nil, fmt.Errorf("%w: contexts %v need a kubeconfig", ErrNoKubeconfig, c.Contexts)
		}
		return []string{InClusterContext}, nil
	}
	if len(c.Contexts) > 0 {
		return c.Contexts, nil
	}
	if raw.CurrentContext == "" {
		return nil, errors.New("the kubeconfig has no current-context: set contexts in perch's config or run kubectl config use-context")
	}
	return []string{raw.CurrentContext}, nil
}

// requestCounter counts the API requests perch makes, by verb.
type requestCounter struct {
	gets, watches, refused atomic.Int64
}

// RequestCounts is how many API requests a source made.
type RequestCounts struct {
	// Reads are GET requests that are not watches (list and get).
	Reads int64
	// Watches are watch requests (including streaming initial lists).
	Watches int64
	// Refused are requests perch's read-only guard stopped (always 0
	// unless there is a bug).
	Refused int64
}

func (r *requestCounter) counts() RequestCounts {
	return RequestCounts{Reads: r.gets.Load(), Watches: r.watches.Load(), Refused: r.refused.Load()}
}

// readOnlyTransport refuses every request that is not a GET: list, get and
// watch are GETs, so perch cannot mutate a cluster even by mistake.
type readOnlyTransport struct {
	next    http.RoundTripper
	counter *requestCounter
}

func (t *readOnlyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		t.counter.refused.Add(1)
		return nil, fmt.Errorf("perch is read-only: refusing %s %s", req.Method, req.URL.Path)
	}
	if req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1" {
		t.counter.watches.Add(1)
	} else {
		t.counter.gets.Add(1)
	}
	return t.next.RoundTrip(req)
}

// connect builds the clients for one context.
func connect(c Config, raw *clientcmdapi.Config, rules *clientcmd.ClientConfigLoadingRules, context string, counter *requestCounter) (*clients, error) {
	var (
		rc  *rest.Config
		ns  string
		err error
	)
	if raw == nil {
		rc, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config: %w", err)
		}
	} else {
		kctx, ok := raw.Contexts[context]
		if !ok {
			return nil, fmt.Errorf("context %q does not exist in the kubeconfig", context)
		}
		ns = kctx.Namespace
		cc := clientcmd.NewNonInteractiveClientConfig(*raw, context, &clientcmd.ConfigOverrides{}, rules)
		rc, err = cc.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("context %q: %w", context, err)
		}
	}
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = float32(c.QPS), c.Burst
	rc.UserAgent = c.UserAgent
	red := credentialRedactor(rc)
	rc.WrapTransport = transport.Wrappers(guardCredentials(rc, red), rc.WrapTransport) // innermost (secrets.go)
	rc.WrapTransport = transport.Wrappers(rc.WrapTransport, func(rt http.RoundTripper) http.RoundTripper {
		return &readOnlyTransport{next: rt, counter: counter}
	}, func(rt http.RoundTripper) http.RoundTripper {
		return &capTransport{next: rt, max: c.MaxResponseBytes}
	})
	core := rest.CopyConfig(rc)
	// Protobuf is several times smaller and cheaper to decode than JSON for
	// the built-in types (the metrics API speaks JSON only).
	core.ContentType = "application/vnd.kubernetes.protobuf"
	core.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cs, err := kubernetes.NewForConfig(core)
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", context, err)
	}
	// Custom resources speak JSON only.
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("context %q: dynamic client: %w", context, err)
	}
	cl := &clients{core: cs, dynamic: dyn, server: serverHost(rc.Host), namespace: ns, watchListClient: cs}
	if c.Metrics != MetricsOff {
		mc, err := metricsclient.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("context %q: metrics client: %w", context, err)
		}
		cl.metrics = mc
	}
	cl.health = newConnHealth(versionProbe(cs.CoreV1().RESTClient()))
	cl.secrets = red
	return cl, nil
}

// serverHost strips anything but scheme and host from the server URL.
func serverHost(h string) string {
	u, err := url.Parse(h)
	if err != nil || u.Host == "" {
		return h
	}
	return u.Scheme + "://" + u.Host
}
