package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/klog/v2"

	"github.com/eci-vnode/terraform-provider-eci/runtime/webhook"
)

// profileWebhookCommand runs `eci-vnode profile-webhook`: the eci-profile admission
// webhook (see runtime/webhook).
func profileWebhookCommand(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	s := newSettings("eci-vnode profile-webhook")
	fs := s.fs
	namespace := getenv("POD_NAMESPACE")
	if namespace == "" {
		namespace = webhook.DefaultNamespace
	}
	listen := ":" + strconv.Itoa(webhook.DefaultPort)
	if ip := getenv("POD_IP"); ip != "" {
		listen = net.JoinHostPort(ip, strconv.Itoa(webhook.DefaultPort))
	}
	metricsAddr := ":8080"
	if ip := getenv("POD_IP"); ip != "" {
		metricsAddr = net.JoinHostPort(ip, "8080")
	}
	var (
		o                                webhook.Options
		configFile, kubeconfig, logLevel string
		logFormat                        string
		failurePolicy, deletionCost      string
		timeoutSeconds, servicePort      int
		kubeQPS                          float64
		kubeBurst                        int
		certValidity, caValidity, resync time.Duration
	)
	fs.StringVar(&configFile, "config", "", "optional YAML file of settings; keys are these flag names")
	fs.StringVar(&o.Namespace, "namespace", namespace, "namespace of the webhook and its TLS secret ($POD_NAMESPACE when set); pods there are never intercepted")
	fs.StringVar(&o.ListenAddr, "listen", listen, "HTTPS address of the webhook ($POD_IP:9443 when POD_IP is set)")
	fs.StringVar(&o.URLHost, "webhook-url-host", "", "URL mode: host:port the API server calls directly (https://HOST/...), e.g. the pod's IP:9443 where Services are not routed; an IP becomes an IP SAN of the certificate; one replica only")
	fs.StringVar(&o.ServiceName, "service-name", webhook.DefaultServiceName, "Service in --namespace through which the API server calls the webhook (unless --webhook-url-host)")
	fs.IntVar(&servicePort, "service-port", 443, "port of that Service")
	fs.StringVar(&o.ConfigurationName, "configuration-name", webhook.DefaultConfigurationName, "name of the Mutating- and ValidatingWebhookConfiguration the webhook writes")
	fs.StringVar(&o.SecretName, "secret-name", webhook.DefaultSecretName, "Secret in --namespace that holds the webhook's CA and serving certificate")
	fs.StringVar(&failurePolicy, "failure-policy", string(admissionregistrationv1.Ignore), "Ignore or Fail: what the API server does with a pod when the webhook cannot answer")
	fs.IntVar(&timeoutSeconds, "timeout-seconds", webhook.DefaultTimeoutSeconds, fmt.Sprintf("how long the API server waits for the webhook, 1 to %d seconds", webhook.MaxTimeoutSeconds))
	fs.StringVar(&deletionCost, "deletion-cost", strconv.Itoa(webhook.DefaultDeletionCost), "controller.kubernetes.io/pod-deletion-cost given to pods running on VNodes so ReplicaSets remove them first; off disables it")
	fs.StringVar(&metricsAddr, "metrics-addr", metricsAddr, "address for /metrics, /livez, /healthz and /readyz ($POD_IP:8080 when POD_IP is set); off disables it")
	fs.StringVar(&kubeconfig, "kubeconfig", getenv("KUBECONFIG"), "kubeconfig file (default: in-cluster config)")
	fs.Float64Var(&kubeQPS, "kube-api-qps", 50, "Kubernetes API queries per second")
	fs.IntVar(&kubeBurst, "kube-api-burst", 100, "Kubernetes API burst")
	fs.DurationVar(&certValidity, "cert-validity", 365*24*time.Hour, "lifetime of a serving certificate; renewed at 80%")
	fs.DurationVar(&caValidity, "ca-validity", 5*365*24*time.Hour, "lifetime of the webhook's CA; renewed at 80%")
	fs.DurationVar(&resync, "resync-period", 10*time.Minute, "how often the webhook configurations are re-applied and certificates re-checked")
	fs.StringVar(&logLevel, "log-level", "info", strings.Join(logLevels, ", "))
	fs.StringVar(&logFormat, "log-format", "text", "text (key=value lines) or json (one JSON object a line)")
	s.moreEnv["namespace"] = []string{"POD_NAMESPACE"}
	s.moreEnv["listen"] = []string{"POD_IP"}
	s.moreEnv["metrics-addr"] = []string{"POD_IP"}
	s.moreEnv["kubeconfig"] = []string{"KUBECONFIG"}

	if s.settle(args, "config", getenv, stdout) {
		return 0
	}

	// Everything is checked before anything is built, and every problem
	// is reported together.
	switch p := admissionregistrationv1.FailurePolicyType(failurePolicy); p {
	case admissionregistrationv1.Ignore, admissionregistrationv1.Fail:
		o.FailurePolicy = p
	default:
		s.problem("failure-policy", "%q: want Ignore or Fail", failurePolicy)
	}
	if timeoutSeconds < 1 || timeoutSeconds > webhook.MaxTimeoutSeconds {
		s.problem("timeout-seconds", "%d: want 1 to %d", timeoutSeconds, webhook.MaxTimeoutSeconds)
	}
	o.TimeoutSeconds = int32(timeoutSeconds)
	if servicePort < 1 || servicePort > 65535 {
		s.problem("service-port", "%d: want 1 to 65535", servicePort)
	}
	o.ServicePort = int32(servicePort)
	switch strings.ToLower(strings.TrimSpace(deletionCost)) {
	case "off", "none", "false", "disabled":
	default:
		n, err := strconv.ParseInt(strings.TrimSpace(deletionCost), 10, 32)
		if err != nil {
			s.problem("deletion-cost", "%q: want a whole number (a 32-bit integer) or off", deletionCost)
		}
		c := int32(n)
		o.DeletionCost = &c
	}
	s.hostPort("listen", o.ListenAddr)
	if metricsAddr != "off" {
		s.hostPort("metrics-addr", metricsAddr)
		o.MetricsAddr = metricsAddr
	}
	s.positive("cert-validity", certValidity)
	s.positive("ca-validity", caValidity)
	s.positive("resync-period", resync)
	o.CertValidity, o.CAValidity, o.ResyncPeriod = certValidity, caValidity, resync
	if kubeQPS <= 0 {
		s.problem("kube-api-qps", "%v: want a number above zero", kubeQPS)
	}
	s.atLeast("kube-api-burst", kubeBurst, 1)
	s.logLevel("log-level", logLevel)
	s.logFormat("log-format", logFormat)
	kube, _ := s.kubeClient("kubeconfig", kubeconfig, kubeQPS, kubeBurst)
	if code := s.report(stderr); code != 0 {
		return code
	}

	log := newLogger(stderr, logLevel, logFormat)
	// client-go (leader election, informers, the event broadcaster) logs
	// through klog: sent through the same logger, its records have the same
	// format, so a JSON log stays one JSON object a line.
	klog.SetSlogLogger(log)
	o.Kube, o.Log = kube, log
	srv, err := webhook.New(o)
	if err != nil {
		s.include(err)
		return s.report(stderr)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info("starting eci-vnode profile-webhook", "version", version, "namespace", o.Namespace, "listen", o.ListenAddr,
		"urlHost", o.URLHost, "service", o.ServiceName, "failurePolicy", o.FailurePolicy, "deletionCost", deletionCost)
	if err := srv.Run(ctx); err != nil {
		log.Error("eci-vnode profile-webhook stopped", "err", err)
		return 1
	}
	return 0
}
