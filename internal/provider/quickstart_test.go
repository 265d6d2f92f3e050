package provider

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	tfconfig "github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// quickstartDir is the example `make demo` applies, used here as a user
// would: its own files, its variables set from outside.
const quickstartDir = "../../examples/quickstart"

// The quick start applied end to end: the runtime, a VNode in each of two
// zones and the selector; then the example's sample Deployment, which says
// nothing about ECI, runs on the VNodes, spread over both zones, each pod an
// ECI instance of the selector's spec that carries the VNode's tags_all.
func TestAccQuickstart(t *testing.T) {
	clusterRuntime.Lock()
	defer clusterRuntime.Unlock()
	// The example names the provider by its registry address, as a user's
	// configuration must; the harness serves it there. Safe to set: tests
	// that call t.Parallel do not run while this one does.
	t.Setenv("TF_ACC_PROVIDER_NAMESPACE", "eci-vnode")
	sb := testAccSandbox(t)
	kc := sb.Client()
	_, region, endpoint, ak, sk := testAccEmulator(t)
	zoneH, zoneI := region+"-h", region+"-i"
	nodeH, nodeI := "vnode-"+zoneH, "vnode-"+zoneI
	const cluster = "quickstart-test"

	vars := tfconfig.Variables{
		"region":   tfconfig.StringVariable(region),
		"endpoint": tfconfig.StringVariable(endpoint),
		"zones": tfconfig.ListVariable(
			tfconfig.ObjectVariable(map[string]tfconfig.Variable{"zone_id": tfconfig.StringVariable(zoneH), "vswitch_id": tfconfig.StringVariable("vsw-h-1")}),
			tfconfig.ObjectVariable(map[string]tfconfig.Variable{"zone_id": tfconfig.StringVariable(zoneI), "vswitch_id": tfconfig.StringVariable("vsw-i-2")}),
		),
		"security_group_id": tfconfig.StringVariable("sg-emulator0001"),
		"kubeconfig_path":   tfconfig.StringVariable(sb.Kubeconfig()),
		"cluster_name":      tfconfig.StringVariable(cluster),
		"tags":              tfconfig.MapVariable(map[string]tfconfig.Variable{"project": tfconfig.StringVariable("quickstart"), "cost-center": tfconfig.StringVariable("cc-42")}),
		// What a sandbox worker needs (it mounts no volumes; its API
		// server reaches no Service).
		"credentials_as":     tfconfig.StringVariable("env"),
		"webhook_direct_url": tfconfig.BoolVariable(true),
	}
	tagsAll := func(zone string) map[string]string {
		return map[string]string{"project": "quickstart", "cost-center": "cc-42", "zone": zone}
	}
	tagsCheck := func(zone string) knownvalue.Check {
		m := map[string]knownvalue.Check{}
		for k, v := range tagsAll(zone) {
			m[k] = knownvalue.StringExact(v)
		}
		return knownvalue.MapExact(m)
	}
	ns := install.DefaultNamespace

	resource.UnitTest(t, resource.TestCase{
		PreCheck: func() { testAccPreCheck(t) },
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			testAccCheckVNodeDestroyed(kc, ns, nodeH),
			testAccCheckVNodeDestroyed(kc, ns, nodeI),
			testAccCheckRuntimeDestroyed(kc, ns),
			testAccCheckNoSelector(kc, "demo-to-eci"),
		),
		Steps: []resource.TestStep{{
			// With a configuration directory that has a provider block, the
			// harness takes the provider at the step.
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(testAccCredentialsEnv(ak, sk)),
			ConfigDirectory:          tfconfig.StaticDirectory(quickstartDir),
			ConfigVariables:          vars,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("vnode_tags", knownvalue.MapExact(map[string]knownvalue.Check{
					zoneH: tagsCheck(zoneH), zoneI: tagsCheck(zoneI)})),
				statecheck.ExpectKnownOutputValue("vnodes", knownvalue.MapExact(map[string]knownvalue.Check{
					zoneH: knownvalue.StringExact(nodeH), zoneI: knownvalue.StringExact(nodeI)})),
				statecheck.ExpectKnownOutputValue("selector", knownvalue.StringExact("demo-to-eci")),
			},
			Check: testAccCheckQuickstartWorkload(t, kc, region, endpoint, ak, sk, cluster,
				map[string]string{nodeH: zoneH, nodeI: zoneI}, map[string]map[string]string{nodeH: tagsAll(zoneH), nodeI: tagsAll(zoneI)}),
		}},
	})
}

// testAccCheckQuickstartWorkload applies the example's web.yaml and checks
// that its pods run on the VNodes, as many in each zone, with the instances
// the emulator lists for them: in the VNode's zone, of the selector's spec,
// tagged with the VNode's tags_all. It deletes the workload before it
// returns, so that destroy finds no pod on the VNodes.
func testAccCheckQuickstartWorkload(t *testing.T, kc kubernetes.Interface, region, endpoint, ak, sk, cluster string, zones map[string]string, tags map[string]map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ns, d, err := readQuickstartWorkload(quickstartDir + "/web.yaml")
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		if _, err := kc.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return err
		}
		defer func() {
			if err := deleteNamespaceAndWait(kc, ns.Name); err != nil {
				t.Errorf("clean up the sample workload: %v", err)
			}
		}()
		// The webhook reads the profile from a watch: wait until it applies
		// the selector, as a user's pod created a moment later would see it.
		probe := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns.Name, Labels: d.Spec.Template.Labels},
			Spec: d.Spec.Template.Spec}
		for {
			got, err := kc.CoreV1().Pods(ns.Name).Create(ctx, probe.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err == nil && got.Annotations[profile.SelectorAnnotation] == "demo-to-eci" {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the webhook does not apply selector demo-to-eci to pods of %s (last: %v)", ns.Name, err)
			case <-time.After(time.Second):
			}
		}
		if _, err := kc.AppsV1().Deployments(ns.Name).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return err
		}
		want := int(*d.Spec.Replicas)
		var pods []corev1.Pod
		var last string
		for {
			list, err := kc.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
			if err != nil {
				return err
			}
			pods = pods[:0]
			var states []string
			for _, p := range list.Items {
				states = append(states, fmt.Sprintf("%s %s on %q", p.Name, p.Status.Phase, p.Spec.NodeName))
				if p.Status.Phase == corev1.PodRunning && p.Annotations[annotationInstanceID] != "" {
					pods = append(pods, p)
				}
			}
			last = strings.Join(states, ", ")
			if len(pods) == want && len(list.Items) == want {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the sample pods are not all Running with an instance: %s", last)
			case <-time.After(time.Second):
			}
		}

		client, err := eci.New(eci.Config{Region: region, Endpoint: endpoint,
			Credentials: &eci.Credentials{AccessKeyID: ak, AccessKeySecret: sk}})
		if err != nil {
			return err
		}
		groups, err := client.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{
			Tags: []eci.Tag{{Key: "eci-vnode/cluster", Value: cluster}}})
		if err != nil {
			return err
		}
		byID := map[string]eci.ContainerGroup{}
		for _, g := range groups {
			byID[g.ContainerGroupID] = g
		}
		perNode := map[string]int{}
		var errs []error
		for _, p := range pods {
			node := p.Spec.NodeName
			zone, ok := zones[node]
			if !ok {
				errs = append(errs, fmt.Errorf("pod %s runs on %s, not on a VNode of the quick start", p.Name, node))
				continue
			}
			perNode[node]++
			id := p.Annotations[annotationInstanceID]
			g, ok := byID[id]
			if !ok {
				errs = append(errs, fmt.Errorf("pod %s: instance %s is not among the cluster's instances in the emulator", p.Name, id))
				continue
			}
			if g.ZoneID != zone {
				errs = append(errs, fmt.Errorf("pod %s on %s: instance in zone %s, want %s", p.Name, node, g.ZoneID, zone))
			}
			if g.CPU != 1 || g.Memory != 2 {
				errs = append(errs, fmt.Errorf("pod %s: instance of %g vCPU / %g GiB, want the selector's 1-2Gi", p.Name, g.CPU, g.Memory))
			}
			got := map[string]string{}
			for _, tg := range g.Tags {
				got[tg.Key] = tg.Value
			}
			for k, v := range tags[node] {
				if got[k] != v {
					errs = append(errs, fmt.Errorf("pod %s: instance %s has tag %s=%q, want %q (tags_all of %s); its tags: %v", p.Name, id, k, got[k], v, node, got))
				}
			}
		}
		for _, n := range slices.Sorted(maps.Keys(zones)) {
			if perNode[n] != want/len(zones) {
				errs = append(errs, fmt.Errorf("%d pods on %s, want %d in each zone (%v)", perNode[n], n, want/len(zones), perNode))
			}
		}
		return errors.Join(errs...)
	}
}

// readQuickstartWorkload reads the example's Namespace and Deployment.
func readQuickstartWorkload(path string) (*corev1.Namespace, *appsv1.Deployment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var ns *corev1.Namespace
	var d *appsv1.Deployment
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			ns = o
		case *appsv1.Deployment:
			d = o
		}
	}
	if ns == nil || d == nil || d.Spec.Replicas == nil {
		return nil, nil, fmt.Errorf("%s: want a Namespace and a Deployment with replicas", path)
	}
	return ns, d, nil
}

// deleteNamespaceAndWait deletes a namespace and waits until it is gone.
func deleteNamespaceAndWait(kc kubernetes.Interface, name string) error {
	ctx := context.Background()
	if err := kc.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return err
	}
	return waitGone(ctx, 3*time.Minute, "namespace "+name, func(ctx context.Context) error {
		_, err := kc.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		return err
	})
}

// testAccCheckNoSelector checks that the eci-profile has no selector name.
func testAccCheckNoSelector(kc kubernetes.Interface, name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		cm, err := kc.CoreV1().ConfigMaps(profile.ConfigMapNamespace).Get(context.Background(), profile.ConfigMapName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		prof, err := profile.Parse(cm.Data)
		if err != nil {
			return err
		}
		for _, s := range prof.Selectors {
			if s.Name == name {
				return fmt.Errorf("selector %s is still in the eci-profile after destroy", name)
			}
		}
		return nil
	}
}
