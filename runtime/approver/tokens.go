package approver

import (
	"context"
	"crypto/rand"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// ensureToken gives the runtime of VNode node (Deployment d) its bootstrap token: the
// token Secret in kube-system that the API server authenticates it with, and a copy in
// the installation's namespace that the Deployment reads. The kube-system Secret is the
// token; a missing copy is written from it, a missing token is minted anew (and the copy
// replaced), and nothing changes when both are in place, so running runtimes keep theirs.
func (c *Controller) ensureToken(ctx context.Context, node string, d *appsv1.Deployment) error {
	id := install.BootstrapTokenID(c.Namespace, node)
	name := install.BootstrapTokenSecretName(id)
	secrets := c.Kube.CoreV1().Secrets(metav1.NamespaceSystem)
	tok, err := secrets.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		tok, err = secrets.Create(ctx, c.newToken(node, id), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("mint the bootstrap token of VNode %s (Secret kube-system/%s): %w", node, name, err)
		}
		c.Log.Info("minted the bootstrap token of a VNode", "node", node, "token", id, "secret", "kube-system/"+name)
	case err != nil:
		return fmt.Errorf("read the bootstrap token of VNode %s (Secret kube-system/%s): %w", node, name, err)
	}
	value := string(tok.Data[tokenIDKey]) + "." + string(tok.Data[tokenSecretKey])

	copies := c.Kube.CoreV1().Secrets(c.Namespace)
	copyName := install.BootstrapTokenCopyName(node)
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: copyName, Namespace: c.Namespace,
			Labels: map[string]string{LabelNode: node},
			// Deleted with the VNode's Deployment by the garbage collector.
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID}}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{install.BootstrapTokenKey: []byte(value)},
	}
	have, err := copies.Get(ctx, copyName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := copies.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("give VNode %s its bootstrap token (Secret %s/%s): %w", node, c.Namespace, copyName, err)
		}
	case err != nil:
		return fmt.Errorf("read the bootstrap token of VNode %s (Secret %s/%s): %w", node, c.Namespace, copyName, err)
	case string(have.Data[install.BootstrapTokenKey]) != value:
		have = have.DeepCopy()
		have.Data, have.OwnerReferences = want.Data, want.OwnerReferences
		if _, err := copies.Update(ctx, have, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("give VNode %s its bootstrap token (Secret %s/%s): %w", node, c.Namespace, copyName, err)
		}
	default:
		return nil
	}
	c.Log.Info("gave a VNode's runtime its bootstrap token", "node", node, "token", id, "secret", c.Namespace+"/"+copyName)
	return nil
}

// newToken is a bootstrap token Secret (https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/)
// for authentication only, in BootstrapGroup, without expiry: the runtime keeps no
// certificate across restarts and bootstraps again each time it starts. All it allows is
// asking for certificates, which the approver grants only for this token's VNode.
func (c *Controller) newToken(node, id string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: install.BootstrapTokenSecretName(id), Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{LabelNode: node, labelInstallation: c.Namespace},
		},
		Type: tokenSecretType,
		StringData: map[string]string{
			"description":                    "TLS bootstrap of the eci-vnode runtime of VNode " + node + " (installation " + c.Namespace + ")",
			tokenIDKey:                       id,
			tokenSecretKey:                   randomTokenSecret(),
			"usage-bootstrap-authentication": "true",
			"auth-extra-groups":              install.BootstrapGroup,
		},
	}
}

// labelInstallation says which installation (namespace) minted a token.
const labelInstallation = "eci-vnode.io/installation"

// The bootstrap token Secret format the API server reads.
const (
	tokenSecretType = corev1.SecretType("bootstrap.kubernetes.io/token")
	tokenIDKey      = "token-id"
	tokenSecretKey  = "token-secret"
)

// randomTokenSecret is the 16-character secret part of a bootstrap token, [a-z0-9]
// (about 82 bits).
func randomTokenSecret() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, 16)
	var buf [32]byte
	for len(out) < 16 {
		_, _ = rand.Read(buf[:]) // never fails (crypto/rand)
		for _, b := range buf {
			// 252 = 7 × 36: bytes above it are dropped, so every character is as likely.
			if b < 252 && len(out) < 16 {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}
