// Package resident runs the resident node of a managed VNode in this process: the
// ECI emulator's CreateVirtualNode hands it the VNode (emulator.ResidentNode) and it
// runs the bundled runtime (package node) with the VNode's kubeconfig, so a managed
// VNode registers in a sandbox cluster as it would at Alibaba Cloud, where the
// VNode's virtual kubelet runs on an ECI-hosted resident node.
//
//	e := emulator.StartForTest(t, emulator.Config{ResidentNodes: &resident.Runner{}})
//
// What the runtime is given, from the VNode:
//   - node name = the VNode's name; Config.ManagedVNodeID = its VirtualNodeId;
//   - ClusterName = the VirtualNodeId. The runtime tags every instance with it and
//     finds its own instances by it; CreateVirtualNode takes no cluster name, and the
//     ID is unique in the account, so resident nodes of different VNodes (of one
//     cluster or several sharing the account) never take each other's instances for
//     theirs, and a VNode created again under the same name starts with none;
//   - placement: the VNode's vSwitches, security group, resource group, and its zone
//     when the request named one;
//   - taints as created (none given: the VNode taint, as Alibaba's VNodes carry it),
//     cluster DNS and domain, the default capacity plus the custom resources;
//   - NodeIP = the VNode's IntranetIp. No kubelet API is served (no port is
//     advertised): the resident node's address is in the VPC, which a sandbox
//     cannot reach, so `kubectl logs`/exec/top are not available on a managed VNode
//     here;
//   - no ClusterIP access (no kube-proxy in the instances): the runtime would give
//     the kube-proxy a token of the ServiceAccount eci-vnode-kube-proxy, which a
//     managed VNode does not have; its pods reach Services only by pod IPs or DNS
//     outside the cluster's.
//
// The VNode's tags stay the VNode's (its resident-node charge): they are not put on
// the instances, which carry the runtime's own tags and those their pods ask for.
//
// With TlsBootstrapEnabled the kubeconfig's user holds a bootstrap token: the runtime
// obtains the client certificate of system:node:<name> with it (package
// nodeidentity), as `eci-vnode node` does with ECI_VNODE_BOOTSTRAP_TOKEN, and then
// acts as its node only. NodeRestriction lets a node set its taints only when it
// registers, so the runtime does not sync them afterwards and sets no ECI API taint
// (node.RunOptions.TaintsAtRegistrationOnly). Without it, the kubeconfig's
// credentials are the runtime's client as they are.
package resident

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/node"
	"github.com/eci-vnode/terraform-provider-eci/runtime/nodeidentity"
)

// Runner runs resident nodes with package node. The zero value is ready to use.
type Runner struct {
	// Version is the runtime version the Node reports; "" means "dev".
	Version string
	// RegisterTimeout bounds the time from start to the Node registered
	// (TLS bootstrap included); a node that takes longer fails. Zero means
	// two minutes.
	RegisterTimeout time.Duration
	// Configure, if set, edits each node's configuration before it runs
	// (tests shorten poll intervals with it).
	Configure func(*node.Config)
}

var _ emulator.ResidentNodeRunner = (*Runner)(nil)

// RunResidentNode runs the resident node n until ctx ends (emulator.ResidentNodeRunner).
func (r *Runner) RunResidentNode(ctx context.Context, n emulator.ResidentNode) error {
	log := n.Log
	if log == nil {
		log = slog.Default().With("vnode", n.VirtualNodeID)
	}
	cfg := NodeConfig(n)
	if r.Configure != nil {
		r.Configure(&cfg)
	}
	version := r.Version
	if version == "" {
		version = "dev"
	}
	server, err := clientcmd.RESTConfigFromKubeConfig(n.KubeConfig)
	if err != nil {
		return fmt.Errorf("read the kubeconfig of VNode %s: %w", n.VirtualNodeID, err)
	}
	server.UserAgent = "eci-vnode-resident/" + version
	server.QPS, server.Burst = node.DefaultKubeAPIQPS, node.DefaultKubeAPIBurst

	// The registry and metrics exist before the ECI client, so the client
	// reports every API attempt to them, as `eci-vnode node` does.
	reg := prometheus.NewRegistry()
	metrics := node.NewMetrics(reg)
	creds := &eci.Credentials{AccessKeyID: n.ECI.Credential.AccessKeyID, AccessKeySecret: n.ECI.Credential.AccessKeySecret,
		SecurityToken: n.ECI.Credential.SecurityToken}
	client, err := eci.New(eci.Config{
		Region: n.ECI.Region, Endpoint: n.ECI.Endpoint, Credentials: creds,
		UserAgent: "eci-vnode-resident/" + version, Observer: metrics, RateLimits: cfg.RateLimits(),
		// Nothing of this process's environment is the resident node's.
		Getenv: func(string) string { return "" },
	})
	if err != nil {
		return fmt.Errorf("create the ECI client of VNode %s: %w", n.VirtualNodeID, err)
	}
	opts := node.RunOptions{ECI: client, Version: version, Log: log, Registry: reg, Metrics: metrics}
	if n.TLSBootstrap {
		token := server.BearerToken
		if _, err := nodeidentity.TokenID(token); err != nil {
			return fmt.Errorf("VNode %s has TlsBootstrapEnabled, but the token of its kubeconfig's user is %w", n.VirtualNodeID, err)
		}
		opts.TaintsAtRegistrationOnly = true
		opts.NodeIdentity = func(ctx context.Context) (*rest.Config, func(), error) {
			id, err := nodeidentity.Start(ctx, nodeidentity.Config{NodeName: cfg.NodeName, Server: server, BootstrapToken: token, Log: log})
			if err != nil {
				return nil, nil, err
			}
			return id.Config(), id.Stop, nil
		}
	} else {
		kube, err := kubernetes.NewForConfig(server)
		if err != nil {
			return fmt.Errorf("create the Kubernetes client of VNode %s: %w", n.VirtualNodeID, err)
		}
		// A refused credential or an API server out of reach fails at once,
		// rather than as registration retried until RegisterTimeout.
		if err := whoAmI(ctx, kube, server.Host); err != nil {
			return err
		}
		if opts.Events, err = node.EventClient(server, 0, 0); err != nil {
			return fmt.Errorf("create the Events client of VNode %s: %w", n.VirtualNodeID, err)
		}
		opts.Kube = kube
	}
	log.Info("starting the resident node", "node", cfg.NodeName, "cluster", cfg.ClusterName, "tlsBootstrap", n.TLSBootstrap,
		"eci", n.ECI.Endpoint, "credentials", creds.String())
	return r.run(ctx, cfg, opts, n.Registered)
}

// run runs the node, telling registered once its Node is registered, and fails
// it if that takes longer than RegisterTimeout.
func (r *Runner) run(ctx context.Context, cfg node.Config, opts node.RunOptions, registered func()) error {
	timeout := r.RegisterTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	up := make(chan struct{})
	opts.OnRegistered = func() {
		once.Do(func() {
			close(up)
			if registered != nil {
				registered()
			}
		})
	}
	done := make(chan error, 1)
	go func() { done <- node.Run(runCtx, cfg, opts) }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-up:
	case <-timer.C:
		cancel()
		err := <-done
		if err != nil {
			return fmt.Errorf("the Node %s did not register within %s: %w", cfg.NodeName, timeout, err)
		}
		return fmt.Errorf("the Node %s did not register within %s", cfg.NodeName, timeout)
	case err := <-done:
		return stopped(ctx, err)
	}
	return stopped(ctx, <-done)
}

// stopped is what a run that returned err reports: nothing when ctx ended (the
// node was asked to stop), else the error, or that it stopped on its own.
func stopped(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return nil
	case err == nil:
		return errors.New("the runtime stopped on its own")
	}
	return err
}

// whoAmI checks that the API server at host accepts kube's credentials.
func whoAmI(ctx context.Context, kube kubernetes.Interface, host string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("ask the API server %s who the kubeconfig's user is: %w", host, err)
	}
	return nil
}

// NodeConfig is the runtime configuration of the resident node n (see the package
// documentation for each choice).
func NodeConfig(n emulator.ResidentNode) node.Config {
	cfg := node.Config{
		NodeName: n.Name, ClusterName: n.VirtualNodeID, ManagedVNodeID: n.VirtualNodeID,
		Region: n.ECI.Region, VSwitchIDs: n.VSwitchIDs, SecurityGroupID: n.SecurityGroupID, ResourceGroupID: n.ResourceGroupID,
		ClusterDNS: n.ClusterDNS, ClusterDomain: n.ClusterDomain, NodeIP: n.IntranetIP,
		ClusterIPAccess: false,
	}
	if n.ZoneID != "" {
		cfg.ZoneIDs = []string{n.ZoneID}
	}
	if len(n.Taints) > 0 {
		cfg.Taints = make([]corev1.Taint, len(n.Taints))
		for i, t := range n.Taints {
			cfg.Taints[i] = corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)}
		}
	}
	if len(n.CustomResources) > 0 {
		cfg.Capacity = corev1.ResourceList{}
		for name, count := range n.CustomResources {
			cfg.Capacity[corev1.ResourceName(name)] = *resource.NewQuantity(count, resource.DecimalSI)
		}
	}
	cfg.Defaults()
	return cfg
}
