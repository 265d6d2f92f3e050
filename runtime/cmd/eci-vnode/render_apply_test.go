package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// shell runs a command line the way a user types it (a pipe of the built eci-vnode and the
// sandbox's kubectl), against the sandbox, and returns its output.
func shell(t *testing.T, sb *sandbox.Sandbox, line string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "-o", "pipefail", "-c", line)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+sb.Kubeconfig(),
		"PATH="+sb.Tools().BinDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestRenderOutputIsAcceptedByTheAPIServer pipes `eci-vnode render` into kubectl, as
// docs/install.md tells users to, against a real kube-apiserver: every object must pass the
// API server's validation and admission, first as a server-side dry run, then for real.
func TestRenderOutputIsAcceptedByTheAPIServer(t *testing.T) {
	sb := sandbox.StartForTest(t, sandbox.Options{Workers: -1})
	kube := sb.Client()
	ctx := context.Background()
	const render = `eci-vnode render --cluster-name prod --region cn-hangzhou --vnodes vnode-a,vnode-b ` +
		`--vswitch-ids vsw-aaa,vsw-bbb --security-group-id sg-ccc --tags team=shop --node-taints "" ` +
		`--capacity cpu=100,memory=400Gi,pods=200 --replicas 2`

	// A dry run cannot create the namespace the other objects go in, so it exists first.
	if out, err := shell(t, sb, "kubectl create namespace "+install.DefaultNamespace); err != nil {
		t.Fatalf("create the namespace: %v\n%s", err, out)
	}
	out, err := shell(t, sb, render+" --credentials-from-env | kubectl apply --dry-run=server -f -",
		"ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIexample", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=s3cret")
	if err != nil {
		t.Fatalf("the API server refused the rendered objects in a dry run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"deployment.apps/eci-vnode-webhook created (server dry run)",
		"deployment.apps/eci-vnode-vnode-a created (server dry run)",
		"deployment.apps/eci-vnode-vnode-b created (server dry run)",
		"secret/" + install.CredentialsSecretName + " created (server dry run)",
		"clusterrole.rbac.authorization.k8s.io/",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl apply --dry-run=server did not report %q:\n%s", want, out)
		}
	}
	if ds, err := kube.AppsV1().Deployments(install.DefaultNamespace).List(ctx, metav1.ListOptions{}); err != nil || len(ds.Items) != 0 {
		t.Fatalf("after a dry run the namespace holds %d Deployments (%v), want none", len(ds.Items), err)
	}

	// For real, the documented way: server-side apply, the key in an existing Secret.
	if out, err := shell(t, sb, "kubectl -n "+install.DefaultNamespace+" create secret generic aliyun "+
		"--from-literal=access-key-id=LTAIexample --from-literal=access-key-secret=s3cret"); err != nil {
		t.Fatalf("create the credentials Secret: %v\n%s", err, out)
	}
	if out, err := shell(t, sb, render+" --credentials-secret aliyun | kubectl apply --server-side --field-manager eci-vnode -f -"); err != nil {
		t.Fatalf("kubectl apply of the rendered objects: %v\n%s", err, out)
	}
	for _, name := range []string{"eci-vnode-webhook", "eci-vnode-vnode-a", "eci-vnode-vnode-b"} {
		d, err := kube.AppsV1().Deployments(install.DefaultNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("Deployment %s after the apply: %v", name, err)
			continue
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != install.ImageReference(version, imageDigest) {
			t.Errorf("Deployment %s runs %s, want the binary's own version's image %s", name, img, install.ImageReference(version, imageDigest))
		}
	}
	if _, err := kube.CoreV1().Secrets(install.DefaultNamespace).Get(ctx, install.CredentialsSecretName, metav1.GetOptions{}); err == nil {
		t.Errorf("the Secret %s exists although the key was in an existing Secret", install.CredentialsSecretName)
	}
}
