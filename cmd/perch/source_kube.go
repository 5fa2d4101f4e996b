package main

import (
	"flag"
	"strings"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/kube"
)

func init() { registry["kubernetes"] = buildKube }

// buildKube turns a "type: kubernetes" entry into the source. Settings are
// kube.Config's yaml keys: kubeconfig, context, contexts, namespace,
// all_namespaces, namespaces, refresh, qps, burst, timeout, metrics,
// event_window, knative, knative_recheck, max_response_bytes.
func buildKube(src config.Source, cfg config.Config) (sources.Source, error) {
	var kc kube.Config
	if err := src.Decode(&kc); err != nil {
		return nil, err
	}
	return newKubeSource(src, kc, cfg)
}

func newKubeSource(src config.Source, kc kube.Config, cfg config.Config) (sources.Source, error) {
	kc.Name = src.Name
	kc.Prices = cfg.Prices
	kc.UserAgent = "perch/" + version
	if kc.Refresh == 0 {
		kc.Refresh = cfg.Refresh
	}
	s, err := kube.New(kc)
	if err != nil {
		return nil, src.Errorf(kubeSettingOf(err), "%s", strings.TrimPrefix(err.Error(), "kube: "))
	}
	return s, nil
}

// kubeSettingOf guesses the setting an error from kube.New is about, for
// the file:line of the message.
func kubeSettingOf(err error) string {
	msg := strings.TrimPrefix(err.Error(), "kube: ")
	for _, key := range []string{"all_namespaces", "event_window", "knative_recheck", "knative", "max_response_bytes", "namespaces", "namespace", "refresh", "timeout", "qps", "metrics"} {
		if strings.HasPrefix(msg, key) || strings.HasPrefix(msg, "set "+key) {
			return key
		}
	}
	return ""
}

// kubeFlags are kubectl's connection flags. Given on the command line they
// override the config's kubernetes source, or add one when it has none.
type kubeFlags struct {
	kubeconfig, context, namespace string
	allNamespaces                  bool
}

func (k *kubeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, then ~/.kube/config)")
	fs.StringVar(&k.context, "context", "", "kubeconfig context(s) to watch, comma-separated (default the current one)")
	fs.StringVar(&k.namespace, "namespace", "", "watch one namespace only")
	fs.StringVar(&k.namespace, "n", "", "shorthand for --namespace")
	fs.BoolVar(&k.allNamespaces, "all-namespaces", false, "watch every namespace, even when the context sets one")
	fs.BoolVar(&k.allNamespaces, "A", false, "shorthand for --all-namespaces")
}

// set reports whether any kubectl flag was given.
func (k kubeFlags) set() bool {
	return k.kubeconfig != "" || k.context != "" || k.namespace != "" || k.allNamespaces
}

// kubeFlagsSource builds a kubernetes source from the flags alone.
func kubeFlagsSource(k kubeFlags, cfg config.Config) (sources.Source, error) {
	var kc kube.Config
	k.apply(&kc)
	return newKubeSource(config.Source{Type: "kubernetes", Name: "kubernetes"}, kc, cfg)
}

// apply overrides what the flags set, as kubectl would: --context replaces
// the configured contexts, -n and -A replace each other.
func (k kubeFlags) apply(kc *kube.Config) {
	if k.kubeconfig != "" {
		kc.Kubeconfig = k.kubeconfig
	}
	if k.context != "" {
		kc.Context, kc.Contexts = k.context, nil
	}
	if k.namespace != "" {
		kc.Namespace, kc.AllNamespaces = k.namespace, false
	}
	if k.allNamespaces {
		kc.AllNamespaces = true
		if k.namespace == "" {
			kc.Namespace = ""
		}
	}
}

// builder decodes a configured kubernetes source and applies the flags.
func (k kubeFlags) builder() builder {
	return func(src config.Source, cfg config.Config) (sources.Source, error) {
		var kc kube.Config
		if err := src.Decode(&kc); err != nil {
			return nil, err
		}
		k.apply(&kc)
		return newKubeSource(src, kc, cfg)
	}
}
