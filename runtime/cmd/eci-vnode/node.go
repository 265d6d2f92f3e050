package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/runtime/node"
)

// nodeCommand runs `eci-vnode node`: the virtual kubelet of one VNode.
func nodeCommand(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("eci-vnode node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg                              node.Config
		zones, vswitches, clusterDNS     listFlag
		tags, labels, capacity           mapFlag
		configFile, kubeconfig, credsDir string
		endpoint, scheme, metricsAddr    string
		logLevel, leNamespace            string
		leaderElect                      bool
		kubeQPS                          float64
		kubeBurst                        int
	)
	fs.StringVar(&configFile, "config", "", "optional YAML file of settings; keys are these flag names")
	fs.StringVar(&cfg.NodeName, "node-name", getenv("NODE_NAME"), "name of the VNode's Kubernetes node")
	fs.StringVar(&cfg.ClusterName, "cluster-name", "", "cluster name, written into the tags of every ECI instance (required)")
	fs.StringVar(&cfg.Region, "region", eci.RegionFromEnv(getenv), "ECI region, e.g. cn-hangzhou (default from ALIBABA_CLOUD_REGION_ID)")
	fs.Var(&zones, "zones", "comma-separated zone IDs for instances (pod annotations win)")
	fs.Var(&vswitches, "vswitch-ids", "comma-separated vSwitch IDs (up to 10), tried per --schedule-strategy")
	fs.StringVar(&cfg.SecurityGroupID, "security-group-id", "", "security group of the instances")
	fs.StringVar(&cfg.ResourceGroupID, "resource-group-id", "", "resource group of the instances")
	fs.StringVar(&cfg.ScheduleStrategy, "schedule-strategy", "", "VSwitchOrdered or VSwitchRandom")
	fs.Var(&tags, "tags", "k=v,... tags added to every instance of this VNode")
	fs.Var(&clusterDNS, "cluster-dns", "comma-separated cluster DNS service IPs, for dnsPolicy ClusterFirst")
	fs.StringVar(&cfg.ClusterDomain, "cluster-domain", "cluster.local", "cluster DNS domain")
	fs.Var(&capacity, "capacity", "resource=quantity,... advertised capacity (cpu, memory, pods, ephemeral-storage, nvidia.com/gpu, custom)")
	fs.Var(&labels, "node-labels", "k=v,... extra node labels")
	fs.StringVar(&cfg.NodeIP, "node-ip", getenv("POD_IP"), "address the node reports (default: $POD_IP)")
	fs.DurationVar(&cfg.StatusPollFast, "status-poll-fast", time.Second, "status poll interval while pods change")
	fs.DurationVar(&cfg.StatusPollSlow, "status-poll-slow", 10*time.Second, "status poll interval while pods are steady")
	fs.DurationVar(&cfg.OrphanGracePeriod, "orphan-grace-period", 2*time.Minute, "how long an instance without a pod is kept before deletion")
	fs.DurationVar(&cfg.ECIHealthInterval, "eci-health-interval", 15*time.Second, "how often the node checks that ECI answers")
	fs.IntVar(&cfg.Workers, "create-workers", 10, "concurrent instance creations")
	fs.StringVar(&kubeconfig, "kubeconfig", getenv("KUBECONFIG"), "kubeconfig file (default: in-cluster config)")
	fs.Float64Var(&kubeQPS, "kube-api-qps", 100, "Kubernetes API queries per second")
	fs.IntVar(&kubeBurst, "kube-api-burst", 200, "Kubernetes API burst")
	fs.StringVar(&endpoint, "eci-endpoint", "", "ECI API endpoint (default eci.<region>.aliyuncs.com)")
	fs.StringVar(&scheme, "eci-scheme", "HTTPS", "HTTPS or HTTP")
	fs.StringVar(&credsDir, "credentials-dir", "", "directory of a mounted Secret with files access-key-id, access-key-secret and optionally security-token (default: environment variables)")
	fs.StringVar(&metricsAddr, "metrics-addr", "", "address for /metrics and /healthz (default $POD_IP:10255, or :10255)")
	fs.BoolVar(&leaderElect, "leader-elect", false, "run active/standby with other replicas of this VNode")
	fs.StringVar(&leNamespace, "leader-elect-namespace", getenv("POD_NAMESPACE"), "namespace of the leader Lease (default $POD_NAMESPACE)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")

	if err := settle(fs, args, "config", getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "eci-vnode node: %v\n", err)
		return 2
	}
	cfg.ZoneIDs, cfg.VSwitchIDs, cfg.ClusterDNS = zones, vswitches, clusterDNS
	cfg.Tags, cfg.Labels = tags, labels
	caps, err := parseCapacity(capacity)
	if err != nil {
		fmt.Fprintf(stderr, "eci-vnode node: --capacity: %v\n", err)
		return 2
	}
	cfg.Capacity = caps

	log := newLogger(stderr, logLevel)
	creds, err := loadCredentials(credsDir, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "eci-vnode node: %v\n", err)
		return 2
	}
	client, err := eci.New(eci.Config{
		Region: cfg.Region, Endpoint: endpoint, Scheme: scheme, Credentials: &creds,
		UserAgent: "eci-vnode/" + version, Getenv: getenv,
	})
	if err != nil {
		fmt.Fprintf(stderr, "eci-vnode node: ECI client: %v\n", err)
		return 2
	}
	kube, err := kubeClient(kubeconfig, kubeQPS, kubeBurst)
	if err != nil {
		fmt.Fprintf(stderr, "eci-vnode node: %v\n", err)
		return 2
	}
	if metricsAddr == "" {
		metricsAddr = ":10255"
		if ip := getenv("POD_IP"); ip != "" {
			metricsAddr = ip + ":10255"
		}
	}
	identity := getenv("POD_NAME")
	if identity == "" {
		identity, _ = os.Hostname()
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info("starting eci-vnode node", "version", version, "node", cfg.NodeName, "cluster", cfg.ClusterName,
		"region", cfg.Region, "eci", client.Endpoint(), "credentials", creds.String(), "leaderElect", leaderElect)
	err = node.Run(ctx, cfg, node.RunOptions{
		Kube: kube, ECI: client, Version: version, Log: log, MetricsAddr: metricsAddr,
		LeaderElect: leaderElect, LeaderElectionNamespace: leNamespace, Identity: identity,
	})
	if err != nil {
		log.Error("eci-vnode node stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// loadCredentials reads a mounted Secret directory, else the environment.
func loadCredentials(dir string, getenv func(string) string) (eci.Credentials, error) {
	if dir == "" {
		return eci.CredentialsFromEnv(getenv)
	}
	read := func(name string, required bool) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			if !required && errors.Is(err, os.ErrNotExist) {
				return "", nil
			}
			return "", fmt.Errorf("read credentials file %s: %w", filepath.Join(dir, name), err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var c eci.Credentials
	var err error
	if c.AccessKeyID, err = read("access-key-id", true); err != nil {
		return c, err
	}
	if c.AccessKeySecret, err = read("access-key-secret", true); err != nil {
		return c, err
	}
	if c.SecurityToken, err = read("security-token", false); err != nil {
		return c, err
	}
	return c, nil
}

func parseCapacity(m map[string]string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for k, v := range m {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", k, v, err)
		}
		out[corev1.ResourceName(k)] = q
	}
	return out, nil
}

func kubeClient(kubeconfig string, qps float64, burst int) (kubernetes.Interface, error) {
	var (
		rc  *rest.Config
		err error
	)
	if kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("load Kubernetes client configuration: %w", err)
	}
	rc.QPS, rc.Burst = float32(qps), burst
	rc.UserAgent = "eci-vnode/" + version
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	return cs, nil
}
