package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// renderCommand runs `eci-vnode render`: it prints the objects that install the runtime
// (internal/install, the same the Terraform provider applies) as YAML, for
// `kubectl apply -f -`.
func renderCommand(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	s := newSettings("eci-vnode render")
	fs := s.fs
	var (
		r                             install.Runtime
		v                             install.VNode
		configFile, credentialsAs     string
		vnodes                        listFlag
		zones, vswitches, clusterDNS  listFlag
		costTagKeys                   listFlag
		tags, labels, capacity        mapFlag
		credentialsFromEnv, noWebhook bool
		clusterIPAccess               bool
		webhookReplicas, replicas     int
		pollFast, pollSlow            time.Duration
		taints                        taintsFlag
	)
	fs.StringVar(&configFile, "config", "", "optional YAML file of settings; keys are these flag names")
	fs.StringVar(&r.Version, "version", version, "runtime version: the image tag")
	fs.StringVar(&r.ImageDigest, "image-digest", imageDigest, "digest (sha256:...) pinning the image of --version; a released binary knows its own version's")
	fs.StringVar(&r.Image, "image", "", "whole image reference, overriding "+install.ImageRepository+":<version>[@<digest>]")
	fs.StringVar(&r.Namespace, "namespace", install.DefaultNamespace, "namespace of the runtime")
	fs.BoolVar(&r.NamespaceExists, "namespace-exists", false, "do not render the namespace (it exists and is not the runtime's)")
	fs.StringVar(&r.ClusterName, "cluster-name", "", "cluster name, tagged on every ECI instance (required with --vnodes)")
	fs.StringVar(&r.Region, "region", eci.RegionFromEnv(getenv), "ECI region, e.g. cn-hangzhou (default $ALIBABA_CLOUD_REGION_ID or $ALICLOUD_REGION)")
	fs.StringVar(&r.ECIEndpoint, "eci-endpoint", "", "ECI API endpoint (default eci.<region>.aliyuncs.com)")
	fs.StringVar(&r.ECIScheme, "eci-scheme", "", "HTTPS (default) or HTTP")
	fs.StringVar(&r.CredentialsSecret, "credentials-secret", "", "existing Secret in --namespace with access-key-id, access-key-secret and optionally security-token; nothing secret is printed")
	fs.BoolVar(&credentialsFromEnv, "credentials-from-env", false, "render the Secret "+install.CredentialsSecretName+" from $ALIBABA_CLOUD_ACCESS_KEY_ID, $ALIBABA_CLOUD_ACCESS_KEY_SECRET and $ALIBABA_CLOUD_SECURITY_TOKEN: the output then holds the key")
	fs.StringVar(&credentialsAs, "credentials-as", string(install.CredentialsAsFiles), "files: mount the Secret and follow it (--credentials-dir); env: environment variables, read once")
	fs.BoolVar(&noWebhook, "no-webhook", false, "leave out the eci-profile webhook")
	fs.IntVar(&webhookReplicas, "webhook-replicas", 1, "replicas of the webhook")
	fs.StringVar(&r.Webhook.FailurePolicy, "webhook-failure-policy", "", "Ignore (default) or Fail")
	fs.StringVar(&r.Webhook.LogLevel, "webhook-log-level", "", "webhook log level: "+strings.Join(logLevels, ", "))
	fs.StringVar(&r.Webhook.LogFormat, "webhook-log-format", "", "webhook log format: "+strings.Join(install.LogFormats(), " or ")+" (the runtime's default: text)")
	fs.BoolVar(&r.Webhook.DirectURL, "webhook-direct-url", false, "the API server calls the webhook pod's IP instead of its Service (one replica)")
	fs.Var(&vnodes, "vnodes", "comma-separated names of the VNodes to render, each with the settings below")
	fs.Var(&zones, "zones", "comma-separated zone IDs for instances")
	fs.Var(&vswitches, "vswitch-ids", "comma-separated vSwitch IDs (up to 10)")
	fs.StringVar(&v.ScheduleStrategy, "schedule-strategy", "", "VSwitchOrdered or VSwitchRandom")
	fs.StringVar(&v.SecurityGroupID, "security-group-id", "", "security group of the instances")
	fs.StringVar(&v.ResourceGroupID, "resource-group-id", "", "resource group of the instances")
	fs.Var(&tags, "tags", "k=v,... tags added to every instance")
	fs.Var(&capacity, "capacity", "resource=quantity,... advertised capacity")
	fs.Var(&labels, "node-labels", "k=v,... extra node labels")
	fs.Var(&taints, "node-taints", "the node's taints, "+install.TaintSyntax+" (default: the runtime's, the VNode taint; empty: no taints)")
	fs.StringVar(&v.SpotStrategy, "spot-strategy", "", "spot strategy of every pod without its own: SpotAsPriceGo, SpotWithPriceLimit or NoSpot")
	fs.StringVar(&v.SpotPriceLimit, "spot-price-limit", "", "highest hourly price with --spot-strategy=SpotWithPriceLimit, e.g. 0.5")
	fs.BoolVar(&v.AutoMatchImageCache, "auto-match-image-cache", false, "let ECI match an image cache for every pod without its own setting")
	fs.Var(&clusterDNS, "cluster-dns", "comma-separated cluster DNS service IPs")
	fs.StringVar(&v.ClusterDomain, "cluster-domain", "", "cluster DNS domain (the runtime's default: cluster.local)")
	fs.BoolVar(&clusterIPAccess, "cluster-ip-access", true, "run kube-proxy in every instance, for ClusterIP Services and the cluster DNS")
	fs.StringVar(&v.KubeProxyImage, "kube-proxy-image", "", "kube-proxy image (the runtime's default: registry.k8s.io/kube-proxy of the API server's version)")
	fs.IntVar(&replicas, "replicas", 1, "replicas of each VNode's runtime; above 1 they run active/standby")
	fs.DurationVar(&pollFast, "status-poll-fast", 0, "how often ECI is asked which instances changed (0: the runtime's default)")
	fs.DurationVar(&pollSlow, "status-poll-slow", 0, "how often every instance is listed (0: the runtime's default)")
	fs.Float64Var(&v.ECIReadShare, "eci-read-share", 0, "share of the account's ECI read quotas per VNode (0: the runtime's default)")
	fs.Float64Var(&v.ECICreateQPS, "eci-create-qps", 0, "CreateContainerGroup and DeleteContainerGroup calls a second per VNode once the burst is spent (0: the runtime's default)")
	fs.IntVar(&v.ECICreateBurst, "eci-create-burst", 0, "CreateContainerGroup and DeleteContainerGroup calls per VNode at once (0: the runtime's default)")
	fs.IntVar(&v.ECICreatePerMinute, "eci-create-per-minute", 0, "CreateContainerGroup and DeleteContainerGroup calls per VNode in any minute, at most (0: the runtime's default)")
	fs.StringVar(&v.LogLevel, "log-level", "", "VNode log level: "+strings.Join(logLevels, ", "))
	fs.Var(&costTagKeys, "cost-tag-keys", "comma-separated tag keys the VNode's cost metrics split by (the runtime's default: the keys of --tags; empty: no split)")
	fs.StringVar(&v.LogFormat, "log-format", "", "VNode log format: "+strings.Join(install.LogFormats(), " or ")+" (the runtime's default: text)")
	s.moreEnv["region"] = []string{"ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION"}

	if s.settle(args, "config", getenv, stdout) {
		return 0
	}

	// The digest built into a release belongs to its own version only: asked for another
	// version, render names that version's image by tag.
	if r.Version != version && r.ImageDigest == imageDigest {
		r.ImageDigest = ""
	}
	r.CredentialsAs = install.CredentialsAs(credentialsAs)
	r.Webhook.Disabled = noWebhook
	r.Webhook.Replicas = int32(webhookReplicas)
	s.atLeast("webhook-replicas", webhookReplicas, 1)
	s.atLeast("replicas", replicas, 1)
	v.ZoneIDs, v.VSwitchIDs, v.ClusterDNS = zones, vswitches, clusterDNS
	v.NoClusterIPAccess = !clusterIPAccess
	v.Tags, v.Labels, v.Capacity = tags, labels, capacity
	v.Taints = s.taints("node-taints", taints)
	fs.Visit(func(f *flag.Flag) {
		// Given, even empty, it replaces the runtime's default.
		if f.Name == "cost-tag-keys" {
			v.CostTagKeys = append([]string{}, costTagKeys...)
		}
	})
	v.Replicas = int32(replicas)
	v.StatusPollFast, v.StatusPollSlow = pollFast, pollSlow
	if credentialsFromEnv {
		if r.CredentialsSecret != "" {
			s.problem("credentials-from-env", "set either --credentials-from-env or --credentials-secret")
		}
		cr, err := eci.CredentialsFromEnv(getenv)
		if err != nil {
			s.problem("credentials-from-env", "%v", err)
		} else {
			r.Credentials = &install.Credentials{AccessKeyID: cr.AccessKeyID, AccessKeySecret: cr.AccessKeySecret, SecurityToken: cr.SecurityToken}
		}
	} else if len(vnodes) > 0 && r.CredentialsSecret == "" {
		s.problem("credentials-secret", "required with --vnodes: name an existing Secret, or render one with --credentials-from-env")
	}
	seen := map[string]bool{}
	for _, name := range vnodes {
		if seen[name] {
			s.problem("vnodes", "%q is listed twice", name)
		}
		seen[name] = true
	}

	objs, err := r.Objects()
	s.includeInstall(err)
	for _, name := range vnodes {
		vn := v
		vn.Name = name
		more, err := r.VNodeObjects(vn)
		s.includeInstall(err)
		objs = append(objs, more...)
	}
	if code := s.report(stderr); code != 0 {
		return code
	}
	out, err := install.YAML(objs)
	if err != nil {
		fmt.Fprintf(stderr, "eci-vnode render: %s\n", oneLine(err.Error()))
		return 1
	}
	_, _ = stdout.Write(out)
	return 0
}

// renderFlags maps the install settings to the flags of render that set them.
var renderFlags = map[string]string{
	"Version":                  "version",
	"ImageDigest":              "image-digest",
	"Namespace":                "namespace",
	"ClusterName":              "cluster-name",
	"Region":                   "region",
	"ECIEndpoint":              "eci-endpoint",
	"ECIScheme":                "eci-scheme",
	"Credentials":              "credentials-secret",
	"CredentialsSecret":        "credentials-secret",
	"CredentialsAs":            "credentials-as",
	"Webhook.Replicas":         "webhook-replicas",
	"Webhook.FailurePolicy":    "webhook-failure-policy",
	"Webhook.LogLevel":         "webhook-log-level",
	"Webhook.LogFormat":        "webhook-log-format",
	"VNode.Name":               "vnodes",
	"VNode.ZoneIDs":            "zones",
	"VNode.VSwitchIDs":         "vswitch-ids",
	"VNode.ScheduleStrategy":   "schedule-strategy",
	"VNode.Tags":               "tags",
	"VNode.Labels":             "node-labels",
	"VNode.Taints":             "node-taints",
	"VNode.SpotStrategy":       "spot-strategy",
	"VNode.SpotPriceLimit":     "spot-price-limit",
	"VNode.Capacity":           "capacity",
	"VNode.ClusterDNS":         "cluster-dns",
	"VNode.StatusPollFast":     "status-poll-fast",
	"VNode.StatusPollSlow":     "status-poll-slow",
	"VNode.ECIReadShare":       "eci-read-share",
	"VNode.ECICreateQPS":       "eci-create-qps",
	"VNode.ECICreateBurst":     "eci-create-burst",
	"VNode.ECICreatePerMinute": "eci-create-per-minute",
	"VNode.Replicas":           "replicas",
	"VNode.LogLevel":           "log-level",
	"VNode.LogFormat":          "log-format",
	"VNode.CostTagKeys":        "cost-tag-keys",
}

// includeInstall records the problems install found, each under the flag of its
// setting. Every VNode shares the same flags, so a problem is reported once.
func (s *settings) includeInstall(err error) {
	ps, ok := err.(install.Problems)
	if !ok {
		if err != nil {
			s.problems = append(s.problems, oneLine(err.Error()))
		}
		return
	}
	for _, p := range ps {
		if name, ok := renderFlags[p.Setting]; ok {
			s.problem(name, "%s", p.Message)
		} else {
			s.problems = append(s.problems, p.String())
		}
	}
}
