package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// benchLabel marks everything the feeder creates.
const benchLabel = "perch.dev/bench-scale"

// feeder is the test feeder: it writes the benchmark's workloads into the
// cluster as the admin user. perch itself only reads, as "audited".
type feeder struct {
	cs      kubernetes.Interface
	plan    []workloadSpec
	log     io.Writer
	workers int
	hpaMax  int32
}

func newFeeder(kubeconfig string, p []workloadSpec, maxPods int, log io.Writer) (*feeder, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: "admin"}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("feeder kubeconfig: %w", err)
	}
	rc.QPS, rc.Burst = 400, 800
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.UserAgent = "perch-bench-scale-feeder"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("feeder client: %w", err)
	}
	// HPAs cover every row's replica count (scaling is disabled, so they
	// never fight the feeder; they are there to be shown).
	big, err := replicas(p, maxPods)
	if err != nil {
		return nil, err
	}
	var most int
	for _, n := range big {
		most = max(most, n)
	}
	return &feeder{cs: cs, plan: p, log: log, workers: 24, hpaMax: int32(2*most + 2)}, nil
}

// grantReader lets the static user "audited" (the audit log records its
// requests) read everything, and nothing more.
func (f *feeder) grantReader(ctx context.Context) error {
	read := []string{"get", "list", "watch"}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "perch-bench-read", Labels: map[string]string{benchLabel: "true"}},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: read}},
	}
	if _, err := f.cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the read-only ClusterRole: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "perch-bench-read", Labels: map[string]string{benchLabel: "true"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "audited"}},
	}
	if _, err := f.cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("binding the read-only ClusterRole to audited: %w", err)
	}
	return nil
}

// parallel runs fn for 0..n-1 on f.workers goroutines and returns the
// first error.
func (f *feeder) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range f.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

func podTemplate(name string) corev1.PodTemplateSpec {
	zero := int64(0)
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels: map[string]string{"app": name, benchLabel: "true"},
			// kwok reports these as usage if a metrics-server is added.
			Annotations: map[string]string{"kwok.x-k8s.io/usage-cpu": "40m", "kwok.x-k8s.io/usage-memory": "90Mi"},
		},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{"type": "kwok"},
			TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{
				Name: "app", Image: "registry.k8s.io/pause:3.10",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}},
			}},
		},
	}
}

// create makes the namespaces, the workloads with their first replica
// counts, and the HPAs.
func (f *feeder) create(ctx context.Context, reps []int) error {
	seen := map[string]bool{}
	var nss []string
	for _, w := range f.plan {
		if !seen[w.Namespace] {
			seen[w.Namespace] = true
			nss = append(nss, w.Namespace)
		}
	}
	if err := f.parallel(ctx, len(nss), func(ctx context.Context, i int) error {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nss[i], Labels: map[string]string{benchLabel: "true"}}}
		if _, err := f.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("namespace %s: %w", nss[i], err)
		}
		return nil
	}); err != nil {
		return err
	}
	// Pods need the namespace's default ServiceAccount, which the
	// controller-manager creates shortly after the namespace.
	if err := f.waitServiceAccounts(ctx, nss); err != nil {
		return err
	}
	disabled := autoscalingv2.DisabledPolicySelect
	return f.parallel(ctx, len(f.plan), func(ctx context.Context, i int) error {
		w := f.plan[i]
		n := int32(reps[i])
		meta := metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace, Labels: map[string]string{benchLabel: "true"}}
		sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": w.Name}}
		var err error
		kind := "Deployment"
		if w.StatefulSet {
			kind = "StatefulSet"
			_, err = f.cs.AppsV1().StatefulSets(w.Namespace).Create(ctx, &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{
				Replicas: &n, Selector: sel, Template: podTemplate(w.Name), ServiceName: w.Name,
				PodManagementPolicy: appsv1.ParallelPodManagement, // all pods at once, like a Deployment
			}}, metav1.CreateOptions{})
		} else {
			_, err = f.cs.AppsV1().Deployments(w.Namespace).Create(ctx, &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{
				Replicas: &n, Selector: sel, Template: podTemplate(w.Name),
			}}, metav1.CreateOptions{})
		}
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%s %s/%s: %w", kind, w.Namespace, w.Name, err)
		}
		if !w.HPA {
			return nil
		}
		one := int32(1)
		_, err = f.cs.AutoscalingV2().HorizontalPodAutoscalers(w.Namespace).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: meta,
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: w.Name},
				MinReplicas:    &one, MaxReplicas: f.hpaMax,
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
					ScaleUp:   &autoscalingv2.HPAScalingRules{SelectPolicy: &disabled},
					ScaleDown: &autoscalingv2.HPAScalingRules{SelectPolicy: &disabled},
				},
			},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("HPA %s/%s: %w", w.Namespace, w.Name, err)
		}
		return nil
	})
}

func (f *feeder) waitServiceAccounts(ctx context.Context, nss []string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for _, ns := range nss {
		for {
			_, err := f.cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("namespace %s has no default ServiceAccount after 2 min: %w", ns, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// scale sets every workload's replicas.
func (f *feeder) scale(ctx context.Context, reps []int) error {
	return f.parallel(ctx, len(f.plan), func(ctx context.Context, i int) error {
		w := f.plan[i]
		patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, reps[i]))
		var err error
		if w.StatefulSet {
			_, err = f.cs.AppsV1().StatefulSets(w.Namespace).Patch(ctx, w.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		} else {
			_, err = f.cs.AppsV1().Deployments(w.Namespace).Patch(ctx, w.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		}
		if err != nil {
			return fmt.Errorf("scaling %s/%s to %d: %w", w.Namespace, w.Name, reps[i], err)
		}
		return nil
	})
}

// waitRunning waits until every workload reports all its replicas ready
// (kwok marks pods Running and Ready), then checks the pods themselves.
func (f *feeder) waitRunning(ctx context.Context, pods int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sel := metav1.ListOptions{LabelSelector: benchLabel + "=true"}
	lastLog := time.Now()
	for {
		ready, err := f.readyReplicas(ctx, sel)
		if err == nil && ready == pods {
			break
		}
		if time.Since(lastLog) > 15*time.Second {
			fmt.Fprintf(f.log, "bench-scale:   %d of %d pods ready\n", ready, pods)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			running, _ := f.runningPods(context.Background(), sel)
			return fmt.Errorf("only %d of %d pods ready (%d Running) after %s: %w", ready, pods, running, timeout, errors.Join(err, ctx.Err()))
		case <-time.After(time.Second):
		}
	}
	running, err := f.runningPods(ctx, sel)
	if err != nil {
		return err
	}
	if running != pods {
		return fmt.Errorf("workloads report %d ready pods but %d pods are Running", pods, running)
	}
	return nil
}

func (f *feeder) readyReplicas(ctx context.Context, sel metav1.ListOptions) (int, error) {
	deps, err := f.cs.AppsV1().Deployments("").List(ctx, sel)
	if err != nil {
		return 0, err
	}
	sets, err := f.cs.AppsV1().StatefulSets("").List(ctx, sel)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range deps.Items {
		n += int(d.Status.ReadyReplicas)
	}
	for _, s := range sets.Items {
		n += int(s.Status.ReadyReplicas)
	}
	return n, nil
}

// runningPods counts the benchmark's pods in phase Running, page by page.
func (f *feeder) runningPods(ctx context.Context, sel metav1.ListOptions) (int, error) {
	n := 0
	opts := sel
	opts.Limit = 2000
	for {
		list, err := f.cs.CoreV1().Pods("").List(ctx, opts)
		if err != nil {
			return n, fmt.Errorf("listing pods: %w", err)
		}
		for i := range list.Items {
			if list.Items[i].Status.Phase == corev1.PodRunning && list.Items[i].DeletionTimestamp == nil {
				n++
			}
		}
		if list.Continue == "" {
			return n, nil
		}
		opts.Continue = list.Continue
	}
}
