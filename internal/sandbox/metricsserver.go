package sandbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
)

// MetricsServerVersion is the metrics-server Options.MetricsServer runs, the newest release;
// it is built with its own go.mod (Kubernetes libraries v0.36), which does not meet ours.
const MetricsServerVersion = "v0.9.0"

var metricsServerTool = goTool{
	name: "metrics-server", pkg: "sigs.k8s.io/metrics-server/cmd/metrics-server", version: MetricsServerVersion,
	estimate: "about 3 min on 2 cores",
}

// The objects metrics-server is known by, as its own release manifest names them.
const (
	metricsServerNamespace = "kube-system"
	metricsServerName      = "metrics-server"
	metricsAPIService      = "v1beta1.metrics.k8s.io"
)

// metricsServerRole is what metrics-server needs, as its release manifest grants it: Nodes
// and Pods to know what to scrape, nodes/metrics to scrape the kubelets (the kubelet API
// authorizes /metrics/resource as nodes/metrics).
var metricsServerRole = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"nodes/metrics"}, Verbs: []string{"get"}},
	{APIGroups: []string{""}, Resources: []string{"pods", "nodes"}, Verbs: []string{"get", "list", "watch"}},
}

// startMetricsServer runs metrics-server as a process on an address of the routed pod range
// (an EndpointSlice may not name a loopback address, and kube-apiserver reaches an
// APIService through its EndpointSlice), registers it as the APIService
// v1beta1.metrics.k8s.io, and returns once it serves. It runs as its own ServiceAccount with
// the rights its release manifest gives it, so a right the VNode's kubelet API wrongly
// demands would show here. Without routed pod IPs it records why and starts nothing.
func (s *Sandbox) startMetricsServer(ctx context.Context) error {
	if !s.opts.MetricsServer {
		return nil
	}
	if err := s.ProxyablePodIPs(); err != nil {
		s.metricsErr = fmt.Errorf("metrics-server not started: it must serve on a non-loopback address: %w", err)
		s.logf("%v", s.metricsErr)
		return nil
	}
	if s.tools.MetricsServer == "" {
		return errors.New("start metrics-server: the tools were ensured without ToolOptions.MetricsServer")
	}
	dir := s.path("components", metricsServerName)
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o755); err != nil {
		return fmt.Errorf("start metrics-server: %w", err)
	}
	kubeconfig, err := s.metricsServerIdentity(ctx, dir)
	if err != nil {
		return fmt.Errorf("start metrics-server: %w", err)
	}
	ip, err := s.workers.ips.allocate()
	if err != nil {
		return fmt.Errorf("start metrics-server: address: %w", err)
	}
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // metrics-server's own self-signed certificate
	_, ports, err := s.startComponent(ctx, componentStart{
		name:    metricsServerName,
		ports:   1,
		timeout: time.Minute,
		spec: func(p []int) processSpec {
			return processSpec{
				Path: s.tools.MetricsServer,
				Args: []string{
					"--kubeconfig=" + kubeconfig,
					"--authentication-kubeconfig=" + kubeconfig,
					"--authorization-kubeconfig=" + kubeconfig,
					"--bind-address=" + ip,
					"--secure-port=" + strconv.Itoa(p[0]),
					"--cert-dir=" + filepath.Join(dir, "certs"),
					// Scrape a kubelet where kube-apiserver would reach it, verified against
					// the CA kube-controller-manager signs kubelet serving certificates with.
					"--kubelet-preferred-address-types=InternalIP",
					"--kubelet-use-node-status-port",
					"--kubelet-certificate-authority=" + filepath.Join(s.pkiDir(), "ca.crt"),
					// Only the VNodes serve /metrics/resource; the sandbox's worker nodes
					// serve container logs only.
					"--node-selector=type=virtual-kubelet",
					"--metric-resolution=15s", // its release manifest's; ECI samples every 15 s
					"--v=" + componentVerbosity,
				},
				LogPath: s.logPath(metricsServerName),
			}
		},
		ready: func(ctx context.Context, p []int) error {
			return httpGetOK(ctx, insecure, "https://"+net.JoinHostPort(ip, strconv.Itoa(p[0]))+"/livez", "")
		},
	})
	if err != nil {
		return fmt.Errorf("start metrics-server: %w", err)
	}
	if err := s.registerMetricsAPI(ctx, ip, int32(ports[0])); err != nil {
		return fmt.Errorf("start metrics-server: %w", err)
	}
	return nil
}

// MetricsServer reports whether metrics-server runs (Options.MetricsServer), or why not.
func (s *Sandbox) MetricsServer() error {
	if !s.opts.MetricsServer {
		return errors.New("the sandbox was started without Options.MetricsServer")
	}
	return s.metricsErr
}

// metricsServerIdentity creates metrics-server's ServiceAccount and RBAC and writes a
// kubeconfig with a token of it; it returns the kubeconfig's path.
func (s *Sandbox) metricsServerIdentity(ctx context.Context, dir string) (string, error) {
	c := s.client
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: metricsServerName, Namespace: metricsServerNamespace}}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: metricsServerName, Namespace: metricsServerNamespace}}
	clusterRole := "system:" + metricsServerName
	create := func(what string, err error) error {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create %s: %w", what, err)
		}
		return nil
	}
	if err := errors.Join(
		create("its ServiceAccount", func() error {
			_, err := c.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{})
			return err
		}()),
		create("its ClusterRole", func() error {
			_, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: clusterRole}, Rules: metricsServerRole}, metav1.CreateOptions{})
			return err
		}()),
		create("its ClusterRoleBinding", func() error {
			_, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: clusterRole},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole}, Subjects: subject}, metav1.CreateOptions{})
			return err
		}()),
		// Delegated authentication and authorization of the callers kube-apiserver
		// forwards (TokenReview, SubjectAccessReview), as every extension API server.
		create("its auth-delegator binding", func() error {
			_, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: metricsServerName + ":system:auth-delegator"},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:auth-delegator"}, Subjects: subject}, metav1.CreateOptions{})
			return err
		}()),
		create("its authentication-reader binding", func() error {
			_, err := c.RbacV1().RoleBindings("kube-system").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: metricsServerName + "-auth-reader"},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"}, Subjects: subject}, metav1.CreateOptions{})
			return err
		}()),
	); err != nil {
		return "", err
	}
	// A day: metrics-server runs only in tests; the sandbox does not refresh this token.
	tr, err := c.CoreV1().ServiceAccounts(sa.Namespace).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](24 * 3600)}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("request its token: %w", err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := writeFileAtomic(tokenFile, []byte(tr.Status.Token), 0o600); err != nil {
		return "", err
	}
	data, err := renderKubeconfig(kubeconfigSpec{Server: s.server, CAPEM: s.caPEM, TokenFile: tokenFile, User: metricsServerName})
	if err != nil {
		return "", err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	return kubeconfig, writeFileAtomic(kubeconfig, data, 0o600)
}

// registerMetricsAPI points the Service kube-system/metrics-server at ip:port by an
// EndpointSlice of its own (the Service has no selector: nothing would match a process) and
// registers the APIService.
func (s *Sandbox) registerMetricsAPI(ctx context.Context, ip string, port int32) error {
	c := s.client
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: metricsServerName, Namespace: metricsServerNamespace},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(port), Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := c.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: metricsServerName, Namespace: metricsServerNamespace, Labels: map[string]string{
			discoveryv1.LabelServiceName: metricsServerName,
			discoveryv1.LabelManagedBy:   "eci-sandbox",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	if _, err := c.DiscoveryV1().EndpointSlices(slice.Namespace).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create EndpointSlice %s/%s: %w", slice.Namespace, slice.Name, err)
	}
	dyn, err := dynamic.NewForConfig(s.RESTConfig())
	if err != nil {
		return fmt.Errorf("register the metrics API: %w", err)
	}
	apiService := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": metricsAPIService},
		"spec": map[string]any{
			"group": "metrics.k8s.io", "version": "v1beta1",
			"service": map[string]any{"namespace": metricsServerNamespace, "name": metricsServerName, "port": int64(443)},
			// metrics-server serves a self-signed certificate, as in its release manifest.
			"insecureSkipTLSVerify": true,
			"groupPriorityMinimum":  int64(100),
			"versionPriority":       int64(100),
		},
	}}
	gvr := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	if _, err := dyn.Resource(gvr).Create(ctx, apiService, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("register the APIService %s: %w", metricsAPIService, err)
	}
	s.logf("metrics-server serves on %s:%d as the APIService %s", ip, port, metricsAPIService)
	return nil
}
