package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	tfconfig "github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// The module examples/modules/eci-burst applied, through
// examples/multi-cluster, to two clusters at once: the package's sandbox
// plays "east" and a second sandbox started here plays "west"; one emulator
// is the ECI account both share.
//
// Unlike the other acceptance tests, this one runs the provider as a built
// binary that Terraform installs from a local mirror, not in-process: an
// in-process provider is one server that Terraform reattaches to for every
// provider configuration, so the aliases east and west would share one
// configuration (the last one configured), and both modules would land in
// the same cluster. A binary runs once per configuration, as in production.

const (
	// mcBurstNamespace is the namespace whose overflow the module sends to
	// ECI, in both clusters.
	mcBurstNamespace = "tf-mc-batch"
	// mcRuntimeNamespace and mcSelector are the module's defaults, which
	// examples/multi-cluster keeps.
	mcRuntimeNamespace = "eci-vnode-system"
	mcSelector         = "eci-burst"
	// mcBurstPod is the pod each cluster runs in mcBurstNamespace.
	mcBurstPod = "burst"
	// mcProviderVersion is the version the test's mirror offers the
	// provider binary under.
	mcProviderVersion = "0.0.1"
)

// mcCluster is one cluster of the test, what the example's variable for
// it says, and what the test saw in it.
type mcCluster struct {
	key   string // east or west: the module and the variable
	name  string // cluster_name
	sb    *sandbox.Sandbox
	kc    kubernetes.Interface
	zones map[string][]string

	// Set by the first step's checks.
	instanceID string
	podNode    string
	snapshot   map[string]string
}

func (c *mcCluster) vnodes() []string {
	var names []string
	for zone := range c.zones {
		names = append(names, c.name+"-"+zone)
	}
	slices.Sort(names)
	return names
}

// The module refuses bad input at plan. Each cluster gets its own runtime,
// VNodes and selector from the module; a pod of a burst namespace that no
// worker can hold runs as an ECI instance on a VNode of its own cluster,
// tagged with that cluster; taking the west module out of the
// configuration destroys west's objects and leaves east's, its pod and its
// instance as they were.
func TestAccMultiCluster_moduleOnTwoClusters(t *testing.T) {
	// The runtime's webhook configurations and ClusterRoles are cluster-wide
	// objects, and east is the package's shared sandbox.
	clusterRuntime.Lock()
	defer clusterRuntime.Unlock()

	east := &mcCluster{key: "east", name: "tf-mc-east", sb: testAccSandbox(t),
		zones: map[string][]string{}}
	west := &mcCluster{key: "west", name: "tf-mc-west", sb: testAccSecondSandbox(t),
		zones: map[string][]string{}}
	east.kc, west.kc = east.sb.Client(), west.sb.Client()
	emu, region, endpoint, ak, sk := testAccEmulator(t)
	// The emulator's zones are <region>-h, -i, -j with vSwitches
	// vsw-<suffix>-1/-2, and sg-emulator0001 is its security group.
	east.zones[region+"-h"] = []string{"vsw-h-1"}
	east.zones[region+"-i"] = []string{"vsw-i-1", "vsw-i-2"}
	west.zones[region+"-j"] = []string{"vsw-j-1"}
	clusters := []*mcCluster{east, west}
	ecic, err := eci.New(eci.Config{Region: region, Endpoint: endpoint,
		Credentials: &eci.Credentials{AccessKeyID: ak, AccessKeySecret: sk}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	for _, c := range clusters {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: mcBurstNamespace}}
		if _, err := c.kc.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create namespace %s in %s: %v", mcBurstNamespace, c.key, err)
		}
		t.Cleanup(func() {
			_ = c.kc.CoreV1().Namespaces().Delete(context.Background(), mcBurstNamespace, metav1.DeleteOptions{})
		})
	}

	examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	// The harness copies the files of a ConfigDirectory (and nothing else)
	// into <WorkingDir>/work<random>/, where the example's module source
	// "../modules/eci-burst" points at <WorkingDir>/modules/eci-burst. A
	// WorkingDir of our own, with modules linked to examples/modules, lets
	// the example run unchanged.
	workingDir := t.TempDir()
	if err := os.Symlink(filepath.Join(examples, "modules"), filepath.Join(workingDir, "modules")); err != nil {
		t.Fatal(err)
	}
	// examples/multi-cluster without west.tf: what a platform team applies
	// to take ECI away from the west cluster.
	eastOnly := filepath.Join(t.TempDir(), "multi-cluster")
	testAccCopyExampleExcept(t, filepath.Join(examples, "multi-cluster"), eastOnly, "west.tf")

	// Terraform (and through it each provider process) reads the CLI
	// configuration and the credentials from the environment. This test
	// is not parallel, so t.Setenv is safe.
	t.Setenv("TF_CLI_CONFIG_FILE", testAccProviderMirror(t))
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", ak)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", sk)
	for _, v := range []string{"ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN"} {
		t.Setenv(v, "")
	}
	// The harness destroys at the end only what it can read back through
	// its state shim, which refuses module resources; the last step
	// destroys instead, and this cleans up after a step that failed, from
	// the working directory the harness is told to keep (t.TempDir removes
	// it afterwards).
	t.Setenv("TF_ACC_PERSIST_WORKING_DIR", "1")
	t.Cleanup(func() { testAccDestroyLeftovers(t, workingDir, clusters) })

	vars := tfconfig.Variables{
		"region":             tfconfig.StringVariable(region),
		"endpoint":           tfconfig.StringVariable(endpoint),
		"east_kubeconfig":    tfconfig.StringVariable(east.sb.Kubeconfig()),
		"west_kubeconfig":    tfconfig.StringVariable(west.sb.Kubeconfig()),
		"east":               testAccClusterVariable(east),
		"west":               testAccClusterVariable(west),
		"burst_namespaces":   tfconfig.ListVariable(tfconfig.StringVariable(mcBurstNamespace)),
		"credentials_as":     tfconfig.StringVariable("env"),
		"webhook_direct_url": tfconfig.BoolVariable(true),
	}

	bad := maps.Clone(vars)
	bad["east"] = testAccClusterVariableOf("East_1", east.zones)
	bad["west"] = testAccClusterVariableOf(west.name, map[string][]string{region + "-j": {"vsw j 1"}})

	var westPlan []plancheck.PlanCheck
	for _, r := range testAccModuleResources(west) {
		westPlan = append(westPlan, plancheck.ExpectResourceAction(r, plancheck.ResourceActionDestroy))
	}
	for _, r := range testAccModuleResources(east) {
		westPlan = append(westPlan, plancheck.ExpectResourceAction(r, plancheck.ResourceActionNoop))
	}

	// Checks are state checks, not Check functions: those take the
	// harness's legacy state, which cannot hold module resources.
	resource.UnitTest(t, resource.TestCase{
		PreCheck:   func() { testAccPreCheck(t) },
		WorkingDir: workingDir,
		Steps: []resource.TestStep{
			// The module's validation refuses, at plan and before anything
			// is made, a cluster name that cannot prefix a node name and a
			// vSwitch ID that is none.
			{
				ConfigDirectory: tfconfig.StaticDirectory(filepath.Join(examples, "multi-cluster")),
				ConfigVariables: bad,
				PlanOnly:        true,
				ExpectError: regexp.MustCompile(`(?s)(cluster_name must be a lowercase DNS label.*vSwitch ID must look like vsw-` +
					`|vSwitch ID must look like vsw-.*cluster_name must be a lowercase DNS label)`),
			},
			{
				ConfigDirectory: tfconfig.StaticDirectory(filepath.Join(examples, "multi-cluster")),
				ConfigVariables: vars,
				ConfigStateChecks: []statecheck.StateCheck{
					testAccExpectModuleOutput(east), testAccExpectModuleOutput(west),
					liveChecks(
						testAccCheckModuleInstalled(east, west),
						testAccCheckModuleInstalled(west, east),
						testAccCheckBurstPod(ecic, east),
						testAccCheckBurstPod(ecic, west),
						func() error {
							if n := emu.Calls()["CreateContainerGroup"].Count; n < 2 {
								return fmt.Errorf("the emulator saw %d CreateContainerGroup, want one per cluster at least", n)
							}
							return nil
						},
						testAccSnapshot(east), testAccSnapshot(west),
					),
				},
			},
			// West's module is taken out of the configuration (its provider
			// stays, to destroy with). Its pod goes first: a VNode with
			// pods bound refuses to be destroyed.
			{
				PreConfig:        func() { testAccDeleteBurstPod(t, west) },
				ConfigDirectory:  tfconfig.StaticDirectory(eastOnly),
				ConfigVariables:  vars,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: westPlan},
				ConfigStateChecks: []statecheck.StateCheck{liveChecks(
					testAccCheckModuleGone(west),
					testAccCheckNoRunningInstances(ecic, west),
					testAccCheckUntouched(ecic, east),
				)},
			},
			// East's pod goes, then the rest of east.
			{
				PreConfig:       func() { testAccDeleteBurstPod(t, east) },
				ConfigDirectory: tfconfig.StaticDirectory(eastOnly),
				ConfigVariables: vars,
				Destroy:         true,
				ConfigStateChecks: []statecheck.StateCheck{liveChecks(
					testAccCheckModuleGone(east),
					testAccCheckNoRunningInstances(ecic, east, west),
				)},
			},
		},
	})
}

// liveChecks is a state check that looks at the clusters and the emulator
// rather than the state: it runs fs in order and stops at the first error.
func liveChecks(fs ...func() error) statecheck.StateCheck { return liveCheck(fs) }

type liveCheck []func() error

func (l liveCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	for _, f := range l {
		if err := f(); err != nil {
			resp.Error = err
			return
		}
	}
}

// testAccProviderMirror builds the provider into a filesystem mirror and
// returns a Terraform CLI configuration that installs eci-vnode/eci from
// it, and every other provider from nowhere: the test needs no network.
func testAccProviderMirror(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "mirror", "registry.terraform.io", "eci-vnode", "eci", mcProviderVersion,
		runtime.GOOS+"_"+runtime.GOARCH, "terraform-provider-eci_v"+mcProviderVersion)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "-ldflags", "-X main.version="+mcProviderVersion, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the provider: %v\n%s", err, out)
	}
	cli := filepath.Join(dir, "terraformrc")
	conf := fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/eci-vnode/eci"]
  }
}
`, filepath.Join(dir, "mirror"))
	if err := os.WriteFile(cli, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return cli
}

// testAccDestroyLeftovers destroys what a failed step left in the
// harness's working directories (a passing test leaves an empty state):
// the pods first, which would hold their VNodes, then the configuration.
func testAccDestroyLeftovers(t *testing.T, workingDir string, clusters []*mcCluster) {
	states, _ := filepath.Glob(filepath.Join(workingDir, "work*", "terraform.tfstate"))
	var dirs []string
	for _, path := range states {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("read the state the test left: %v", err)
			continue
		}
		var st struct {
			Resources []json.RawMessage `json:"resources"`
		}
		if err := json.Unmarshal(data, &st); err != nil || len(st.Resources) > 0 {
			dirs = append(dirs, filepath.Dir(path))
		}
	}
	if len(dirs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, c := range clusters {
		_ = testAccDeletePod(ctx, c.kc, mcBurstPod)
	}
	for _, dir := range dirs {
		cmd := exec.CommandContext(ctx, testTools(t).Terraform, "destroy", "-auto-approve", "-input=false", "-no-color")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("destroy what the test left in %s: %v\n%s", dir, err, out)
		} else {
			t.Logf("destroyed what the test left in %s", dir)
		}
	}
}

// testAccSecondSandbox starts a sandbox of the test's own, beside the
// package's, with one worker for the runtime's Deployments; it stops on
// Cleanup, and its logs are kept when the test fails.
func testAccSecondSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	tools := testTools(t)
	dir, err := os.MkdirTemp("", "provider-sandbox-west-")
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "sandbox.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Options{Dir: filepath.Join(dir, "sb"), Workers: 1, Tools: tools, Log: log})
	if err != nil {
		log.Close()
		t.Fatalf("start the second sandbox: %v (logs in %s)", err, dir)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sb.Stop(ctx); err != nil {
			t.Errorf("stop the second sandbox: %v", err)
		}
		log.Close()
		if t.Failed() {
			t.Logf("the second sandbox's logs are kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return sb
}

// testAccCopyExampleExcept copies the files of the example directory src
// into dst, leaving out those named.
func testAccCopyExampleExcept(t *testing.T, src, dst string, except ...string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	copied := 0
	for _, e := range entries {
		if e.IsDir() || slices.Contains(except, e.Name()) || !strings.HasSuffix(e.Name(), ".tf") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
		copied++
	}
	for _, name := range except {
		if _, err := os.Stat(filepath.Join(src, name)); err != nil {
			t.Fatalf("the example has no %s to leave out: %v", name, err)
		}
	}
	if copied == 0 {
		t.Fatalf("no .tf files in %s", src)
	}
}

// testAccClusterVariable is the example's east or west variable for c.
func testAccClusterVariable(c *mcCluster) tfconfig.Variable {
	return testAccClusterVariableOf(c.name, c.zones)
}

func testAccClusterVariableOf(name string, zoneVSwitches map[string][]string) tfconfig.Variable {
	zones := map[string]tfconfig.Variable{}
	for zone, vsws := range zoneVSwitches {
		var vs []tfconfig.Variable
		for _, v := range vsws {
			vs = append(vs, tfconfig.StringVariable(v))
		}
		zones[zone] = tfconfig.ListVariable(vs...)
	}
	return tfconfig.ObjectVariable(map[string]tfconfig.Variable{
		"cluster_name":      tfconfig.StringVariable(name),
		"zones":             tfconfig.MapVariable(zones),
		"security_group_id": tfconfig.StringVariable("sg-emulator0001"),
	})
}

// testAccModuleResources are the addresses of what the module makes in c.
func testAccModuleResources(c *mcCluster) []string {
	m := "module." + c.key
	out := []string{m + ".eci_runtime.this", m + ".eci_profile_selector.burst"}
	for zone := range c.zones {
		out = append(out, fmt.Sprintf("%s.eci_vnode.this[%q]", m, zone))
	}
	slices.Sort(out)
	return out
}

// testAccExpectModuleOutput checks the example's output for c: the
// runtime's namespace, one VNode per zone, the selector.
func testAccExpectModuleOutput(c *mcCluster) statecheck.StateCheck {
	vnodes := map[string]knownvalue.Check{}
	for zone := range c.zones {
		vnodes[zone] = knownvalue.StringExact(c.name + "-" + zone)
	}
	return statecheck.ExpectKnownOutputValue(c.key, knownvalue.ObjectExact(map[string]knownvalue.Check{
		"runtime_id":     knownvalue.StringExact(mcRuntimeNamespace),
		"vnode_names":    knownvalue.MapExact(vnodes),
		"selector_names": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(mcSelector)}),
	}))
}

// testAccCheckModuleInstalled checks that c runs its own runtime (the
// webhook Deployment available), its VNodes (Deployment, Node Ready) and
// the selector, and holds no VNode of other.
func testAccCheckModuleInstalled(c, other *mcCluster) func() error {
	return func() error {
		ctx := context.Background()
		wh, err := c.kc.AppsV1().Deployments(mcRuntimeNamespace).Get(ctx, install.WebhookName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("%s: the runtime's webhook Deployment: %w", c.key, err)
		}
		if wh.Status.AvailableReplicas < 1 {
			return fmt.Errorf("%s: the webhook Deployment has no available replica", c.key)
		}
		for _, node := range c.vnodes() {
			if _, err := c.kc.AppsV1().Deployments(mcRuntimeNamespace).Get(ctx, vnodeDeploymentName(node), metav1.GetOptions{}); err != nil {
				return fmt.Errorf("%s: the Deployment of VNode %s: %w", c.key, node, err)
			}
			n, err := c.kc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("%s: VNode %s: %w", c.key, node, err)
			}
			if !testAccNodeReady(n) {
				return fmt.Errorf("%s: VNode %s is not Ready", c.key, node)
			}
			if got := n.Labels["eci-burst/cluster"]; got != c.name {
				return fmt.Errorf("%s: VNode %s label eci-burst/cluster=%q, want %q", c.key, node, got, c.name)
			}
		}
		for _, node := range other.vnodes() {
			if _, err := c.kc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s holds %s's VNode %s (%v)", c.key, other.key, node, err)
			}
		}
		sel, err := testAccProfileSelector(ctx, c.kc, mcSelector)
		if err != nil {
			return fmt.Errorf("%s: %w", c.key, err)
		}
		if sel == nil {
			return fmt.Errorf("%s: kube-system/eci-profile has no selector %s", c.key, mcSelector)
		}
		if sel.Policy != profile.PolicyNormalNodePrefer {
			return fmt.Errorf("%s: selector %s has policy %q, want %s", c.key, mcSelector, sel.Policy, profile.PolicyNormalNodePrefer)
		}
		ls := sel.NamespaceSelector
		if ls == nil || len(ls.MatchExpressions) != 1 || ls.MatchExpressions[0].Key != profile.NamespaceNameLabel ||
			ls.MatchExpressions[0].Operator != metav1.LabelSelectorOpIn || !slices.Equal(ls.MatchExpressions[0].Values, []string{mcBurstNamespace}) {
			return fmt.Errorf("%s: selector %s namespace selector %v, want %s In [%s]", c.key, mcSelector, ls, profile.NamespaceNameLabel, mcBurstNamespace)
		}
		return nil
	}
}

func testAccNodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// testAccProfileSelector returns the selector of kube-system/eci-profile
// by that name, or nil when the ConfigMap or the selector is missing.
func testAccProfileSelector(ctx context.Context, kc kubernetes.Interface, name string) (*profile.Selector, error) {
	cm, err := kc.CoreV1().ConfigMaps(profile.ConfigMapNamespace).Get(ctx, profile.ConfigMapName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the eci-profile ConfigMap: %w", err)
	}
	p, err := profile.Parse(cm.Data)
	if err != nil {
		return nil, err
	}
	for i := range p.Selectors {
		if p.Selectors[i].Name == name {
			return &p.Selectors[i], nil
		}
	}
	return nil, nil
}

// testAccCheckBurstPod creates, in c's burst namespace, a pod no worker can
// hold (a worker has 4 CPUs) and no node selector, and checks that the
// module's selector sent it to one of c's VNodes, where it runs as an ECI
// instance tagged with c's cluster by the module and by the runtime.
func testAccCheckBurstPod(ecic *eci.Client, c *mcCluster) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		pods := c.kc.CoreV1().Pods(mcBurstNamespace)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: mcBurstPod, Namespace: mcBurstNamespace},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    k8sresource.MustParse("8"),
					corev1.ResourceMemory: k8sresource.MustParse("16Gi"),
				}}}}},
		}
		// The webhook learns of a new selector from its informer: a pod
		// admitted just before that is not the selector's, and stays Pending.
		// Such a pod is made again until the selector takes it.
		var p *corev1.Pod
		for {
			created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("%s: create pod %s: %w", c.key, pod.Name, err)
			}
			if created.Annotations[profile.SelectorAnnotation] == mcSelector {
				p = created
				break
			}
			if err := testAccDeletePod(ctx, c.kc, pod.Name); err != nil {
				return fmt.Errorf("%s: %w", c.key, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: pod %s was never admitted with selector %s (annotations %v)", c.key, pod.Name, mcSelector, created.Annotations)
			case <-time.After(2 * time.Second):
			}
		}
		var last string
		for {
			got, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
			if err == nil {
				p = got
				last = fmt.Sprintf("node %q, phase %s, %s", p.Spec.NodeName, p.Status.Phase, p.Status.Message)
				if p.Status.Phase == corev1.PodRunning {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: pod %s is not Running: %s", c.key, p.Name, last)
			case <-time.After(time.Second):
			}
		}
		if !slices.Contains(c.vnodes(), p.Spec.NodeName) {
			return fmt.Errorf("%s: pod %s runs on %s, not on one of the cluster's VNodes %v", c.key, p.Name, p.Spec.NodeName, c.vnodes())
		}
		g, err := testAccPodInstance(ctx, ecic, p.UID)
		if err != nil {
			return fmt.Errorf("%s: %w", c.key, err)
		}
		if g == nil || g.Status != eci.StatusRunning {
			return fmt.Errorf("%s: the emulator has no running instance of pod %s: %v", c.key, p.Name, g)
		}
		want := map[string]string{
			"cluster":            c.name, // the module's tag
			translate.TagCluster: c.name, // the runtime's own
			translate.TagNode:    p.Spec.NodeName,
			"team":               "platform", // the example's default_tags
			"env":                "prod",     // the example's module tags
		}
		for k, v := range want {
			if got, ok := g.Tag(k); !ok || got != v {
				return fmt.Errorf("%s: instance %s tag %s=%q, want %q (tags %v)", c.key, g.ContainerGroupID, k, got, v, g.Tags)
			}
		}
		if zone := strings.TrimPrefix(p.Spec.NodeName, c.name+"-"); g.ZoneID != zone {
			return fmt.Errorf("%s: instance %s is in zone %s, its VNode %s in %s", c.key, g.ContainerGroupID, g.ZoneID, p.Spec.NodeName, zone)
		}
		c.instanceID, c.podNode = g.ContainerGroupID, p.Spec.NodeName
		return nil
	}
}

// testAccPodInstance returns the instance the runtime created for the pod
// with that UID, or nil.
func testAccPodInstance(ctx context.Context, ecic *eci.Client, uid types.UID) (*eci.ContainerGroup, error) {
	out, err := ecic.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{
		Tags: []eci.Tag{{Key: translate.TagPodUID, Value: string(uid)}}})
	if err != nil {
		return nil, fmt.Errorf("list the instance of pod %v: %w", uid, err)
	}
	switch len(out.ContainerGroups) {
	case 0:
		return nil, nil
	case 1:
		return &out.ContainerGroups[0], nil
	}
	return nil, fmt.Errorf("%d instances carry pod UID %v, want one", len(out.ContainerGroups), uid)
}

// testAccSnapshot records what identifies c's objects, to tell later that
// none was replaced or changed: the UIDs of the runtime's namespace and
// Nodes, UID and generation of its Deployments, UID and resourceVersion of
// the eci-profile ConfigMap.
func testAccSnapshot(c *mcCluster) func() error {
	return func() error {
		s, err := testAccTakeSnapshot(c)
		c.snapshot = s
		return err
	}
}

func testAccTakeSnapshot(c *mcCluster) (map[string]string, error) {
	ctx := context.Background()
	s := map[string]string{}
	ns, err := c.kc.CoreV1().Namespaces().Get(ctx, mcRuntimeNamespace, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	s["Namespace "+ns.Name] = string(ns.UID)
	for _, name := range append([]string{install.WebhookName}, mapSlice(c.vnodes(), vnodeDeploymentName)...) {
		d, err := c.kc.AppsV1().Deployments(mcRuntimeNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		s["Deployment "+name] = fmt.Sprintf("%s generation %d", d.UID, d.Generation)
	}
	for _, node := range c.vnodes() {
		n, err := c.kc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		s["Node "+node] = string(n.UID)
	}
	// Nothing else writes the eci-profile in this test: a write for the
	// other cluster would change its resourceVersion.
	cm, err := c.kc.CoreV1().ConfigMaps(profile.ConfigMapNamespace).Get(ctx, profile.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	s["ConfigMap "+profile.ConfigMapName] = fmt.Sprintf("%s resourceVersion %s", cm.UID, cm.ResourceVersion)
	return s, nil
}

func mapSlice(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// testAccCheckUntouched checks that c's objects are those of the snapshot,
// its VNodes Ready, and its burst pod still running on the same VNode as
// the same instance.
func testAccCheckUntouched(ecic *eci.Client, c *mcCluster) func() error {
	return func() error {
		ctx := context.Background()
		now, err := testAccTakeSnapshot(c)
		if err != nil {
			return fmt.Errorf("%s after the other cluster's destroy: %w", c.key, err)
		}
		for k, v := range c.snapshot {
			if now[k] != v {
				return fmt.Errorf("%s: %s changed: %s, before %s", c.key, k, now[k], v)
			}
		}
		for _, node := range c.vnodes() {
			n, err := c.kc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			if err != nil || !testAccNodeReady(n) {
				return fmt.Errorf("%s: VNode %s is not Ready (%v)", c.key, node, err)
			}
		}
		p, err := c.kc.CoreV1().Pods(mcBurstNamespace).Get(ctx, mcBurstPod, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("%s: the burst pod: %w", c.key, err)
		}
		if p.Status.Phase != corev1.PodRunning || p.Spec.NodeName != c.podNode {
			return fmt.Errorf("%s: the burst pod is %s on %s, was Running on %s", c.key, p.Status.Phase, p.Spec.NodeName, c.podNode)
		}
		g, err := testAccPodInstance(ctx, ecic, p.UID)
		if err != nil {
			return fmt.Errorf("%s: %w", c.key, err)
		}
		if g == nil || g.ContainerGroupID != c.instanceID || g.Status != eci.StatusRunning {
			return fmt.Errorf("%s: the burst pod's instance is %v, was %s Running", c.key, g, c.instanceID)
		}
		return nil
	}
}

// testAccCheckModuleGone checks that nothing the module made is left in c:
// the runtime's namespace, the VNodes' Nodes, the selector.
func testAccCheckModuleGone(c *mcCluster) func() error {
	return func() error {
		ctx := context.Background()
		if _, err := c.kc.CoreV1().Namespaces().Get(ctx, mcRuntimeNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("%s: namespace %s after destroy: %v", c.key, mcRuntimeNamespace, err)
		}
		for _, node := range c.vnodes() {
			if _, err := c.kc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s: VNode %s after destroy: %v", c.key, node, err)
			}
		}
		sel, err := testAccProfileSelector(ctx, c.kc, mcSelector)
		if err != nil {
			return fmt.Errorf("%s: %w", c.key, err)
		}
		if sel != nil {
			return fmt.Errorf("%s: selector %s is still in kube-system/eci-profile", c.key, mcSelector)
		}
		return nil
	}
}

// testAccCheckNoRunningInstances checks that the account holds no instance
// of these clusters that is not ending or ended. The runtime deletes a
// pod's instance after the pod, so this waits a little.
func testAccCheckNoRunningInstances(ecic *eci.Client, clusters ...*mcCluster) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for {
			var live []string
			for _, c := range clusters {
				out, err := ecic.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{
					Tags: []eci.Tag{{Key: translate.TagCluster, Value: c.name}}})
				if err != nil {
					return fmt.Errorf("list the instances of %s: %w", c.key, err)
				}
				for _, g := range out.ContainerGroups {
					switch g.Status {
					case eci.StatusSucceeded, eci.StatusFailed, eci.StatusExpired:
					default:
						live = append(live, fmt.Sprintf("%s %s (%s)", c.key, g.ContainerGroupID, g.Status))
					}
				}
			}
			if len(live) == 0 {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("instances left: %v", live)
			case <-time.After(time.Second):
			}
		}
	}
}

// testAccDeleteBurstPod deletes c's burst pod and waits until it is gone,
// so that its VNode may be destroyed.
func testAccDeleteBurstPod(t *testing.T, c *mcCluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := testAccDeletePod(ctx, c.kc, mcBurstPod); err != nil {
		t.Fatalf("%s: %v", c.key, err)
	}
}

func testAccDeletePod(ctx context.Context, kc kubernetes.Interface, name string) error {
	pods := kc.CoreV1().Pods(mcBurstNamespace)
	if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", name, err)
	}
	return waitGone(ctx, 2*time.Minute, "pod "+name, func(ctx context.Context) error {
		_, err := pods.Get(ctx, name, metav1.GetOptions{})
		return err
	})
}
