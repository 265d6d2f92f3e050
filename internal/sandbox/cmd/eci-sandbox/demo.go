package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// What `demo` keeps in the state dir, next to the sandbox's own files, so that `demo-down`
// can destroy what Terraform made.
const (
	demoWorkDir     = "quickstart"  // copy of examples/quickstart: tfvars, Terraform state
	demoProviderDir = "provider"    // terraform-provider-eci built from this checkout
	demoCLIConfig   = "terraformrc" // Terraform CLI config: dev_overrides to demoProviderDir
	demoEnvFile     = "demo.env"    // `source` it for kubectl and terraform by hand
	demoExample     = "examples/quickstart"
	demoWorkload    = "web.yaml" // the sample Deployment, in demoExample
	demoCluster     = "sandbox"  // cluster_name of the demo's runtime
	eciInfoFile     = "components/eci-emulator/eci.json"
	// providerAddress is provider.RegistryAddress (main_test.go checks): a constant here,
	// so that this command does not link the whole provider.
	providerAddress = "registry.terraform.io/eci-vnode/eci"
)

// cmdDemo is `make demo`: a sandbox with the ECI emulator and no VNode, examples/quickstart
// applied to it by Terraform (runtime, one VNode per zone, an eci-profile selector), the
// sample Deployment of that example, and a table of where its pods run and what they cost.
// It exits non-zero when any of it fails, pods that are not Running on the VNodes in time
// included. Run again, it reuses the running sandbox and applies nothing new.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", "", "directory for the sandbox's and Terraform's state (required)")
	workers := fs.Int("workers", 2, "number of worker nodes of a new sandbox")
	repoFlag := fs.String("repo", "", "checkout holding "+demoExample+" (default: the Go module around the working directory)")
	podsTimeout := fs.Duration("pods-timeout", 4*time.Minute, "how long to wait for the sample pods to run on the VNodes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir, err := absDir(*stateDir)
	if err != nil {
		fmt.Fprintf(stderr, "eci-sandbox demo: %v\n", err)
		return 2
	}
	p := newProgress(stdout)
	if err := runDemo(ctx, p, dir, *repoFlag, *workers, *podsTimeout, isTerminal(stdout)); err != nil {
		fmt.Fprintf(stderr, "\neci-sandbox demo: %v\n", err)
		fmt.Fprintf(stderr, "logs: %s/logs/ (control plane, supervisor), %s/pods/ (runtime and webhook pods); stop with: make demo-down\n", dir, dir)
		return 1
	}
	return 0
}

func runDemo(ctx context.Context, p *progress, dir, repo string, workers int, podsTimeout time.Duration, color bool) error {
	began := time.Now()
	repo, err := repoRoot(repo)
	if err != nil {
		return err
	}

	p.step("Sandbox: Kubernetes control plane, %d worker nodes, ECI emulator", workers)
	r, err := demoSandbox(ctx, p, dir, workers)
	if err != nil {
		return err
	}
	var info sandbox.ECIInfo
	if err := readJSON(filepath.Join(dir, eciInfoFile), &info); err != nil {
		return fmt.Errorf("read the emulator's address and credentials: %w", err)
	}

	p.step("Provider: terraform-provider-eci built from %s", repo)
	if err := buildProvider(ctx, p, repo, dir); err != nil {
		return err
	}
	tf, err := newDemoTerraform(dir, repo, r, info, color)
	if err != nil {
		return err
	}

	p.step("terraform apply (%s, Terraform %s) in %s", demoExample, sandbox.TerraformVersion, tf.work)
	if err := tf.run(ctx, p, "terraform apply", "apply", "-auto-approve", "-input=false"); err != nil {
		return err
	}
	out, err := tf.outputs(ctx)
	if err != nil {
		return err
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", r.Kubeconfig)
	if err != nil {
		return fmt.Errorf("read the sandbox's kubeconfig: %w", err)
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	w, err := loadWorkload(filepath.Join(tf.work, demoWorkload))
	if err != nil {
		return err
	}
	if w.namespace.Name != out.Namespace {
		return fmt.Errorf("%s is for namespace %s, but the selector matches %s", demoWorkload, w.namespace.Name, out.Namespace)
	}
	p.step("Sample workload: Deployment %s/%s (%d replicas, spread over the zones), nothing ECI-specific in it", w.namespace.Name, w.deployment.Name, *w.deployment.Spec.Replicas)
	if err := applyWorkload(ctx, p, kc, w, out.Selector); err != nil {
		return err
	}
	pods, err := waitPodsOnVNodes(ctx, p, kc, w, out.vnodeNames(), podsTimeout)
	if err != nil {
		return err
	}

	p.step("Where the pods run and what they cost")
	if err := printPodTable(ctx, p, info, pods, out); err != nil {
		return err
	}
	p.printf("\nmake demo took %s.", time.Since(began).Round(time.Second))
	printNextSteps(p, dir, tf, out, w)
	return nil
}

// demoSandbox reuses the sandbox running in dir or starts one with the ECI emulator and
// no VNode (Terraform makes those). A sandbox `up` started, with its own VNode and runtime,
// is refused: the quickstart's runtime would fight it for the webhook.
func demoSandbox(ctx context.Context, p *progress, dir string, workers int) (readyInfo, error) {
	if pid := supervisorPID(dir); pid != 0 {
		r, err := readReady(dir)
		switch {
		case err != nil:
			return r, fmt.Errorf("a sandbox supervisor (pid %d) is running in %s but is not ready (%v); run make demo-down first", pid, dir, err)
		case r.VNode != "":
			return r, fmt.Errorf("the sandbox in %s was started by `eci-sandbox up` with its own VNode %s; run make demo-down first", dir, r.VNode)
		case r.ECIEndpoint == "":
			return r, fmt.Errorf("the sandbox in %s runs without the ECI emulator; run make demo-down first", dir)
		}
		p.printf("reusing the sandbox running in %s (supervisor pid %d)", dir, pid)
		return r, nil
	}
	// A new sandbox is a new cluster and a new emulator: Terraform state left from an
	// earlier one describes objects that no longer exist anywhere.
	for _, f := range []string{"terraform.tfstate", "terraform.tfstate.backup"} {
		_ = os.Remove(filepath.Join(dir, demoWorkDir, f))
	}
	var r readyInfo
	err := p.waitFor("starting the sandbox", func() error {
		var err error
		r, err = startSandbox(ctx, dir, workers, false, p)
		return err
	})
	if err != nil {
		return r, err
	}
	p.printf("sandbox is up: %s, kubeconfig %s", r.Server, r.Kubeconfig)
	return r, nil
}

// repoRoot is the checkout the demo builds the provider from and takes the example from.
func repoRoot(flagValue string) (string, error) {
	root := flagValue
	if root == "" {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			return "", fmt.Errorf("find the checkout (go env GOMOD): %w", err)
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			return "", errors.New("run the demo inside the repository (no go.mod around the working directory), or pass --repo")
		}
		root = filepath.Dir(gomod)
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, demoExample, "main.tf")); err != nil {
		return "", fmt.Errorf("%s is not this repository's checkout: %w", root, err)
	}
	return root, nil
}

// buildProvider builds the provider into <dir>/provider. `go run -exec cp` goes through
// the go command's cache of linked binaries, so an unchanged provider costs a lookup
// instead of a link of the whole provider.
func buildProvider(ctx context.Context, p *progress, repo, dir string) error {
	pdir := filepath.Join(dir, demoProviderDir)
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", pdir, err)
	}
	tmp, err := os.CreateTemp(pdir, ".terraform-provider-eci-*")
	if err != nil {
		return fmt.Errorf("create the provider binary: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	began := time.Now()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "run", "-exec", "cp", ".", tmp.Name())
	cmd.Dir, cmd.Stdout, cmd.Stderr = repo, &out, &out
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.WaitDelay = 10 * time.Second
	if err := p.waitFor("go build", cmd.Run); err != nil {
		return fmt.Errorf("build the provider (go run -exec cp . %s in %s): %v\n%s", tmp.Name(), repo, err, out.String())
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return fmt.Errorf("make the provider executable: %w", err)
	}
	final := filepath.Join(pdir, "terraform-provider-eci")
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("move the provider into place: %w", err)
	}
	p.printf("built %s in %s", final, time.Since(began).Round(100*time.Millisecond))
	return nil
}

// demoTerraform runs the sandbox's Terraform in the demo's working directory with the
// provider built from this checkout and the emulator's credentials in its environment.
type demoTerraform struct {
	bin   string   // terraform v1.5.7
	work  string   // <dir>/quickstart
	env   []string // the process's environment with the demo's settings over it
	color bool
}

// newDemoTerraform writes what Terraform needs into dir: the CLI config with the provider
// override, a copy of the example with a terraform.tfvars.json for the sandbox, and
// demo.env for doing the same by hand.
func newDemoTerraform(dir, repo string, r readyInfo, info sandbox.ECIInfo, color bool) (*demoTerraform, error) {
	tools, err := readTools(dir)
	if err != nil {
		return nil, fmt.Errorf("read the sandbox's tool list: %w", err)
	}
	rc := filepath.Join(dir, demoCLIConfig)
	// dev_overrides makes Terraform use the binary in the directory for this provider
	// address without `terraform init` or a registry.
	rcText := fmt.Sprintf(`# Written by make demo: Terraform uses terraform-provider-eci built from this checkout.
provider_installation {
  dev_overrides {
    %q = %q
  }
  direct {}
}
`, providerAddress, filepath.Join(dir, demoProviderDir))
	if err := os.WriteFile(rc, []byte(rcText), 0o644); err != nil {
		return nil, fmt.Errorf("write the Terraform CLI config: %w", err)
	}

	work := filepath.Join(dir, demoWorkDir)
	if err := copyExample(filepath.Join(repo, demoExample), work); err != nil {
		return nil, err
	}
	// The sandbox's answers to the example's variables: the emulator's region, two of its
	// zones with a vSwitch each and its security group, and the two settings a sandbox
	// worker needs (it mounts no volumes; its API server reaches no Service).
	vars := map[string]any{
		"region":   info.Region,
		"endpoint": info.Endpoint,
		"zones": []map[string]string{
			{"zone_id": info.Region + "-h", "vswitch_id": "vsw-h-1"},
			{"zone_id": info.Region + "-i", "vswitch_id": "vsw-i-1"},
		},
		"security_group_id":  "sg-emulator0001",
		"kubeconfig_path":    r.Kubeconfig,
		"cluster_name":       demoCluster,
		"credentials_as":     "env",
		"webhook_direct_url": true,
	}
	if err := writeJSON(filepath.Join(work, "terraform.tfvars.json"), vars); err != nil {
		return nil, fmt.Errorf("write terraform.tfvars.json: %w", err)
	}

	settings := demoSettings(dir, info)
	var sh strings.Builder
	sh.WriteString("# Written by make demo. `source` it to run kubectl and terraform against the sandbox:\n")
	sh.WriteString("# its kubeconfig, Terraform " + sandbox.TerraformVersion + ", the provider built from this checkout, the emulator's keys.\n")
	fmt.Fprintf(&sh, "export PATH=%s:\"$PATH\"\n", shellQuote(tools.BinDir))
	fmt.Fprintf(&sh, "export KUBECONFIG=%s\n", shellQuote(r.Kubeconfig))
	for _, s := range settings {
		if s[0] == "TF_IN_AUTOMATION" {
			continue // by hand, Terraform may say what to run next
		}
		fmt.Fprintf(&sh, "export %s=%s\n", s[0], shellQuote(s[1]))
	}
	if err := os.WriteFile(filepath.Join(dir, demoEnvFile), []byte(sh.String()), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", demoEnvFile, err)
	}
	return &demoTerraform{bin: tools.Terraform, work: work, env: demoEnv(settings), color: color}, nil
}

// demoSettings is the environment the demo runs Terraform with: the CLI config with the
// provider override and the emulator's credentials.
func demoSettings(dir string, info sandbox.ECIInfo) [][2]string {
	return [][2]string{
		{"TF_CLI_CONFIG_FILE", filepath.Join(dir, demoCLIConfig)},
		{"TF_IN_AUTOMATION", "1"},
		{"CHECKPOINT_DISABLE", "1"},
		{"ALIBABA_CLOUD_ACCESS_KEY_ID", info.AccessKeyID},
		{"ALIBABA_CLOUD_ACCESS_KEY_SECRET", info.AccessKeySecret},
	}
}

// demoEnv is this process's environment, scrubbed, with settings over it.
func demoEnv(settings [][2]string) []string {
	env := scrubEnv(os.Environ())
	for _, s := range settings {
		env = append(env, s[0]+"="+s[1])
	}
	return env
}

// scrubEnv drops the variables the provider would read credentials, a region or a
// cluster from, so that only the demo's own reach it.
func scrubEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ALIBABA_CLOUD_") || strings.HasPrefix(k, "ALICLOUD_") || strings.HasPrefix(k, "KUBE_") || k == "TF_CLI_CONFIG_FILE" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// copyExample copies the example's configuration and workload into the working
// directory, replacing an earlier copy; the working directory's state stays.
func copyExample(from, to string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", to, err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return fmt.Errorf("read %s: %w", from, err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".yaml")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			return fmt.Errorf("copy the example: %w", err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, 0o644); err != nil {
			return fmt.Errorf("copy the example: %w", err)
		}
	}
	return nil
}

// run runs one Terraform command with its output streamed to p.
func (t *demoTerraform) run(ctx context.Context, p *progress, what string, args ...string) error {
	if !t.color {
		args = append(args, "-no-color")
	}
	cmd := exec.CommandContext(ctx, t.bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = t.work, t.env, p, p
	// Terraform stops cleanly on SIGINT; the context's kill is the last resort.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	if err := p.waitFor(what+" is running", cmd.Run); err != nil {
		return fmt.Errorf("%s in %s: %w", what, t.work, err)
	}
	return nil
}

// demoOutputs are the example's outputs the demo uses.
type demoOutputs struct {
	VNodes    map[string]string `json:"vnodes"` // zone -> node name
	Selector  string            `json:"selector"`
	Namespace string            `json:"namespace"`
	Runtime   string            `json:"runtime_namespace"`
}

func (o demoOutputs) vnodeNames() map[string]bool {
	m := map[string]bool{}
	for _, n := range o.VNodes {
		m[n] = true
	}
	return m
}

func (o demoOutputs) sortedVNodes() []string {
	var names []string
	for _, n := range o.VNodes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (t *demoTerraform) outputs(ctx context.Context) (demoOutputs, error) {
	var out demoOutputs
	cmd := exec.CommandContext(ctx, t.bin, "output", "-json")
	cmd.Dir, cmd.Env = t.work, t.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("terraform output -json: %v\n%s", err, stderr.String())
	}
	var raw map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return out, fmt.Errorf("parse terraform output -json: %w", err)
	}
	values := map[string]json.RawMessage{}
	for k, v := range raw {
		values[k] = v.Value
	}
	joined, _ := json.Marshal(values)
	if err := json.Unmarshal(joined, &out); err != nil {
		return out, fmt.Errorf("parse terraform output -json: %w", err)
	}
	if len(out.VNodes) == 0 || out.Selector == "" || out.Namespace == "" {
		return out, fmt.Errorf("terraform output lacks vnodes, selector or namespace: %s", b)
	}
	return out, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// isTerminal reports whether w is a terminal, where Terraform's colours are welcome.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
