package sandbox

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigSpec describes a single-context kubeconfig. Exactly one of a client certificate
// (CertPEM+KeyPEM) or TokenFile is the credential.
type kubeconfigSpec struct {
	Server    string
	CAPEM     []byte
	CertPEM   []byte
	KeyPEM    []byte
	TokenFile string // re-read by client-go, so a rotated token is picked up
	User      string // name of the user entry (informational)
	Namespace string
}

// contextName is the one context every sandbox kubeconfig has.
const contextName = "eci-sandbox"

// renderKubeconfig renders spec with client-go's own writer, with certificates embedded so the
// file works on its own.
func renderKubeconfig(spec kubeconfigSpec) ([]byte, error) {
	if spec.Server == "" {
		return nil, fmt.Errorf("render kubeconfig: no server")
	}
	user := spec.User
	if user == "" {
		user = "user"
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{Server: spec.Server, CertificateAuthorityData: spec.CAPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{
		ClientCertificateData: spec.CertPEM,
		ClientKeyData:         spec.KeyPEM,
		TokenFile:             spec.TokenFile,
	}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: user, Namespace: spec.Namespace}
	cfg.CurrentContext = contextName
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("render kubeconfig for %s: %w", user, err)
	}
	return out, nil
}
