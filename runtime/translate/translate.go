package translate

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// VNode is what translation needs to know about the virtual node a pod is
// bound to: where its instances go and the cluster settings a kubelet would
// apply (DNS). The runtime fills it from its configuration.
type VNode struct {
	// ClusterName and NodeName identify our instances (owned tags).
	ClusterName string
	NodeName    string
	// Region is the VNode's region; it is the default region of ACR
	// instances named in k8s.aliyun.com/acr-instance-ids.
	Region string

	// Placement defaults; pod annotations win.
	ZoneIDs          []string // one zone: sent as ZoneId unless the pod names its vSwitches
	VSwitchIDs       []string // up to 10
	SecurityGroupID  string
	ResourceGroupID  string
	ScheduleStrategy string // VSwitchOrdered | VSwitchRandom

	// SpotStrategy and SpotPriceLimit are the spot settings of a pod without
	// k8s.aliyun.com/eci-spot-strategy; a pod that has it replaces both
	// (see "Defaults from the VNode"). SpotPriceLimit goes with
	// SpotWithPriceLimit only.
	SpotStrategy   string // "" | SpotAsPriceGo | SpotWithPriceLimit | NoSpot
	SpotPriceLimit float64
	// AutoMatchImageCache asks ECI to match an image cache for every pod
	// that does not set k8s.aliyun.com/eci-auto-imc (or its legacy key).
	AutoMatchImageCache bool

	// Tags are put on every instance of this VNode (cost allocation).
	Tags map[string]string

	// ClusterDNS and ClusterDomain are the kubelet's --cluster-dns and
	// --cluster-domain: used for dnsPolicy ClusterFirst. With KubeProxy set
	// and ClusterDNS empty, the ClusterIP of kube-system/kube-dns is used.
	ClusterDNS    []string
	ClusterDomain string // default "cluster.local"

	// KubeProxy, when set, adds a kube-proxy container to every instance
	// (cluster IP access); nil leaves ClusterIP Services unreachable.
	KubeProxy *KubeProxy
}

// Resolver reads the cluster objects a pod refers to. The runtime backs it
// with informer listers (see Listers); missing objects must be reported with
// an error for which k8s.io/apimachinery/pkg/api/errors.IsNotFound is true.
type Resolver interface {
	ConfigMap(namespace, name string) (*corev1.ConfigMap, error)
	Secret(namespace, name string) (*corev1.Secret, error)
	PersistentVolumeClaim(namespace, name string) (*corev1.PersistentVolumeClaim, error)
	PersistentVolume(name string) (*corev1.PersistentVolume, error)
	// Services lists the Services of a namespace, for the service link
	// environment variables a kubelet injects (KUBERNETES_SERVICE_HOST, ...).
	Services(namespace string) ([]*corev1.Service, error)
	// ServiceAccountToken issues a token through the TokenRequest API, bound
	// to boundPod so it dies with the pod. Empty audiences means the API
	// server's default audiences.
	ServiceAccountToken(ctx context.Context, namespace, serviceAccount string, audiences []string,
		expirationSeconds int64, boundPod *corev1.Pod) (Token, error)
}

// Token is a service account token the TokenRequest API issued.
type Token struct {
	// Value is the token itself.
	Value string
	// IssuedAt and Expiry are the API server's times. Expiry - IssuedAt is
	// the lifetime it granted, which is shorter than the one requested when
	// the API server caps it (--service-account-max-token-expiration).
	// Either may be zero when the API server does not say.
	IssuedAt, Expiry time.Time
}

// Result is a translated pod.
type Result struct {
	// Request is ready for eci.Client.CreateContainerGroup.
	Request *eci.CreateContainerGroupRequest
	// Options are settings the runtime itself honours.
	Options Options
	// Warnings are fields translated approximately or left out; the runtime
	// reports each as a pod Event.
	Warnings []Warning
	// KubeProxyToken holds the times of the kube-proxy's token (no Value),
	// for the runtime to replace it before it expires; zero when the
	// instance has no kube-proxy.
	KubeProxyToken Token
}

// FailStrategy is what the runtime does when ECI cannot create the
// instance (k8s.aliyun.com/eci-fail-strategy).
type FailStrategy string

// The documented fail strategies.
const (
	// FailBack keeps retrying the create (the default).
	FailBack FailStrategy = "fail-back"
	// FailOver is documented by ECI as the same as fail-back.
	FailOver FailStrategy = "fail-over"
	// FailFast reports the failure on the pod (phase Failed) at once.
	FailFast FailStrategy = "fail-fast"
)

// Options are the parsed annotations (and pod facts) that have no
// CreateContainerGroup parameter and are honoured by runtime/node instead.
type Options struct {
	// FailStrategy from k8s.aliyun.com/eci-fail-strategy (or the legacy
	// k8s.aliyun.com/pod-fail-on-create-err: "true" = fail-fast).
	// Default FailBack.
	FailStrategy FailStrategy
	// SpotFallback from k8s.aliyun.com/eci-spot-fallback: when ECI has no
	// spot stock, create the instance pay-as-you-go instead.
	SpotFallback bool
	// SidecarContainers are init containers with restartPolicy: Always
	// (Kubernetes sidecars). They are sent as application containers, so
	// their status belongs in initContainerStatuses.
	SidecarContainers []string
}

// Pod translates a pod bound to node into a CreateContainerGroup request.
//
// A pod that cannot run on ECI gives an error of type Errors listing every
// problem (use Problems and IsRetryable); nothing is sent for it. Warnings
// describe what was translated approximately or left out.
func Pod(ctx context.Context, pod *corev1.Pod, node VNode, r Resolver) (*Result, error) {
	if pod == nil {
		return nil, errors.New("translate: nil pod")
	}
	if r == nil {
		return nil, errors.New("translate: nil resolver")
	}
	t := newTranslator(ctx, pod, node, r)
	t.run()
	if len(t.c.errs) > 0 {
		return nil, t.c.errs
	}
	return &Result{Request: t.req, Options: t.opts, Warnings: t.c.warns, KubeProxyToken: t.proxyToken}, nil
}

// translator holds the state of one translation. Each step below fills part
// of req; steps run in pod-spec order so problems are reported in an order a
// user can follow.
type translator struct {
	ctx  context.Context
	pod  *corev1.Pod
	node VNode
	r    Resolver
	c    collector
	req  *eci.CreateContainerGroupRequest
	opts Options

	ann  podAnnotations
	vols map[string]volumeInfo // pod volume name -> what it became
	look lookups               // per-pod cache of resolved objects

	// size is the instance spec chosen by sizing; resourceFieldRef values
	// for containers without limits resolve against it.
	size Spec
	// ignoredSec collects the security fields ECI cannot apply; they are
	// reported in one warning per pod, because a hardened pod sets several
	// and one clear Event is more useful than a flood.
	ignoredSec []string
	// tokens are the service account token files still to be issued.
	tokens []pendingToken
	// proxy says the instance gets the kube-proxy container; proxyOptOut
	// that the VNode has one but the pod opted out (kubeproxy.go).
	proxy, proxyOptOut bool
	// proxyToken is the kube-proxy's token's times, once issued.
	proxyToken Token
}

func newTranslator(ctx context.Context, pod *corev1.Pod, node VNode, r Resolver) *translator {
	return &translator{
		ctx:  ctx,
		pod:  pod,
		node: node,
		r:    r,
		req:  &eci.CreateContainerGroupRequest{},
		opts: Options{FailStrategy: FailBack},
	}
}

func (t *translator) run() {
	t.guardPod()
	t.identity()
	t.placement()
	t.annotations()     // after placement: pod annotations win over VNode defaults
	t.kubeProxyChoice() // needs the annotations
	t.tags()            // needs eci-custom-tags
	t.sizing()          // needs eci-use-specs; resourceFieldRefs need the size
	t.volumes()
	t.containers()
	t.kubeProxyContainer() // after the pod's own containers and volumes
	t.podLevel()
	t.security() // after containers: one warning covers all ignored settings
	t.dns()
	t.imagePullSecrets()
	t.checkLimits()
	t.issueTokens() // last: only for a pod that can be created
}
