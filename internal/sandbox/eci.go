package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// ECI is a Component that serves the ECI emulator on a loopback port: the
// sandbox's stand-in for Alibaba Cloud.
type ECI struct {
	// Config configures the emulator; the zero value is its documented default.
	Config emulator.Config

	emu  *emulator.Emulator
	info ECIInfo
}

// ECIInfo is how clients reach the emulator; it is also written to eci.json
// in the component's directory.
type ECIInfo struct {
	Endpoint        string `json:"endpoint"` // http://127.0.0.1:PORT
	Region          string `json:"region"`
	AccessKeyID     string `json:"accessKeyId"`
	AccessKeySecret string `json:"accessKeySecret"`
}

// Name implements Component.
func (c *ECI) Name() string { return "eci-emulator" }

// Start implements Component.
func (c *ECI) Start(_ context.Context, env ComponentEnv) error {
	cfg := c.Config
	if cfg.Logf == nil {
		f, err := os.Create(filepath.Join(env.Dir, "eci-emulator.log"))
		if err != nil {
			return fmt.Errorf("create emulator log: %w", err)
		}
		cfg.Logf = func(format string, args ...any) {
			fmt.Fprintf(f, time.Now().Format(time.RFC3339Nano)+" "+format+"\n", args...)
		}
	}
	e, err := emulator.New(cfg)
	if err != nil {
		return fmt.Errorf("configure ECI emulator: %w", err)
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		return fmt.Errorf("start ECI emulator: %w", err)
	}
	c.emu = e
	cred := e.Credentials()[0]
	c.info = ECIInfo{Endpoint: "http://" + e.Endpoint(), Region: e.Region(), AccessKeyID: cred.AccessKeyID, AccessKeySecret: cred.AccessKeySecret}
	b, _ := json.MarshalIndent(c.info, "", "  ")
	if err := os.WriteFile(filepath.Join(env.Dir, "eci.json"), b, 0o600); err != nil {
		return fmt.Errorf("write eci.json: %w", err)
	}
	fmt.Fprintf(env.Log, "ECI emulator serving at %s (region %s)\n", c.info.Endpoint, c.info.Region)
	return nil
}

// Stop implements Component.
func (c *ECI) Stop(context.Context) error {
	if c.emu == nil {
		return nil
	}
	return c.emu.Close()
}

// Info is the emulator's address and credentials (valid after Start).
func (c *ECI) Info() ECIInfo { return c.info }

// Emulator is the running emulator (after Start), for tests and accounting.
func (c *ECI) Emulator() *emulator.Emulator { return c.emu }

// VNode is a Component that runs one VNode the way a cluster does: the
// runtime image as a Deployment, which a worker node runs as a local
// eci-vnode process talking to the ECI component. It waits until the
// VNode's node is Ready.
//
// The runtime's ServiceAccount is bound to cluster-admin: this is a local
// sandbox; the least-privilege RBAC of a real installation is rendered by
// internal/install.
type VNode struct {
	NodeName    string // default "vnode-demo"
	ClusterName string // default "sandbox"
	ECI         *ECI
}

const vnodeNamespace = "eci-vnode-system"

// Name implements Component.
func (v *VNode) Name() string { return "vnode-" + v.nodeName() }

func (v *VNode) nodeName() string {
	if v.NodeName == "" {
		return "vnode-demo"
	}
	return v.NodeName
}

// Start implements Component.
func (v *VNode) Start(ctx context.Context, env ComponentEnv) error {
	if v.ECI == nil || v.ECI.Info().Endpoint == "" {
		return errors.New("VNode component needs a started ECI component before it")
	}
	cs, err := kubernetes.NewForConfig(env.RESTConfig)
	if err != nil {
		return fmt.Errorf("VNode %s: client: %w", v.nodeName(), err)
	}
	cluster := v.ClusterName
	if cluster == "" {
		cluster = "sandbox"
	}
	info := v.ECI.Info()
	name := "eci-vnode-" + v.nodeName()
	labels := map[string]string{"app.kubernetes.io/name": "eci-vnode", "eci-vnode.io/node": v.nodeName()}
	objects := []func() error{
		func() error {
			_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: vnodeNamespace}}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := cs.CoreV1().ServiceAccounts(vnodeNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name + "-sandbox"},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: vnodeNamespace}},
			}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := cs.CoreV1().Secrets(vnodeNamespace).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: name + "-credentials"},
				StringData: map[string]string{"access-key-id": info.AccessKeyID, "access-key-secret": info.AccessKeySecret},
			}, metav1.CreateOptions{})
			return err
		},
		func() error {
			replicas := int32(1)
			secretEnv := func(env, key string) corev1.EnvVar {
				return corev1.EnvVar{Name: env, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: name + "-credentials"}, Key: key}}}
			}
			_, err := cs.AppsV1().Deployments(vnodeNamespace).Create(ctx, &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
				Spec: appsv1.DeploymentSpec{
					Replicas: &replicas,
					Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec: corev1.PodSpec{
							ServiceAccountName: name,
							Containers: []corev1.Container{{
								Name:  "eci-vnode",
								Image: RuntimeImageRepository + ":dev",
								Args: []string{"node", "--node-name", v.nodeName(), "--cluster-name", cluster,
									"--region", info.Region, "--vswitch-ids", "vsw-h-1,vsw-i-1", "--security-group-id", "sg-emulator0001",
									"--eci-endpoint", info.Endpoint, "--eci-scheme", "HTTP", "--status-poll-fast", "500ms"},
								Env: []corev1.EnvVar{
									secretEnv("ALIBABA_CLOUD_ACCESS_KEY_ID", "access-key-id"),
									secretEnv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "access-key-secret"),
									{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
									{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
								},
								Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
									corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}},
							}},
						},
					},
				},
			}, metav1.CreateOptions{})
			return err
		},
	}
	for _, create := range objects {
		if err := create(); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("VNode %s: create its objects: %w", v.nodeName(), err)
		}
	}
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, v.nodeName(), metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("VNode %s did not become Ready (see the eci-vnode pod's log under pods/): %w", v.nodeName(), err)
	}
	fmt.Fprintf(env.Log, "VNode %s is Ready\n", v.nodeName())
	return nil
}

// Stop implements Component. The runtime's process stops with the workers.
func (v *VNode) Stop(context.Context) error { return nil }
