package approver

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// TestVNodeCertificatesAreApprovedAndSignedByTheCluster runs the approver against the
// sandbox's kube-apiserver and kube-controller-manager (which signs what is approved):
// the node's own serving CSR is approved and gets a certificate, a stranger's CSR for
// the same VNode is denied with the reason, and a CSR for a node that is not a VNode of
// this installation is left for someone else.
func TestVNodeCertificatesAreApprovedAndSignedByTheCluster(t *testing.T) {
	sb := sandbox.StartForTest(t, sandbox.Options{Workers: -1})
	admin := sb.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "eci-vnode-system"

	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	labels := map[string]string{LabelNode: "vnode-a"}
	must(admin.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "eci-vnode-vnode-a", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				ServiceAccountName: "eci-vnode-vnode-a",
				Containers:         []corev1.Container{{Name: "node", Image: "ghcr.io/eci-vnode/eci-vnode:test"}},
			}},
		},
	}, metav1.CreateOptions{}))
	node, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vnode-a"}}, metav1.CreateOptions{})
	must(node, err)
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.7"}, {Type: corev1.NodeHostName, Address: "vnode-a"}}
	must(admin.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}))

	// Whoever asks must be allowed to create CSRs; the approver decides whether they get one.
	nodeUser := NodeUserPrefix + "vnode-a"
	intruder := "system:serviceaccount:default:intruder"
	must(admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "test:csr-requester"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"},
			Verbs: []string{"create", "get"}}},
	}, metav1.CreateOptions{}))
	must(admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test:csr-requester"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "test:csr-requester"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: intruder}},
	}, metav1.CreateOptions{}))
	as := func(user string) kubernetes.Interface {
		cfg := sb.RESTConfig()
		cfg.Impersonate.UserName = user
		if strings.HasPrefix(user, NodeUserPrefix) {
			// A node: the Node authorizer lets it create CSRs.
			cfg.Impersonate.Groups = []string{NodesGroup}
		}
		return kubernetes.NewForConfigOrDie(cfg)
	}
	submit := func(user, name, node string) {
		t.Helper()
		req := csrPEM(t, x509.CertificateRequest{Subject: nodeSubject(node), IPAddresses: []net.IP{net.ParseIP("10.0.0.7")}})
		must(as(user).CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.CertificateSigningRequestSpec{Request: req, SignerName: certificatesv1.KubeletServingSignerName,
				Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}},
		}, metav1.CreateOptions{}))
	}
	// Submitted first, so by the time the others are decided it has been seen.
	submit(intruder, "not-ours", "worker-9")

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- (&Controller{Kube: admin, Namespace: ns, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(runCtx)
	}()
	defer func() { stop(); <-done }()

	submit(nodeUser, "serving-vnode-a", "vnode-a")
	submit(intruder, "intruder-vnode-a", "vnode-a")

	waitFor := func(name string, ok func(*certificatesv1.CertificateSigningRequest) bool) *certificatesv1.CertificateSigningRequest {
		t.Helper()
		var last *certificatesv1.CertificateSigningRequest
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			csr, err := admin.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			last = csr
			return ok(csr), nil
		})
		if err != nil {
			t.Fatalf("CSR %s: %v; last status %+v", name, err, last.Status)
		}
		return last
	}
	issued := waitFor("serving-vnode-a", func(c *certificatesv1.CertificateSigningRequest) bool { return len(c.Status.Certificate) > 0 })
	if cond := issued.Status.Conditions[0]; cond.Type != certificatesv1.CertificateApproved || cond.Reason != Reason {
		t.Errorf("the runtime's CSR: condition %s/%s, want Approved by %s", cond.Type, cond.Reason, Reason)
	}
	block, _ := pem.Decode(issued.Status.Certificate)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("the issued certificate: %v", err)
	}
	if cert.Subject.CommonName != "system:node:vnode-a" || len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(net.ParseIP("10.0.0.7")) {
		t.Errorf("issued certificate for %s with IPs %v", cert.Subject.CommonName, cert.IPAddresses)
	}

	denied := waitFor("intruder-vnode-a", func(c *certificatesv1.CertificateSigningRequest) bool { return len(c.Status.Conditions) > 0 })
	if cond := denied.Status.Conditions[0]; cond.Type != certificatesv1.CertificateDenied || !strings.Contains(cond.Message, intruder) {
		t.Errorf("the intruder's CSR: %s %q, want Denied naming the requester", cond.Type, cond.Message)
	}
	if len(denied.Status.Certificate) > 0 {
		t.Errorf("the intruder got a certificate")
	}

	other, err := admin.CertificatesV1().CertificateSigningRequests().Get(ctx, "not-ours", metav1.GetOptions{})
	must(other, err)
	if len(other.Status.Conditions) > 0 {
		t.Errorf("a CSR for a node of no VNode of this installation was decided: %+v", other.Status.Conditions)
	}
}
