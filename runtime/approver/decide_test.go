package approver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

// bootstrapUser is the bootstrap token the approver minted for vnode-a.
const bootstrapUser = BootstrapUserPrefix + "abc234"

// csrPEM is a certificate request signed by a fresh key, as a runtime would send it.
func csrPEM(t *testing.T, tmpl x509.CertificateRequest) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func nodeSubject(name string) pkix.Name {
	return pkix.Name{CommonName: NodeUserPrefix + name, Organization: []string{NodesGroup}}
}

func servingCSR(t *testing.T, edit func(*x509.CertificateRequest, *certificatesv1.CertificateSigningRequestSpec)) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	tmpl := x509.CertificateRequest{Subject: nodeSubject("vnode-a"), IPAddresses: []net.IP{net.ParseIP("10.0.0.7")}, DNSNames: []string{"vnode-a"}}
	spec := certificatesv1.CertificateSigningRequestSpec{
		SignerName: certificatesv1.KubeletServingSignerName, Username: NodeUserPrefix + "vnode-a",
		Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
	}
	if edit != nil {
		edit(&tmpl, &spec)
	}
	spec.Request = csrPEM(t, tmpl)
	return &certificatesv1.CertificateSigningRequest{Spec: spec}
}

func lookupVNodeA(node string) (VNode, bool) {
	if node != "vnode-a" {
		return VNode{}, false
	}
	return VNode{Name: "vnode-a", Requesters: []string{bootstrapUser, NodeUserPrefix + "vnode-a"}, Registered: true,
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.7"}, {Type: corev1.NodeHostName, Address: "vnode-a"}}}, true
}

func TestOnlyTheExactShapeOfAVNodeCertificateIsApproved(t *testing.T) {
	for _, c := range []struct {
		name    string
		edit    func(*x509.CertificateRequest, *certificatesv1.CertificateSigningRequestSpec)
		verdict Verdict
		reason  string
	}{
		{"the runtime's serving certificate", nil, Approve, "serving certificate of VNode vnode-a"},
		{"the client certificate of TLS bootstrap", func(r *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
			s.SignerName, s.Username = certificatesv1.KubeAPIServerClientKubeletSignerName, bootstrapUser
			s.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
			r.IPAddresses, r.DNSNames = nil, nil
		}, Approve, "client certificate of VNode vnode-a"},
		{"an RSA-style usage list", func(_ *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
			s.Usages = append(s.Usages, certificatesv1.UsageKeyEncipherment)
		}, Approve, ""},
		{"the client certificate renewed by the node itself", func(r *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
			s.SignerName = certificatesv1.KubeAPIServerClientKubeletSignerName
			s.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
			r.IPAddresses, r.DNSNames = nil, nil
		}, Approve, "client certificate"},

		{"another node's CSR", func(r *x509.CertificateRequest, _ *certificatesv1.CertificateSigningRequestSpec) {
			r.Subject = nodeSubject("worker-1")
		}, Ignore, "not a VNode of this installation"},
		{"another signer", func(_ *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
			s.SignerName = certificatesv1.KubeAPIServerClientSignerName
		}, Ignore, "not a kubelet signer"},
		{"a CN that is no node", func(r *x509.CertificateRequest, _ *certificatesv1.CertificateSigningRequestSpec) {
			r.Subject.CommonName = "vnode-a"
		}, Ignore, "does not name a node"},

		{"someone else asks for the VNode's certificate", func(_ *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
			s.Username = "system:serviceaccount:default:intruder"
		}, Deny, `requested by "system:serviceaccount:default:intruder"`},
		{"another node asks for it", func(_ *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
			s.Username = NodeUserPrefix + "vnode-b"
		}, Deny, "not by the VNode's runtime"},
		{"another VNode's bootstrap token asks for its client certificate", func(r *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
			s.SignerName, s.Username = certificatesv1.KubeAPIServerClientKubeletSignerName, BootstrapUserPrefix+"zzz999"
			s.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
			r.IPAddresses, r.DNSNames = nil, nil
		}, Deny, `requested by "system:bootstrap:zzz999"`},
		{"the bootstrap token asks for a serving certificate", func(_ *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
			s.Username = bootstrapUser
		}, Deny, "not by the VNode's runtime (system:node:vnode-a)"},
		{"a group beyond system:nodes", func(r *x509.CertificateRequest, _ *certificatesv1.CertificateSigningRequestSpec) {
			r.Subject.Organization = []string{NodesGroup, "system:masters"}
		}, Deny, "subject organization"},
		{"an extra subject field", func(r *x509.CertificateRequest, _ *certificatesv1.CertificateSigningRequestSpec) {
			r.Subject.OrganizationalUnit = []string{"ops"}
		}, Deny, "beyond CN and O"},
		{"client auth on a serving certificate", func(_ *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
			s.Usages = append(s.Usages, certificatesv1.UsageClientAuth)
		}, Deny, "usages"},
		{"no server auth", func(_ *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
			s.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature}
		}, Deny, "lack"},
		{"an IP the Node does not have", func(r *x509.CertificateRequest, _ *certificatesv1.CertificateSigningRequestSpec) {
			r.IPAddresses = append(r.IPAddresses, net.ParseIP("10.0.0.8"))
		}, Deny, "IP SAN 10.0.0.8"},
		{"a DNS name of something else", func(r *x509.CertificateRequest, _ *certificatesv1.CertificateSigningRequestSpec) {
			r.DNSNames = []string{"kubernetes.default.svc"}
		}, Deny, "DNS SAN kubernetes.default.svc"},
		{"a serving certificate without SANs", func(r *x509.CertificateRequest, _ *certificatesv1.CertificateSigningRequestSpec) {
			r.IPAddresses, r.DNSNames = nil, nil
		}, Deny, "needs the Node's addresses"},
		{"a client certificate with SANs", func(_ *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
			s.SignerName = certificatesv1.KubeAPIServerClientKubeletSignerName
			s.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
		}, Deny, "must not carry subject alternative names"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, reason := Decide(servingCSR(t, c.edit), lookupVNodeA)
			if got != c.verdict || !strings.Contains(reason, c.reason) {
				t.Errorf("Decide = %s (%s), want %s with a reason containing %q", got, reason, c.verdict, c.reason)
			}
		})
	}
}

func TestAServingCertificateWaitsForItsNodeAndAClientCertificateDoesNot(t *testing.T) {
	unregistered := func(node string) (VNode, bool) {
		v, ok := lookupVNodeA(node)
		v.Registered, v.Addresses = false, nil
		return v, ok
	}
	if got, reason := Decide(servingCSR(t, nil), unregistered); got != Wait || !strings.Contains(reason, "has not registered") {
		t.Errorf("serving CSR before the Node: %s (%s), want wait", got, reason)
	}
	client := servingCSR(t, func(r *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
		s.SignerName, s.Username = certificatesv1.KubeAPIServerClientKubeletSignerName, bootstrapUser
		s.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
		r.IPAddresses, r.DNSNames = nil, nil
	})
	if got, reason := Decide(client, unregistered); got != Approve {
		t.Errorf("client CSR before the Node (TLS bootstrap): %s (%s), want approve", got, reason)
	}
	intruder := servingCSR(t, func(_ *x509.CertificateRequest, s *certificatesv1.CertificateSigningRequestSpec) {
		s.Username = "system:serviceaccount:default:intruder"
	})
	if got, _ := Decide(intruder, unregistered); got != Deny {
		t.Errorf("an intruder's serving CSR before the Node: %s, want deny at once", got)
	}
}

func TestARequestNotSignedByItsKeyIsNotJudged(t *testing.T) {
	csr := servingCSR(t, nil)
	block, _ := pem.Decode(csr.Spec.Request)
	block.Bytes[len(block.Bytes)-1] ^= 0xff // break the signature
	csr.Spec.Request = pem.EncodeToMemory(block)
	if got, reason := Decide(csr, lookupVNodeA); got != Ignore || !strings.Contains(reason, "spec.request") {
		t.Errorf("Decide of a forged request = %s (%s), want ignore naming spec.request", got, reason)
	}
	csr.Spec.Request = []byte("not pem")
	if got, _ := Decide(csr, lookupVNodeA); got != Ignore {
		t.Errorf("Decide of garbage = %s, want ignore", got)
	}
}
