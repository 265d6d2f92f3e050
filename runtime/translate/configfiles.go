package translate

import (
	"encoding/base64"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// maxConfigFile is ECI's limit on one config file's content (32 KB).
const maxConfigFile = 32 << 10

// files accumulates the files of a ConfigFileVolume. A path written twice
// (two projected sources) keeps the later content, as the kubelet's volume
// writer does.
type files struct {
	list    []eci.ConfigFile
	byPath  map[string]int
	owner   bool // a source asked for a file owner ECI cannot set
	staleMD bool // labels/annotations written once
	tokens  []pendingToken
}

func (f *files) add(path string, content []byte, mode *int32) {
	cf := eci.ConfigFile{Path: path, Content: base64.StdEncoding.EncodeToString(content), Mode: copyPtr(mode)}
	if f.byPath == nil {
		f.byPath = map[string]int{}
	}
	if i, ok := f.byPath[path]; ok {
		f.list[i] = cf
		return
	}
	f.byPath[path] = len(f.list)
	f.list = append(f.list, cf)
}

// volume finishes a config volume. Without any file (every source optional
// and missing) it is an empty directory, as the kubelet mounts it.
func (t *translator) configVolume(field string, f *files, defaultMode *int32) (eci.Volume, volumeInfo) {
	if f.owner {
		t.c.warn(field, WarnIgnored, "ECI config files cannot be given an owner (defaultUser / user); they are owned by root")
	}
	if f.staleMD {
		t.c.warn(field, WarnApproximated, "the pod's labels or annotations are written into the file once, at creation; later changes do not reach it")
	}
	info := volumeInfo{kind: volConfigFile, readOnly: true}
	if len(f.list) == 0 {
		return eci.Volume{Type: eci.VolumeTypeEmptyDir, EmptyDir: &eci.EmptyDirVolume{}}, info
	}
	cfv := &eci.ConfigFileVolume{Files: f.list, DefaultMode: copyPtr(defaultMode)}
	for _, p := range f.tokens {
		p.files = cfv
		t.tokens = append(t.tokens, p)
	}
	return eci.Volume{Type: eci.VolumeTypeConfigFile, ConfigFile: cfv}, info
}

// checkFileSize refuses content over ECI's limit; what refers to the data
// ("key app.json of ConfigMap web/site").
func (t *translator) checkFileSize(field, what string, n int) bool {
	if n <= maxConfigFile {
		return true
	}
	t.c.fail(field, ReasonTooLarge,
		"%s is %s KiB; ECI config files hold at most 32 KiB: mount large files from NAS (NFS) or a cloud disk, or build them into the image",
		what, strconv.FormatFloat(float64(n)/1024, 'f', 1, 64))
	return false
}

func (t *translator) configMapVolume(field string, src *corev1.ConfigMapVolumeSource) (eci.Volume, volumeInfo) {
	var f files
	t.addConfigMap(field, &f, src.Name, src.Items, isTrue(src.Optional))
	f.owner = f.owner || src.DefaultUser != nil
	return t.configVolume(field, &f, src.DefaultMode)
}

func (t *translator) secretVolume(field string, src *corev1.SecretVolumeSource) (eci.Volume, volumeInfo) {
	var f files
	t.addSecret(field, &f, src.SecretName, src.Items, isTrue(src.Optional))
	f.owner = f.owner || src.DefaultUser != nil
	return t.configVolume(field, &f, src.DefaultMode)
}

func (t *translator) downwardAPIVolume(field string, src *corev1.DownwardAPIVolumeSource) (eci.Volume, volumeInfo) {
	var f files
	t.addDownwardAPI(field, &f, src.Items)
	f.owner = f.owner || src.DefaultUser != nil
	return t.configVolume(field, &f, src.DefaultMode)
}

// projectedVolume merges its sources into one ConfigFileVolume. The
// kube-api-access-* volume the ServiceAccount admission plugin adds is one:
// a token, the cluster CA (ConfigMap kube-root-ca.crt) and the namespace.
func (t *translator) projectedVolume(field, name string, src *corev1.ProjectedVolumeSource) (eci.Volume, volumeInfo) {
	var f files
	f.owner = src.DefaultUser != nil
	for i := range src.Sources {
		s := &src.Sources[i]
		sf := index(field+".sources", i)
		switch {
		case s.ConfigMap != nil:
			t.addConfigMap(sf+".configMap", &f, s.ConfigMap.Name, s.ConfigMap.Items, isTrue(s.ConfigMap.Optional))
		case s.Secret != nil:
			t.addSecret(sf+".secret", &f, s.Secret.Name, s.Secret.Items, isTrue(s.Secret.Optional))
		case s.DownwardAPI != nil:
			t.addDownwardAPI(sf+".downwardAPI", &f, s.DownwardAPI.Items)
		case s.ServiceAccountToken != nil:
			t.addToken(sf+".serviceAccountToken", name, &f, s.ServiceAccountToken)
		case s.ClusterTrustBundle != nil:
			t.c.fail(sf+".clusterTrustBundle", ReasonUnsupported,
				"clusterTrustBundle sources are not supported on this VNode; copy the bundle into a ConfigMap and project that instead")
		case s.PodCertificate != nil:
			t.c.fail(sf+".podCertificate", ReasonUnsupported,
				"podCertificate sources are not supported on this VNode: ECI files are written once at creation and cannot follow certificate rotation; mount the certificate from a Secret instead")
		}
	}
	return t.configVolume(field, &f, src.DefaultMode)
}

func (t *translator) addConfigMap(field string, f *files, name string, items []corev1.KeyToPath, optional bool) {
	cm := t.configMap(field, name, optional)
	if cm == nil {
		return
	}
	data := func(key string) ([]byte, bool) {
		if v, ok := cm.Data[key]; ok {
			return []byte(v), true
		}
		v, ok := cm.BinaryData[key]
		return v, ok
	}
	if len(items) == 0 {
		keys := sortedKeys(cm.Data)
		for _, k := range sortedKeys(cm.BinaryData) {
			if _, dup := cm.Data[k]; !dup {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			v, _ := data(k)
			if t.checkFileSize(field, "key "+k+" of ConfigMap "+t.pod.Namespace+"/"+name, len(v)) {
				f.add(k, v, nil)
			}
		}
		return
	}
	for j, it := range items {
		v, ok := data(it.Key)
		if !ok {
			t.missingKey(index(field+".items", j), "ConfigMap", name, it.Key, optional)
			continue
		}
		if t.checkFileSize(index(field+".items", j), "key "+it.Key+" of ConfigMap "+t.pod.Namespace+"/"+name, len(v)) {
			f.add(it.Path, v, it.Mode)
		}
		f.owner = f.owner || it.User != nil
	}
}

func (t *translator) addSecret(field string, f *files, name string, items []corev1.KeyToPath, optional bool) {
	s := t.secret(field, name, optional)
	if s == nil {
		return
	}
	if len(items) == 0 {
		for _, k := range sortedKeys(s.Data) {
			if t.checkFileSize(field, "key "+k+" of Secret "+t.pod.Namespace+"/"+name, len(s.Data[k])) {
				f.add(k, s.Data[k], nil)
			}
		}
		return
	}
	for j, it := range items {
		v, ok := s.Data[it.Key]
		if !ok {
			t.missingKey(index(field+".items", j), "Secret", name, it.Key, optional)
			continue
		}
		if t.checkFileSize(index(field+".items", j), "key "+it.Key+" of Secret "+t.pod.Namespace+"/"+name, len(v)) {
			f.add(it.Path, v, it.Mode)
		}
		f.owner = f.owner || it.User != nil
	}
}

func (t *translator) addDownwardAPI(field string, f *files, items []corev1.DownwardAPIVolumeFile) {
	for j := range items {
		it := &items[j]
		itf := index(field+".items", j)
		f.owner = f.owner || it.User != nil
		switch {
		case it.FieldRef != nil:
			v, _, problem := t.fieldRefValue(it.FieldRef.FieldPath, false)
			if problem != "" {
				t.c.fail(itf+".fieldRef", ReasonUnsupported, "%s", problem)
				continue
			}
			if p := it.FieldRef.FieldPath; p == "metadata.labels" || p == "metadata.annotations" {
				f.staleMD = true
			} else if _, _, sub := splitSubscript(p); sub {
				f.staleMD = true
			}
			if t.checkFileSize(itf, "the file "+it.Path, len(v)) {
				f.add(it.Path, []byte(v), it.Mode)
			}
		case it.ResourceFieldRef != nil:
			c := t.findContainer(it.ResourceFieldRef.ContainerName)
			if c == nil {
				t.c.fail(itf+".resourceFieldRef.containerName", ReasonInvalidSpec, "no container named %s in the pod",
					strconv.Quote(it.ResourceFieldRef.ContainerName))
				continue
			}
			v, approx, problem := t.resourceFieldValue(c, it.ResourceFieldRef)
			if problem != "" {
				t.c.fail(itf+".resourceFieldRef", ReasonUnsupported, "%s", problem)
				continue
			}
			if approx {
				t.c.warn(itf+".resourceFieldRef", WarnApproximated,
					"container %s sets no %s, so the file holds the instance's value, fixed at creation", c.Name, it.ResourceFieldRef.Resource)
			}
			f.add(it.Path, []byte(v), it.Mode)
		}
	}
}

// addToken reserves the file of a service account token. The token itself
// is issued at the end of the translation (issueTokens), and only if the pod
// has no permanent problem: a pod that will be refused gets no credential.
func (t *translator) addToken(field, volume string, f *files, src *corev1.ServiceAccountTokenProjection) {
	f.owner = f.owner || src.User != nil
	f.add(src.Path, nil, nil)
	f.tokens = append(f.tokens, pendingToken{field: field, volume: volume, src: src})
}

// pendingToken is a token file waiting for its token.
type pendingToken struct {
	field  string
	volume string // the pod volume's name, for messages
	src    *corev1.ServiceAccountTokenProjection
	files  *eci.ConfigFileVolume // set when the volume is finished
	// proxy is set for the kube-proxy's token (kubeproxy.go): a token of
	// its own ServiceAccount, not of the pod's.
	proxy *KubeProxy
}

const (
	// defaultTokenSeconds is the API's default expirationSeconds.
	defaultTokenSeconds = 3600
	// kubeAPIAccessSeconds is what the kube-api-access-* volume asks for.
	// The API server recognises a pod-bound token of exactly this duration
	// for its own audience and, with its default
	// --service-account-extend-token-expiration, makes it valid for a year
	// (it only logs uses after the first hour), so these tokens outlive
	// almost every pod.
	kubeAPIAccessSeconds = 3607
	// shortTokenLifetime: a token that lives less long is reported. The
	// instance never gets a fresh one, and most pods that are not batch
	// jobs run longer than a day.
	shortTokenLifetime = 24 * time.Hour
)

// issueTokens requests the reserved tokens through the TokenRequest API,
// bound to the pod. Each token is issued once, here, and never refreshed:
// ECI writes the files into the instance at creation and nothing replaces
// them later, where a kubelet would rotate the token before it expires
// (only the kube-proxy's token, which the runtime owns, is replaced in the
// running instance: KubeProxyVolume). The
// kube-api-access token therefore lasts a year (see kubeAPIAccessSeconds);
// every other token expires after its expirationSeconds, and one that does
// so within shortTokenLifetime is reported by warnShortToken.
func (t *translator) issueTokens() {
	if len(t.tokens) == 0 {
		return
	}
	for _, e := range t.c.errs {
		if !e.Retryable() {
			return // the pod is refused anyway
		}
	}
	sa := t.pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	for _, p := range t.tokens {
		exp := int64(defaultTokenSeconds)
		if p.src.ExpirationSeconds != nil {
			exp = *p.src.ExpirationSeconds
		}
		var aud []string
		if p.src.Audience != "" {
			aud = []string{p.src.Audience}
		}
		ns, name, bound := t.pod.Namespace, sa, t.pod
		if p.proxy != nil {
			// The API server binds a token to a pod only for the pod's own
			// ServiceAccount, in the pod's namespace, so the kube-proxy's
			// token cannot be bound to the pod it serves: it is unbound,
			// and dies with its ServiceAccount or when it expires
			// (docs/runtime.md, "Cluster IP access").
			ns, name, bound = p.proxy.Namespace, p.proxy.ServiceAccount, nil
		}
		tok, err := t.r.ServiceAccountToken(t.ctx, ns, name, aud, exp, bound)
		switch {
		case err != nil && apierrors.IsNotFound(err):
			t.c.failCause(p.field, ReasonMissingReference, err,
				"ServiceAccount %s/%s does not exist, so no token can be issued for it; create it (the pod is retried until it exists)", ns, name)
			continue
		case err != nil:
			t.c.failCause(p.field, ReasonLookupFailed, err, "requesting a token for ServiceAccount %s/%s failed: %v", ns, name, err)
			continue
		}
		if p.proxy != nil {
			t.proxyToken = Token{IssuedAt: tok.IssuedAt, Expiry: tok.Expiry}
			t.warnShortProxyToken(p, exp, tok)
		} else {
			t.warnShortToken(p, exp, tok)
		}
		content := base64.StdEncoding.EncodeToString([]byte(tok.Value))
		// The last file of that path: a later source of the same path wins.
		for i := len(p.files.Files) - 1; i >= 0; i-- {
			if p.files.Files[i].Path == p.src.Path {
				p.files.Files[i].Content = content
				break
			}
		}
	}
}

// warnShortToken reports a token that expires within shortTokenLifetime of
// its issue: the pod keeps running with a credential that no longer works,
// and the message says when that happens and what to do instead. requested
// is the expirationSeconds asked for.
func (t *translator) warnShortToken(p pendingToken, requested int64, tok Token) {
	want := time.Duration(requested) * time.Second
	lifetime := want
	if !tok.IssuedAt.IsZero() && !tok.Expiry.IsZero() {
		lifetime = tok.Expiry.Sub(tok.IssuedAt)
	}
	capped := lifetime < want
	if p.src.Audience == "" && requested == kubeAPIAccessSeconds && !capped {
		return
	}
	if lifetime >= shortTokenLifetime {
		return
	}
	when := "after " + lifetime.String()
	if !tok.Expiry.IsZero() {
		when = "at " + tok.Expiry.UTC().Format(time.RFC3339) + ", " + lifetime.String() + " after it was issued"
	}
	what := "token file " + strconv.Quote(p.src.Path) + " of volume " + p.volume
	const stale = "ECI writes files into the instance once, at creation, so calls made with it fail from then on"
	if capped {
		t.c.warn(p.field, WarnTokenExpires,
			"%s expires %s (the API server cut the %d s requested to its --service-account-max-token-expiration) and is not refreshed: %s; have the workload request its own tokens through the TokenRequest API, or raise --service-account-max-token-expiration",
			what, when, requested, stale)
		return
	}
	t.c.warn(p.field, WarnTokenExpires,
		"%s expires %s and is not refreshed: %s; request a longer expirationSeconds (the API server allows up to its --service-account-max-token-expiration), or have the workload request its own tokens through the TokenRequest API",
		what, when, stale)
}
