// Package recording names recorded Prometheus API answers (the unit
// tests' testdata/recorded/KEY.json, captured from the real server by the
// integration package) by what a request asks rather than its exact
// PromQL, so recordings survive rewording a query.
package recording

import (
	"regexp"
	"sort"
	"strings"
)

var (
	tagRE      = regexp.MustCompile(`"perch_metric", "([a-z0-9_]+)"`)
	exporterRE = regexp.MustCompile(`\b(kube|container|istio|gateway|kn|autoscaler|revision|aws|stackdriver)_[a-z0-9_]+`)
)

// Tags are the columns (perch_metric values) a query carries, in order.
func Tags(query string) []string {
	var out []string
	for _, m := range tagRE.FindAllStringSubmatch(query, -1) {
		out = append(out, m[1])
	}
	return out
}

// Exporter is the exporter family of the first metric a query names
// (kube, container, istio, gateway, kn, autoscaler, revision, aws,
// stackdriver), or "expr".
func Exporter(query string) string {
	if m := exporterRE.FindStringSubmatch(query); m != nil {
		return m[1]
	}
	return "expr"
}

// Key is PATH[-EXPORTER-TAG+TAG...] for an API path and query.
func Key(path, query string) string {
	path = path[strings.LastIndex(path, "/api/v1/")+len("/api/v1/"):]
	path = strings.ReplaceAll(strings.Trim(path, "/"), "/", "_")
	if query == "" {
		return path
	}
	tags := Tags(query)
	sort.Strings(tags)
	return path + "-" + Exporter(query) + "-" + strings.Join(tags, "+")
}
