package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// ECI is a Component that serves the ECI emulator on a loopback port: the
// sandbox's stand-in for Alibaba Cloud.
type ECI struct {
	// Config configures the emulator; the zero value is its documented default.
	// Set Config.ResidentNodes to &resident.Runner{} (package runtime/resident)
	// for managed VNodes that register for real: CreateVirtualNode then runs each
	// VNode's resident node in this process, logging to the emulator's log. It is
	// not the default because this package cannot import the runtime: the
	// runtime's own tests import this package. `eci-sandbox serve` (make demo,
	// make up) sets it.
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

// VNode is a Component that runs one VNode the way a cluster does: it applies
// the installation internal/install renders — the runtime's namespace, the
// profile webhook and the VNode's Deployment, with their least-privilege RBAC —
// and a worker node runs those Deployments as local eci-vnode processes talking
// to the ECI component. It waits until the VNode's node is Ready.
//
// Two settings differ from a cluster, because of what a worker simulates
// (README.md, "Pods on workers"): credentials reach the runtime as environment
// variables, since workers mount no volumes, and the API server calls the
// webhook at its pod's IP, since it cannot reach Services.
type VNode struct {
	NodeName    string // default "vnode-demo"
	ClusterName string // default "sandbox"
	ECI         *ECI
}

// Name implements Component.
func (v *VNode) Name() string { return "vnode-" + v.nodeName() }

func (v *VNode) nodeName() string {
	if v.NodeName == "" {
		return "vnode-demo"
	}
	return v.NodeName
}

// Installation is what the component applies: the runtime as a sandbox
// installs it, and the VNode. Tests that install more reuse it.
func (v *VNode) Installation() (install.Runtime, install.VNode) {
	cluster := v.ClusterName
	if cluster == "" {
		cluster = "sandbox"
	}
	var info ECIInfo
	if v.ECI != nil {
		info = v.ECI.Info()
	}
	rt := install.Runtime{
		Version: "dev", Image: RuntimeImageRepository + ":dev",
		ClusterName: cluster, Region: info.Region, ECIEndpoint: info.Endpoint, ECIScheme: "HTTP",
		Credentials:   &install.Credentials{AccessKeyID: info.AccessKeyID, AccessKeySecret: info.AccessKeySecret},
		CredentialsAs: install.CredentialsAsEnv,
		Webhook:       install.Webhook{DirectURL: true},
	}
	vn := install.VNode{
		Name: v.nodeName(),
		// The emulator's default vSwitches and security group.
		VSwitchIDs: []string{"vsw-h-1", "vsw-i-1"}, SecurityGroupID: "sg-emulator0001",
		StatusPollFast: 500 * time.Millisecond,
	}
	return rt, vn
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
	dyn, err := dynamic.NewForConfig(env.RESTConfig)
	if err != nil {
		return fmt.Errorf("VNode %s: client: %w", v.nodeName(), err)
	}
	rt, vn := v.Installation()
	objs, err := rt.Objects()
	if err != nil {
		return fmt.Errorf("VNode %s: render the runtime: %w", v.nodeName(), err)
	}
	vobjs, err := rt.VNodeObjects(vn)
	if err != nil {
		return fmt.Errorf("VNode %s: render the VNode: %w", v.nodeName(), err)
	}
	if err := install.Apply(ctx, dyn, append(objs, vobjs...)); err != nil {
		return fmt.Errorf("VNode %s: install the runtime: %w", v.nodeName(), err)
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
