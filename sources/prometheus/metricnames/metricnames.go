// Package metricnames lists the metric names of the exporters perch's
// Prometheus presets read. The Prometheus source queries them and the
// demo exporter (sources/promexport) serves them, so both agree by
// construction; the names themselves follow each exporter's docs.
package metricnames

// kube-state-metrics v2.
const (
	KubeDeploymentSpecReplicas    = "kube_deployment_spec_replicas"
	KubeDeploymentStatusReplicas  = "kube_deployment_status_replicas"
	KubeDeploymentReady           = "kube_deployment_status_replicas_ready"
	KubeDeploymentAvailable       = "kube_deployment_status_replicas_available"
	KubeStatefulSetReplicas       = "kube_statefulset_replicas"
	KubeStatefulSetStatusReplicas = "kube_statefulset_status_replicas"
	KubeStatefulSetReady          = "kube_statefulset_status_replicas_ready"
	KubeDaemonSetDesired          = "kube_daemonset_status_desired_number_scheduled"
	KubeDaemonSetCurrent          = "kube_daemonset_status_current_number_scheduled"
	KubeDaemonSetReady            = "kube_daemonset_status_number_ready"
	KubeHPAInfo                   = "kube_horizontalpodautoscaler_info"
	KubeHPAMin                    = "kube_horizontalpodautoscaler_spec_min_replicas"
	KubeHPAMax                    = "kube_horizontalpodautoscaler_spec_max_replicas"
	KubeHPADesired                = "kube_horizontalpodautoscaler_status_desired_replicas"
	KubeHPACurrent                = "kube_horizontalpodautoscaler_status_current_replicas"
	KubePodOwner                  = "kube_pod_owner"
	KubeReplicaSetOwner           = "kube_replicaset_owner"
	KubePodContainerRequests      = "kube_pod_container_resource_requests"
)

// cAdvisor (kubelet /metrics/cadvisor).
const (
	CAdvisorCPU    = "container_cpu_usage_seconds_total"
	CAdvisorMemory = "container_memory_working_set_bytes"
)

// Istio standard metrics.
const (
	IstioRequests = "istio_requests_total"
	IstioDuration = "istio_request_duration_milliseconds" // histogram, ms
)

// OpenFaaS gateway.
const (
	OpenFaaSInvocations = "gateway_function_invocation_total"
	OpenFaaSSeconds     = "gateway_functions_seconds" // histogram, s
	OpenFaaSReplicas    = "gateway_service_count"
	OpenFaaSInflight    = "gateway_function_invocation_inflight" // OpenFaaS Pro
)

// Knative Serving >= 1.19 (OpenTelemetry names as Prometheus exports them).
const (
	KnOTelPodsDesired  = "kn_revision_pods_desired"
	KnOTelPodsCount    = "kn_revision_pods_count"
	KnOTelPodsNotReady = "kn_revision_pods_not_ready_count"
	KnOTelConcurrency  = "kn_revision_concurrency_stable"
	KnOTelDuration     = "kn_serving_invocation_duration_seconds" // histogram, s
)

// Knative Serving <= 1.18 (OpenCensus names).
const (
	KnOCDesiredPods       = "autoscaler_desired_pods"
	KnOCActualPods        = "autoscaler_actual_pods"
	KnOCNotReadyPods      = "autoscaler_not_ready_pods"
	KnOCStableConcurrency = "autoscaler_stable_request_concurrency"
	KnOCRequestCount      = "revision_request_count"
	KnOCRequestLatencies  = "revision_request_latencies" // histogram, ms
)

// AWS Lambda through the CloudWatch exporters (prometheus/cloudwatch_exporter
// and YACE name them alike: aws_<namespace>_<metric>_<statistic>). Values
// are CloudWatch statistics over one period (Sum = count in the period).
const (
	LambdaInvocations = "aws_lambda_invocations_sum"
	LambdaErrors      = "aws_lambda_errors_sum"
	LambdaThrottles   = "aws_lambda_throttles_sum"
	LambdaDurationAvg = "aws_lambda_duration_average" // ms
	LambdaDurationP50 = "aws_lambda_duration_p50"     // ms, extended statistic
	LambdaDurationP95 = "aws_lambda_duration_p95"
	LambdaDurationP99 = "aws_lambda_duration_p99"
	LambdaConcurrent  = "aws_lambda_concurrent_executions_maximum"
	// Lambda Insights (namespace LambdaInsights): the function's memory
	// size and init (cold start) count; cloudwatch_exporter snake-cases the
	// namespace, YACE does not.
	LambdaInsightsMemory        = "aws_lambda_insights_total_memory_maximum"
	LambdaInsightsMemoryYACE    = "aws_lambdainsights_total_memory_maximum"
	LambdaInsightsInitCount     = "aws_lambda_insights_init_duration_sample_count"
	LambdaInsightsInitCountYACE = "aws_lambdainsights_init_duration_sample_count"
)

// Google App Engine through stackdriver_exporter
// (stackdriver_<resource>_<metric type with / and . as _>).
const (
	GAEResponseCount = "stackdriver_gae_app_appengine_googleapis_com_http_server_response_count"
	GAELatencies     = "stackdriver_gae_app_appengine_googleapis_com_http_server_response_latencies" // histogram, ms
	GAEInstances     = "stackdriver_gae_app_appengine_googleapis_com_system_instance_count"
)
