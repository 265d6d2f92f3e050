package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// podsGoneTimeout bounds the wait for the sample pods to go: the runtime deletes each pod's
// instance first.
const podsGoneTimeout = 2 * time.Minute

// cmdDemoDown is `make demo-down`: the sample workload deleted (destroy refuses a VNode
// that still runs pods), `terraform destroy` of what the demo applied, then the sandbox
// stopped. With no sandbox running there is nothing to destroy: the state of the stopped
// sandbox is forgotten and only `down` runs. It exits non-zero when the destroy failed,
// after stopping the sandbox all the same.
func cmdDemoDown(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo-down", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", "", "directory `demo` used (required)")
	repoFlag := fs.String("repo", "", "checkout to build the provider from if it is missing (default: the Go module around the working directory)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir, err := absDir(*stateDir)
	if err != nil {
		fmt.Fprintf(stderr, "eci-sandbox demo-down: %v\n", err)
		return 2
	}
	p := newProgress(stdout)
	destroyErr := demoDestroy(ctx, p, dir, *repoFlag, isTerminal(stdout))
	if destroyErr != nil {
		fmt.Fprintf(stderr, "eci-sandbox demo-down: %v\n", destroyErr)
	}
	p.step("Stopping the sandbox")
	var code int
	err = p.waitFor("stopping the sandbox", func() error {
		code = cmdDown(ctx, []string{"--state-dir", dir}, p, stderr)
		return nil
	})
	if err != nil || code != 0 {
		return 1
	}
	if destroyErr != nil {
		return 1
	}
	return 0
}

// demoDestroy destroys what the demo applied, if a sandbox runs to destroy it in.
func demoDestroy(ctx context.Context, p *progress, dir, repo string, color bool) error {
	work := filepath.Join(dir, demoWorkDir)
	statePath := filepath.Join(work, "terraform.tfstate")
	if !stateHasResources(statePath) {
		p.printf("no Terraform state with resources in %s: nothing to destroy", work)
		return nil
	}
	r, readyErr := readReady(dir)
	if supervisorPID(dir) == 0 || readyErr != nil || r.ECIEndpoint == "" {
		// The cluster and the emulator the state describes are gone or not serving;
		// a later demo starts a new sandbox and would only trip over the old state.
		p.printf("no running sandbox in %s: nothing to destroy in; forgetting the Terraform state of the stopped one", dir)
		for _, f := range []string{"terraform.tfstate", "terraform.tfstate.backup"} {
			_ = os.Remove(filepath.Join(work, f))
		}
		return nil
	}
	var info sandbox.ECIInfo
	if err := readJSON(filepath.Join(dir, eciInfoFile), &info); err != nil {
		return fmt.Errorf("read the emulator's address and credentials: %w", err)
	}
	w, err := loadWorkload(filepath.Join(work, demoWorkload))
	if err != nil {
		return err
	}
	p.step("Deleting the sample workload (namespace %s): the runtime deletes each pod's ECI instance", w.namespace.Name)
	if err := deleteNamespace(ctx, p, r.Kubeconfig, w.namespace.Name); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, demoProviderDir, "terraform-provider-eci")); err != nil {
		root, err := repoRoot(repo)
		if err != nil {
			return err
		}
		if err := buildProvider(ctx, p, root, dir); err != nil {
			return err
		}
	}
	tf, err := demoTerraformFor(dir, work, info, color)
	if err != nil {
		return err
	}
	p.step("terraform destroy")
	return tf.run(ctx, p, "terraform destroy", "destroy", "-auto-approve", "-input=false")
}

// demoTerraformFor is the demo's Terraform for a working directory that already exists;
// unlike newDemoTerraform it leaves the directory's files alone, so that destroy works
// on what was applied.
func demoTerraformFor(dir, work string, info sandbox.ECIInfo, color bool) (*demoTerraform, error) {
	tools, err := readTools(dir)
	if err != nil {
		return nil, fmt.Errorf("read the sandbox's tool list: %w", err)
	}
	return &demoTerraform{bin: tools.Terraform, work: work, env: demoEnv(demoSettings(dir, info)), color: color}, nil
}

// stateHasResources reports whether a Terraform state file lists any resource.
func stateHasResources(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var st struct {
		Resources []json.RawMessage `json:"resources"`
	}
	return json.Unmarshal(b, &st) == nil && len(st.Resources) > 0
}

// deleteNamespace deletes a namespace and waits until no pod is left in it: pods bound to
// a VNode are what keeps destroy from removing it. The namespace itself finishes going
// while Terraform destroys.
func deleteNamespace(ctx context.Context, p *progress, kubeconfig, ns string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("read the sandbox's kubeconfig: %w", err)
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := kc.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); apierrors.IsNotFound(err) {
		p.printf("namespace %s does not exist", ns)
		return nil
	} else if err != nil {
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	state := "deleting"
	return p.wait(func() string { return "namespace " + ns + ": " + state }, func() error {
		deadline := time.Now().Add(podsGoneTimeout)
		for {
			pods, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			switch {
			case err != nil:
				state = err.Error()
			case len(pods.Items) == 0:
				p.printf("namespace %s: no pod left; the namespace is going", ns)
				return nil
			default:
				state = fmt.Sprintf("%d pod(s) left", len(pods.Items))
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("namespace %s still has pods after %s (%s)", ns, podsGoneTimeout, state)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
	})
}
