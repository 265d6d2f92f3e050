package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/eci-vnode/terraform-provider-eci/internal/cost"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// Annotations the runtime writes on a pod once its ECI instance exists
// (runtime/node: AnnotationInstanceID, AnnotationInstanceSpec).
const (
	annInstanceID   = "k8s.aliyun.com/eci-instance-id"
	annInstanceSpec = "k8s.aliyun.com/eci-instance-spec"
)

// demoFieldManager owns what the demo writes in the cluster.
const demoFieldManager = "eci-sandbox-demo"

// workload is the example's sample: a namespace and a Deployment in it.
type workload struct {
	namespace  *corev1.Namespace
	deployment *appsv1.Deployment
}

// loadWorkload reads the sample workload, a Namespace and a Deployment in it.
func loadWorkload(path string) (workload, error) {
	var w workload
	f, err := os.Open(path)
	if err != nil {
		return w, fmt.Errorf("read the sample workload: %w", err)
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return w, fmt.Errorf("read %s: %w", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			return w, fmt.Errorf("decode %s: %w", path, err)
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			w.namespace = o
		case *appsv1.Deployment:
			w.deployment = o
		default:
			return w, fmt.Errorf("%s: unexpected %T", path, obj)
		}
	}
	if w.namespace == nil || w.deployment == nil || w.deployment.Namespace != w.namespace.Name || w.deployment.Spec.Replicas == nil {
		return w, fmt.Errorf("%s: want a Namespace and a Deployment with replicas in it", path)
	}
	return w, nil
}

// applyWorkload creates the namespace, waits until the eci-profile webhook applies the
// selector to a pod of the namespace (a server-side dry run goes through the webhook; the
// webhook reads the profile from a watch, so a selector just applied may take a moment),
// then creates the Deployment or brings an existing one back to the file.
func applyWorkload(ctx context.Context, p *progress, kc kubernetes.Interface, w workload, selector string) error {
	ns := w.namespace.Name
	if _, err := kc.CoreV1().Namespaces().Create(ctx, w.namespace.DeepCopy(), metav1.CreateOptions{FieldManager: demoFieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	tmpl := w.deployment.Spec.Template
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-admission-probe", Namespace: ns, Labels: tmpl.Labels, Annotations: tmpl.Annotations},
		Spec:       *tmpl.Spec.DeepCopy(),
	}
	last := "no answer yet"
	err := p.wait(func() string {
		return "waiting for the eci-profile webhook to apply selector " + selector + ": " + last
	}, func() error {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			got, err := kc.CoreV1().Pods(ns).Create(ctx, probe.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			switch {
			case err != nil:
				last = err.Error()
			case got.Annotations[profile.SelectorAnnotation] == selector:
				return nil
			default:
				last = fmt.Sprintf("a pod is admitted with %s=%q", profile.SelectorAnnotation, got.Annotations[profile.SelectorAnnotation])
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the eci-profile webhook did not apply selector %s to a pod of namespace %s in 2m (%s)", selector, ns, last)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
	})
	if err != nil {
		return err
	}
	p.printf("the eci-profile webhook applies selector %s to pods of namespace %s", selector, ns)
	d := w.deployment.DeepCopy()
	cur, err := kc.AppsV1().Deployments(ns).Get(ctx, d.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := kc.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{FieldManager: demoFieldManager}); err != nil {
			return fmt.Errorf("create deployment %s/%s: %w", ns, d.Name, err)
		}
		p.printf("deployment.apps/%s created", d.Name)
	case err != nil:
		return fmt.Errorf("read deployment %s/%s: %w", ns, d.Name, err)
	default:
		cur.Spec = d.Spec
		if _, err := kc.AppsV1().Deployments(ns).Update(ctx, cur, metav1.UpdateOptions{FieldManager: demoFieldManager}); err != nil {
			return fmt.Errorf("update deployment %s/%s: %w", ns, d.Name, err)
		}
		p.printf("deployment.apps/%s exists; kept as %s says", d.Name, demoWorkload)
	}
	return nil
}

// waitPodsOnVNodes waits until the Deployment's pods, as many as its replicas, all run on
// the VNodes with an ECI instance behind them, printing how far they are.
func waitPodsOnVNodes(ctx context.Context, p *progress, kc kubernetes.Interface, w workload, vnodes map[string]bool, timeout time.Duration) ([]corev1.Pod, error) {
	ns, want := w.namespace.Name, int(*w.deployment.Spec.Replicas)
	selector := metav1.FormatLabelSelector(w.deployment.Spec.Selector)
	var pods []corev1.Pod
	var state, printed string
	err := p.wait(func() string { return state }, func() error {
		deadline := time.Now().Add(timeout)
		for {
			list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				state = "list pods: " + err.Error()
			} else {
				var done bool
				pods, state, done = podsProgress(list.Items, want, vnodes)
				if state != printed {
					p.printf("pods: %s", state)
					printed = state
				}
				if done {
					return nil
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the pods of deployment %s/%s did not all run on the VNodes in %s: %s", ns, w.deployment.Name, timeout, state)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
	})
	return pods, err
}

// podsProgress says how far the pods are: done when want pods, none of them
// terminating, all run on VNodes with an instance ID.
func podsProgress(items []corev1.Pod, want int, vnodes map[string]bool) ([]corev1.Pod, string, bool) {
	var live []corev1.Pod
	for _, pod := range items {
		if pod.DeletionTimestamp == nil {
			live = append(live, pod)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
	running := 0
	var notes []string
	for _, pod := range live {
		switch {
		case pod.Spec.NodeName != "" && !vnodes[pod.Spec.NodeName]:
			notes = append(notes, fmt.Sprintf("%s is on %s, not a VNode", pod.Name, pod.Spec.NodeName))
		case pod.Status.Phase == corev1.PodRunning && pod.Annotations[annInstanceID] != "":
			running++
		default:
			notes = append(notes, pod.Name+" "+podState(pod))
		}
	}
	state := fmt.Sprintf("%d/%d Running on VNodes", running, want)
	if len(notes) > 0 {
		if len(notes) > 2 {
			notes = append(notes[:2], fmt.Sprintf("%d more", len(notes)-2))
		}
		state += " (" + strings.Join(notes, "; ") + ")"
	}
	return live, state, running == want && len(live) == want
}

// podState is a short phrase for a pod that is not running yet.
func podState(pod corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
			return "unschedulable: " + c.Message
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
			return cs.State.Waiting.Reason + " on " + pod.Spec.NodeName
		}
	}
	if pod.Spec.NodeName == "" {
		return "Pending"
	}
	return string(pod.Status.Phase) + " on " + pod.Spec.NodeName
}

// printPodTable prints each pod with its node, its ECI instance and the instance's zone,
// spec and estimated hourly cost (DescribeContainerGroupPrice through internal/cost),
// then the VNodes' resident charge and the total.
func printPodTable(ctx context.Context, p *progress, info sandbox.ECIInfo, pods []corev1.Pod, out demoOutputs) error {
	client, err := eci.New(eci.Config{Region: info.Region, Endpoint: info.Endpoint,
		Credentials: &eci.Credentials{AccessKeyID: info.AccessKeyID, AccessKeySecret: info.AccessKeySecret}})
	if err != nil {
		return err
	}
	var ids []string
	for _, pod := range pods {
		ids = append(ids, pod.Annotations[annInstanceID])
	}
	groups := map[string]eci.ContainerGroup{}
	for start := 0; start < len(ids); start += 20 {
		page := ids[start:min(start+20, len(ids))]
		resp, err := client.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: page})
		if err != nil {
			return fmt.Errorf("describe the pods' instances: %w", err)
		}
		for _, g := range resp.ContainerGroups {
			groups[g.ContainerGroupID] = g
		}
	}
	est := cost.NewEstimator(client)
	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POD\tNODE\tECI INSTANCE\tZONE\tSPEC\tEST. COST/HOUR")
	var total float64
	currency := ""
	for _, pod := range pods {
		id := pod.Annotations[annInstanceID]
		g, ok := groups[id]
		if !ok {
			return fmt.Errorf("pod %s: instance %s is not in DescribeContainerGroups", pod.Name, id)
		}
		spec := pod.Annotations[annInstanceSpec]
		if spec == "" {
			spec = fmt.Sprintf("%g-%gGi", g.CPU, g.Memory)
		}
		cs := cost.Spec{CPU: g.CPU, MemoryGiB: g.Memory, ZoneID: g.ZoneID, Spot: g.SpotStrategy == eci.SpotStrategySpotAsPriceGo}
		if strings.HasPrefix(g.InstanceType, "ecs.") {
			cs.InstanceType = g.InstanceType
		}
		price, err := est.Hourly(ctx, cs)
		if err != nil {
			return fmt.Errorf("pod %s: %w", pod.Name, err)
		}
		total += price.PerHour
		currency = price.Currency
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.4f %s\n", pod.Name, pod.Spec.NodeName, id, g.ZoneID, spec, price.PerHour, price.Currency)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The VNodes here are the runtime's Deployments in the cluster, which Alibaba Cloud
	// does not bill (docs/design.md, "Billing"); what a VNode of ECI's VirtualNode API
	// would add is shown for comparison, for the first zone.
	zones := make([]string, 0, len(out.VNodes))
	for z := range out.VNodes {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	resident, err := est.VNodeResidentHourly(ctx, zones[0])
	if err != nil {
		return fmt.Errorf("VNode resident charge in %s: %w", zones[0], err)
	}
	p.printf("\n%d ECI instances: %.4f %s/hour in all. The %d VNodes are Deployments in this cluster, not billed by Alibaba Cloud;",
		len(pods), total, currency, len(out.VNodes))
	p.printf("a VNode of ECI's VirtualNode API would add %.4f %s/hour each (2 × vCPU + 8 × GiB unit price).", resident, currency)
	p.printf("Prices: DescribeContainerGroupPrice, here the emulator's price table, not a quote.")
	return nil
}

// printNextSteps says what to try with the running demo.
func printNextSteps(p *progress, dir string, tf *demoTerraform, out demoOutputs, w workload) {
	rel := func(path string) string {
		if wd, err := os.Getwd(); err == nil {
			if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
				return r
			}
		}
		return path
	}
	vnodes := out.sortedVNodes()
	ns, d := w.namespace.Name, w.deployment.Name
	p.step("What to try next (the sandbox keeps running)")
	p.printf(`  source %[1]s     # KUBECONFIG, Terraform %[2]s and kubectl on PATH, the provider from this checkout, the emulator's keys

  kubectl get nodes -L topology.kubernetes.io/zone
  kubectl -n %[3]s get pods -o wide
  kubectl -n %[3]s scale deployment %[4]s --replicas=6    # two more ECI instances
  kubectl -n kube-system get configmap eci-profile -o yaml   # the selector Terraform wrote

  Drift: change by hand what Terraform manages, and plan:
  kubectl -n kube-system edit configmap eci-profile      # e.g. the selector's policy
  kubectl -n %[7]s scale deployment eci-vnode-%[5]s --replicas=2   # the VNode's runtime
  terraform -chdir=%[6]s plan      # shows both as updates; apply puts them back

  make demo-down     # terraform destroy, then stop the sandbox`,
		rel(filepath.Join(dir, demoEnvFile)), sandbox.TerraformVersion, ns, d, vnodes[0], rel(tf.work), out.Runtime)
}
