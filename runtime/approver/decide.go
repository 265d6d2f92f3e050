package approver

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

const (
	// NodeUserPrefix and NodesGroup are how the API server's Node authorizer recognises a
	// kubelet: user system:node:<name> in group system:nodes.
	NodeUserPrefix = "system:node:"
	NodesGroup     = "system:nodes"
	// BootstrapUserPrefix is the user of a bootstrap token: system:bootstrap:<token id>.
	BootstrapUserPrefix = "system:bootstrap:"
)

// VNode is what the approver knows of one VNode of this installation.
type VNode struct {
	Name string
	// Requesters are the user names that may ask for this VNode's client certificate:
	// the bootstrap token the approver minted for it, and the node itself renewing. A
	// serving certificate is for the node alone (system:node:<name>), which asks for it
	// once it holds its client certificate.
	Requesters []string
	// Registered: its Node exists. Addresses are the Node's status addresses; a serving
	// certificate may name only these.
	Registered bool
	Addresses  []corev1.NodeAddress
}

// Verdict is the decision on one CSR.
type Verdict int

const (
	// Ignore: not a VNode certificate of this installation; someone else decides.
	Ignore Verdict = iota
	// Approve: every check passed.
	Approve
	// Deny: it names one of this installation's VNodes and a check failed.
	Deny
	// Wait: a serving certificate of a VNode whose Node has not registered yet, so its
	// SANs cannot be checked; decided once it has (a runtime registers first, but a CSR
	// may be seen before the Node).
	Wait
)

func (v Verdict) String() string {
	switch v {
	case Approve:
		return "approve"
	case Deny:
		return "deny"
	case Wait:
		return "wait"
	}
	return "ignore"
}

// Decide checks csr against the VNodes of this installation. lookup returns the VNode of a
// node name and false when the name is not one of this installation's VNodes. The reason
// says what failed (Deny), or why the CSR is not ours (Ignore).
func Decide(csr *certificatesv1.CertificateSigningRequest, lookup func(node string) (VNode, bool)) (Verdict, string) {
	signer := csr.Spec.SignerName
	if signer != certificatesv1.KubeletServingSignerName && signer != certificatesv1.KubeAPIServerClientKubeletSignerName {
		return Ignore, "signer " + signer + " is not a kubelet signer"
	}
	req, err := parseRequest(csr.Spec.Request)
	if err != nil {
		// Without a readable subject there is no telling whose it is.
		return Ignore, err.Error()
	}
	node, isNode := strings.CutPrefix(req.Subject.CommonName, NodeUserPrefix)
	if !isNode || node == "" {
		return Ignore, fmt.Sprintf("subject CN %q does not name a node", req.Subject.CommonName)
	}
	v, ours := lookup(node)
	if !ours {
		return Ignore, "node " + node + " is not a VNode of this installation"
	}

	var problems []string
	serving := signer == certificatesv1.KubeletServingSignerName
	requesters := v.Requesters
	if serving {
		requesters = []string{NodeUserPrefix + node}
	}
	if !slices.Contains(requesters, csr.Spec.Username) {
		problems = append(problems, fmt.Sprintf("requested by %q, not by the VNode's runtime (%s)", csr.Spec.Username, strings.Join(requesters, " or ")))
	}
	if p := subjectProblem(req); p != "" {
		problems = append(problems, p)
	}
	if serving && !v.Registered && len(problems) == 0 {
		return Wait, "Node " + node + " has not registered yet; its addresses decide the serving certificate's SANs"
	}
	if p := usagesProblem(csr.Spec.Usages, serving); p != "" {
		problems = append(problems, p)
	}
	if serving {
		problems = append(problems, servingSANProblems(req, v)...)
	} else if len(req.DNSNames)+len(req.IPAddresses)+len(req.EmailAddresses)+len(req.URIs) > 0 {
		problems = append(problems, "a client certificate must not carry subject alternative names")
	}
	if len(problems) > 0 {
		return Deny, strings.Join(problems, "; ")
	}
	return Approve, "the " + kind(serving) + " certificate of VNode " + node + ", requested by its runtime"
}

func kind(serving bool) string {
	if serving {
		return "serving"
	}
	return "client"
}

func parseRequest(der []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(der)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("spec.request is not a PEM CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse spec.request: %w", err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("spec.request is not signed by its own key: %w", err)
	}
	return req, nil
}

// subjectProblem allows exactly CN system:node:<name>, O system:nodes: what the Node
// authorizer reads, and nothing a consumer of the certificate could mistake for more.
func subjectProblem(req *x509.CertificateRequest) string {
	s := req.Subject
	if !slices.Equal(s.Organization, []string{NodesGroup}) {
		return fmt.Sprintf("subject organization %q, want exactly [%s]", s.Organization, NodesGroup)
	}
	if len(s.Country)+len(s.Province)+len(s.Locality)+len(s.StreetAddress)+len(s.PostalCode)+
		len(s.OrganizationalUnit)+len(s.ExtraNames) > 0 || s.SerialNumber != "" {
		return "the subject carries fields beyond CN and O"
	}
	return ""
}

// usagesProblem allows the usages the kubelet itself asks for: digital signature and
// server auth (serving) or client auth (client), plus key encipherment, which RSA keys
// need. Anything else, or a duplicate, is refused.
func usagesProblem(usages []certificatesv1.KeyUsage, serving bool) string {
	main := certificatesv1.UsageClientAuth
	if serving {
		main = certificatesv1.UsageServerAuth
	}
	seen := map[certificatesv1.KeyUsage]bool{}
	for _, u := range usages {
		if seen[u] || (u != main && u != certificatesv1.UsageDigitalSignature && u != certificatesv1.UsageKeyEncipherment) {
			return fmt.Sprintf("usages %q, want %q and %q (and %q for an RSA key)", usages,
				certificatesv1.UsageDigitalSignature, main, certificatesv1.UsageKeyEncipherment)
		}
		seen[u] = true
	}
	if !seen[main] || !seen[certificatesv1.UsageDigitalSignature] {
		return fmt.Sprintf("usages %q lack %q or %q", usages, certificatesv1.UsageDigitalSignature, main)
	}
	return ""
}

// servingSANProblems allows only the Node's own addresses: IP SANs among its IP
// addresses, DNS SANs among its hostnames (and its name), no e-mail or URI SANs, and at
// least one SAN, since a serving certificate without one serves nothing.
func servingSANProblems(req *x509.CertificateRequest, v VNode) []string {
	var problems []string
	if len(req.EmailAddresses)+len(req.URIs) > 0 {
		problems = append(problems, "a serving certificate must not carry e-mail or URI SANs")
	}
	if len(req.DNSNames)+len(req.IPAddresses) == 0 {
		problems = append(problems, "a serving certificate needs the Node's addresses as SANs")
	}
	names := []string{v.Name}
	var ips []net.IP
	for _, a := range v.Addresses {
		if ip := net.ParseIP(a.Address); ip != nil {
			ips = append(ips, ip)
		} else {
			names = append(names, a.Address)
		}
	}
	for _, ip := range req.IPAddresses {
		if !slices.ContainsFunc(ips, ip.Equal) {
			problems = append(problems, fmt.Sprintf("IP SAN %s is not an address of Node %s", ip, v.Name))
		}
	}
	for _, n := range req.DNSNames {
		if !slices.Contains(names, n) {
			problems = append(problems, fmt.Sprintf("DNS SAN %s is not a name of Node %s", n, v.Name))
		}
	}
	return problems
}
