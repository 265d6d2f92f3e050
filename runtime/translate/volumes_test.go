package translate_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fakecorev1 "k8s.io/client-go/kubernetes/typed/core/v1/fake"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

func withVolume(name string, src corev1.VolumeSource, mount corev1.VolumeMount) *corev1.Pod {
	c := ctr("app", "img")
	mount.Name = name
	c.VolumeMounts = []corev1.VolumeMount{mount}
	p := pod("vol", c)
	p.Spec.Volumes = []corev1.Volume{{Name: name, VolumeSource: src}}
	return p
}

func claimSrc(claim string, readOnly bool) corev1.VolumeSource {
	return corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: readOnly}}
}

func boundClaim(name, pv string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: pv}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
}

func pv(name string, src corev1.PersistentVolumeSource) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: src}}
}

// Persistent volumes ECI can mount: NFS, Alibaba Cloud disks and NAS.
func TestPersistentVolumeClaims(t *testing.T) {
	cases := []struct {
		name     string
		readOnly bool
		objs     []runtime.Object
		want     map[string]string
	}{
		{name: "NFS persistent volume",
			objs: []runtime.Object{boundClaim("data", "pv-nfs"), pv("pv-nfs", corev1.PersistentVolumeSource{
				NFS: &corev1.NFSVolumeSource{Server: "0a1b2c3d-x.cn-hangzhou.nas.aliyuncs.com", Path: "/share/web"}})},
			want: map[string]string{
				"Volume.1.Name": "data", "Volume.1.Type": "NFSVolume",
				"Volume.1.NFSVolume.Server": "0a1b2c3d-x.cn-hangzhou.nas.aliyuncs.com", "Volume.1.NFSVolume.Path": "/share/web",
				"Volume.1.NFSVolume.ReadOnly": absent, "Container.1.VolumeMount.1.ReadOnly": absent,
			}},
		{name: "read-only claim of an NFS volume", readOnly: true,
			objs: []runtime.Object{boundClaim("data", "pv-nfs"), pv("pv-nfs", corev1.PersistentVolumeSource{
				NFS: &corev1.NFSVolumeSource{Server: "nas.example", Path: "/"}})},
			want: map[string]string{"Volume.1.NFSVolume.ReadOnly": "true", "Container.1.VolumeMount.1.ReadOnly": "true"}},
		{name: "Alibaba Cloud disk (CSI)",
			objs: []runtime.Object{boundClaim("data", "d-bp1"), pv("d-bp1", corev1.PersistentVolumeSource{
				CSI: &corev1.CSIPersistentVolumeSource{Driver: "diskplugin.csi.alibabacloud.com", VolumeHandle: "d-bp1j3h9ax2example", FSType: "ext4"}})},
			want: map[string]string{
				"Volume.1.Type": "DiskVolume", "Volume.1.DiskVolume.DiskId": "d-bp1j3h9ax2example", "Volume.1.DiskVolume.FsType": "ext4",
				"Container.1.VolumeMount.1.MountPath": "/data",
			}},
		{name: "Alibaba Cloud NAS (CSI)",
			objs: []runtime.Object{boundClaim("data", "nas-1"), pv("nas-1", corev1.PersistentVolumeSource{
				CSI: &corev1.CSIPersistentVolumeSource{Driver: "nasplugin.csi.alibabacloud.com", VolumeHandle: "nas-1",
					VolumeAttributes: map[string]string{"server": "2564f49129-ysu87.cn-shenzhen.nas.aliyuncs.com", "path": "/csi"}}})},
			want: map[string]string{"Volume.1.Type": "NFSVolume", "Volume.1.NFSVolume.Server": "2564f49129-ysu87.cn-shenzhen.nas.aliyuncs.com", "Volume.1.NFSVolume.Path": "/csi"}},
		{name: "FlexVolume persistent volume",
			objs: []runtime.Object{boundClaim("data", "flex"), pv("flex", corev1.PersistentVolumeSource{
				FlexVolume: &corev1.FlexPersistentVolumeSource{Driver: "alicloud/disk", FSType: "ext4", Options: map[string]string{"volumeId": "d-1", "a": "b"}}})},
			want: map[string]string{"Volume.1.Type": "FlexVolume", "Volume.1.FlexVolume.Driver": "alicloud/disk",
				"Volume.1.FlexVolume.Options": `{"a":"b","volumeId":"d-1"}`, "Volume.1.FlexVolume.FsType": "ext4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := withVolume("data", claimSrc("data", tc.readOnly), corev1.VolumeMount{MountPath: "/data"})
			out := run(t, p, vnode(), cluster(t, tc.objs...))
			expectWire(t, wire(t, out.Request), tc.want)
		})
	}
}

// A generic ephemeral volume is the PVC <pod>-<volume> the controller makes.
func TestEphemeralVolume(t *testing.T) {
	p := withVolume("scratch", corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}, corev1.VolumeMount{MountPath: "/scratch"})
	out := run(t, p, vnode(), cluster(t, boundClaim("vol-scratch", "d-2"), pv("d-2", corev1.PersistentVolumeSource{
		CSI: &corev1.CSIPersistentVolumeSource{Driver: "diskplugin.csi.alibabacloud.com", VolumeHandle: "d-2"}})))
	expectWire(t, wire(t, out.Request), map[string]string{"Volume.1.Type": "DiskVolume", "Volume.1.DiskVolume.DiskId": "d-2"})
}

func TestClaimProblems(t *testing.T) {
	unbound := boundClaim("pending", "")
	unbound.Status.Phase = corev1.ClaimPending
	cases := []struct {
		name  string
		claim string
		objs  []runtime.Object
		want  string
		retry bool
	}{
		{name: "unbound claim", claim: "pending", objs: []runtime.Object{unbound}, retry: true,
			want: "MissingReference spec.volumes[0].persistentVolumeClaim: PersistentVolumeClaim shop/pending is not bound yet; the pod is retried once it is bound"},
		{name: "missing claim", claim: "nope", retry: true,
			want: "MissingReference spec.volumes[0].persistentVolumeClaim: PersistentVolumeClaim shop/nope does not exist; the pod is retried until it does"},
		{name: "missing volume", claim: "data", objs: []runtime.Object{boundClaim("data", "pv-gone")}, retry: true,
			want: "MissingReference spec.volumes[0].persistentVolumeClaim: PersistentVolume pv-gone (bound to claim shop/data) does not exist; the pod is retried until it does"},
		{name: "local volume", claim: "data", objs: []runtime.Object{boundClaim("data", "local-1"),
			pv("local-1", corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disks/ssd1"}})},
			want: "Unsupported spec.volumes[0].persistentVolumeClaim: PersistentVolume local-1 is a node-local volume, and an ECI instance has no node disk to mount; use a PersistentVolume on NAS (NFS) or an Alibaba Cloud disk (CSI driver diskplugin.csi.alibabacloud.com)"},
		{name: "other CSI driver", claim: "data", objs: []runtime.Object{boundClaim("data", "ebs"),
			pv("ebs", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-1"}})},
			want: "Unsupported spec.volumes[0].persistentVolumeClaim: PersistentVolume ebs uses CSI driver ebs.csi.aws.com, which ECI cannot mount; use a PersistentVolume on NAS (NFS) or an Alibaba Cloud disk (CSI driver diskplugin.csi.alibabacloud.com)"},
		{name: "block volume", claim: "data", objs: []runtime.Object{boundClaim("data", "blk"), func() *corev1.PersistentVolume {
			v := pv("blk", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "diskplugin.csi.alibabacloud.com", VolumeHandle: "d-3"}})
			v.Spec.VolumeMode = ptr(corev1.PersistentVolumeBlock)
			return v
		}()},
			want: "Unsupported spec.volumes[0].persistentVolumeClaim: PersistentVolume blk is a raw block volume, which ECI cannot attach; use a Filesystem volume"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := withVolume("data", claimSrc(tc.claim, false), corev1.VolumeMount{MountPath: "/data"})
			es := problems(t, p, vnode(), cluster(t, tc.objs...))
			expectProblems(t, es, []string{tc.want})
			if es.Retryable() != tc.retry {
				t.Errorf("Retryable() = %v; want %v", es.Retryable(), tc.retry)
			}
		})
	}
}

func TestEmptyDirAndNFS(t *testing.T) {
	c := ctr("app", "img")
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "cache", MountPath: "/cache"},
		{Name: "shm", MountPath: "/dev/shm"},
		{Name: "share", MountPath: "/share", SubPath: "web", MountPropagation: ptr(corev1.MountPropagationHostToContainer)},
	}
	p := pod("dirs", c)
	p.Spec.Volumes = []corev1.Volume{
		{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(resource.MustParse("2Gi"))}}},
		{Name: "shm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr(resource.MustParse("256Mi"))}}},
		{Name: "share", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "10.0.0.5", Path: "/exports", ReadOnly: true}}},
	}
	out := run(t, p, vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Volume.1.Type": "EmptyDirVolume", "Volume.1.EmptyDirVolume.SizeLimit": "2Gi", "Volume.1.EmptyDirVolume.Medium": absent,
		"Volume.2.Type": "EmptyDirVolume", "Volume.2.EmptyDirVolume.Medium": "Memory", "Volume.2.EmptyDirVolume.SizeLimit": "256Mi",
		"Volume.3.Type": "NFSVolume", "Volume.3.NFSVolume.Server": "10.0.0.5", "Volume.3.NFSVolume.Path": "/exports", "Volume.3.NFSVolume.ReadOnly": "true",
		"Container.1.VolumeMount.1.ReadOnly": absent,
		"Container.1.VolumeMount.3.SubPath":  "web", "Container.1.VolumeMount.3.MountPropagation": "HostToContainer",
		"Container.1.VolumeMount.3.ReadOnly": "true",
	})
}

// ConfigMap, Secret and downward API data become Base64 files with their
// paths and modes; a missing optional source leaves an empty directory.
func TestConfigFileVolumes(t *testing.T) {
	c := ctr("app", "img")
	c.Resources = res("", "", "500m", "")
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "tls", MountPath: "/tls"}, {Name: "meta", MountPath: "/meta"}, {Name: "maybe", MountPath: "/maybe"}, {Name: "bin", MountPath: "/bin-data"},
	}
	p := pod("files", c)
	p.Labels = map[string]string{"app": "web", "tier": "front"}
	p.Spec.Volumes = []corev1.Volume{
		{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "web-tls", DefaultMode: ptr[int32](0o400),
			Items: []corev1.KeyToPath{{Key: "tls.crt", Path: "certs/server.crt"}, {Key: "tls.key", Path: "private/server.key", Mode: ptr[int32](0o600)}}}}},
		{Name: "meta", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
			{Path: "cpu_limit", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu", Divisor: resource.MustParse("1m")}},
		}}}},
		{Name: "maybe", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "feature-flags"}, Optional: ptr(true)}}},
		{Name: "bin", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "blobs"}}}},
	}
	blobs := configMap("blobs", map[string]string{"b.txt": "text"})
	blobs.BinaryData = map[string][]byte{"a.bin": {0, 1, 2}}
	out := run(t, p, vnode(), cluster(t,
		secret("web-tls", corev1.SecretTypeTLS, map[string]string{"tls.crt": "CERT", "tls.key": "KEY"}), blobs))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Volume.1.Type": "ConfigFileVolume", "Volume.1.ConfigFileVolume.DefaultMode": "256",
		"Volume.1.ConfigFileVolume.ConfigFileToPath.1.Path": "certs/server.crt", "Volume.1.ConfigFileVolume.ConfigFileToPath.1.Content": "Q0VSVA==",
		"Volume.1.ConfigFileVolume.ConfigFileToPath.1.Mode": absent,
		"Volume.1.ConfigFileVolume.ConfigFileToPath.2.Path": "private/server.key", "Volume.1.ConfigFileVolume.ConfigFileToPath.2.Mode": "384",
		// labels are written as the kubelet writes them: sorted key="value" lines
		"Volume.2.ConfigFileVolume.ConfigFileToPath.1.Content": b64("app=\"web\"\ntier=\"front\""),
		"Volume.2.ConfigFileVolume.ConfigFileToPath.2.Content": b64("files"),
		"Volume.2.ConfigFileVolume.ConfigFileToPath.3.Content": b64("500"),
		// the optional ConfigMap does not exist: an empty directory, as the kubelet mounts
		"Volume.3.Name": "maybe", "Volume.3.Type": "EmptyDirVolume",
		// text keys first, then binary ones
		"Volume.4.ConfigFileVolume.ConfigFileToPath.1.Path": "b.txt", "Volume.4.ConfigFileVolume.ConfigFileToPath.2.Path": "a.bin",
		"Volume.4.ConfigFileVolume.ConfigFileToPath.2.Content": "AAEC",
		"Container.1.VolumeMount.3.ReadOnly":                   "true",
	})
	gotW := warnings(out.Warnings)
	for _, w := range []string{
		"spec.volumes[1].downwardAPI: the pod's labels or annotations are written into the file once, at creation; later changes do not reach it",
		"spec.volumes[2].configMap: optional ConfigMap shop/feature-flags does not exist; skipped",
	} {
		if !contains(gotW, w) {
			t.Errorf("missing warning %q\n got: %s", w, strings.Join(gotW, "\n      "))
		}
	}
}

// Projected service account tokens come from the TokenRequest API, bound
// to the pod, with the audience and lifetime the projection asks for.
func TestProjectedServiceAccountToken(t *testing.T) {
	p := withVolume("vault-token", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "vault", ExpirationSeconds: ptr[int64](600), Path: "vault/token"}},
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "default/token"}},
	}}}, corev1.VolumeMount{MountPath: "/var/run/tokens"})
	p.Spec.ServiceAccountName = "web"
	out := run(t, p, vnode(), cluster(t, serviceAccount("web")))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Volume.1.ConfigFileVolume.ConfigFileToPath.1.Path": "vault/token", "Volume.1.ConfigFileVolume.ConfigFileToPath.1.Content": b64("token:shop/web:vault:600"),
		"Volume.1.ConfigFileVolume.ConfigFileToPath.2.Path": "default/token", "Volume.1.ConfigFileVolume.ConfigFileToPath.2.Content": b64("token:shop/web::3600"),
	})

	p.Spec.ServiceAccountName = "ghost"
	es := problems(t, p, vnode(), cluster(t))
	if len(es) != 2 || es[0].Error() != "spec.volumes[0].projected.sources[0].serviceAccountToken: ServiceAccount shop/ghost does not exist, so no token can be issued for it; create it (the pod is retried until it exists)" || !es.Retryable() {
		t.Errorf("problems %v; want a retryable missing ServiceAccount per token", es)
	}
}

// tokenAPI is a cluster whose TokenRequest API behaves like a configured
// API server.
type tokenAPI struct {
	translate.Listers
	max     int64 // caps lifetimes, as --service-account-max-token-expiration does; 0: no cap
	noTimes bool  // answers without the issue and expiry times
}

func (a tokenAPI) ServiceAccountToken(ctx context.Context, namespace, sa string, audiences []string,
	seconds int64, boundPod *corev1.Pod) (translate.Token, error) {
	if a.max > 0 {
		seconds = min(seconds, a.max)
	}
	tok, err := a.Listers.ServiceAccountToken(ctx, namespace, sa, audiences, seconds, boundPod)
	if a.noTimes {
		tok.IssuedAt, tok.Expiry = time.Time{}, time.Time{}
	}
	return tok, err
}

// ECI never refreshes a token it was created with, so a token that expires
// while the pod is likely to run is reported, with when and what to do. The
// kube-api-access token is not: the API server extends it to a year.
func TestShortLivedTokenWarning(t *testing.T) {
	const field = "spec.volumes[0].projected.sources[0].serviceAccountToken"
	const stale = "and is not refreshed: ECI writes files into the instance once, at creation, so calls made with it fail from then on; "
	const longer = "request a longer expirationSeconds (the API server allows up to its --service-account-max-token-expiration), or have the workload request its own tokens through the TokenRequest API"
	const mint = "have the workload request its own tokens through the TokenRequest API, or raise --service-account-max-token-expiration"
	cases := []struct {
		name     string
		audience string
		seconds  *int64
		api      tokenAPI
		want     string // the warning's message; empty: no warning
	}{
		{name: "kube-api-access: 3607 s for the API server, extended to a year", seconds: ptr[int64](3607)},
		{name: "a day is long enough", audience: "vault", seconds: ptr[int64](86400)},
		{name: "the default hour", want: `token file "token" of volume creds expires at 2030-01-02T04:04:05Z, 1h0m0s after it was issued ` + stale + longer},
		{name: "ten minutes for vault", audience: "vault", seconds: ptr[int64](600),
			want: `token file "token" of volume creds expires at 2030-01-02T03:14:05Z, 10m0s after it was issued ` + stale + longer},
		{name: "3607 s for another audience is not extended", audience: "vault", seconds: ptr[int64](3607),
			want: `token file "token" of volume creds expires at 2030-01-02T04:04:12Z, 1h0m7s after it was issued ` + stale + longer},
		{name: "two days cut to an hour by the API server", audience: "vault", seconds: ptr[int64](172800), api: tokenAPI{max: 3600},
			want: `token file "token" of volume creds expires at 2030-01-02T04:04:05Z, 1h0m0s after it was issued (the API server cut the 172800 s requested to its --service-account-max-token-expiration) ` + stale + mint},
		{name: "kube-api-access cut below 3607 s is not extended", seconds: ptr[int64](3607), api: tokenAPI{max: 3000},
			want: `token file "token" of volume creds expires at 2030-01-02T03:54:05Z, 50m0s after it was issued (the API server cut the 3607 s requested to its --service-account-max-token-expiration) ` + stale + mint},
		{name: "an API server that gives no times: the requested lifetime", audience: "vault", seconds: ptr[int64](600), api: tokenAPI{noTimes: true},
			want: `token file "token" of volume creds expires after 10m0s ` + stale + longer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := withVolume("creds", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: tc.audience, ExpirationSeconds: tc.seconds, Path: "token"}},
			}}}, corev1.VolumeMount{MountPath: "/var/run/creds"})
			p.Spec.ServiceAccountName = "web"
			api := tc.api
			api.Listers = cluster(t, serviceAccount("web"))
			out := run(t, p, vnode(), api)
			var got []string
			for _, w := range out.Warnings {
				if w.Reason == translate.WarnTokenExpires {
					got = append(got, w.String())
				}
			}
			var want []string
			if tc.want != "" {
				want = []string{field + ": " + tc.want}
			}
			if !slices.Equal(got, want) {
				t.Errorf("TokenExpires warnings:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestConfigFileTooLarge(t *testing.T) {
	p := withVolume("big", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "big"}}},
		corev1.VolumeMount{MountPath: "/big"})
	es := problems(t, p, vnode(), cluster(t, configMap("big", map[string]string{"dump.json": strings.Repeat("x", 40<<10), "ok": "small"})))
	expectProblems(t, es, []string{
		"TooLarge spec.volumes[0].configMap: key dump.json of ConfigMap shop/big is 40.0 KiB; ECI config files hold at most 32 KiB: mount large files from NAS (NFS) or a cloud disk, or build them into the image",
	})
}

// Volumes ECI cannot mount are refused with what to use instead.
func TestUnsupportedVolumes(t *testing.T) {
	cases := []struct {
		src  corev1.VolumeSource
		want string
	}{
		{corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}},
			"Unsupported spec.volumes[0].hostPath: hostPath volumes are not supported on a VNode: an ECI instance has no host to share files with; use emptyDir, a cloud disk, or NAS (NFS) instead"},
		{corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "models:1"}},
			"Unsupported spec.volumes[0].image: image volumes are not supported on ECI; copy the files from the image into an emptyDir with an init container instead"},
		{corev1.VolumeSource{GitRepo: &corev1.GitRepoVolumeSource{Repository: "https://example.com/r.git"}},
			"Unsupported spec.volumes[0].gitRepo: gitRepo volumes are not supported on ECI; clone the repository into an emptyDir with an init container instead"},
		{corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "secrets-store.csi.k8s.io"}},
			"Unsupported spec.volumes[0].csi: inline CSI volumes are not supported on ECI; use a PersistentVolumeClaim bound to a cloud disk or NAS (NFS) volume instead"},
		{corev1.VolumeSource{ISCSI: &corev1.ISCSIVolumeSource{}},
			"Unsupported spec.volumes[0]: iscsi volumes are not supported on a VNode; use emptyDir, a cloud disk, or NAS (NFS) instead"},
		{corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumHugePages}},
			"Unsupported spec.volumes[0].emptyDir.medium: medium HugePages is not available on ECI; use the default medium or Memory"},
		{corev1.VolumeSource{FlexVolume: &corev1.FlexVolumeSource{Driver: "x/y", SecretRef: &corev1.LocalObjectReference{Name: "s"}}},
			"Unsupported spec.volumes[0].flexVolume.secretRef: FlexVolume secrets cannot be passed to ECI; put the settings in options, or use a CSI persistent volume"},
		{corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Path: "b"}}}}},
			"Unsupported spec.volumes[0].projected.sources[0].clusterTrustBundle: clusterTrustBundle sources are not supported on this VNode; copy the bundle into a ConfigMap and project that instead"},
	}
	for _, tc := range cases {
		t.Run(strings.SplitN(tc.want, " ", 3)[1], func(t *testing.T) {
			es := problems(t, withVolume("v", tc.src, corev1.VolumeMount{MountPath: "/v"}), vnode(), cluster(t))
			expectProblems(t, es, []string{tc.want})
		})
	}
}

func TestMountProblems(t *testing.T) {
	c := ctr("app", "img")
	c.Env = []corev1.EnvVar{{Name: "POD_IP", ValueFrom: fieldRef("status.podIP")}, {Name: "POD_NAME", ValueFrom: fieldRef("metadata.name")}}
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "logs", MountPath: "/logs", SubPathExpr: "$(POD_NAME)"},
		{Name: "logs", MountPath: "/by-ip", SubPathExpr: "$(POD_IP)"},
		{Name: "logs", MountPath: "/ro", ReadOnly: true, RecursiveReadOnly: ptr(corev1.RecursiveReadOnlyEnabled)},
	}
	c.VolumeDevices = []corev1.VolumeDevice{{Name: "logs", DevicePath: "/dev/xvda"}}
	p := pod("mounts", c)
	p.Spec.Volumes = []corev1.Volume{{Name: "logs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	es := problems(t, p, vnode(), cluster(t))
	expectProblems(t, es, []string{
		"Unsupported spec.containers[0].volumeMounts[1].subPathExpr: $(POD_IP) is only known when the instance starts (it is the pod IP), so the sub path cannot be computed at creation; use another variable",
		"Unsupported spec.containers[0].volumeMounts[2].recursiveReadOnly: recursive read-only mounts are not available on ECI; use IfPossible (the mount is then read-only at its top level) or Disabled",
		"Unsupported spec.containers[0].volumeDevices: raw block devices are not supported on ECI; use a filesystem volume (volumeMounts) instead",
	})
	// subPathExpr with a known variable expands as the kubelet does.
	c.VolumeMounts = c.VolumeMounts[:1]
	c.VolumeDevices = nil
	p.Spec.Containers[0] = c
	expectWire(t, wire(t, run(t, p, vnode(), cluster(t)).Request), map[string]string{"Container.1.VolumeMount.1.SubPath": "mounts"})
}

// Every problem is reported at once, not just the first.
func TestAllProblemsAtOnce(t *testing.T) {
	p := withVolume("logs", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}, corev1.VolumeMount{MountPath: "/logs"})
	p.Spec.HostNetwork = true
	p.Annotations = map[string]string{"k8s.aliyun.com/eci-max-pending-minute": "5"}
	es := problems(t, p, vnode(), cluster(t))
	if len(es) != 3 {
		t.Fatalf("want 3 problems, got %d: %v", len(es), es)
	}
	msg := es.Error()
	if !strings.HasPrefix(msg, "3 problems: 1) spec.hostNetwork: ") || !strings.Contains(msg, "; 3) spec.volumes[0].hostPath: ") {
		t.Errorf("joined message %q", msg)
	}
	var one *translate.Error
	if !errorsAs(es, &one) || one.Field != "spec.hostNetwork" {
		t.Errorf("errors.As finds the first problem; got %+v", one)
	}
}

// A pod that will be refused gets no service account token minted for it.
func TestNoTokenForRefusedPod(t *testing.T) {
	p := webPod()
	p.Spec.HostNetwork = true
	r := webCluster(t)
	problems(t, p, vnode(), r)
	if n := len(r.TokenClient.(*fakecorev1.FakeCoreV1).Fake.Actions()); n != 0 {
		t.Errorf("%d TokenRequest calls for a refused pod; want none", n)
	}
	p.Spec.HostNetwork = false
	run(t, p, vnode(), r)
	if n := len(r.TokenClient.(*fakecorev1.FakeCoreV1).Fake.Actions()); n != 1 {
		t.Errorf("%d TokenRequest calls; want 1", n)
	}
}
