package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/runtime/node"
	"github.com/eci-vnode/terraform-provider-eci/runtime/nodeidentity"
)

// nodeCommand runs `eci-vnode node`: the virtual kubelet of one VNode.
func nodeCommand(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	s := newSettings("eci-vnode node")
	fs := s.fs
	var (
		cfg                              node.Config
		zones, vswitches, clusterDNS     listFlag
		costTagKeys                      listFlag
		tags, labels, capacity           mapFlag
		configFile, kubeconfig, credsDir string
		endpoint, scheme, metricsAddr    string
		kubeletAPIAddr, clientCAFile     string
		logLevel, logFormat, leNamespace string
		leaderElect                      bool
		kubeQPS, eventQPS                float64
		kubeBurst, eventBurst            int
		createPerMinute                  int
		taints                           taintsFlag
		spotPriceLimit                   string
	)
	fs.StringVar(&configFile, "config", "", "optional YAML file of settings; keys are these flag names")
	fs.StringVar(&cfg.NodeName, "node-name", getenv("NODE_NAME"), "name of the VNode's Kubernetes node (default $NODE_NAME)")
	fs.StringVar(&cfg.ClusterName, "cluster-name", "", "cluster name, written into the tags of every ECI instance (required)")
	fs.StringVar(&cfg.Region, "region", eci.RegionFromEnv(getenv), "ECI region, e.g. cn-hangzhou (default $ALIBABA_CLOUD_REGION_ID or $ALICLOUD_REGION)")
	fs.Var(&zones, "zones", "comma-separated zone IDs for instances (pod annotations win)")
	fs.Var(&vswitches, "vswitch-ids", "comma-separated vSwitch IDs (up to 10), tried per --schedule-strategy")
	fs.StringVar(&cfg.SecurityGroupID, "security-group-id", "", "security group of the instances")
	fs.StringVar(&cfg.ResourceGroupID, "resource-group-id", "", "resource group of the instances")
	fs.StringVar(&cfg.ScheduleStrategy, "schedule-strategy", "", "VSwitchOrdered or VSwitchRandom")
	fs.Var(&tags, "tags", "k=v,... tags added to every instance of this VNode")
	fs.Var(&costTagKeys, "cost-tag-keys", "comma-separated tag keys the cost metrics split the instances' cost by (default: the keys of --tags; empty: no split)")
	fs.Var(&clusterDNS, "cluster-dns", "comma-separated cluster DNS service IPs, for dnsPolicy ClusterFirst")
	fs.StringVar(&cfg.ClusterDomain, "cluster-domain", "cluster.local", "cluster DNS domain")
	fs.BoolVar(&cfg.ClusterIPAccess, "cluster-ip-access", true, "run kube-proxy in every instance, so pods reach ClusterIP Services and the cluster DNS (a pod opts out with the annotation eci-vnode.io/kube-proxy: disabled)")
	fs.StringVar(&cfg.KubeProxyImage, "kube-proxy-image", "", "kube-proxy image of --cluster-ip-access (default: "+node.KubeProxyImageRepository+" of the API server's version)")
	fs.StringVar(&cfg.KubeProxyServiceAccount, "kube-proxy-service-account", defaultKubeProxySA(getenv), "namespace/name of the kube-proxy's ServiceAccount, bound to system:node-proxier (default $POD_NAMESPACE/"+install.KubeProxyServiceAccount+", without POD_NAMESPACE "+install.DefaultNamespace+")")
	fs.Var(&capacity, "capacity", "resource=quantity,... advertised capacity (cpu, memory, pods, ephemeral-storage, nvidia.com/gpu, custom)")
	fs.Var(&labels, "node-labels", "k=v,... extra node labels")
	fs.Var(&taints, "node-taints", "the node's taints, "+install.TaintSyntax+" (default: the VNode taint "+install.FormatTaints(install.DefaultVNodeTaints())+"; empty: no taints)")
	fs.StringVar(&cfg.SpotStrategy, "spot-strategy", "", "spot strategy of every pod without k8s.aliyun.com/eci-spot-strategy: SpotAsPriceGo, SpotWithPriceLimit or NoSpot (default: none)")
	fs.StringVar(&spotPriceLimit, "spot-price-limit", "", "highest hourly price with --spot-strategy=SpotWithPriceLimit, e.g. 0.5 (at most 3 decimals)")
	fs.BoolVar(&cfg.AutoMatchImageCache, "auto-match-image-cache", false, "let ECI match an image cache for every pod without k8s.aliyun.com/eci-auto-imc")
	fs.StringVar(&cfg.NodeIP, "node-ip", getenv("POD_IP"), "address the node reports (default $POD_IP)")
	fs.DurationVar(&cfg.StatusPollFast, "status-poll-fast", time.Second, "how often ECI is asked which instances changed")
	fs.DurationVar(&cfg.StatusPollSlow, "status-poll-slow", 30*time.Second, "how often every instance of the VNode is listed, at least")
	fs.Float64Var(&cfg.ReadBudgetShare, "eci-read-share", 0.5, "share of the account's ECI read quotas this VNode may use, above 0 and at most 1 (the quotas are per account)")
	fs.DurationVar(&cfg.OrphanGracePeriod, "orphan-grace-period", 2*time.Minute, "how long an instance without a pod is kept before deletion")
	fs.DurationVar(&cfg.ECIHealthInterval, "eci-health-interval", 15*time.Second, "how often the node checks that ECI answers")
	fs.DurationVar(&cfg.ECIUnreachableAfter, "eci-unreachable-after", time.Minute, "how long ECI must fail every check before the node says it is unreachable and takes no new pods")
	fs.IntVar(&cfg.ECIUnreachableChecks, "eci-unreachable-checks", 3, "failed checks in a row needed as well before ECI counts as unreachable")
	fs.IntVar(&cfg.Workers, "create-workers", node.DefaultWorkers, "concurrent instance creations")
	createDelete := eci.DefaultRateLimits()["CreateContainerGroup"]
	fs.Float64Var(&cfg.CreateQPS, "eci-create-qps", createDelete.PerSecond, "CreateContainerGroup and DeleteContainerGroup calls a second once the burst is used (under ECI's documented 20; raise it only for an account whose quota Alibaba raised)")
	fs.IntVar(&cfg.CreateBurst, "eci-create-burst", createDelete.Burst, "CreateContainerGroup and DeleteContainerGroup calls in a burst (under ECI's documented 100)")
	fs.IntVar(&createPerMinute, "eci-create-per-minute", createDelete.PerMinuteCap, "CreateContainerGroup and DeleteContainerGroup calls in any minute, at most (ECI's documented 1000; 0: no cap)")
	fs.StringVar(&kubeconfig, "kubeconfig", getenv("KUBECONFIG"), "kubeconfig file (default $KUBECONFIG, else the in-cluster configuration)")
	fs.Float64Var(&kubeQPS, "kube-api-qps", node.DefaultKubeAPIQPS, "Kubernetes API queries per second (Events have their own, --event-qps)")
	fs.IntVar(&kubeBurst, "kube-api-burst", node.DefaultKubeAPIBurst, "Kubernetes API burst")
	fs.Float64Var(&eventQPS, "event-qps", node.DefaultEventQPS, "Events sent per second, at most")
	fs.IntVar(&eventBurst, "event-burst", node.DefaultEventBurst, "Events sent in a burst, at most")
	fs.StringVar(&endpoint, "eci-endpoint", "", "ECI API endpoint (default eci.<region>.aliyuncs.com)")
	fs.StringVar(&scheme, "eci-scheme", "HTTPS", "HTTPS or HTTP")
	fs.StringVar(&credsDir, "credentials-dir", "", "directory of a mounted Secret with files access-key-id, access-key-secret and optionally security-token, re-read when they change (default: the ALIBABA_CLOUD_* environment variables, read once)")
	fs.StringVar(&metricsAddr, "metrics-addr", "", "address for /metrics, /livez, /healthz and /readyz (default $POD_IP:10255, or :10255)")
	fs.StringVar(&kubeletAPIAddr, "kubelet-api-addr", "", "address of the kubelet API for kubectl logs, exec and top (default $POD_IP:10250; without POD_IP, or off: none); port 0 picks a free one")
	fs.StringVar(&clientCAFile, "client-ca-file", "", "CA bundle verifying kubelet API client certificates (default: the API server's, from ConfigMap kube-system/extension-apiserver-authentication)")
	fs.BoolVar(&leaderElect, "leader-elect", false, "run active/standby with other replicas of this VNode")
	fs.StringVar(&leNamespace, "leader-elect-namespace", getenv("POD_NAMESPACE"), "namespace of the leader Lease (default $POD_NAMESPACE)")
	fs.StringVar(&logLevel, "log-level", "info", strings.Join(logLevels, ", "))
	fs.StringVar(&logFormat, "log-format", "text", "text (key=value lines) or json (one JSON object a line)")
	s.moreEnv["node-name"] = []string{"NODE_NAME"}
	s.moreEnv["region"] = []string{"ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION"}
	s.moreEnv["node-ip"] = []string{"POD_IP"}
	s.moreEnv["metrics-addr"] = []string{"POD_IP"}
	s.moreEnv["kubelet-api-addr"] = []string{"POD_IP"}
	s.moreEnv["kubeconfig"] = []string{"KUBECONFIG"}
	s.moreEnv["leader-elect-namespace"] = []string{"POD_NAMESPACE"}
	s.moreEnv["kube-proxy-service-account"] = []string{"POD_NAMESPACE"}

	if s.settle(args, "config", getenv, stdout) {
		return 0
	}

	// Everything is checked before anything is built, and every problem
	// is reported together.
	cfg.ZoneIDs, cfg.VSwitchIDs, cfg.ClusterDNS = zones, vswitches, clusterDNS
	cfg.Tags, cfg.Labels = tags, labels
	fs.Visit(func(f *flag.Flag) {
		// Given, even empty, it replaces the default (the keys of --tags).
		if f.Name == "cost-tag-keys" {
			cfg.CostTagKeys = append([]string{}, costTagKeys...)
		}
	})
	cfg.Capacity = s.capacity("capacity", capacity)
	if ts := s.taints("node-taints", taints); ts != nil {
		cfg.Taints = make([]corev1.Taint, len(ts))
		for i, t := range ts {
			cfg.Taints[i] = corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)}
		}
	}
	cfg.SpotPriceLimit = s.spot("spot-strategy", cfg.SpotStrategy, "spot-price-limit", spotPriceLimit)
	s.logLevel("log-level", logLevel)
	s.logFormat("log-format", logFormat)
	s.positive("status-poll-fast", cfg.StatusPollFast)
	s.positive("status-poll-slow", cfg.StatusPollSlow)
	s.positive("orphan-grace-period", cfg.OrphanGracePeriod)
	s.positive("eci-health-interval", cfg.ECIHealthInterval)
	s.positive("eci-unreachable-after", cfg.ECIUnreachableAfter)
	s.atLeast("eci-unreachable-checks", cfg.ECIUnreachableChecks, 1)
	if cfg.ReadBudgetShare <= 0 || cfg.ReadBudgetShare > 1 {
		s.problem("eci-read-share", "%v: want a share above 0 and at most 1, e.g. 0.5 for half the account's read quota", cfg.ReadBudgetShare)
	}
	s.atLeast("create-workers", cfg.Workers, 1)
	if cfg.CreateQPS <= 0 {
		s.problem("eci-create-qps", "%v: want a number above zero, e.g. %g (ECI's documented quota is 20 a second)", cfg.CreateQPS, createDelete.PerSecond)
	}
	s.atLeast("eci-create-burst", cfg.CreateBurst, 1)
	s.atLeast("eci-create-per-minute", createPerMinute, 0)
	if cfg.CreatePerMinute = createPerMinute; createPerMinute == 0 {
		cfg.CreatePerMinute = -1 // no cap (zero in the Config is the default)
	}
	if kubeQPS <= 0 {
		s.problem("kube-api-qps", "%v: want a number above zero", kubeQPS)
	}
	s.atLeast("kube-api-burst", kubeBurst, 1)
	if eventQPS <= 0 {
		s.problem("event-qps", "%v: want a number above zero", eventQPS)
	}
	s.atLeast("event-burst", eventBurst, 1)
	if !strings.EqualFold(scheme, "HTTPS") && !strings.EqualFold(scheme, "HTTP") {
		s.problem("eci-scheme", "%q: want HTTPS or HTTP", scheme)
	} else if err := eci.CheckEndpoint(endpoint, scheme); err != nil {
		s.problem("eci-endpoint", "%v", err)
	}
	if cfg.Region != "" {
		if err := eci.CheckRegion(cfg.Region); err != nil {
			s.problem("region", "%v", err)
		}
	}
	if metricsAddr == "" {
		metricsAddr = ":10255"
		if ip := getenv("POD_IP"); ip != "" {
			metricsAddr = ip + ":10255"
		}
	}
	s.hostPort("metrics-addr", metricsAddr)
	switch kubeletAPIAddr {
	case "":
		if ip := getenv("POD_IP"); ip != "" {
			kubeletAPIAddr = net.JoinHostPort(ip, "10250")
		}
	case "off":
		kubeletAPIAddr = ""
	default:
		s.hostPort("kubelet-api-addr", kubeletAPIAddr)
	}
	creds := s.credentials("credentials-dir", credsDir, getenv)
	kube, server := s.kubeClient("kubeconfig", kubeconfig, kubeQPS, kubeBurst)
	var events kubernetes.Interface
	if server != nil {
		var err error
		if events, err = node.EventClient(server, float32(eventQPS), eventBurst); err != nil {
			s.problem("kubeconfig", "cannot create the Events client: %s", oneLine(err.Error()))
		}
	}
	bootstrapToken := getenv(install.BootstrapTokenEnv)
	if bootstrapToken != "" {
		if _, err := nodeidentity.TokenID(bootstrapToken); err != nil {
			s.problem(install.BootstrapTokenEnv, "%v", err)
		}
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			if msg := install.NodeLabelProblem(k); msg != "" {
				s.problem("node-labels", "label %q: %s", k, msg)
			}
		}
	}
	cfg.Defaults()
	s.include(cfg.Validate())
	if code := s.report(stderr); code != 0 {
		return code
	}

	log := newLogger(stderr, logLevel, logFormat)
	// client-go (leader election, informers, the event broadcaster) logs
	// through klog: sent through the same logger, its records have the same
	// format, so a JSON log stays one JSON object a line.
	klog.SetSlogLogger(log)
	if fc, ok := creds.(*eci.FileCredentialSource); ok {
		fc.OnReload(func(cr eci.Credentials, err error) {
			if err != nil {
				log.Warn("cannot read the ECI credentials; keeping the last good ones", "dir", fc.Dir(), "credentials", cr.String(), "err", err)
				return
			}
			log.Info("ECI credentials changed; using the new ones", "dir", fc.Dir(), "credentials", cr.String())
		})
	}
	// The registry and metrics exist before the ECI client, so the client
	// reports every API attempt to them.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := node.NewMetrics(reg)
	client, err := eci.New(eci.Config{
		Region: cfg.Region, Endpoint: endpoint, Scheme: scheme, CredentialSource: creds,
		UserAgent: "eci-vnode/" + version, Getenv: getenv, Observer: metrics,
		// The status path's reads stay within --eci-read-share of the
		// account's quotas, every attempt and retry included.
		RateLimits: cfg.RateLimits(),
	})
	if err != nil {
		fmt.Fprintf(stderr, "eci-vnode node: create the ECI client: %s\n", oneLine(err.Error()))
		return 2
	}
	identity := getenv("POD_NAME")
	if identity == "" {
		identity, _ = os.Hostname()
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info("starting eci-vnode node", "version", version, "node", cfg.NodeName, "cluster", cfg.ClusterName,
		"region", cfg.Region, "eci", client.Endpoint(), "credentials", describeCredentials(creds), "leaderElect", leaderElect)
	opts := node.RunOptions{
		Kube: kube, Events: events, EventQPS: float32(eventQPS), EventBurst: eventBurst, ECI: client, Version: version, Log: log, MetricsAddr: metricsAddr,
		Registry: reg, Metrics: metrics, KubeletAPIAddr: kubeletAPIAddr, ClientCAFile: clientCAFile,
		LeaderElect: leaderElect, LeaderElectionNamespace: leNamespace, Identity: identity,
	}
	if bootstrapToken != "" {
		// The runtime runs as its node; its own client (the ServiceAccount) keeps
		// what NodeRestriction denies a node: its Node's taints, the kube-proxy's tokens.
		opts.ServiceAccountKube, opts.Kube, opts.Events = kube, nil, nil
		opts.NodeIdentity = func(ctx context.Context) (*rest.Config, func(), error) {
			id, err := nodeidentity.Start(ctx, nodeidentity.Config{
				NodeName: cfg.NodeName, Server: server, BootstrapToken: bootstrapToken, Log: log,
			})
			if err != nil {
				return nil, nil, err
			}
			return id.Config(), id.Stop, nil
		}
	} else {
		log.Warn("running with the ServiceAccount's rights, not as the node: without "+install.BootstrapTokenEnv+
			" there is no TLS bootstrap, so the Node authorizer does not limit this runtime to its own pods' objects", "node", cfg.NodeName)
	}
	err = node.Run(ctx, cfg, opts)
	if err != nil {
		log.Error("eci-vnode node stopped", "err", err)
		return 1
	}
	return 0
}

// credentials returns the credential source: the files of dir, re-read when
// they change, or else the environment, read once. Problems are recorded.
func (s *settings) credentials(name, dir string, getenv func(string) string) eci.CredentialSource {
	if dir != "" {
		src, err := eci.NewFileCredentialSource(dir)
		if err != nil {
			s.problem(name, "%v", err)
			return nil
		}
		return src
	}
	cr, err := eci.CredentialsFromEnv(getenv)
	if err != nil {
		s.problem(name, "not set, and the environment has no credentials either: %v", err)
		return nil
	}
	return eci.StaticCredentials(cr)
}

func describeCredentials(src eci.CredentialSource) string {
	if st, ok := src.(fmt.Stringer); ok {
		return st.String()
	}
	return "custom"
}

// capacity parses resource=quantity pairs; each bad pair is a problem.
func (s *settings) capacity(name string, m map[string]string) corev1.ResourceList {
	out := corev1.ResourceList{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q, err := resource.ParseQuantity(m[k])
		switch {
		case err != nil:
			s.problem(name, "%s=%s is not a quantity such as 1000, 500m or 4Ti", k, m[k])
		case q.Sign() < 0:
			s.problem(name, "%s=%s is negative", k, m[k])
		default:
			out[corev1.ResourceName(k)] = q
		}
	}
	return out
}

// kubeClient builds the Kubernetes client from kubeconfig, or the in-cluster
// configuration, and returns it with its configuration; a problem is recorded
// when neither works. It does not call the API server.
func (s *settings) kubeClient(name, kubeconfig string, qps float64, burst int) (kubernetes.Interface, *rest.Config) {
	var (
		rc  *rest.Config
		err error
	)
	if kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			s.problem(name, "cannot load %s: %s", kubeconfig, oneLine(err.Error()))
			return nil, nil
		}
	} else if rc, err = rest.InClusterConfig(); err != nil {
		s.problem(name, "not set, and this is not a pod with an in-cluster configuration: %s", oneLine(err.Error()))
		return nil, nil
	}
	rc.QPS, rc.Burst = float32(qps), burst
	rc.UserAgent = "eci-vnode/" + version
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		s.problem(name, "cannot create a Kubernetes client: %s", oneLine(err.Error()))
		return nil, nil
	}
	return cs, rc
}

// defaultKubeProxySA is the ServiceAccount the installation creates for the
// kube-proxy, in the runtime's own namespace.
func defaultKubeProxySA(getenv func(string) string) string {
	ns := getenv("POD_NAMESPACE")
	if ns == "" {
		ns = install.DefaultNamespace
	}
	return ns + "/" + install.KubeProxyServiceAccount
}
