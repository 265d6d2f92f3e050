package install

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/eci-vnode/terraform-provider-eci/internal/cost"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// Names and defaults of an installation (docs/design.md, "Names").
const (
	// FieldManager owns, under server-side apply, every object Apply writes.
	FieldManager = "terraform-provider-eci"
	// DefaultNamespace is the runtime's namespace.
	DefaultNamespace = "eci-vnode-system"
	// ImageRepository is the runtime's image; the tag is the version.
	ImageRepository = "ghcr.io/eci-vnode/eci-vnode"
	// CredentialsSecretName is the Secret rendered from Runtime.Credentials.
	CredentialsSecretName = "eci-vnode-credentials"
	// CredentialsDir is where the credentials Secret is mounted (CredentialsAsFiles).
	CredentialsDir = "/etc/eci-vnode/credentials"

	// The webhook's names; the runtime's own defaults (runtime/webhook) are the same,
	// and its flags are rendered only where they must differ.
	WebhookName              = "eci-vnode-webhook" // ServiceAccount, Service, Deployment
	WebhookConfigurationName = "eci-vnode-profile"
	WebhookSecretName        = "eci-vnode-webhook-tls"
	WebhookPort              = 9443
	WebhookMetricsPort       = 8080
	// NodeMetricsPort serves the node's /metrics, /livez, /healthz and /readyz (--metrics-addr).
	NodeMetricsPort = 10255
	// KubeletAPIPort is where a VNode serves the kubelet API (--kubelet-api-addr), the
	// kubelet's own port.
	KubeletAPIPort = 10250
	// ApproverName names the CSR approver's ServiceAccount and Deployment.
	ApproverName = "eci-vnode-approver"
	// ClientCAConfigMap (kube-system) is where the API server publishes its client CA.
	ClientCAConfigMap = "extension-apiserver-authentication"
)

// Labels on every rendered object.
const (
	LabelName      = "app.kubernetes.io/name"      // always eci-vnode
	LabelComponent = "app.kubernetes.io/component" // node or profile-webhook
	LabelVersion   = "app.kubernetes.io/version"
	// LabelNode names the VNode a per-VNode object belongs to.
	LabelNode = "eci-vnode.io/node"
)

// ImageReference is the runtime image of a version: ImageRepository:version, pinned with
// @digest when the digest is known. The tag keeps the reference readable; the digest is
// what the container runtime pulls, so a re-pushed tag cannot change what a released
// provider installs (docs/design.md, "Releases").
func ImageReference(version, digest string) string {
	ref := ImageRepository + ":" + version
	if digest != "" {
		ref += "@" + digest
	}
	return ref
}

// CredentialsAs says how the runtime's containers receive the credentials Secret.
type CredentialsAs string

const (
	// CredentialsAsFiles mounts the Secret as a directory and passes --credentials-dir:
	// the runtime follows the files, so a rotated key or renewed STS token is used
	// without a restart (docs/runtime.md, "Settings"). The default.
	CredentialsAsFiles CredentialsAs = "files"
	// CredentialsAsEnv passes the Secret's keys as ALIBABA_CLOUD_* variables, read once
	// at start: a rotation needs a restart. For hosts that do not mount volumes, such as
	// the local sandbox's workers.
	CredentialsAsEnv CredentialsAs = "env"
)

// Runtime is the part of an installation that exists once per cluster.
type Runtime struct {
	// Version is the runtime's version; the image is ImageRepository:Version. Required
	// unless Image is set.
	Version string
	// ImageDigest (sha256:...) pins the default image to the one released with this
	// version: ImageRepository:Version@ImageDigest (ImageReference). Released builds
	// carry it; development builds leave it empty.
	ImageDigest string
	// Image overrides the whole image reference (a mirror, a digest).
	Image string
	// Namespace of the runtime (default DefaultNamespace).
	Namespace string
	// NamespaceExists: the namespace is not rendered (nor deleted with the rest).
	NamespaceExists bool

	// ClusterName tags every ECI instance (--cluster-name); Region is the ECI region.
	// Both are needed by VNodes only.
	ClusterName, Region string
	// ECIEndpoint and ECIScheme override the API endpoint (a VPC endpoint, an emulator);
	// ECIScheme is HTTPS (default) or HTTP.
	ECIEndpoint, ECIScheme string

	// Credentials renders the Secret CredentialsSecretName. Exactly one of Credentials
	// and CredentialsSecret is needed for VNodes.
	Credentials *Credentials
	// CredentialsSecret names an existing Secret in Namespace with the keys
	// access-key-id, access-key-secret and optionally security-token.
	CredentialsSecret string
	// CredentialsAs is how containers get them (default CredentialsAsFiles).
	CredentialsAs CredentialsAs

	// Webhook is the eci-profile admission webhook.
	Webhook Webhook
}

// Credentials are an AccessKey pair, with the token of STS credentials.
type Credentials struct {
	AccessKeyID, AccessKeySecret, SecurityToken string
}

// Webhook configures the eci-profile webhook's Deployment.
type Webhook struct {
	// Disabled leaves the webhook out of the installation.
	Disabled bool
	// Replicas (default 1).
	Replicas int32
	// Resources of its container (default requests 50m CPU, 64Mi memory).
	Resources corev1.ResourceRequirements
	// LogLevel: debug, info (default), warn or error.
	LogLevel string
	// LogFormat: text (default) or json (one JSON object a line).
	LogFormat string
	// FailurePolicy of the pod webhooks: Ignore (default) or Fail.
	FailurePolicy string
	// DirectURL makes the API server call the pod at https://$(POD_IP):9443 instead of
	// through the Service (--webhook-url-host): for clusters whose API server cannot
	// reach Services, such as the local sandbox. One replica only.
	DirectURL bool
	// ExtraArgs are appended to the container's arguments (flags of
	// `eci-vnode profile-webhook` that have no setting here).
	ExtraArgs []string
}

// VNode is one virtual node: a Deployment of `eci-vnode node` and its identity.
type VNode struct {
	// Name of the Kubernetes node; a DNS-1123 subdomain of at most 63 characters.
	Name string
	// Placement and instance defaults (--zones, --vswitch-ids, --schedule-strategy,
	// --security-group-id, --resource-group-id).
	ZoneIDs, VSwitchIDs              []string
	ScheduleStrategy                 string
	SecurityGroupID, ResourceGroupID string
	// Capacity advertised, resource name to quantity (--capacity).
	Capacity map[string]string
	// Labels added to the node (--node-labels).
	Labels map[string]string
	// Taints of the node. nil: --node-taints is not rendered and the node has the
	// runtime's default, DefaultVNodeTaints; non-nil, even empty, is rendered as
	// --node-taints=<FormatTaints>, and the node has exactly these.
	Taints []Taint
	// SpotStrategy and SpotPriceLimit are the spot settings of every pod that does not
	// set k8s.aliyun.com/eci-spot-strategy (--spot-strategy, --spot-price-limit):
	// SpotAsPriceGo, SpotWithPriceLimit (with SpotPriceLimit, a decimal such as "0.5")
	// or NoSpot; empty renders nothing.
	SpotStrategy   string
	SpotPriceLimit string
	// AutoMatchImageCache lets ECI match an image cache for every pod that does not set
	// k8s.aliyun.com/eci-auto-imc (--auto-match-image-cache=true).
	AutoMatchImageCache bool
	// Tags added to every instance of the VNode (--tags); not under eci-vnode/.
	Tags map[string]string
	// ClusterDNS and ClusterDomain for pods with dnsPolicy ClusterFirst.
	ClusterDNS    []string
	ClusterDomain string
	// NoClusterIPAccess turns off the kube-proxy the runtime adds to every instance
	// (--cluster-ip-access=false); KubeProxyImage replaces its image, by default the
	// upstream kube-proxy of the API server's version (--kube-proxy-image).
	NoClusterIPAccess bool
	KubeProxyImage    string
	// StatusPollFast, StatusPollSlow and ECIReadShare tune the status reads; zero keeps
	// the runtime's defaults (docs/runtime.md, "Status reads and the read budget").
	StatusPollFast, StatusPollSlow time.Duration
	ECIReadShare                   float64
	// ECICreateQPS, ECICreateBurst and ECICreatePerMinute bound the runtime's
	// CreateContainerGroup and DeleteContainerGroup calls (--eci-create-qps,
	// --eci-create-burst, --eci-create-per-minute): a refill a second, a burst, and
	// a cap on the calls in any minute. Zero keeps the runtime's default, the ECI
	// client's (eci.DefaultRateLimits: 19 a second after a burst of 95, at most 1000
	// a minute, under ECI's documented quota; docs/design.md, "Quotas").
	ECICreateQPS       float64
	ECICreateBurst     int
	ECICreatePerMinute int
	// Replicas (default 1); above 1 they run active/standby (--leader-elect).
	Replicas int32
	// LogLevel: debug, info (default), warn or error.
	LogLevel string
	// LogFormat: text (default) or json (one JSON object a line).
	LogFormat string
	// CostTagKeys are the tag keys the runtime's cost metrics split the cost of the
	// VNode's instances by (--cost-tag-keys); nil keeps the runtime's default (the keys of
	// Tags), empty asks for no split.
	CostTagKeys []string
	// Resources of the container (default requests 100m CPU, 128Mi memory).
	Resources corev1.ResourceRequirements
	// ExtraArgs are appended to the container's arguments (flags of `eci-vnode node`
	// that have no setting here).
	ExtraArgs []string
}

// Problem is one bad setting. Setting is the Go path of the field, such as
// "Webhook.Replicas" or "VNode.VSwitchIDs", so a caller can map it to its own names.
type Problem struct {
	Setting, Message string
}

func (p Problem) String() string { return p.Setting + ": " + p.Message }

// Problems is every problem found in the settings at once.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	noun := "problems"
	if len(ps) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("%d %s with the installation settings: %s", len(ps), noun, strings.Join(lines, "; "))
}

func (ps *Problems) add(setting, format string, a ...any) {
	*ps = append(*ps, Problem{Setting: setting, Message: fmt.Sprintf(format, a...)})
}

func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

var logLevels = []string{"debug", "info", "warn", "error"}

// Validate reports every problem with the cluster-wide settings. What only VNodes need
// (cluster name, region, credentials) is checked by ValidateVNode.
func (r Runtime) Validate() error {
	var ps Problems
	r.validate(&ps)
	return ps.err()
}

func (r Runtime) validate(ps *Problems) {
	if r.Version == "" && r.Image == "" {
		ps.add("Version", "required (the image is %s:<version>), or set Image", ImageRepository)
	}
	if r.Version != "" && r.Image == "" && !validTag(r.Version) {
		ps.add("Version", "%q is not an image tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')", r.Version)
	}
	if r.ImageDigest != "" && !ValidDigest(r.ImageDigest) {
		ps.add("ImageDigest", "%q is not an image digest (sha256: and 64 lowercase hex digits)", r.ImageDigest)
	}
	if r.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(r.Namespace) {
			ps.add("Namespace", "%q: %s", r.Namespace, msg)
		}
	}
	if r.Region != "" {
		if err := eci.CheckRegion(r.Region); err != nil {
			ps.add("Region", "%v", err)
		}
	}
	scheme := r.ECIScheme
	if scheme == "" {
		scheme = "HTTPS"
	}
	if scheme != "HTTPS" && scheme != "HTTP" {
		ps.add("ECIScheme", "%q: want HTTPS or HTTP", r.ECIScheme)
	} else if err := eci.CheckEndpoint(r.ECIEndpoint, scheme); err != nil {
		ps.add("ECIEndpoint", "%v", err)
	}
	if r.Credentials != nil && r.CredentialsSecret != "" {
		ps.add("CredentialsSecret", "set either Credentials or CredentialsSecret, not both")
	}
	if c := r.Credentials; c != nil && (strings.TrimSpace(c.AccessKeyID) == "" || strings.TrimSpace(c.AccessKeySecret) == "") {
		ps.add("Credentials", "both the AccessKey ID and secret are required")
	}
	if r.CredentialsSecret != "" {
		for _, msg := range validation.IsDNS1123Subdomain(r.CredentialsSecret) {
			ps.add("CredentialsSecret", "%q: %s", r.CredentialsSecret, msg)
		}
	}
	switch r.CredentialsAs {
	case "", CredentialsAsFiles, CredentialsAsEnv:
	default:
		ps.add("CredentialsAs", "%q: want %q or %q", r.CredentialsAs, CredentialsAsFiles, CredentialsAsEnv)
	}
	w := r.Webhook
	if w.Replicas < 0 {
		ps.add("Webhook.Replicas", "%d: want 1 or more", w.Replicas)
	}
	if w.DirectURL && w.Replicas > 1 {
		ps.add("Webhook.Replicas", "%d: DirectURL points the API server at one pod's IP, so it serves one replica only", w.Replicas)
	}
	switch w.FailurePolicy {
	case "", "Ignore", "Fail":
	default:
		ps.add("Webhook.FailurePolicy", "%q: want Ignore or Fail", w.FailurePolicy)
	}
	checkLogLevel(ps, "Webhook.LogLevel", w.LogLevel)
	checkLogFormat(ps, "Webhook.LogFormat", w.LogFormat)
	checkResources(ps, "Webhook.Resources", w.Resources)
}

// ValidateVNode reports every problem with v and with the cluster-wide settings it
// needs.
func (r Runtime) ValidateVNode(v VNode) error {
	var ps Problems
	r.validate(&ps)
	r.validateVNode(&ps, v)
	return ps.err()
}

func (r Runtime) validateVNode(ps *Problems, v VNode) {
	if r.ClusterName == "" {
		ps.add("ClusterName", "required: it tags every ECI instance so the runtime finds its own")
	} else if len(r.ClusterName) > 128 {
		ps.add("ClusterName", "%q is longer than 128 characters, the limit of an ECI tag value", r.ClusterName)
	}
	if r.Region == "" {
		ps.add("Region", "required, e.g. cn-hangzhou")
	}
	if r.Credentials == nil && r.CredentialsSecret == "" {
		ps.add("Credentials", "required for VNodes: set Credentials, or CredentialsSecret to an existing Secret")
	}

	if v.Name == "" {
		ps.add("VNode.Name", "required")
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(v.Name) {
			ps.add("VNode.Name", "%q: %s", v.Name, msg)
		}
		// The name is a label value on the VNode's pods.
		if len(v.Name) > validation.LabelValueMaxLength {
			ps.add("VNode.Name", "%q is longer than %d characters", v.Name, validation.LabelValueMaxLength)
		}
	}
	if len(v.VSwitchIDs) > 10 {
		ps.add("VNode.VSwitchIDs", "%d vSwitches; ECI takes at most 10", len(v.VSwitchIDs))
	}
	listItems(ps, "VNode.ZoneIDs", v.ZoneIDs)
	listItems(ps, "VNode.VSwitchIDs", v.VSwitchIDs)
	listItems(ps, "VNode.ClusterDNS", v.ClusterDNS)
	switch v.ScheduleStrategy {
	case "", "VSwitchOrdered", "VSwitchRandom":
	default:
		ps.add("VNode.ScheduleStrategy", "%q: want VSwitchOrdered or VSwitchRandom", v.ScheduleStrategy)
	}
	mapItems(ps, "VNode.Tags", v.Tags)
	for _, k := range sortedKeys(v.Tags) {
		if strings.HasPrefix(k, "eci-vnode/") {
			ps.add("VNode.Tags", "tag %q uses the prefix eci-vnode/, which the runtime reserves for its own tags", k)
		}
	}
	mapItems(ps, "VNode.Labels", v.Labels)
	for _, k := range sortedKeys(v.Labels) {
		for _, msg := range validation.IsQualifiedName(k) {
			ps.add("VNode.Labels", "key %q: %s", k, msg)
		}
		if msg := NodeLabelProblem(k); msg != "" {
			ps.add("VNode.Labels", "key %q: %s", k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v.Labels[k]) {
			ps.add("VNode.Labels", "value of %q: %s", k, msg)
		}
	}
	for _, msg := range CheckTaints(v.Taints) {
		ps.add("VNode.Taints", "%s", msg)
	}
	sp, lp := CheckSpot(v.SpotStrategy, v.SpotPriceLimit)
	if sp != "" {
		ps.add("VNode.SpotStrategy", "%s", sp)
	}
	if lp != "" {
		ps.add("VNode.SpotPriceLimit", "%s", lp)
	}
	mapItems(ps, "VNode.Capacity", v.Capacity)
	for _, k := range sortedKeys(v.Capacity) {
		if q, err := resource.ParseQuantity(v.Capacity[k]); err != nil {
			ps.add("VNode.Capacity", "%s=%s is not a quantity such as 1000, 500m or 4Ti", k, v.Capacity[k])
		} else if q.Sign() < 0 {
			ps.add("VNode.Capacity", "%s=%s is negative", k, v.Capacity[k])
		}
	}
	if v.StatusPollFast < 0 {
		ps.add("VNode.StatusPollFast", "%s is negative", v.StatusPollFast)
	}
	if v.StatusPollSlow < 0 {
		ps.add("VNode.StatusPollSlow", "%s is negative", v.StatusPollSlow)
	}
	if !(v.ECIReadShare >= 0 && v.ECIReadShare <= 1) {
		ps.add("VNode.ECIReadShare", "%g: want a share above 0 and at most 1, such as 0.5 (the runtime's default: half of each read quota)", v.ECIReadShare)
	}
	createDelete := eci.DefaultRateLimits()["CreateContainerGroup"]
	if !(v.ECICreateQPS >= 0) || math.IsInf(v.ECICreateQPS, 0) {
		ps.add("VNode.ECICreateQPS", "%g: want calls a second above 0, such as %g (the runtime's default; ECI documents 20 a second)", v.ECICreateQPS, createDelete.PerSecond)
	}
	if v.ECICreateBurst < 0 {
		ps.add("VNode.ECICreateBurst", "%d: want 1 or more calls, such as %d (the runtime's default; ECI documents a burst of 100)", v.ECICreateBurst, createDelete.Burst)
	}
	if v.ECICreatePerMinute < 0 {
		ps.add("VNode.ECICreatePerMinute", "%d: want 1 or more calls, such as %d (the runtime's default; ECI documents 1000 a minute)", v.ECICreatePerMinute, createDelete.PerMinuteCap)
	}
	if v.Replicas < 0 {
		ps.add("VNode.Replicas", "%d: want 1 or more", v.Replicas)
	}
	checkLogLevel(ps, "VNode.LogLevel", v.LogLevel)
	checkLogFormat(ps, "VNode.LogFormat", v.LogFormat)
	for _, p := range cost.TagKeyProblems(v.CostTagKeys) {
		ps.add("VNode.CostTagKeys", "%s", p)
	}
	checkResources(ps, "VNode.Resources", v.Resources)
}

func checkLogLevel(ps *Problems, setting, level string) {
	if level == "" {
		return
	}
	for _, l := range logLevels {
		if level == l {
			return
		}
	}
	ps.add(setting, "%q is not a log level; use %s", level, strings.Join(logLevels, ", "))
}

// LogFormats are the log formats of the runtime (--log-format): text, slog's
// key=value lines, or json, one JSON object a line.
func LogFormats() []string { return []string{"text", "json"} }

func checkLogFormat(ps *Problems, setting, format string) {
	if format == "" {
		return
	}
	for _, f := range LogFormats() {
		if format == f {
			return
		}
	}
	ps.add(setting, "%q is not a log format; use %s", format, strings.Join(LogFormats(), " or "))
}

func checkResources(ps *Problems, setting string, r corev1.ResourceRequirements) {
	for name, req := range r.Requests {
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			ps.add(setting, "the %s request %s is above its limit %s", name, req.String(), lim.String())
		}
	}
}

// listItems refuses items the comma-separated flag syntax cannot carry.
func listItems(ps *Problems, setting string, items []string) {
	for _, it := range items {
		if strings.TrimSpace(it) == "" || strings.ContainsAny(it, ", ") {
			ps.add(setting, "%q: an item may not be empty or contain commas or spaces", it)
		}
	}
}

// mapItems refuses keys and values the k=v,... flag syntax cannot carry.
func mapItems(ps *Problems, setting string, m map[string]string) {
	for _, k := range sortedKeys(m) {
		if strings.TrimSpace(k) == "" || strings.ContainsAny(k, ",=") {
			ps.add(setting, "key %q: may not be empty or contain ',' or '='", k)
		}
		if strings.Contains(m[k], ",") {
			ps.add(setting, "value of %q: may not contain ','", k)
		}
	}
}

// validTag follows the OCI distribution spec's tag grammar.
// ValidDigest reports whether d is a sha256 content digest as registries print them.
func ValidDigest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func validTag(t string) bool {
	if t == "" || len(t) > 128 || t[0] == '.' || t[0] == '-' {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ECI's tag budget of an instance, and how much of it the runtime takes. The runtime
// (runtime/translate) tags every instance with OwnedTagCount tags of its own, under
// the prefix eci-vnode/; a VNode's tags share what is left of MaxInstanceTags. The
// provider checks a VNode's tags against these without importing the runtime;
// a test in runtime/translate (tagbudget_test.go) keeps the two the same.
const (
	MaxInstanceTags = eci.MaxInstanceTags
	OwnedTagCount   = 5
	MaxTagKeyLen    = eci.MaxTagKeyLen
	MaxTagValueLen  = eci.MaxTagValueLen
	// OwnedTagPrefix starts every tag the runtime owns; users' tags may not.
	OwnedTagPrefix = "eci-vnode/"
)
