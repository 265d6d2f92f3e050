package webhook

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/client-go/kubernetes"
)

// Defaults of Options, shared with the command's flags and the installer.
const (
	// FieldManager is the server-side apply field manager of everything the runtime writes.
	FieldManager = "eci-vnode"
	// DefaultNamespace is the runtime's namespace (docs/design.md, "Names").
	DefaultNamespace = "eci-vnode-system"
	// DefaultConfigurationName names both the Mutating- and the ValidatingWebhookConfiguration.
	DefaultConfigurationName = "eci-vnode-profile"
	// DefaultServiceName is the Service in front of the webhook's Deployment.
	DefaultServiceName = "eci-vnode-webhook"
	// DefaultSecretName holds the webhook's CA and serving certificate.
	DefaultSecretName = "eci-vnode-webhook-tls"
	// DefaultPort is the port the webhook listens on.
	DefaultPort = 9443
	// DefaultDeletionCost is the pod-deletion-cost of pods on VNodes.
	DefaultDeletionCost = -100
	// DefaultTimeoutSeconds is the API server's wait for one webhook call.
	DefaultTimeoutSeconds = 5
	// MaxTimeoutSeconds bounds it: a slow webhook slows every pod creation.
	MaxTimeoutSeconds = 5
)

// Options configures the webhook. Kube is required; everything else has a default.
type Options struct {
	// Kube is the client the webhook reads and writes the cluster with.
	Kube kubernetes.Interface
	// Namespace is where the webhook runs and keeps its TLS Secret; the webhook never
	// intercepts pods there. Default DefaultNamespace.
	Namespace string
	// ListenAddr is the HTTPS address (default ":9443"); Listener, when set, is used
	// instead (tests bind 127.0.0.1:0 first to learn the port).
	ListenAddr string
	Listener   net.Listener
	// URLHost switches the configurations to URL mode: the API server calls
	// https://URLHost/<path> directly (host or host:port; an IP also becomes an IP SAN of
	// the serving certificate). For clusters where the API server cannot reach Services,
	// such as the local sandbox, and for one replica only. Empty: Service mode, through
	// ServiceName:ServicePort in Namespace.
	URLHost     string
	ServiceName string
	ServicePort int32
	// ConfigurationName names the Mutating- and ValidatingWebhookConfiguration.
	ConfigurationName string
	// SecretName is the TLS Secret in Namespace.
	SecretName string
	// FailurePolicy of the pod webhooks (mutation and guards): Ignore (default) or Fail.
	// The Service and DaemonSet webhooks only warn and always use Ignore.
	FailurePolicy admissionregistrationv1.FailurePolicyType
	// TimeoutSeconds of every webhook call, 1 to MaxTimeoutSeconds; default 5.
	TimeoutSeconds int32
	// DeletionCost is the pod-deletion-cost given to pods running on VNodes; nil turns
	// the controller off.
	DeletionCost *int32
	// MetricsAddr serves /metrics, /livez, /healthz and /readyz over HTTP; empty: not served.
	MetricsAddr string
	// Registry receives the metrics; nil: a registry of its own.
	Registry *prometheus.Registry
	// Log receives the webhook's logs; nil discards them.
	Log *slog.Logger

	// CAValidity and CertValidity are the lifetimes of a new CA (default 5 years) and
	// serving certificate (default 1 year). Each is renewed once RenewFraction (default
	// 0.8) of its lifetime has passed. A new CA is trusted for CAOverlap (default 1
	// minute) before it signs the serving certificate, so no API server sees a
	// certificate it does not trust yet.
	CAValidity    time.Duration
	CertValidity  time.Duration
	RenewFraction float64
	CAOverlap     time.Duration
	// ResyncPeriod is how often the webhook configurations are re-applied and the
	// certificates re-checked even without a change (default 10 minutes).
	ResyncPeriod time.Duration
}

// withDefaults returns o with defaults filled in, or an error for a bad setting.
func (o Options) withDefaults() (Options, error) {
	if o.Kube == nil {
		return o, errors.New("webhook: Options.Kube is required")
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.ListenAddr == "" {
		o.ListenAddr = ":" + strconv.Itoa(DefaultPort)
	}
	if o.URLHost == "" && o.ServiceName == "" {
		o.ServiceName = DefaultServiceName
	}
	if o.ServicePort == 0 {
		o.ServicePort = 443
	}
	if o.ConfigurationName == "" {
		o.ConfigurationName = DefaultConfigurationName
	}
	if o.SecretName == "" {
		o.SecretName = DefaultSecretName
	}
	switch o.FailurePolicy {
	case "":
		o.FailurePolicy = admissionregistrationv1.Ignore
	case admissionregistrationv1.Ignore, admissionregistrationv1.Fail:
	default:
		return o, fmt.Errorf("webhook: failure policy %q: want Ignore or Fail", o.FailurePolicy)
	}
	switch {
	case o.TimeoutSeconds == 0:
		o.TimeoutSeconds = DefaultTimeoutSeconds
	case o.TimeoutSeconds < 1 || o.TimeoutSeconds > MaxTimeoutSeconds:
		return o, fmt.Errorf("webhook: timeout %ds: want 1 to %d seconds (every pod creation waits for the webhook)", o.TimeoutSeconds, MaxTimeoutSeconds)
	}
	if o.URLHost != "" {
		if strings.Contains(o.URLHost, "/") {
			return o, fmt.Errorf("webhook: URL host %q: want host or host:port, without scheme or path", o.URLHost)
		}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.CAValidity == 0 {
		o.CAValidity = 5 * 365 * 24 * time.Hour
	}
	if o.CertValidity == 0 {
		o.CertValidity = 365 * 24 * time.Hour
	}
	if o.RenewFraction == 0 {
		o.RenewFraction = 0.8
	}
	if o.RenewFraction <= 0 || o.RenewFraction >= 1 {
		return o, fmt.Errorf("webhook: renew fraction %v: want between 0 and 1", o.RenewFraction)
	}
	if o.CAOverlap == 0 {
		o.CAOverlap = time.Minute
	}
	if o.ResyncPeriod == 0 {
		o.ResyncPeriod = 10 * time.Minute
	}
	return o, nil
}

// servingHosts are the names the serving certificate must carry: the URL host, or the
// Service's DNS names.
func (o *Options) servingHosts() []string {
	if o.URLHost != "" {
		host := o.URLHost
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return []string{strings.Trim(host, "[]")}
	}
	svc, ns := o.ServiceName, o.Namespace
	return []string{svc, svc + "." + ns, svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local"}
}
