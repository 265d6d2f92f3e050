package nodeidentity

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sync"

	"k8s.io/client-go/util/certificate"
)

// MemoryStore keeps a certificate manager's key and certificate in memory
// (certificate.Store). The runtime's client and serving certificates both use it.
type MemoryStore struct {
	// Name says which certificate it holds, in errors.
	Name string

	mu   sync.Mutex
	cert *tls.Certificate
}

// Current returns the certificate, or the error by which certificate.Manager knows there
// is none yet and asks for one.
func (m *MemoryStore) Current() (*tls.Certificate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cert == nil {
		none := certificate.NoCertKeyError("no " + m.Name + " certificate issued yet")
		return nil, &none
	}
	return m.cert, nil
}

// Update keeps a newly issued certificate and its key.
func (m *MemoryStore) Update(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load the issued %s certificate: %w", m.Name, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parse the issued %s certificate: %w", m.Name, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cert = &c
	return &c, nil
}
