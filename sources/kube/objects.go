package kube

import (
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/perch-dev/perch/sources"
)

// The informers keep these slim records instead of API objects: the
// transforms below copy the few fields perch shows and drop the rest
// (managedFields, annotations, labels, most of spec and status), so a pod
// costs a few hundred bytes instead of several kilobytes.
//
// Each keeps an ObjectMeta with only name, namespace, resourceVersion and
// timestamps: the cache keys objects by namespace/name and tells updates
// from resyncs by resourceVersion.

// slimMeta copies the identity fields perch needs.
func slimMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		ResourceVersion:   m.ResourceVersion,
		CreationTimestamp: m.CreationTimestamp,
		DeletionTimestamp: m.DeletionTimestamp,
	}
}

// controllerOf returns the kind and name of the object's controller.
func controllerOf(m *metav1.ObjectMeta) (kind, name string) {
	for _, r := range m.OwnerReferences {
		if r.Controller != nil && *r.Controller {
			return r.Kind, r.Name
		}
	}
	return "", ""
}

// podObj is what perch keeps of a pod.
type podObj struct {
	metav1.ObjectMeta
	OwnerKind, OwnerName string // the controller (ReplicaSet, StatefulSet, DaemonSet...)
	Node                 string
	Phase                corev1.PodPhase
	Ready                bool
	Restarts             int32
	CPUReq               int64 // millicores
	MemReq               int64 // bytes
	// KnService is the Knative service of a revision's pod (its
	// serving.knative.dev/service label), "" for other pods.
	KnService string
}

// workloadObj is a Deployment, StatefulSet or DaemonSet.
type workloadObj struct {
	metav1.ObjectMeta
	Kind                    sources.Kind
	Desired, Current, Ready int32
	Available               int32
	// KnService is set on a Knative revision's Deployment: the service
	// row shows its pods and the Deployment gets no row of its own.
	KnService string
	// PodCPUReq (millicores) and PodMemReq (bytes) are one pod's
	// effective requests from the pod template: the estimate shown while
	// the pods themselves are still loading (estimate.go).
	PodCPUReq, PodMemReq int64
}

// rsObj is a ReplicaSet: only its owner matters.
type rsObj struct {
	metav1.ObjectMeta
	OwnerKind, OwnerName string
}

// hpaObj is an autoscaling/v2 HorizontalPodAutoscaler.
type hpaObj struct {
	metav1.ObjectMeta
	TargetKind, TargetName string
	Min, Max               int32
	Current, Desired       int32
	// TargetCPU and CurrentCPU are the CPU utilisation target and current
	// value in percent of requests (0 when the HPA has no CPU metric).
	TargetCPU, CurrentCPU int32
}

// nodeObj is a node.
type nodeObj struct {
	metav1.ObjectMeta
	Ready        bool
	CPU          int64 // allocatable millicores
	Mem          int64 // allocatable bytes
	InstanceType string
}

// eventObj is a (warning) event.
type eventObj struct {
	metav1.ObjectMeta
	Warning      bool
	ObjKind      string // involved object
	ObjName      string
	Reason       string
	Message      string
	Count        int32
	Last         time.Time
	ObjNamespace string
}

// runtime.Object for the slim records (the cache does not need more).
func (p *podObj) GetObjectKind() schema.ObjectKind      { return schema.EmptyObjectKind }
func (w *workloadObj) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (r *rsObj) GetObjectKind() schema.ObjectKind       { return schema.EmptyObjectKind }
func (h *hpaObj) GetObjectKind() schema.ObjectKind      { return schema.EmptyObjectKind }
func (n *nodeObj) GetObjectKind() schema.ObjectKind     { return schema.EmptyObjectKind }
func (e *eventObj) GetObjectKind() schema.ObjectKind    { return schema.EmptyObjectKind }

func (p *podObj) DeepCopyObject() runtime.Object {
	c := *p
	p.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

func (w *workloadObj) DeepCopyObject() runtime.Object {
	c := *w
	w.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

func (r *rsObj) DeepCopyObject() runtime.Object {
	c := *r
	r.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

func (h *hpaObj) DeepCopyObject() runtime.Object {
	c := *h
	h.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

func (n *nodeObj) DeepCopyObject() runtime.Object {
	c := *n
	n.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

func (e *eventObj) DeepCopyObject() runtime.Object {
	c := *e
	e.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

// slimPod is the pods informer's transform. Transforms must be idempotent:
// an already slim record passes through.
func slimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	s := &podObj{ObjectMeta: slimMeta(&p.ObjectMeta), Node: p.Spec.NodeName, Phase: p.Status.Phase,
		KnService: p.Labels[knServiceLabel]}
	s.OwnerKind, s.OwnerName = controllerOf(&p.ObjectMeta)
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			s.Ready = c.Status == corev1.ConditionTrue
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		s.Restarts += cs.RestartCount
	}
	for _, cs := range p.Status.InitContainerStatuses {
		s.Restarts += cs.RestartCount
	}
	cpu, mem := podRequests(&p.Spec)
	s.CPUReq, s.MemReq = cpu, mem
	return s, nil
}

// podRequests is the pod's effective request as the scheduler sees it:
// app containers plus sidecars (restartable init containers), at least the
// largest plain init container, plus the runtime overhead. CPU in
// millicores, memory in bytes.
func podRequests(spec *corev1.PodSpec) (cpu, mem int64) {
	for i := range spec.Containers {
		c, m := containerRequests(&spec.Containers[i])
		cpu, mem = cpu+c, mem+m
	}
	var initCPU, initMem, sideCPU, sideMem int64
	for i := range spec.InitContainers {
		ic := &spec.InitContainers[i]
		c, m := containerRequests(ic)
		if ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sideCPU, sideMem = sideCPU+c, sideMem+m
			continue
		}
		// A plain init container runs next to the sidecars started before it.
		initCPU, initMem = max(initCPU, c+sideCPU), max(initMem, m+sideMem)
	}
	cpu, mem = max(cpu+sideCPU, initCPU), max(mem+sideMem, initMem)
	if q, ok := spec.Overhead[corev1.ResourceCPU]; ok {
		cpu += q.MilliValue()
	}
	if q, ok := spec.Overhead[corev1.ResourceMemory]; ok {
		mem += q.Value()
	}
	return cpu, mem
}

func containerRequests(c *corev1.Container) (cpu, mem int64) {
	if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		cpu = q.MilliValue()
	}
	if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
		mem = q.Value()
	}
	return cpu, mem
}

func slimDeployment(obj any) (any, error) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return obj, nil
	}
	desired := int32(1)
	if d.Spec.Replicas != nil {
		desired = *d.Spec.Replicas
	}
	w := &workloadObj{
		ObjectMeta: slimMeta(&d.ObjectMeta), Kind: sources.Deployment,
		Desired: desired, Current: d.Status.Replicas, Ready: d.Status.ReadyReplicas, Available: d.Status.AvailableReplicas,
		KnService: d.Labels[knServiceLabel],
	}
	w.PodCPUReq, w.PodMemReq = podRequests(&d.Spec.Template.Spec)
	return w, nil
}

func slimStatefulSet(obj any) (any, error) {
	s, ok := obj.(*appsv1.StatefulSet)
	if !ok {
		return obj, nil
	}
	desired := int32(1)
	if s.Spec.Replicas != nil {
		desired = *s.Spec.Replicas
	}
	w := &workloadObj{
		ObjectMeta: slimMeta(&s.ObjectMeta), Kind: sources.StatefulSet,
		Desired: desired, Current: s.Status.Replicas, Ready: s.Status.ReadyReplicas, Available: s.Status.AvailableReplicas,
	}
	w.PodCPUReq, w.PodMemReq = podRequests(&s.Spec.Template.Spec)
	return w, nil
}

func slimDaemonSet(obj any) (any, error) {
	d, ok := obj.(*appsv1.DaemonSet)
	if !ok {
		return obj, nil
	}
	w := &workloadObj{
		ObjectMeta: slimMeta(&d.ObjectMeta), Kind: sources.DaemonSet,
		Desired: d.Status.DesiredNumberScheduled, Current: d.Status.CurrentNumberScheduled, Ready: d.Status.NumberReady,
		Available: d.Status.NumberAvailable,
	}
	w.PodCPUReq, w.PodMemReq = podRequests(&d.Spec.Template.Spec)
	return w, nil
}

func slimReplicaSet(obj any) (any, error) {
	r, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return obj, nil
	}
	s := &rsObj{ObjectMeta: slimMeta(&r.ObjectMeta)}
	s.OwnerKind, s.OwnerName = controllerOf(&r.ObjectMeta)
	return s, nil
}

func slimHPA(obj any) (any, error) {
	h, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return obj, nil
	}
	s := &hpaObj{
		ObjectMeta: slimMeta(&h.ObjectMeta),
		TargetKind: h.Spec.ScaleTargetRef.Kind, TargetName: h.Spec.ScaleTargetRef.Name,
		Min: 1, Max: h.Spec.MaxReplicas, Current: h.Status.CurrentReplicas, Desired: h.Status.DesiredReplicas,
	}
	if h.Spec.MinReplicas != nil {
		s.Min = *h.Spec.MinReplicas
	}
	for _, m := range h.Spec.Metrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
			m.Resource.Target.AverageUtilization != nil {
			s.TargetCPU = *m.Resource.Target.AverageUtilization
		}
	}
	for _, m := range h.Status.CurrentMetrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
			m.Resource.Current.AverageUtilization != nil {
			s.CurrentCPU = *m.Resource.Current.AverageUtilization
		}
	}
	return s, nil
}

func slimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	s := &nodeObj{ObjectMeta: slimMeta(&n.ObjectMeta), InstanceType: n.Labels[corev1.LabelInstanceTypeStable]}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			s.Ready = c.Status == corev1.ConditionTrue
		}
	}
	if q, ok := n.Status.Allocatable[corev1.ResourceCPU]; ok {
		s.CPU = q.MilliValue()
	}
	if q, ok := n.Status.Allocatable[corev1.ResourceMemory]; ok {
		s.Mem = q.Value()
	}
	return s, nil
}

// maxEventMessage bounds the text kept per event.
const maxEventMessage = 300

func slimEvent(obj any) (any, error) {
	e, ok := obj.(*corev1.Event)
	if !ok {
		return obj, nil
	}
	msg := strings.TrimSpace(e.Message)
	if len(msg) > maxEventMessage {
		msg = strings.ToValidUTF8(msg[:maxEventMessage], "") + "…"
	}
	s := &eventObj{
		ObjectMeta: slimMeta(&e.ObjectMeta), Warning: e.Type == corev1.EventTypeWarning,
		ObjKind: e.InvolvedObject.Kind, ObjName: e.InvolvedObject.Name, ObjNamespace: e.InvolvedObject.Namespace,
		Reason: e.Reason, Message: msg, Count: max(e.Count, 1),
	}
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		s.Last, s.Count = e.Series.LastObservedTime.Time, max(e.Series.Count, 1)
	case !e.LastTimestamp.IsZero():
		s.Last = e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		s.Last = e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		s.Last = e.FirstTimestamp.Time
	default:
		s.Last = e.CreationTimestamp.Time
	}
	return s, nil
}
