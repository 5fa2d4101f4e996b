package kube

import (
	"context"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/perch-dev/perch/sources"
)

// res names one watched resource type.
type res uint8

// The watched resources.
const (
	resPods res = iota
	resDeployments
	resStatefulSets
	resDaemonSets
	resReplicaSets
	resHPAs
	resNodes
	resEvents
	resJobs
	// Knative Serving's custom resources, read through the dynamic client
	// once discovery finds them (see knative.go).
	resKnServices
	resKnRevisions
	numRes
)

// Index names.
const (
	idxWorkload = "workload" // pods: the workload key they belong to
	idxTarget   = "target"   // HPAs: the workload key they scale
	idxCronJob  = "cronjob"  // Jobs: the CronJob workload key that owns them
	idxService  = "service"  // Knative revisions: their service's workload key
)

// resourceDef describes how to list, watch and slim one resource type.
type resourceDef struct {
	res        res
	name       string // as RBAC and kubectl name it: pods, deployments.apps...
	namespaced bool
	example    runtime.Object
	transform  cache.TransformFunc
	indexers   cache.Indexers
	// fieldSelector filters on the server (warning events only).
	fieldSelector string
	// gvr is set for custom resources: they are read through the dynamic
	// client and start only once discovery finds them.
	gvr   schema.GroupVersionResource
	list  func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (runtime.Object, error)
	watch func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (watch.Interface, error)
}

var resources = [numRes]*resourceDef{
	resPods: {
		res: resPods, name: "pods", namespaced: true, example: &corev1.Pod{}, transform: slimPod,
		indexers: cache.Indexers{idxWorkload: podWorkloadIndex},
		list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return c.core.CoreV1().Pods(ns).List(ctx, o)
		},
		watch: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return c.core.CoreV1().Pods(ns).Watch(ctx, o)
		},
	},
	resDeployments: {
		res: resDeployments, name: "deployments.apps", namespaced: true, example: &appsv1.Deployment{}, transform: slimDeployment,
		list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return c.core.AppsV1().Deployments(ns).List(ctx, o)
		},
		watch: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return c.core.AppsV1().Deployments(ns).Watch(ctx, o)
		},
	},
	resStatefulSets: {
		res: resStatefulSets, name: "statefulsets.apps", namespaced: true, example: &appsv1.StatefulSet{}, transform: slimStatefulSet,
		list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return c.core.AppsV1().StatefulSets(ns).List(ctx, o)
		},
		watch: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return c.core.AppsV1().StatefulSets(ns).Watch(ctx, o)
		},
	},
	resDaemonSets: {
		res: resDaemonSets, name: "daemonsets.apps", namespaced: true, example: &appsv1.DaemonSet{}, transform: slimDaemonSet,
		list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return c.core.AppsV1().DaemonSets(ns).List(ctx, o)
		},
		watch: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return c.core.AppsV1().DaemonSets(ns).Watch(ctx, o)
		},
	},
	resReplicaSets: {
		res: resReplicaSets, name: "replicasets.apps", namespaced: true, example: &appsv1.ReplicaSet{}, transform: slimReplicaSet,
		list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return c.core.AppsV1().ReplicaSets(ns).List(ctx, o)
		},
		watch: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return c.core.AppsV1().ReplicaSets(ns).Watch(ctx, o)
		},
	},
	resHPAs: {
		res: resHPAs, name: "horizontalpodautoscalers.autoscaling", namespaced: true,
		example: &autoscalingv2.HorizontalPodAutoscaler{}, transform: slimHPA,
		indexers: cache.Indexers{idxTarget: hpaTargetIndex},
		list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return c.core.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, o)
		},
		watch: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return c.core.AutoscalingV2().HorizontalPodAutoscalers(ns).Watch(ctx, o)
		},
	},
	resNodes: {
		res: resNodes, name: "nodes", namespaced: false, example: &corev1.Node{}, transform: slimNode,
		list: func(ctx context.Context, c *clients, _ string, o metav1.ListOptions) (runtime.Object, error) {
			return c.core.CoreV1().Nodes().List(ctx, o)
		},
		watch: func(ctx context.Context, c *clients, _ string, o metav1.ListOptions) (watch.Interface, error) {
			return c.core.CoreV1().Nodes().Watch(ctx, o)
		},
	},
	resEvents: {
		res: resEvents, name: "events", namespaced: true, example: &corev1.Event{}, transform: slimEvent,
		indexers:      cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
		fieldSelector: "type=" + corev1.EventTypeWarning,
		list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return c.core.CoreV1().Events(ns).List(ctx, o)
		},
		watch: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return c.core.CoreV1().Events(ns).Watch(ctx, o)
		},
	},
	resJobs: {
		res: resJobs, name: "jobs.batch", namespaced: true, example: &batchv1.Job{}, transform: slimJob,
		indexers: cache.Indexers{idxCronJob: jobCronJobIndex},
		list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return c.core.BatchV1().Jobs(ns).List(ctx, o)
		},
		watch: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return c.core.BatchV1().Jobs(ns).Watch(ctx, o)
		},
	},
	resKnServices: dynamicDef(resKnServices, knServicesGVR, slimKnService, nil),
	resKnRevisions: dynamicDef(resKnRevisions, knRevisionsGVR, slimKnRevision,
		cache.Indexers{idxService: revisionServiceIndex}),
}

// dynamicDef describes a namespaced custom resource read through the
// dynamic client (list and watch return unstructured objects, which the
// transform turns into slim records).
func dynamicDef(r res, gvr schema.GroupVersionResource, transform cache.TransformFunc, indexers cache.Indexers) *resourceDef {
	return &resourceDef{
		res: r, name: gvr.Resource + "." + gvr.Group, namespaced: true, example: &unstructured.Unstructured{},
		transform: transform, indexers: indexers, gvr: gvr,
		list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return c.dynamic.Resource(gvr).Namespace(ns).List(ctx, o)
		},
		watch: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return c.dynamic.Resource(gvr).Namespace(ns).Watch(ctx, o)
		},
	}
}

// custom reports whether the resource is a CRD found by discovery.
func (d *resourceDef) custom() bool { return !d.gvr.Empty() }

// wkKey identifies a workload object inside one cluster.
type wkKey struct {
	Kind      sources.Kind
	Namespace string
	Name      string
}

func (k wkKey) String() string { return string(k.Kind) + "/" + k.Namespace + "/" + k.Name }

// trimSuffix drops the last "-xxx" segment: a ReplicaSet's pod-template
// hash, a DaemonSet pod's random suffix, a StatefulSet pod's ordinal.
func trimSuffix(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return ""
	}
	return name[:i]
}

// podWorkload is the workload a pod belongs to by its controller reference.
// A ReplicaSet's Deployment is its name minus the pod-template hash (how
// the Deployment controller names them); callers check it against the
// ReplicaSet's own owner when the ReplicaSet is known.
func podWorkload(p *podObj) (wkKey, bool) {
	switch p.OwnerKind {
	case "ReplicaSet":
		if d := trimSuffix(p.OwnerName); d != "" {
			return wkKey{sources.Deployment, p.Namespace, d}, true
		}
	case "StatefulSet":
		return wkKey{sources.StatefulSet, p.Namespace, p.OwnerName}, true
	case "DaemonSet":
		return wkKey{sources.DaemonSet, p.Namespace, p.OwnerName}, true
	case "Job":
		// A CronJob's Job resolves to the CronJob in podOwnerLocked.
		return wkKey{KindJob, p.Namespace, p.OwnerName}, true
	}
	return wkKey{}, false
}

// podWorkloadIndex files a pod under its controller's workload and, for a
// Knative revision's pod, under its Knative service too: which of the two
// owns it depends on whether the service exists (podOwnerLocked).
func podWorkloadIndex(obj any) ([]string, error) {
	p, ok := obj.(*podObj)
	if !ok {
		return nil, nil
	}
	var keys []string
	if k, ok := podWorkload(p); ok {
		keys = append(keys, k.String())
	}
	if p.KnService != "" {
		keys = append(keys, knKey(p.Namespace, p.KnService).String())
	}
	return keys, nil
}

// kindOf maps a scale target's kind to a workload kind.
func kindOf(kind string) (sources.Kind, bool) {
	switch kind {
	case "Deployment":
		return sources.Deployment, true
	case "StatefulSet":
		return sources.StatefulSet, true
	case "DaemonSet":
		return sources.DaemonSet, true
	}
	return "", false
}

func hpaTarget(h *hpaObj) (wkKey, bool) {
	k, ok := kindOf(h.TargetKind)
	if !ok {
		return wkKey{}, false
	}
	return wkKey{k, h.Namespace, h.TargetName}, true
}

func hpaTargetIndex(obj any) ([]string, error) {
	h, ok := obj.(*hpaObj)
	if !ok {
		return nil, nil
	}
	if k, ok := hpaTarget(h); ok {
		return []string{k.String()}, nil
	}
	return nil, nil
}
