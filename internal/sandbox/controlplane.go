package sandbox

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cluster-wide settings of every sandbox.
const (
	// serviceCIDR only feeds ClusterIP allocation; nothing routes to it on this machine.
	serviceCIDR = "10.96.0.0/16"
	// serviceAccountIssuer is what a kubeadm cluster uses, so tokens look like real ones.
	serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
	clusterName          = "eci-sandbox"
	// componentVerbosity keeps component logs useful without flooding the disk.
	componentVerbosity = "1"
)

// kubernetesServiceIP is the first address of serviceCIDR, which the apiserver gives the
// "kubernetes" Service; its serving cert names it.
func kubernetesServiceIP() net.IP {
	_, n, _ := net.ParseCIDR(serviceCIDR)
	ip := n.IP.To4()
	return net.IPv4(ip[0], ip[1], ip[2], ip[3]+1)
}

// startEtcd starts etcd on two free ports (client, peer) with its data in the state dir.
func (s *Sandbox) startEtcd(ctx context.Context) error {
	dataDir := s.path("etcd-data")
	if err := os.RemoveAll(dataDir); err != nil {
		return fmt.Errorf("clear etcd data dir: %w", err)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	_, ports, err := s.startComponent(ctx, componentStart{
		name:  "etcd",
		ports: 2,
		spec: func(p []int) processSpec {
			clientURL := fmt.Sprintf("http://127.0.0.1:%d", p[0])
			peerURL := fmt.Sprintf("http://127.0.0.1:%d", p[1])
			return processSpec{
				Path: s.tools.Etcd,
				Args: []string{
					"--name=sandbox",
					"--data-dir=" + dataDir,
					"--listen-client-urls=" + clientURL,
					"--advertise-client-urls=" + clientURL,
					"--listen-peer-urls=" + peerURL,
					"--initial-advertise-peer-urls=" + peerURL,
					"--initial-cluster=sandbox=" + peerURL,
					"--initial-cluster-state=new",
					"--logger=zap",
					"--log-level=warn",
				},
				LogPath: s.logPath("etcd"),
			}
		},
		ready: func(ctx context.Context, p []int) error {
			return httpGetOK(ctx, client, fmt.Sprintf("http://127.0.0.1:%d/health", p[0]), `"true"`)
		},
	})
	if err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	s.etcdURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	s.ports = append(s.ports, ports...)
	return nil
}

// startAPIServer starts kube-apiserver with client-certificate and service-account-token
// authentication, Node and RBAC authorization, and the admission plugins the runtime relies on.
func (s *Sandbox) startAPIServer(ctx context.Context) error {
	pki := s.pkiDir()
	admin, err := mtlsClient(s.caPEM, s.certs["admin"])
	if err != nil {
		return err
	}
	_, ports, err := s.startComponent(ctx, componentStart{
		name:    "kube-apiserver",
		ports:   1,
		timeout: 90 * time.Second,
		spec: func(p []int) processSpec {
			return processSpec{
				Path: s.tools.KubeAPIServer,
				Args: append([]string{
					"--etcd-servers=" + s.etcdURL,
					"--bind-address=127.0.0.1",
					"--advertise-address=127.0.0.1",
					// The lease reconciler refuses a loopback advertise address; nothing here
					// needs the kubernetes Service's endpoints (pods get KUBERNETES_SERVICE_HOST
					// pointing straight at this server).
					"--endpoint-reconciler-type=none",
					fmt.Sprintf("--secure-port=%d", p[0]),
					"--tls-cert-file=" + filepath.Join(pki, "apiserver.crt"),
					"--tls-private-key-file=" + filepath.Join(pki, "apiserver.key"),
					"--client-ca-file=" + filepath.Join(pki, "ca.crt"),
					"--kubelet-client-certificate=" + filepath.Join(pki, "apiserver-kubelet-client.crt"),
					"--kubelet-client-key=" + filepath.Join(pki, "apiserver-kubelet-client.key"),
					"--kubelet-preferred-address-types=InternalIP,Hostname",
					"--service-account-issuer=" + serviceAccountIssuer,
					"--service-account-key-file=" + filepath.Join(pki, "sa.pub"),
					"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
					"--service-cluster-ip-range=" + serviceCIDR,
					"--authorization-mode=Node,RBAC",
					// VNode runtimes get their node identity by TLS bootstrap with a
					// bootstrap token, as kubelets do.
					"--enable-bootstrap-token-auth=true",
					"--enable-admission-plugins=NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
					"--allow-privileged=true",
					"--anonymous-auth=true", // as on kubeadm clusters: /healthz, /readyz, /version
					"--profiling=false",
					"--v=" + componentVerbosity,
				}, s.aggregationArgs()...),
				LogPath: s.logPath("kube-apiserver"),
			}
		},
		ready: func(ctx context.Context, p []int) error {
			return httpGetOK(ctx, admin, fmt.Sprintf("https://127.0.0.1:%d/readyz", p[0]), "")
		},
	})
	if err != nil {
		return fmt.Errorf("start kube-apiserver: %w", err)
	}
	s.server = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
	s.ports = append(s.ports, ports...)
	return nil
}

// startScheduler starts kube-scheduler as system:kube-scheduler.
func (s *Sandbox) startScheduler(ctx context.Context) error {
	return s.startKubeComponent(ctx, "kube-scheduler", s.tools.KubeScheduler, "scheduler", append([]string{
		"--leader-elect=false", // one replica; electing only delays the first schedule
	}, s.clientRateArgs()...)...)
}

// clientRateArgs are the client rate flags of Options.ControlPlaneQPS, or none.
func (s *Sandbox) clientRateArgs() []string {
	qps := s.opts.ControlPlaneQPS
	if qps <= 0 {
		return nil
	}
	return []string{fmt.Sprintf("--kube-api-qps=%g", qps), fmt.Sprintf("--kube-api-burst=%d", int(2*qps))}
}

// startControllerManager starts kube-controller-manager as system:kube-controller-manager,
// with every controller and one service-account identity per controller, as kubeadm does.
func (s *Sandbox) startControllerManager(ctx context.Context) error {
	pki := s.pkiDir()
	var extra []string
	if d := s.opts.CertificateLifetime; d > 0 {
		extra = append(extra, "--cluster-signing-duration="+d.String())
	}
	extra = append(extra, s.clientRateArgs()...)
	return s.startKubeComponent(ctx, "kube-controller-manager", s.tools.KubeControllerManager, "controller-manager", append([]string{
		"--client-ca-file=" + filepath.Join(pki, "ca.crt"),
		"--root-ca-file=" + filepath.Join(pki, "ca.crt"),
		"--service-account-private-key-file=" + filepath.Join(pki, "sa.key"),
		"--cluster-signing-cert-file=" + filepath.Join(pki, "ca.crt"),
		"--cluster-signing-key-file=" + filepath.Join(pki, "ca.key"),
		"--use-service-account-credentials=true",
		"--controllers=*",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--cluster-name=" + clusterName,
		"--leader-elect=false",
	}, extra...)...)
}

// startKubeComponent starts a control-plane component that, like the scheduler and
// the controller-manager, authenticates with its own kubeconfig (kubeconfigs/<id>.kubeconfig),
// serves HTTPS on one free loopback port with a self-signed certificate
// (pki/<id>-serving) and is ready when /healthz says ok.
func (s *Sandbox) startKubeComponent(ctx context.Context, name, binary, id string, extraArgs ...string) error {
	kc := s.path("kubeconfigs", id+".kubeconfig")
	client := insecureClient()
	_, ports, err := s.startComponent(ctx, componentStart{
		name:  name,
		ports: 1,
		spec: func(p []int) processSpec {
			args := []string{
				"--kubeconfig=" + kc,
				"--authentication-kubeconfig=" + kc,
				"--authorization-kubeconfig=" + kc,
				"--bind-address=127.0.0.1",
				fmt.Sprintf("--secure-port=%d", p[0]),
				"--cert-dir=" + s.path("pki", id+"-serving"),
			}
			args = append(args, extraArgs...)
			args = append(args, "--v="+componentVerbosity)
			return processSpec{Path: binary, Args: args, LogPath: s.logPath(name)}
		},
		ready: func(ctx context.Context, p []int) error {
			return httpGetOK(ctx, client, fmt.Sprintf("https://127.0.0.1:%d/healthz", p[0]), "ok")
		},
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	s.ports = append(s.ports, ports...)
	return nil
}

// waitClusterUsable waits for what every workload needs and the control plane creates
// asynchronously: the default namespace and its default ServiceAccount (made by the
// controller-manager's serviceaccount controller).
func (s *Sandbox) waitClusterUsable(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return pollUntil(wctx, "the default ServiceAccount", func(ctx context.Context) error {
		if _, err := s.client.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{}); err != nil {
			return err
		}
		_, err := s.client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("default ServiceAccount not created yet")
		}
		return err
	}, nil)
}
