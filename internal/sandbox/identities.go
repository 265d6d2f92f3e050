package sandbox

import (
	"fmt"
	"net"
)

// The identities of the control plane, as kubeadm names them, so the bootstrap RBAC policy the
// apiserver ships grants each exactly what it grants on a real cluster.
const (
	adminUser             = "kubernetes-admin"
	schedulerUser         = "system:kube-scheduler"
	controllerManagerUser = "system:kube-controller-manager"
	apiserverKubeletUser  = "kube-apiserver-kubelet-client"
	mastersGroup          = "system:masters"
	nodesGroup            = "system:nodes"
)

// apiserverSANs are the names a client may use for the apiserver: loopback, and the names the
// in-cluster "kubernetes" Service has, so TLS verification works however a client got there.
func apiserverSANs(serviceIP net.IP) ([]string, []net.IP) {
	dns := []string{
		"localhost",
		"kubernetes",
		"kubernetes.default",
		"kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local",
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if serviceIP != nil {
		ips = append(ips, serviceIP)
	}
	return dns, ips
}

// nodeUser is the user name the Node authorizer and NodeRestriction recognise for a node.
func nodeUser(nodeName string) string { return "system:node:" + nodeName }

// controlPlaneCerts issues the certificates of the control plane from ca.
func controlPlaneCerts(ca *certAuthority, serviceIP net.IP) (map[string]keyPair, error) {
	dns, ips := apiserverSANs(serviceIP)
	reqs := map[string]certRequest{
		"apiserver":                {CommonName: "kube-apiserver", DNSNames: dns, IPs: ips, Server: true},
		"apiserver-kubelet-client": {CommonName: apiserverKubeletUser, Organizations: []string{mastersGroup}, Client: true},
		"admin":                    {CommonName: adminUser, Organizations: []string{mastersGroup}, Client: true},
		"scheduler":                {CommonName: schedulerUser, Client: true},
		"controller-manager":       {CommonName: controllerManagerUser, Client: true},
	}
	out := make(map[string]keyPair, len(reqs))
	for name, req := range reqs {
		kp, err := ca.issue(req)
		if err != nil {
			return nil, fmt.Errorf("issue %s certificate: %w", name, err)
		}
		out[name] = kp
	}
	return out, nil
}

// nodeCert issues the client certificate a worker node uses, exactly as kubelet TLS
// bootstrap would end up with.
func nodeCert(ca *certAuthority, nodeName string) (keyPair, error) {
	return ca.issue(certRequest{CommonName: nodeUser(nodeName), Organizations: []string{nodesGroup}, Client: true})
}
