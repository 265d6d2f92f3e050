package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// render runs the subcommand with env as its whole environment.
func render(args []string, env map[string]string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = renderCommand(args, &out, &errOut, func(k string) string { return env[k] })
	return out.String(), errOut.String(), code
}

// decode parses a multi-document stream into Kubernetes API objects, failing on
// anything the API types do not know.
func decode(t *testing.T, stream string) []runtime.Object {
	t.Helper()
	var objs []runtime.Object
	for i, doc := range strings.Split(stream, "\n---\n") {
		o, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("document %d is not a Kubernetes object: %v\n%s", i, err, doc)
		}
		objs = append(objs, o)
	}
	return objs
}

func TestRenderPrintsWhatInstallRenders(t *testing.T) {
	out, errOut, code := render([]string{"--version", "v1.2.3", "--cluster-name", "prod", "--region", "cn-shanghai",
		"--credentials-secret", "aliyun", "--vnodes", "burst-a,burst-b", "--vswitch-ids", "vsw-1,vsw-2",
		"--security-group-id", "sg-1", "--tags", "team=shop", "--capacity", "pods=500", "--replicas", "2",
		"--status-poll-fast", "2s", "--webhook-failure-policy", "Fail"}, nil)
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	r := install.Runtime{Version: "v1.2.3", ClusterName: "prod", Region: "cn-shanghai", CredentialsSecret: "aliyun",
		CredentialsAs: install.CredentialsAsFiles, Webhook: install.Webhook{Replicas: 1, FailurePolicy: "Fail"}}
	want, err := r.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"burst-a", "burst-b"} {
		objs, err := r.VNodeObjects(install.VNode{Name: name, VSwitchIDs: []string{"vsw-1", "vsw-2"}, SecurityGroupID: "sg-1",
			Tags: map[string]string{"team": "shop"}, Capacity: map[string]string{"pods": "500"}, Replicas: 2, StatusPollFast: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, objs...)
	}
	wantYAML, err := install.YAML(want)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(wantYAML) {
		t.Errorf("render printed something else than install renders for the same settings:\n%s\nwant:\n%s", out, wantYAML)
	}
	objs := decode(t, out)
	deployments := 0
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok {
			deployments++
			if img := d.Spec.Template.Spec.Containers[0].Image; img != "ghcr.io/eci-vnode/eci-vnode:v1.2.3" {
				t.Errorf("%s runs %s", d.Name, img)
			}
		}
	}
	if deployments != 4 {
		t.Errorf("%d Deployments, want the webhook's, the approver's and one per VNode", deployments)
	}
}

func TestRenderPrintsNoKeyUnlessAsked(t *testing.T) {
	env := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tTestKey", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "test-secret"}
	base := []string{"--cluster-name", "prod", "--region", "cn-hangzhou", "--vnodes", "v1"}

	out, errOut, code := render(append(base, "--credentials-secret", "aliyun"), env)
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	for _, o := range decode(t, out) {
		if s, ok := o.(*corev1.Secret); ok {
			t.Errorf("an existing Secret was named, yet %s is rendered", s.Name)
		}
	}
	if strings.Contains(out, "test-secret") || strings.Contains(out, "dGVzdC1zZWNyZXQ") {
		t.Errorf("the key from the environment is in the output")
	}

	out, errOut, code = render(append(base, "--credentials-from-env"), env)
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	found := false
	for _, o := range decode(t, out) {
		if s, ok := o.(*corev1.Secret); ok && s.Name == install.CredentialsSecretName {
			found = string(s.Data["access-key-id"]) == "LTAI5tTestKey" && string(s.Data["access-key-secret"]) == "test-secret"
		}
	}
	if !found {
		t.Errorf("--credentials-from-env did not render the Secret from the environment")
	}

	_, errOut, code = render(base, env)
	if code != 2 || !strings.Contains(errOut, "--credentials-secret") || !strings.Contains(errOut, "--credentials-from-env") {
		t.Errorf("VNodes without credentials: exit %d, %s", code, errOut)
	}
}

func TestRenderRefusesEverySettingProblemAtOnce(t *testing.T) {
	_, errOut, code := render([]string{"--vnodes", "Bad_Name,ok", "--cluster-name", "c", "--region", "cn-hangzhou",
		"--credentials-secret", "s", "--tags", "eci-vnode/node=x", "--eci-scheme", "ftp", "--webhook-log-level", "loud"}, nil)
	if code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	for _, flag := range []string{"--vnodes", "--tags", "--eci-scheme", "--webhook-log-level"} {
		if !strings.Contains(errOut, flag+" / ") {
			t.Errorf("no problem reported for %s:\n%s", flag, errOut)
		}
	}
}

func TestRenderWithoutVNodesInstallsTheClusterWidePartOnly(t *testing.T) {
	out, errOut, code := render(nil, nil)
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	var deployments []string
	for _, o := range decode(t, out) {
		if d, ok := o.(*appsv1.Deployment); ok {
			deployments = append(deployments, d.Name)
		}
	}
	if !slices.Equal(deployments, []string{install.WebhookName, install.ApproverName}) {
		t.Errorf("Deployments %q, want the webhook's and the approver's only", deployments)
	}
}

func TestARenderOfTheReleasedVersionPinsItsImage(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	// What the release build stamps into the binary (-X main.version, -X main.imageDigest).
	defer func(v, d string) { version, imageDigest = v, d }(version, imageDigest)
	version, imageDigest = "0.4.0", digest

	webhookImage := func(args ...string) string {
		t.Helper()
		out, errOut, code := render(args, nil)
		if code != 0 {
			t.Fatalf("render %q: exit code %d: %s", args, code, errOut)
		}
		for _, o := range decode(t, out) {
			if d, ok := o.(*appsv1.Deployment); ok {
				return d.Spec.Template.Spec.Containers[0].Image
			}
		}
		t.Fatalf("render %q printed no Deployment", args)
		return ""
	}
	if got, want := webhookImage(), "ghcr.io/eci-vnode/eci-vnode:0.4.0@"+digest; got != want {
		t.Errorf("the binary's own version renders %s, want %s", got, want)
	}
	if got, want := webhookImage("--version", "0.3.0"), "ghcr.io/eci-vnode/eci-vnode:0.3.0"; got != want {
		t.Errorf("another version renders %s, want it by tag: %s (the built-in digest is 0.4.0's)", got, want)
	}
	other := "sha256:" + strings.Repeat("ab", 32)
	if got, want := webhookImage("--version", "0.3.0", "--image-digest", other), "ghcr.io/eci-vnode/eci-vnode:0.3.0@"+other; got != want {
		t.Errorf("an explicit digest renders %s, want %s", got, want)
	}
	if _, errOut, code := render([]string{"--image-digest", "sha256:short"}, nil); code == 0 || !strings.Contains(errOut, "--image-digest") {
		t.Errorf("a malformed digest was accepted (exit %d): %s", code, errOut)
	}
}
