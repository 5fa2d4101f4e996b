package prometheus

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/prometheus/metricnames"
)

// Labels every column query returns (besides the optional cluster label).
const (
	labelNamespace = "namespace"
	labelWorkload  = "workload"
	labelKind      = "workload_kind"
	labelPlatform  = "platform"
	labelMetric    = "perch_metric"
)

// Internal columns: not sources.Metric, used for cost and Workload fields.
const (
	colLambdaDuration = "lambda_duration_avg_seconds"
	colLambdaMemory   = "lambda_memory_mb"
)

// LambdaNamespace is the WorkloadID.Namespace of Lambda functions whose
// series carry no region label.
const LambdaNamespace = "lambda"

// OpenFaaSNamespace is the namespace of functions whose function_name has
// no ".namespace" suffix (OpenFaaS's default function namespace).
const OpenFaaSNamespace = "openfaas-fn"

// filter narrows every selector of a column to one workload (for Range);
// the zero filter selects all workloads.
type filter struct{ cluster, ns, wl string }

// qctx is what a column needs to render its PromQL.
type qctx struct {
	cl       string  // cluster label, "" when not split by cluster
	w        string  // rate window, e.g. "5m"
	lookback string  // CloudWatch lookback, e.g. "15m"
	period   float64 // CloudWatch period in seconds
	f        filter
}

func newQctx(c Config, f filter) qctx {
	return qctx{
		cl:       c.ClusterLabel,
		w:        promDuration(c.RateWindow),
		lookback: promDuration(c.CloudWatchLookback),
		period:   c.CloudWatchPeriod.Seconds(),
		f:        f,
	}
}

// promDuration renders d in PromQL's duration syntax (whole milliseconds).
func promDuration(d time.Duration) string {
	ms := d.Milliseconds()
	switch {
	case ms <= 0:
		return "1ms"
	case ms%3_600_000 == 0:
		return strconv.FormatInt(ms/3_600_000, 10) + "h"
	case ms%60_000 == 0:
		return strconv.FormatInt(ms/60_000, 10) + "m"
	case ms%1000 == 0:
		return strconv.FormatInt(ms/1000, 10) + "s"
	default:
		return strconv.FormatInt(ms, 10) + "ms"
	}
}

// labels joins the cluster label (if any) and ls for by()/on() clauses.
func (q qctx) labels(ls ...string) string {
	if q.cl != "" {
		ls = append([]string{q.cl}, ls...)
	}
	return strings.Join(ls, ", ")
}

// sel renders a vector selector with the given matchers (empty ones are
// skipped) plus the cluster matcher of the filter.
func (q qctx) sel(name string, ms ...string) string {
	var out []string
	for _, m := range ms {
		if m != "" {
			out = append(out, m)
		}
	}
	if q.cl != "" && q.f.cluster != "" {
		out = append(out, eq(q.cl, q.f.cluster))
	}
	if len(out) == 0 {
		return name
	}
	return name + "{" + strings.Join(out, ", ") + "}"
}

// eq renders label="v", or "" when v is empty (no filter).
func eq(label, v string) string {
	if v == "" {
		return ""
	}
	return label + "=" + strconv.Quote(v)
}

// prefix renders label=~"v-.*" (pods and ReplicaSets of workload v).
func prefix(label, v string) string {
	if v == "" {
		return ""
	}
	return label + "=~" + strconv.Quote(regexp.QuoteMeta(v)+"-.*")
}

// tag marks a column's series with the metric it carries.
func tag(expr, metric string) string {
	return fmt.Sprintf(`label_replace(%s, %q, %q, "", "")`, expr, labelMetric, metric)
}

// rename copies label src into dst (when src is non-empty).
func rename(expr, dst, src string) string {
	return fmt.Sprintf(`label_replace(%s, %q, "$1", %q, "(.+)")`, expr, dst, src)
}

// set sets label dst to the constant v.
func set(expr, dst, v string) string {
	return fmt.Sprintf(`label_replace(%s, %q, %q, "", "")`, expr, dst, v)
}

// column is one metric of a preset: a PromQL expression returning one
// series per workload with labels namespace and workload.
type column struct {
	metric string
	expr   func(q qctx) string
}

// family is a group of columns fetched by one query (their expressions
// joined with "or", each tagged with perch_metric).
type family struct {
	name string
	cols []column
}

// preset maps one exporter's metric names to perch's columns.
type preset struct {
	name     string
	platform sources.Platform
	kind     sources.Kind // "" means: from the workload_kind label
	// priority decides the platform/kind of a workload reported by several
	// presets (a function on Kubernetes is a function).
	priority int
	// detect: the preset is active when the server has any of these names.
	detect   []string
	families []family
}

// latency reports whether the family carries histogram quantiles.
func (f family) latency() bool {
	for _, c := range f.cols {
		if c.metric == sources.LatencyP50.String() {
			return true
		}
	}
	return false
}

func (p *preset) columns() []column {
	var out []column
	for _, f := range p.families {
		out = append(out, f.cols...)
	}
	return out
}

// presetAliases maps config names to presets.
var presetAliases = map[string][]string{
	PresetKubernetes:        {PresetKubernetes},
	"kube":                  {PresetKubernetes},
	PresetIstio:             {PresetIstio},
	PresetOpenFaaS:          {PresetOpenFaaS},
	PresetKnative:           {PresetKnativeOTel, PresetKnativeOpenCensus},
	PresetKnativeOTel:       {PresetKnativeOTel},
	PresetKnativeOpenCensus: {PresetKnativeOpenCensus},
	PresetLambda:            {PresetLambda},
	PresetAppEngine:         {PresetAppEngine},
}

// allPresets in the order their families are queried and merged: later
// presets win ties of equal priority.
var allPresets = []*preset{
	kubernetesPreset(), istioPreset(), openfaasPreset(),
	knativeOTelPreset(), knativeOpenCensusPreset(), lambdaPreset(), appenginePreset(),
}

func presetByName(name string) *preset {
	for _, p := range allPresets {
		if p.name == name {
			return p
		}
	}
	return nil
}

// detectNames lists every metric name that activates a preset.
func detectNames() []string {
	var out []string
	for _, p := range allPresets {
		out = append(out, p.detect...)
	}
	return out
}

// ---- shared column builders ----

// traffic returns requests_per_second and error_ratio columns from a
// request counter; errSel is the matcher of failed requests.
func traffic(counter string, ms func(q qctx) []string, errSel string, by []string, relabel func(qctx, string) string) []column {
	sum := func(q qctx, extra string) string {
		return fmt.Sprintf(`sum by (%s) (rate(%s[%s]))`, q.labels(by...), q.sel(counter, append(ms(q), extra)...), q.w)
	}
	return []column{
		{sources.RequestRate.String(), func(q qctx) string { return relabel(q, sum(q, "")) }},
		{sources.ErrorRatio.String(), func(q qctx) string {
			total := sum(q, "")
			return relabel(q, fmt.Sprintf(`(%s or 0 * %s) / %s`, sum(q, errSel), total, total))
		}},
	}
}

// quantiles returns latency_p50/p95/p99 columns from a histogram (classic
// base_bucket, or native base), converted to seconds by dividing by scale.
func quantiles(base string, ms func(q qctx) []string, by []string, scale float64, relabel func(qctx, string) string) []column {
	var out []column
	for _, c := range []struct {
		m sources.Metric
		q string
	}{{sources.LatencyP50, "0.5"}, {sources.LatencyP95, "0.95"}, {sources.LatencyP99, "0.99"}} {
		out = append(out, column{c.m.String(), func(q qctx) string {
			classic := fmt.Sprintf(`histogram_quantile(%s, sum by (%s) (rate(%s[%s])))`,
				c.q, q.labels(slices.Concat(by, []string{"le"})...), q.sel(base+"_bucket", ms(q)...), q.w)
			native := fmt.Sprintf(`histogram_quantile(%s, sum by (%s) (rate(%s[%s])))`,
				c.q, q.labels(by...), q.sel(base, ms(q)...), q.w)
			e := "(" + classic + " or " + native + ")"
			if scale != 1 {
				e += " / " + strconv.FormatFloat(scale, 'g', -1, 64)
			}
			return relabel(q, e)
		}})
	}
	return out
}

// ---- Kubernetes: kube-state-metrics + cAdvisor ----

func kubernetesPreset() *preset {
	wl := func(expr, src, kind string) string {
		return set(knativeRevision(rename(expr, labelWorkload, src), src), labelKind, kind)
	}
	// replicas builds one column from the per-kind metric names ("" = none).
	replicas := func(m sources.Metric, deploy, sts, ds string) column {
		return column{m.String(), func(q qctx) string {
			var parts []string
			add := func(name, src, kind string) {
				if name == "" {
					return
				}
				var alts []string
				for _, n := range strings.Split(name, "|") {
					m := eq(src, q.f.wl)
					if src == "deployment" && q.f.wl != "" {
						m = src + "=~" + strconv.Quote(regexp.QuoteMeta(q.f.wl)+"(-[0-9]{5}-deployment)?")
					}
					alts = append(alts, wl(q.sel(n, eq("namespace", q.f.ns), m), src, kind))
				}
				parts = append(parts, strings.Join(alts, " or "))
			}
			add(deploy, "deployment", string(sources.Deployment))
			add(sts, "statefulset", string(sources.StatefulSet))
			add(ds, "daemonset", string(sources.DaemonSet))
			// max dedups HA kube-state-metrics; sum adds up the revisions
			// of one Knative service.
			return fmt.Sprintf(`sum by (%s) (max by (%s) (%s))`, q.labels(labelNamespace, labelWorkload, labelKind),
				q.labels(labelNamespace, labelWorkload, labelKind, "deployment", "statefulset", "daemonset"), strings.Join(parts, " or "))
		}}
	}
	hpa := func(m sources.Metric, name string) column {
		return column{m.String(), func(q qctx) string {
			// The workload is the HPA's scale target.
			info := fmt.Sprintf(`label_replace(%s, %q, "$1", "scaletargetref_kind", "(.+)")`,
				rename(q.sel(metricnames.KubeHPAInfo, eq("namespace", q.f.ns), eq("scaletargetref_name", q.f.wl)), labelWorkload, "scaletargetref_name"), labelKind)
			return fmt.Sprintf(`max by (%[1]s) (max by (%[2]s) (%[3]s) * on (%[2]s) group_left (%[4]s, %[5]s) max by (%[6]s) (%[7]s))`,
				q.labels(labelNamespace, labelWorkload, labelKind),
				q.labels("namespace", "horizontalpodautoscaler"),
				q.sel(name, eq("namespace", q.f.ns)),
				labelWorkload, labelKind,
				q.labels("namespace", "horizontalpodautoscaler", labelWorkload, labelKind),
				info)
		}}
	}
	// podOwner maps (namespace, pod) to (workload, workload_kind) through
	// kube_pod_owner and kube_replicaset_owner, one owner per pod.
	// With overWindow, pods that ran at any time in the rate window count
	// (so a 5 m CPU rate includes pods that have ended since).
	podOwner := func(q qctx, overWindow bool) string {
		ns := eq("namespace", q.f.ns)
		over := func(sel string) string {
			if overWindow {
				return fmt.Sprintf("max_over_time(%s[%s])", sel, q.w)
			}
			return sel
		}
		rsPods := rename(over(q.sel(metricnames.KubePodOwner, `owner_kind="ReplicaSet"`, ns, prefix("pod", q.f.wl))), "replicaset", "owner_name")
		rsOwner := fmt.Sprintf(`max by (%s) (%s)`, q.labels("namespace", "replicaset", "owner_name", "owner_kind"),
			over(q.sel(metricnames.KubeReplicaSetOwner, `owner_kind="Deployment"`, ns, prefix("replicaset", q.f.wl))))
		viaRS := fmt.Sprintf(`%s * on (%s) group_left (owner_name, owner_kind) %s`, rsPods, q.labels("namespace", "replicaset"), rsOwner)
		direct := over(q.sel(metricnames.KubePodOwner, `owner_kind=~"StatefulSet|DaemonSet"`, ns, prefix("pod", q.f.wl)))
		owned := fmt.Sprintf(`label_replace(%s, %q, "$1", "owner_kind", "(.+)")`,
			knativeRevision(rename(viaRS+" or "+direct, labelWorkload, "owner_name"), "owner_name"), labelKind)
		return fmt.Sprintf(`topk by (%s) (1, max by (%s) (%s))`, q.labels("namespace", "pod"),
			q.labels("namespace", "pod", labelWorkload, labelKind), owned)
	}
	perPod := func(m sources.Metric, overWindow bool, inner func(q qctx) string) column {
		return column{m.String(), func(q qctx) string {
			return fmt.Sprintf(`sum by (%s) (%s * on (%s) group_left (%s, %s) %s)`,
				q.labels(labelNamespace, labelWorkload, labelKind), inner(q), q.labels("namespace", "pod"),
				labelWorkload, labelKind, podOwner(q, overWindow))
		}}
	}
	request := func(resource string) func(q qctx) string {
		return func(q qctx) string {
			return fmt.Sprintf(`sum by (%s) (max by (%s) (%s))`, q.labels("namespace", "pod"),
				q.labels("namespace", "pod", "container"),
				q.sel(metricnames.KubePodContainerRequests, `resource="`+resource+`"`, eq("namespace", q.f.ns), prefix("pod", q.f.wl)))
		}
	}
	return &preset{
		name: PresetKubernetes, platform: sources.Kubernetes, priority: 1,
		detect: []string{metricnames.KubeDeploymentSpecReplicas, metricnames.KubeStatefulSetReplicas, metricnames.KubeDaemonSetDesired},
		families: []family{
			{"kube_replicas", []column{
				replicas(sources.ReplicasDesired, metricnames.KubeDeploymentSpecReplicas, metricnames.KubeStatefulSetReplicas, metricnames.KubeDaemonSetDesired),
				replicas(sources.ReplicasCurrent, metricnames.KubeDeploymentStatusReplicas, metricnames.KubeStatefulSetStatusReplicas, metricnames.KubeDaemonSetCurrent),
				replicas(sources.ReplicasReady, metricnames.KubeDeploymentReady+"|"+metricnames.KubeDeploymentAvailable, metricnames.KubeStatefulSetReady, metricnames.KubeDaemonSetReady),
			}},
			{"kube_hpa", []column{
				hpa(sources.ReplicasMin, metricnames.KubeHPAMin),
				hpa(sources.ReplicasMax, metricnames.KubeHPAMax),
			}},
			{"kube_requests", []column{
				perPod(sources.CPURequest, false, request("cpu")),
				perPod(sources.MemRequest, false, request("memory")),
			}},
			{"kube_usage", []column{
				perPod(sources.CPUUsage, true, func(q qctx) string {
					return fmt.Sprintf(`sum by (%s) (rate(%s[%s]))`, q.labels("namespace", "pod"),
						q.sel(metricnames.CAdvisorCPU, `container!=""`, `container!="POD"`, eq("namespace", q.f.ns), prefix("pod", q.f.wl)), q.w)
				}),
				perPod(sources.MemUsage, false, func(q qctx) string {
					return fmt.Sprintf(`sum by (%s) (max by (%s) (%s))`, q.labels("namespace", "pod"), q.labels("namespace", "pod", "container"),
						q.sel(metricnames.CAdvisorMemory, `container!=""`, `container!="POD"`, eq("namespace", q.f.ns), prefix("pod", q.f.wl)))
				}),
			}},
		},
	}
}

// knativeRevision maps a Knative revision's Deployment
// (<service>-<5 digits>-deployment, Knative's default names) to the
// service, so its pods' cost lands on the Knative workload.
func knativeRevision(expr, src string) string {
	return fmt.Sprintf(`label_replace(%s, %q, "$1", %q, "(.+)-[0-9]{5}-deployment")`, expr, labelWorkload, src)
}

// ---- Istio (destination-reported) ----

func istioPreset() *preset {
	by := []string{"destination_workload_namespace", "destination_workload"}
	relabel := func(_ qctx, e string) string {
		return set(rename(rename(e, labelNamespace, "destination_workload_namespace"), labelWorkload, "destination_workload"), labelKind, string(sources.Deployment))
	}
	ms := func(q qctx) []string {
		return []string{`reporter="destination"`, `destination_workload!="unknown"`,
			eq("destination_workload_namespace", q.f.ns), eq("destination_workload", q.f.wl)}
	}
	return &preset{
		name: PresetIstio, platform: sources.Kubernetes, priority: 0,
		detect: []string{metricnames.IstioRequests},
		families: []family{
			{"istio_traffic", traffic(metricnames.IstioRequests, ms, `response_code=~"5.."`, by, relabel)},
			{"istio_latency", quantiles(metricnames.IstioDuration, ms, by, 1000, relabel)},
		},
	}
}

// ---- OpenFaaS gateway ----

func openfaasPreset() *preset {
	by := []string{"function_name"}
	// function_name is "name.namespace" (or just "name" on old gateways).
	relabel := func(_ qctx, e string) string {
		e = set(e, labelNamespace, OpenFaaSNamespace)
		e = fmt.Sprintf(`label_replace(%s, %q, "$1", "function_name", "[^.]+\\.(.+)")`, e, labelNamespace)
		return fmt.Sprintf(`label_replace(%s, %q, "$1", "function_name", "([^.]+).*")`, e, labelWorkload)
	}
	ms := func(q qctx) []string {
		if q.f.wl == "" {
			return nil
		}
		return []string{"function_name=~" + strconv.Quote(regexp.QuoteMeta(q.f.wl)+`(\..*)?`)}
	}
	gauge := func(m sources.Metric, name, agg string) column {
		return column{m.String(), func(q qctx) string {
			return relabel(q, fmt.Sprintf(`%s by (%s) (%s)`, agg, q.labels(by...), q.sel(name, ms(q)...)))
		}}
	}
	return &preset{
		name: PresetOpenFaaS, platform: sources.OpenFaaS, kind: sources.Function, priority: 2,
		detect: []string{metricnames.OpenFaaSInvocations, metricnames.OpenFaaSReplicas, metricnames.OpenFaaSSeconds + "_bucket"},
		families: []family{
			{"openfaas_traffic", append(traffic(metricnames.OpenFaaSInvocations, ms, `code=~"5.."`, by, relabel),
				gauge(sources.ReplicasCurrent, metricnames.OpenFaaSReplicas, "max"),
				gauge(sources.Concurrency, metricnames.OpenFaaSInflight, "sum"),
			)},
			{"openfaas_latency", quantiles(metricnames.OpenFaaSSeconds, ms, by, 1, relabel)},
		},
	}
}

// ---- Knative Serving ----

// knative builds either generation from its label and metric names.
func knative(name, nsLabel, svcLabel, cfgLabel string, n knNames) *preset {
	by := []string{nsLabel, svcLabel, cfgLabel}
	relabel := func(_ qctx, e string) string {
		e = rename(e, labelWorkload, cfgLabel) // revisions without a Service
		e = rename(e, labelWorkload, svcLabel)
		return rename(e, labelNamespace, nsLabel)
	}
	ms := func(q qctx) []string { return []string{eq(nsLabel, q.f.ns), eq(svcLabel, q.f.wl)} }
	sum := func(q qctx, metric string) string {
		return fmt.Sprintf(`sum by (%s) (%s)`, q.labels(by...), q.sel(metric, ms(q)...))
	}
	gauge := func(m sources.Metric, metric string) column {
		return column{m.String(), func(q qctx) string { return relabel(q, sum(q, metric)) }}
	}
	cols := traffic(n.requests, ms, n.errSel, by, relabel)
	cols = append(cols,
		gauge(sources.ReplicasDesired, n.desired),
		gauge(sources.ReplicasCurrent, n.actual),
		column{sources.ReplicasReady.String(), func(q qctx) string {
			a := sum(q, n.actual)
			return relabel(q, fmt.Sprintf(`%s - (%s or 0 * %s)`, a, sum(q, n.notReady), a))
		}},
		gauge(sources.Concurrency, n.concurrency),
	)
	return &preset{
		name: name, platform: sources.Knative, kind: sources.Function, priority: 2,
		detect: []string{n.desired, n.latency + "_bucket"},
		families: []family{
			{strings.ReplaceAll(name, "-", "_") + "_traffic", cols},
			{strings.ReplaceAll(name, "-", "_") + "_latency", quantiles(n.latency, ms, by, n.latencyScale, relabel)},
		},
	}
}

type knNames struct {
	requests, errSel, latency              string
	latencyScale                           float64
	desired, actual, notReady, concurrency string
}

// knativeOTelPreset: Serving >= 1.19 (OpenTelemetry SDK, kn_* names).
func knativeOTelPreset() *preset {
	return knative(PresetKnativeOTel, "k8s_namespace_name", "kn_service_name", "kn_configuration_name", knNames{
		requests: metricnames.KnOTelDuration + "_count", errSel: `http_response_status_code=~"5.."`,
		latency: metricnames.KnOTelDuration, latencyScale: 1,
		desired: metricnames.KnOTelPodsDesired, actual: metricnames.KnOTelPodsCount,
		notReady: metricnames.KnOTelPodsNotReady, concurrency: metricnames.KnOTelConcurrency,
	})
}

// knativeOpenCensusPreset: Serving <= 1.18 (OpenCensus names).
func knativeOpenCensusPreset() *preset {
	return knative(PresetKnativeOpenCensus, "namespace_name", "service_name", "configuration_name", knNames{
		requests: metricnames.KnOCRequestCount, errSel: `response_code_class="5xx"`,
		latency: metricnames.KnOCRequestLatencies, latencyScale: 1000,
		desired: metricnames.KnOCDesiredPods, actual: metricnames.KnOCActualPods,
		notReady: metricnames.KnOCNotReadyPods, concurrency: metricnames.KnOCStableConcurrency,
	})
}

// ---- AWS Lambda via the CloudWatch exporters ----

// lambdaPreset reads the official cloudwatch_exporter (label function_name)
// and YACE (dimension_FunctionName, region) alike. CloudWatch values are
// per-period statistics published late, hence last_over_time.
func lambdaPreset() *preset {
	by := []string{"function_name", "dimension_FunctionName", "dimension_function_name", "region"}
	relabel := func(_ qctx, e string) string {
		e = rename(e, labelWorkload, "function_name")
		e = rename(e, labelWorkload, "dimension_FunctionName")
		e = rename(e, labelWorkload, "dimension_function_name")
		e = set(e, labelNamespace, LambdaNamespace)
		return rename(e, labelNamespace, "region")
	}
	// Only whole-function series: not per alias/version.
	whole := []string{`resource=""`, `dimension_Resource=""`, `executed_version=""`, `dimension_ExecutedVersion=""`}
	g := func(q qctx, name string) string {
		return fmt.Sprintf(`max by (%s) (last_over_time(%s[%s]))`, q.labels(by...), q.sel(name, whole...), q.lookback)
	}
	per := func(q qctx) string { return strconv.FormatFloat(q.period, 'g', -1, 64) }
	col := func(m string, f func(q qctx) string) column {
		return column{m, func(q qctx) string { return relabel(q, f(q)) }}
	}
	ms := func(q qctx, name string, scale string) string {
		return g(q, name) + " / " + scale
	}
	return &preset{
		name: PresetLambda, platform: sources.Lambda, kind: sources.Function, priority: 2,
		detect: []string{metricnames.LambdaInvocations},
		families: []family{
			{"lambda_metrics", []column{
				col(sources.RequestRate.String(), func(q qctx) string { return g(q, metricnames.LambdaInvocations) + " / " + per(q) }),
				col(sources.ErrorRatio.String(), func(q qctx) string {
					inv := g(q, metricnames.LambdaInvocations)
					return fmt.Sprintf(`(%s or 0 * %s) / %s`, g(q, metricnames.LambdaErrors), inv, inv)
				}),
				col(sources.Concurrency.String(), func(q qctx) string { return g(q, metricnames.LambdaConcurrent) }),
				col(sources.ColdStarts.String(), func(q qctx) string {
					return fmt.Sprintf(`(%s or %s) / %s * 60`, g(q, metricnames.LambdaInsightsInitCount), g(q, metricnames.LambdaInsightsInitCountYACE), per(q))
				}),
				col(colLambdaMemory, func(q qctx) string {
					return fmt.Sprintf(`%s or %s`, g(q, metricnames.LambdaInsightsMemory), g(q, metricnames.LambdaInsightsMemoryYACE))
				}),
			}},
			{"lambda_duration", []column{
				col(sources.LatencyP50.String(), func(q qctx) string { return ms(q, metricnames.LambdaDurationP50, "1000") }),
				col(sources.LatencyP95.String(), func(q qctx) string { return ms(q, metricnames.LambdaDurationP95, "1000") }),
				col(sources.LatencyP99.String(), func(q qctx) string { return ms(q, metricnames.LambdaDurationP99, "1000") }),
				col(colLambdaDuration, func(q qctx) string { return ms(q, metricnames.LambdaDurationAvg, "1000") }),
			}},
		},
	}
}

// ---- Google App Engine via the Stackdriver exporter ----

// appenginePreset reads stackdriver_exporter's gae_app metrics; the
// response_count DELTA metric must be exported as a counter
// (--monitoring.aggregate-deltas).
func appenginePreset() *preset {
	by := []string{"project_id", "module_id"}
	relabel := func(_ qctx, e string) string {
		return rename(rename(e, labelNamespace, "project_id"), labelWorkload, "module_id")
	}
	ms := func(q qctx) []string { return []string{eq("project_id", q.f.ns), eq("module_id", q.f.wl)} }
	sum := func(q qctx, extra string) string {
		return fmt.Sprintf(`sum by (%s) (rate(%s[%s]))`, q.labels(by...), q.sel(metricnames.GAEResponseCount, append(ms(q), extra)...), q.w)
	}
	cols := traffic(metricnames.GAEResponseCount, ms, `response_code=~"5.."`, by, relabel)
	cols = append(cols,
		column{sources.ColdStarts.String(), func(q qctx) string {
			return relabel(q, fmt.Sprintf(`(%s or 0 * %s) * 60`, sum(q, `loading="true"`), sum(q, "")))
		}},
		column{sources.ReplicasCurrent.String(), func(q qctx) string {
			return relabel(q, fmt.Sprintf(`sum by (%s) (%s)`, q.labels(by...), q.sel(metricnames.GAEInstances, ms(q)...)))
		}},
	)
	return &preset{
		name: PresetAppEngine, platform: sources.AppEngine, kind: sources.Function, priority: 2,
		detect: []string{metricnames.GAEResponseCount},
		families: []family{
			{"appengine_traffic", cols},
			{"appengine_latency", quantiles(metricnames.GAELatencies, ms, by, 1000, relabel)},
		},
	}
}
