package translate_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// minimalPod is the smallest useful pod: one container, nothing else.
func minimalPod() *corev1.Pod {
	c := ctr("app", "nginx:1.27")
	c.Resources = res("", "", "500m", "1Gi")
	return pod("minimal", c)
}

// largePod is a big but realistic pod: an app, two sidecars and two init
// containers, 20 env vars each from every source, envFrom, probes, hooks,
// eight volumes (config, secret, projected token, downward API, PVC,
// emptyDirs), image pull secrets, annotations — in a namespace with 10
// Services, so every container also gets ~100 service link variables.
func largePod() (*corev1.Pod, []runtime.Object) {
	objs := []runtime.Object{
		configMap("settings", map[string]string{"A": "1", "B": "2", "C": "3", "D": "4", "E": "5", "app.yaml": "x: 1\n"}),
		configMap("kube-root-ca.crt", map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}),
		secret("creds", corev1.SecretTypeOpaque, map[string]string{"user": "u", "password": "p", "token": "t"}),
		secret("pull", corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"auths":{"registry.example.com":{"username":"u","password":"p"}}}`}),
		serviceAccount("default"),
		boundClaim("data", "nas-1"),
		pv("nas-1", corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nas.example", Path: "/data"}}),
		service("default", "kubernetes", "10.96.0.1", corev1.ServicePort{Name: "https", Port: 443}),
	}
	for i := 0; i < 10; i++ {
		objs = append(objs, service("shop", "svc-"+strconv.Itoa(i), "10.96.1."+strconv.Itoa(i),
			corev1.ServicePort{Name: "http", Port: 80}, corev1.ServicePort{Name: "metrics", Port: 9090}))
	}
	mk := func(name string) corev1.Container {
		c := ctr(name, "registry.example.com/shop/"+name+":1.0")
		c.Command = []string{"/bin/" + name}
		c.Args = []string{"--port=$(PORT)", "--user=$(DB_USER)"}
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
		c.Resources = res("250m", "256Mi", "1", "1Gi")
		c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}}
		c.Env = []corev1.EnvVar{
			{Name: "PORT", Value: "8080"},
			{Name: "DB_USER", ValueFrom: secretKey("creds", "user", false)},
			{Name: "DB_PASSWORD", ValueFrom: secretKey("creds", "password", false)},
			{Name: "POD_NAME", ValueFrom: fieldRef("metadata.name")},
			{Name: "POD_NAMESPACE", ValueFrom: fieldRef("metadata.namespace")},
			{Name: "POD_IP", ValueFrom: fieldRef("status.podIP")},
			{Name: "CPU", ValueFrom: resourceRef("", "limits.cpu", "1m")},
			{Name: "MEM", ValueFrom: resourceRef("", "limits.memory", "1Mi")},
			{Name: "FEATURE", ValueFrom: cmKey("settings", "A", false)},
		}
		for i := 0; i < 11; i++ {
			c.Env = append(c.Env, corev1.EnvVar{Name: "OPT_" + strconv.Itoa(i), Value: "value-$(PORT)-" + strconv.Itoa(i)})
		}
		c.VolumeMounts = []corev1.VolumeMount{
			{Name: "config", MountPath: "/etc/app"}, {Name: "creds", MountPath: "/etc/creds"},
			{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"},
			{Name: "podinfo", MountPath: "/etc/podinfo"}, {Name: "data", MountPath: "/data"}, {Name: "tmp", MountPath: "/tmp"},
		}
		c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: namedPort("http")}},
			PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3}
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: port(8080)}},
			PeriodSeconds: 5, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3}
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/drain"}}}}
		c.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr[int64](1000), ReadOnlyRootFilesystem: ptr(true)}
		return c
	}
	p := pod("shop-api-7d9c6b5f4-x2x8q", mk("api"), mk("proxy"), mk("metrics"))
	init1, init2 := mk("migrate"), mk("warm-cache")
	init1.LivenessProbe, init1.ReadinessProbe, init1.Lifecycle = nil, nil, nil
	init2.LivenessProbe, init2.ReadinessProbe, init2.Lifecycle = nil, nil, nil
	p.Spec.InitContainers = []corev1.Container{init1, init2}
	p.Labels = map[string]string{"app": "shop-api", "tier": "backend", "pod-template-hash": "7d9c6b5f4"}
	p.Annotations = map[string]string{
		"k8s.aliyun.com/eci-custom-tags":    "env:prod,team:shop",
		"k8s.aliyun.com/eci-spot-strategy":  "SpotAsPriceGo",
		"k8s.aliyun.com/eci-auto-imc":       "true",
		"k8s.aliyun.com/eci-vswitch":        "vsw-a,vsw-b,vsw-c",
		"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z",
	}
	p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "pull"}}
	p.Spec.Volumes = []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
		{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
		kubeAPIAccess(),
		{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
			{Path: "app", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}}}}},
		{Name: "data", VolumeSource: claimSrc("data", false)},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	return p, objs
}

// The large pod really is large, and translates.
func TestLargePodTranslates(t *testing.T) {
	p, objs := largePod()
	out := run(t, p, vnode(), cluster(t, objs...))
	if n := len(out.Request.Containers[0].EnvironmentVars); n < 100 {
		t.Errorf("the large pod's first container has %d env vars; the benchmark expects over 100", n)
	}
	if n := len(wire(t, out.Request)); n < 1500 {
		t.Errorf("the large pod is only %d parameters", n)
	}
}

func benchPod(b *testing.B, p *corev1.Pod, r translate.Resolver) {
	b.Helper()
	ctx := context.Background()
	node := vnode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := translate.Pod(ctx, p, node, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPod compares a minimal pod with a large realistic one:
//
//	go test ./runtime/translate -run '^$' -bench Pod
func BenchmarkPod(b *testing.B) {
	b.Run("minimal", func(b *testing.B) {
		benchPod(b, minimalPod(), cluster(b, service("default", "kubernetes", "10.96.0.1", corev1.ServicePort{Name: "https", Port: 443})))
	})
	b.Run("large", func(b *testing.B) {
		p, objs := largePod()
		benchPod(b, p, cluster(b, objs...))
	})
}

// BenchmarkLargeVsMinimal reports how much more a large pod costs than a
// minimal one (metric "large/minimal"), which should stay proportional to
// the pod's size, not explode.
func BenchmarkLargeVsMinimal(b *testing.B) {
	ctx := context.Background()
	node := vnode()
	small, smallR := minimalPod(), cluster(b)
	large, objs := largePod()
	largeR := cluster(b, objs...)
	var tSmall, tLarge time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := translate.Pod(ctx, small, node, smallR); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := translate.Pod(ctx, large, node, largeR); err != nil {
			b.Fatal(err)
		}
		tSmall += mid.Sub(start)
		tLarge += time.Since(mid)
	}
	b.ReportMetric(float64(tSmall.Nanoseconds())/float64(b.N), "minimal-ns/op")
	b.ReportMetric(float64(tLarge.Nanoseconds())/float64(b.N), "large-ns/op")
	b.ReportMetric(float64(tLarge)/float64(tSmall), "large/minimal")
}
