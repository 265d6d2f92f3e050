package translate

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// dockerAuth is one registry entry of a Docker config.
type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// imagePullSecrets turns the pod's image pull Secrets into one
// ImageRegistryCredential per registry. Like the kubelet, a missing or
// unusable Secret does not stop the pod (the image may be public); it is
// reported as a warning.
func (t *translator) imagePullSecrets() {
	refs := t.pod.Spec.ImagePullSecrets
	if len(refs) == 0 {
		return
	}
	from := map[string]string{} // server -> Secret that supplied it
	for i, ref := range refs {
		field := index("spec.imagePullSecrets", i)
		ns := t.pod.Namespace
		s, err := t.r.Secret(ns, ref.Name)
		if err != nil || s == nil {
			if err == nil || apierrors.IsNotFound(err) {
				t.c.warn(field, WarnOptionalMissing, "image pull Secret %s/%s does not exist; images are pulled without it, as the kubelet does", ns, ref.Name)
			} else {
				t.c.failCause(field, ReasonLookupFailed, err, "reading image pull Secret %s/%s failed: %v", ns, ref.Name, err)
			}
			continue
		}
		auths, err := dockerAuths(s)
		if err != nil {
			t.c.warn(field, WarnIgnored, "image pull Secret %s/%s is ignored: %v", ns, ref.Name, err)
			continue
		}
		for _, server := range sortedKeys(auths) {
			a := auths[server]
			host := registryHost(server)
			user, pass := a.Username, a.Password
			if a.Auth != "" { // "auth" wins, as in the kubelet's keyring
				u, p, ok := decodeAuth(a.Auth)
				if !ok {
					t.c.warn(field, WarnIgnored, "the auth of registry %s in Secret %s/%s is not base64 of user:password; the entry is ignored", server, ns, ref.Name)
					continue
				}
				user, pass = u, p
			}
			if user == "" && pass == "" {
				t.c.warn(field, WarnIgnored,
					"registry %s in Secret %s/%s has no username and password (token-only credentials); ECI needs a username and password, so the entry is ignored", server, ns, ref.Name)
				continue
			}
			if prev, dup := from[host]; dup {
				if prev != ref.Name {
					t.c.warn(field, WarnIgnored,
						"credentials for registry %s in Secret %s/%s are ignored: Secret %s already gives credentials for it, and ECI takes one per registry", host, ns, ref.Name, prev)
				}
				continue
			}
			from[host] = ref.Name
			t.req.ImageRegistryCredentials = append(t.req.ImageRegistryCredentials,
				eci.ImageRegistryCredential{Server: host, UserName: user, Password: pass})
		}
	}
}

// dockerAuths reads the registries of a kubernetes.io/dockerconfigjson or
// kubernetes.io/dockercfg Secret.
func dockerAuths(s *corev1.Secret) (map[string]dockerAuth, error) {
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		var cfg struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
			return nil, errorf("its %s is not a Docker config: %v", corev1.DockerConfigJsonKey, err)
		}
		return cfg.Auths, nil
	case corev1.SecretTypeDockercfg:
		var cfg map[string]dockerAuth
		if err := json.Unmarshal(s.Data[corev1.DockerConfigKey], &cfg); err != nil {
			return nil, errorf("its %s is not a Docker config: %v", corev1.DockerConfigKey, err)
		}
		return cfg, nil
	}
	return nil, errorf("it is of type %s, not %s or %s", s.Type, corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg)
}

// registryHost reduces a Docker config key ("https://index.docker.io/v1/",
// "registry.example.com:5000/path") to the registry address ECI matches
// images against.
func registryHost(server string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

func decodeAuth(auth string) (user, pass string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return user, pass, ok
}
