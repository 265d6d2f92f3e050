package translate_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// webPod is a typical Deployment pod: nginx-fronted app with probes, a
// config volume, a secret env var and the kube-api-access volume the
// ServiceAccount admission plugin adds.
func webPod() *corev1.Pod {
	app := ctr("app", "registry.example.com/shop/web:1.4.2")
	app.Command = []string{"/app/web"}
	app.Args = []string{"--listen=:$(PORT)", "--db=$(DB_HOST)"}
	app.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}
	app.Env = []corev1.EnvVar{
		{Name: "PORT", Value: "8080"},
		{Name: "DB_HOST", Value: "db.shop.svc"},
		{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
	}
	app.Resources = res("500m", "512Mi", "1", "1Gi")
	app.LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: namedPort("http"), Scheme: corev1.URISchemeHTTP}},
		PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3, InitialDelaySeconds: 5,
	}
	app.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: port(8080)}},
		PeriodSeconds: 5, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
	}
	app.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/app/drain"}}}}
	app.VolumeMounts = []corev1.VolumeMount{
		{Name: "config", MountPath: "/etc/web"},
		{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true},
	}
	p := pod("web-7d9c6b5f4-x2x8q", app)
	p.Labels = map[string]string{"app": "web", "pod-template-hash": "7d9c6b5f4"}
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9c6b5f4"}}
	p.Spec.TerminationGracePeriodSeconds = ptr[int64](30)
	p.Spec.Volumes = []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}, DefaultMode: ptr[int32](0o644)}}},
		kubeAPIAccess(),
	}
	return p
}

// kubeAPIAccess is the projected volume the ServiceAccount admission plugin
// injects into every pod.
func kubeAPIAccess() corev1.Volume {
	return corev1.Volume{Name: "kube-api-access-x7k2p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr[int32](0o644),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr[int64](3607), Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		},
	}}}
}

func webCluster(t testing.TB) translate.Listers {
	return cluster(t,
		configMap("web-config", map[string]string{"web.yaml": "listen: 8080\n"}),
		configMap("kube-root-ca.crt", map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}),
		secret("db", corev1.SecretTypeOpaque, map[string]string{"password": "s3cret"}),
		serviceAccount("default"),
		service("default", "kubernetes", "10.96.0.1", corev1.ServicePort{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}),
	)
}

// A typical Deployment pod becomes one ECI instance with the same
// containers, probes, files and identity, sized up to a spec ECI sells.
func TestWebDeploymentPod(t *testing.T) {
	out := run(t, webPod(), vnode(), webCluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		// identity: readable name, idempotent on the pod UID, our tags + the VNode's
		"ContainerGroupName": "shop-web-7d9c6b5f4-x2x8q",
		"ClientToken":        "6f1c-uid-0001",
		"Tag.1.Key":          "eci-vnode/cluster", "Tag.1.Value": "prod",
		"Tag.2.Key": "eci-vnode/node", "Tag.2.Value": "cn-hangzhou.vnd-abc",
		"Tag.3.Key": "eci-vnode/pod-namespace", "Tag.3.Value": "shop",
		"Tag.4.Key": "eci-vnode/pod-name", "Tag.4.Value": "web-7d9c6b5f4-x2x8q",
		"Tag.5.Key": "eci-vnode/pod-uid", "Tag.5.Value": "6f1c-uid-0001",
		"Tag.6.Key": "team", "Tag.6.Value": "platform",
		// placement from the VNode
		"VSwitchId": "vsw-h1", "ZoneId": "cn-hangzhou-h", "SecurityGroupId": "sg-vnode",
		// 1 vCPU / 1 GiB of limits rounds up to the 1 vCPU / 2 GiB spec
		"Cpu": "1", "Memory": "2",
		"Container.1.Cpu": "1", "Container.1.Memory": "1",
		// the container as written, with $(VAR) expanded in args like a kubelet
		"Container.1.Name": "app", "Container.1.Image": "registry.example.com/shop/web:1.4.2",
		"Container.1.ImagePullPolicy": "IfNotPresent",
		"Container.1.Command.1":       "/app/web",
		"Container.1.Arg.1":           "--listen=:8080", "Container.1.Arg.2": "--db=db.shop.svc",
		"Container.1.Port.1.Port": "8080", "Container.1.Port.1.Protocol": "TCP",
		// env: literals, the Secret value (hidden from Describe), status.podIP left to ECI
		"Container.1.EnvironmentVar.1.Key": "PORT", "Container.1.EnvironmentVar.1.Value": "8080",
		"Container.1.EnvironmentVar.3.Key": "DB_PASSWORD", "Container.1.EnvironmentVar.3.Value": "s3cret",
		"Container.1.EnvironmentVar.4.Key": "POD_IP", "Container.1.EnvironmentVar.4.FieldRef.FieldPath": "status.podIP",
		"Container.1.EnvironmentVar.5.Key": "KUBERNETES_SERVICE_HOST", "Container.1.EnvironmentVar.5.Value": "10.96.0.1",
		"Container.1.EnvironmentVar.6.Key": "KUBERNETES_SERVICE_PORT", "Container.1.EnvironmentVar.6.Value": "443",
		"Container.1.EnvironmentVarHide": "true",
		// probes with the named port resolved
		"Container.1.LivenessProbe.HttpGet.Path": "/healthz", "Container.1.LivenessProbe.HttpGet.Port": "8080",
		"Container.1.LivenessProbe.HttpGet.Scheme": "HTTP", "Container.1.LivenessProbe.InitialDelaySeconds": "5",
		"Container.1.LivenessProbe.PeriodSeconds": "10", "Container.1.LivenessProbe.FailureThreshold": "3",
		"Container.1.ReadinessProbe.TcpSocket.Port": "8080", "Container.1.ReadinessProbe.PeriodSeconds": "5",
		"Container.1.LifecyclePreStopHandlerExec.1": "/app/drain",
		// config volumes are files (Base64), mounted read-only like API data volumes
		"Volume.1.Name": "config", "Volume.1.Type": "ConfigFileVolume",
		"Volume.1.ConfigFileVolume.ConfigFileToPath.1.Path":    "web.yaml",
		"Volume.1.ConfigFileVolume.ConfigFileToPath.1.Content": "bGlzdGVuOiA4MDgwCg==", // "listen: 8080\n"
		"Volume.1.ConfigFileVolume.DefaultMode":                "420",
		"Container.1.VolumeMount.1.Name":                       "config", "Container.1.VolumeMount.1.MountPath": "/etc/web",
		"Container.1.VolumeMount.1.ReadOnly": "true",
		// the service account volume: a bound token, the cluster CA, the namespace
		"Volume.2.Name": "kube-api-access-x7k2p", "Volume.2.Type": "ConfigFileVolume",
		"Volume.2.ConfigFileVolume.ConfigFileToPath.1.Path":    "token",
		"Volume.2.ConfigFileVolume.ConfigFileToPath.1.Content": "dG9rZW46c2hvcC9kZWZhdWx0OjozNjA3", // token:shop/default::3607
		"Volume.2.ConfigFileVolume.ConfigFileToPath.2.Path":    "ca.crt",
		"Volume.2.ConfigFileVolume.ConfigFileToPath.3.Path":    "namespace",
		"Volume.2.ConfigFileVolume.ConfigFileToPath.3.Content": "c2hvcA==", // shop
		// ClusterFirst DNS as the kubelet writes it
		"DnsPolicy": "None", "DnsConfig.NameServer.1": "10.96.0.10",
		"DnsConfig.Search.1": "shop.svc.cluster.local", "DnsConfig.Search.2": "svc.cluster.local", "DnsConfig.Search.3": "cluster.local",
		"DnsConfig.Option.1.Name": "ndots", "DnsConfig.Option.1.Value": "5",
		"HostName":                      "web-7d9c6b5f4-x2x8q",
		"RestartPolicy":                 "Always",
		"TerminationGracePeriodSeconds": "30",
		"SpotStrategy":                  absent,
		"InstanceType":                  absent,
	})
	// No warning either for its kube-api-access token: the API server
	// extends it to a year.
	if len(out.Warnings) != 0 {
		t.Errorf("a plain web pod should translate without warnings, got %q", warnings(out.Warnings))
	}
	if out.Options.FailStrategy != translate.FailBack {
		t.Errorf("FailStrategy = %q; want the default fail-back", out.Options.FailStrategy)
	}
}

// Translation is a pure function of its inputs: the same pod gives the
// same request (ECI idempotency and change detection rely on it).
func TestTranslationIsDeterministic(t *testing.T) {
	p := webPod()
	p.Annotations = map[string]string{
		"k8s.aliyun.com/eci-custom-tags": "env:prod,owner:web",
		"k8s.aliyun.com/eci-use-specs":   "2-4Gi,ecs.c6.large",
	}
	node := vnode()
	node.Tags = map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}
	first := wire(t, run(t, p, node, webCluster(t)).Request)
	for i := 0; i < 20; i++ {
		again := wire(t, run(t, p, node, webCluster(t)).Request)
		if len(again) != len(first) {
			t.Fatalf("run %d: %d parameters, first run %d", i, len(again), len(first))
		}
		for k, v := range first {
			if again[k] != v {
				t.Fatalf("run %d: %s = %q, first run %q", i, k, again[k], v)
			}
		}
	}
}

// The request never shares memory with the pod: the runtime may keep it
// while the informer's pod object changes.
func TestRequestDoesNotAliasPod(t *testing.T) {
	p := webPod()
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: ptr[int64](1000)}
	out := run(t, p, vnode(), webCluster(t))
	*p.Spec.Containers[0].SecurityContext.RunAsUser = 0
	p.Spec.Containers[0].Command[0] = "changed"
	p.Spec.Volumes[0].ConfigMap.DefaultMode = ptr[int32](0o600)
	*p.Spec.TerminationGracePeriodSeconds = 1
	c := out.Request.Containers[0]
	if *c.SecurityContext.RunAsUser != 1000 || c.Commands[0] != "/app/web" ||
		*out.Request.Volumes[0].ConfigFile.DefaultMode != 0o644 || *out.Request.TerminationGracePeriodSeconds != 30 {
		t.Fatalf("the request changed with the pod: %+v", out.Request)
	}
}
