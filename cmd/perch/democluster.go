package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/sim"
)

// demo-cluster writes the simulator's Kubernetes workloads into a real API
// server (a kwok test cluster) and keeps their replica counts following the
// simulation. It is a test and demo tool that WRITES to a cluster; the
// kubernetes source itself never does.

const (
	demoManager   = "perch-demo-cluster"
	demoLabel     = "app.kubernetes.io/managed-by"
	demoPauseImg  = "registry.k8s.io/pause:3.10"
	kwokNodeLabel = "type"
)

func runDemoCluster(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("perch demo-cluster", e.stderr)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default $KUBECONFIG, then ~/.kube/config)")
	kubeContext := fs.String("context", "", "kubeconfig context (default the current one)")
	seed := fs.Int64("seed", 1, "simulator seed")
	workloads := fs.Int("workloads", 0, "simulate N generated workloads instead of the built-in set")
	interval := fs.Duration("interval", 15*time.Second, "how often replica counts follow the simulation")
	once := fs.Bool("once", false, "create the objects and set replicas once, then exit")
	kwok := fs.Bool("kwok", true, "schedule pods on kwok fake nodes only (nodeSelector type=kwok) and set kwok usage annotations")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *interval < time.Second {
		return usageError{errors.New("--interval must be at least 1s")}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if *kubeconfig != "" {
		rules.ExplicitPath = *kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: *kubeContext})
	rc, err := cc.ClientConfig()
	if err != nil {
		return usageError{fmt.Errorf("kubeconfig: %w", err)}
	}
	rc.UserAgent = demoManager
	rc.QPS, rc.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	s, err := sim.New(sim.Config{Seed: *seed, Workloads: *workloads, History: time.Minute})
	if err != nil {
		return usageError{err}
	}
	f := &demoFeeder{cs: cs, sim: s, kwok: *kwok, log: e.stdout}
	now := time.Now()
	if err := f.setup(ctx, now); err != nil {
		return err
	}
	if _, err := f.follow(ctx, now); err != nil {
		return err
	}
	if *once {
		return nil
	}
	fmt.Fprintf(e.stdout, "following the simulation every %s (ctrl-c stops; the objects stay)\n", *interval)
	t := time.NewTicker(*interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-t.C:
			n, err := f.follow(ctx, now)
			if err != nil {
				// A failed round is retried at the next tick.
				fmt.Fprintf(e.stderr, "perch demo-cluster: %v\n", err)
				continue
			}
			if n > 0 {
				fmt.Fprintf(e.stdout, "%s scaled %d workloads\n", now.Format("15:04:05"), n)
			}
		}
	}
}

// demoFeeder mirrors the simulator into a cluster.
type demoFeeder struct {
	cs   kubernetes.Interface
	sim  *sim.Sim
	kwok bool
	log  io.Writer
	// last replica count written, by workload.
	last map[sources.WorkloadID]int32
}

// demoWorkloads are the simulator's Kubernetes workloads (functions are
// left out: they need Knative or OpenFaaS).
func (f *demoFeeder) demoWorkloads() []sources.Workload {
	var out []sources.Workload
	for _, w := range f.sim.Workloads() {
		if w.Platform == sources.Kubernetes {
			out = append(out, w)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID.Less(out[j].ID) })
	return out
}

// latest indexes one instant of the simulation by workload and metric.
func (f *demoFeeder) latest(t time.Time) map[sources.WorkloadID]*[sources.NumMetrics]float64 {
	out := map[sources.WorkloadID]*[sources.NumMetrics]float64{}
	for _, smp := range f.sim.At(t) {
		v := out[smp.ID]
		if v == nil {
			v = new([sources.NumMetrics]float64)
			for i := range v {
				v[i] = math.NaN()
			}
			out[smp.ID] = v
		}
		v[smp.Metric] = smp.V
	}
	return out
}

// setup creates (or updates) namespaces, workloads and HPAs.
func (f *demoFeeder) setup(ctx context.Context, now time.Time) error {
	ws := f.demoWorkloads()
	vals := f.latest(now)
	namespaces := map[string]bool{}
	var deploys, sets, daemons, hpas int
	for _, w := range ws {
		if !namespaces[w.ID.Namespace] {
			namespaces[w.ID.Namespace] = true
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ID.Namespace, Labels: map[string]string{demoLabel: demoManager}}}
			if _, err := f.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: demoManager}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("creating namespace %s: %w", w.ID.Namespace, err)
			}
		}
		v := vals[w.ID]
		if v == nil {
			continue
		}
		replicas := int32(math.Round(nz0(v[sources.ReplicasDesired])))
		tmpl := f.podTemplate(w, now)
		meta := metav1.ObjectMeta{Name: w.ID.Name, Namespace: w.ID.Namespace, Labels: map[string]string{"app": w.ID.Name, demoLabel: demoManager}}
		sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": w.ID.Name}}
		var err error
		switch w.Kind {
		case sources.Deployment:
			deploys++
			d := &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: sel, Template: tmpl}}
			_, err = f.cs.AppsV1().Deployments(meta.Namespace).Create(ctx, d, metav1.CreateOptions{FieldManager: demoManager})
			if apierrors.IsAlreadyExists(err) {
				_, err = f.cs.AppsV1().Deployments(meta.Namespace).Update(ctx, d, metav1.UpdateOptions{FieldManager: demoManager})
			}
		case sources.StatefulSet:
			sets++
			st := &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Replicas: &replicas, Selector: sel, Template: tmpl,
				ServiceName: w.ID.Name, PodManagementPolicy: appsv1.ParallelPodManagement}}
			_, err = f.cs.AppsV1().StatefulSets(meta.Namespace).Create(ctx, st, metav1.CreateOptions{FieldManager: demoManager})
			if apierrors.IsAlreadyExists(err) {
				_, err = f.cs.AppsV1().StatefulSets(meta.Namespace).Update(ctx, st, metav1.UpdateOptions{FieldManager: demoManager})
			}
		case sources.DaemonSet:
			daemons++
			ds := &appsv1.DaemonSet{ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl}}
			_, err = f.cs.AppsV1().DaemonSets(meta.Namespace).Create(ctx, ds, metav1.CreateOptions{FieldManager: demoManager})
			if apierrors.IsAlreadyExists(err) {
				_, err = f.cs.AppsV1().DaemonSets(meta.Namespace).Update(ctx, ds, metav1.UpdateOptions{FieldManager: demoManager})
			}
		}
		if err != nil {
			return fmt.Errorf("creating %s %s: %w", w.Kind, w.ID, err)
		}
		if lo, hi := v[sources.ReplicasMin], v[sources.ReplicasMax]; !math.IsNaN(lo) && !math.IsNaN(hi) && w.Kind != sources.DaemonSet {
			hpas++
			if err := f.applyHPA(ctx, w, int32(lo), int32(hi)); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(f.log, "demo-cluster: %d namespaces, %d Deployments, %d StatefulSets, %d DaemonSets, %d HPAs\n",
		len(namespaces), deploys, sets, daemons, hpas)
	return nil
}

// applyHPA creates an autoscaling/v2 HPA whose scaling is disabled in
// both directions: it shows min/max like a real one, while the replica
// count keeps following the simulation instead of the HPA controller.
func (f *demoFeeder) applyHPA(ctx context.Context, w sources.Workload, lo, hi int32) error {
	disabled := autoscalingv2.DisabledPolicySelect
	target := int32(60)
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: w.ID.Name, Namespace: w.ID.Namespace, Labels: map[string]string{demoLabel: demoManager}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: string(w.Kind), Name: w.ID.Name},
			MinReplicas:    &lo, MaxReplicas: max(hi, lo, 1),
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp:   &autoscalingv2.HPAScalingRules{SelectPolicy: &disabled},
				ScaleDown: &autoscalingv2.HPAScalingRules{SelectPolicy: &disabled},
			},
		},
	}
	api := f.cs.AutoscalingV2().HorizontalPodAutoscalers(w.ID.Namespace)
	_, err := api.Create(ctx, h, metav1.CreateOptions{FieldManager: demoManager})
	if apierrors.IsAlreadyExists(err) {
		_, err = api.Update(ctx, h, metav1.UpdateOptions{FieldManager: demoManager})
	}
	if err != nil {
		return fmt.Errorf("creating HPA %s: %w", w.ID, err)
	}
	return nil
}

// podTemplate gives the pods the simulator's requests and, on kwok, its
// average usage (kwok reports it to metrics-server from annotations).
func (f *demoFeeder) podTemplate(w sources.Workload, now time.Time) corev1.PodTemplateSpec {
	cpuReq, memReq, cpuUse, memUse := 0.1, 128.0*(1<<20), 0.0, 0.0
	if pods := f.sim.PodsAt(w.ID, now); len(pods) > 0 {
		cpuReq, memReq = pods[0].CPURequest, pods[0].MemRequest
		for _, p := range pods {
			cpuUse += p.CPUUsage / float64(len(pods))
			memUse += p.MemUsage / float64(len(pods))
		}
	}
	t := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": w.ID.Name, demoLabel: demoManager}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "app", Image: demoPauseImg,
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(math.Round(cpuReq*1000)), resource.DecimalSI),
					corev1.ResourceMemory: *resource.NewQuantity(int64(memReq), resource.BinarySI),
				}},
			}},
			TerminationGracePeriodSeconds: new(int64),
		},
	}
	if f.kwok {
		t.Spec.NodeSelector = map[string]string{kwokNodeLabel: "kwok"}
		t.Spec.Tolerations = []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		t.Annotations = map[string]string{
			"kwok.x-k8s.io/usage-cpu":    strconv.FormatInt(int64(math.Round(cpuUse*1000)), 10) + "m",
			"kwok.x-k8s.io/usage-memory": strconv.FormatInt(int64(memUse/(1<<20)), 10) + "Mi",
		}
	}
	return t
}

// follow sets every Deployment's and StatefulSet's replicas to the
// simulation's desired count at now; it returns how many changed.
func (f *demoFeeder) follow(ctx context.Context, now time.Time) (int, error) {
	if f.last == nil {
		f.last = map[sources.WorkloadID]int32{}
	}
	vals := f.latest(now)
	changed := 0
	var errs []error
	for _, w := range f.demoWorkloads() {
		v := vals[w.ID]
		if v == nil || w.Kind == sources.DaemonSet || math.IsNaN(v[sources.ReplicasDesired]) {
			continue
		}
		n := int32(math.Round(v[sources.ReplicasDesired]))
		if last, ok := f.last[w.ID]; ok && last == n {
			continue
		}
		patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n))
		opts := metav1.PatchOptions{FieldManager: demoManager}
		var err error
		if w.Kind == sources.StatefulSet {
			_, err = f.cs.AppsV1().StatefulSets(w.ID.Namespace).Patch(ctx, w.ID.Name, types.MergePatchType, patch, opts)
		} else {
			_, err = f.cs.AppsV1().Deployments(w.ID.Namespace).Patch(ctx, w.ID.Name, types.MergePatchType, patch, opts)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("scaling %s to %d: %w", w.ID, n, err))
			continue
		}
		if _, seen := f.last[w.ID]; seen {
			changed++
		}
		f.last[w.ID] = n
	}
	return changed, errors.Join(errs...)
}

func nz0(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return v
}
