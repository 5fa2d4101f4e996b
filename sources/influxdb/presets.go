package influxdb

import (
	"strings"
	"time"

	"github.com/perch-dev/perch/sources"
)

// The generic per-invocation schema (preset "invocations"): one point per
// invocation, carrying all of its fields.
//
//	measurement  function_invocations
//	tags         function (required), platform (lambda when absent),
//	             runtime, namespace (else region, else the platform name)
//	fields       duration_ms (float), memory_mb (int or float),
//	             cold_start (bool), status (string: "ok", "success",
//	             "succeeded", "" or an HTTP 1xx-3xx code succeed, any other
//	             value failed: "error", "timeout", "500"...)
//
// perch computes, over the last Window: p50/p95/p99 of duration_ms
// (t-digest estimates), invocations/s, the failed share, cold starts per
// minute, a concurrency estimate (Little's law: rate × mean duration) and
// for Lambda the bill from GB-seconds (mean duration × memory_mb).
const (
	InvocationsMeasurement = "function_invocations"
	fieldDuration          = "duration_ms"
	fieldMemory            = "memory_mb"
	fieldColdStart         = "cold_start"
	fieldStatus            = "status"
	tagFunction            = "function"
	tagNamespace           = "namespace"
	tagRegion              = "region"
	tagPlatform            = "platform"
	tagRuntime             = "runtime"
)

// failedStatus matches the status values that count as failures; the
// filter runs on the server so only failures travel.
const failedStatus = `/(?i)^(ok|success|succeeded|[123][0-9][0-9]|)$/`

// invocationGroup is the grouping of every per-function aggregate. Absent
// tags group as null, so data with or without namespace/region works.
var invocationGroup = []string{tagNamespace, tagRegion, tagPlatform, tagFunction}

// Telegraf's CloudWatch input (preset "cloudwatch-lambda"): namespace
// AWS/Lambda becomes measurement cloudwatch_aws_lambda, each statistic a
// field {metric}_{sum,average,minimum,maximum,sample_count} in snake case,
// each dimension a tag (function_name, resource, executed_version) plus
// region. Lambda Insights (namespace LambdaInsights) adds the function's
// memory and init (cold start) counts.
const (
	CloudWatchLambdaMeasurement   = "cloudwatch_aws_lambda"
	CloudWatchInsightsMeasurement = "cloudwatch_lambda_insights"
	cwInvocations                 = "invocations_sum"
	cwErrors                      = "errors_sum"
	cwThrottles                   = "throttles_sum"
	cwDurationAvg                 = "duration_average"
	cwConcurrent                  = "concurrent_executions_maximum"
	// Percentile statistics are not produced by Telegraf's input, but are
	// read when a collector adds them (in ms, like the other durations).
	cwDurationP50   = "duration_p50"
	cwDurationP95   = "duration_p95"
	cwDurationP99   = "duration_p99"
	cwMemory        = "total_memory_maximum"       // Lambda Insights, MB
	cwInitCount     = "init_duration_sample_count" // Lambda Insights: cold starts per period
	tagFunctionName = "function_name"
)

var (
	cwLambdaFields   = []string{cwInvocations, cwErrors, cwThrottles, cwDurationAvg, cwConcurrent, cwDurationP50, cwDurationP95, cwDurationP99}
	cwInsightsFields = []string{cwMemory, cwInitCount}
)

// Merge priorities: a column from a higher one wins.
const (
	prioCloudWatch  = 1
	prioInvocations = 2
	prioOverride    = 3
)

// Yield names of the invocations queries.
const (
	yP50      = "p50"
	yP95      = "p95"
	yP99      = "p99"
	yMean     = "mean"
	yCount    = "count"
	yFailed   = "failed"
	yCold     = "cold"
	yIdentity = "identity"
	yMemory   = "memory"
	yCW       = "cloudwatch"
)

// Family names: one query each per round, named in errors.
const (
	famLatency    = "invocations latency"
	famTraffic    = "invocations traffic"
	famCloudWatch = "cloudwatch lambda"
)

// query is one planned Flux query.
type query struct {
	name     string // family name, or "override <metric>"
	flux     string
	preset   string // "" for overrides
	override sources.Metric
}

// window is the time span of one round.
type window struct {
	start, stop time.Time // per-invocation statistics: [stop-Window, stop)
	inventory   time.Time // functions seen since then are listed
}

// invocationsLatency is the latency family: quantiles, mean and count of
// duration_ms per function over the window, one query with five yields.
func invocationsLatency(bucket string, w window, skip map[sources.Metric]bool) string {
	var b strings.Builder
	b.WriteString("lat = " + fromRange(bucket, w.start, w.stop) + "\n")
	b.WriteString("  |> filter(fn: (r) => r._measurement == " + fluxString(InvocationsMeasurement) +
		" and r._field == " + fluxString(fieldDuration) + ")\n")
	b.WriteString("  |> group(columns: " + fluxStrings(invocationGroup) + ")\n")
	for _, q := range []struct {
		m    sources.Metric
		name string
		q    string
	}{{sources.LatencyP50, yP50, "0.5"}, {sources.LatencyP95, yP95, "0.95"}, {sources.LatencyP99, yP99, "0.99"}} {
		if skip[q.m] {
			continue
		}
		b.WriteString(`lat |> quantile(q: ` + q.q + `, method: "estimate_tdigest") |> yield(name: "` + q.name + "\")\n")
	}
	b.WriteString(`lat |> mean() |> yield(name: "` + yMean + "\")\n")
	b.WriteString(`lat |> count() |> yield(name: "` + yCount + "\")\n")
	return b.String()
}

// invocationsTraffic is the traffic family: failed and cold invocations
// over the window (filtered on the server, so only those rows are
// counted), and the newest point of every field of each series over the
// inventory window (identity tags, memory, and which fields exist).
func invocationsTraffic(bucket string, w window) string {
	field := func(f string) string {
		return "  |> filter(fn: (r) => r._measurement == " + fluxString(InvocationsMeasurement) +
			" and r._field == " + fluxString(f) + ")\n"
	}
	count := func(pred, yield string) string {
		return "  |> filter(fn: (r) => " + pred + ")\n" +
			"  |> group(columns: " + fluxStrings(invocationGroup) + ")\n" +
			"  |> count()\n  |> yield(name: \"" + yield + "\")\n"
	}
	return fromRange(bucket, w.start, w.stop) + "\n" + field(fieldStatus) + count("r._value !~ "+failedStatus, yFailed) +
		fromRange(bucket, w.start, w.stop) + "\n" + field(fieldColdStart) + count("r._value == true", yCold) +
		fromRange(bucket, w.inventory, w.stop) + "\n" +
		"  |> filter(fn: (r) => r._measurement == " + fluxString(InvocationsMeasurement) + " and " +
		fieldIn([]string{fieldDuration, fieldMemory, fieldStatus, fieldColdStart}) + ")\n" +
		"  |> last()\n  |> yield(name: \"" + yIdentity + "\")\n"
}

// cloudWatchLambda is the single CloudWatch family: the newest value of
// every field per whole-function series (not per alias or version) over
// the inventory window; values older than the lookback count as idle.
func cloudWatchLambda(bucket string, w window) string {
	return fromRange(bucket, w.inventory, w.stop) + "\n" +
		"  |> filter(fn: (r) => (r._measurement == " + fluxString(CloudWatchLambdaMeasurement) + " and " + fieldIn(cwLambdaFields) + ")" +
		" or (r._measurement == " + fluxString(CloudWatchInsightsMeasurement) + " and " + fieldIn(cwInsightsFields) + "))\n" +
		"  |> filter(fn: (r) => exists r." + tagFunctionName + " and not exists r.resource and not exists r.executed_version)\n" +
		"  |> last()\n" +
		"  |> yield(name: \"" + yCW + "\")\n"
}

// detection lists which of the presets' measurements have data since
// the inventory start: the first point of one field per series, then the
// distinct measurement names.
func detection(bucket string, w window) string {
	return fromRange(bucket, w.inventory, w.stop) + "\n" +
		"  |> filter(fn: (r) => (r._measurement == " + fluxString(InvocationsMeasurement) + " and r._field == " + fluxString(fieldDuration) + ")" +
		" or (r._measurement == " + fluxString(CloudWatchLambdaMeasurement) + " and r._field == " + fluxString(cwInvocations) + "))\n" +
		"  |> first()\n" +
		"  |> keep(columns: [\"_measurement\"])\n" +
		"  |> group()\n" +
		"  |> distinct(column: \"_measurement\")\n"
}

// presetOfMeasurement maps a detected measurement to its preset.
func presetOfMeasurement(m string) string {
	switch m {
	case InvocationsMeasurement:
		return PresetInvocations
	case CloudWatchLambdaMeasurement:
		return PresetCloudWatchLambda
	}
	return ""
}

// allPresets in merge order.
var allPresets = []string{PresetCloudWatchLambda, PresetInvocations}

// platformOf reads a platform tag; Lambda when absent.
func platformOf(s string) sources.Platform {
	switch p := strings.ToLower(strings.TrimSpace(s)); p {
	case "", "aws", "aws-lambda", "aws_lambda", "awslambda":
		return sources.Lambda
	default:
		return sources.Platform(p)
	}
}
