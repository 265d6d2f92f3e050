package translate_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

func cmKey(name, key string, optional bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: ptr(optional)}}
}

func secretKey(name, key string, optional bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: ptr(optional)}}
}

func fieldRef(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}
}

func resourceRef(container, res, divisor string) *corev1.EnvVarSource {
	sel := &corev1.ResourceFieldSelector{ContainerName: container, Resource: res}
	if divisor != "" {
		sel.Divisor = resource.MustParse(divisor)
	}
	return &corev1.EnvVarSource{ResourceFieldRef: sel}
}

// envOf returns the container's environment as KEY=VALUE (FieldRefs as
// KEY=<fieldRef:path>), in the order sent.
func envOf(c eci.Container) []string {
	out := make([]string, 0, len(c.EnvironmentVars))
	for _, e := range c.EnvironmentVars {
		if e.FieldRef != nil {
			out = append(out, e.Key+"=<fieldRef:"+e.FieldRef.FieldPath+">")
			continue
		}
		out = append(out, e.Key+"="+e.Value)
	}
	return out
}

// Every way Kubernetes fills an environment variable resolves to what the
// kubelet would have given the container.
func TestEnvFromEverything(t *testing.T) {
	c := ctr("app", "img")
	c.Resources = res("250m", "256Mi", "1500m", "1Gi")
	c.EnvFrom = []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}},
		{Prefix: "DB_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}},
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "not-there"}, Optional: ptr(true)}},
	}
	c.Env = []corev1.EnvVar{
		{Name: "LOG_LEVEL", Value: "debug"}, // overrides the ConfigMap's value, keeps its position
		{Name: "GREETING", Value: "hello $(NAME) from $(POD_NAME), $$(NOT_EXPANDED) $(UNDEFINED)"},
		{Name: "POD_NAME", ValueFrom: fieldRef("metadata.name")},
		{Name: "POD_NAMESPACE", ValueFrom: fieldRef("metadata.namespace")},
		{Name: "POD_UID", ValueFrom: fieldRef("metadata.uid")},
		{Name: "APP_LABEL", ValueFrom: fieldRef("metadata.labels['app']")},
		{Name: "OWNER", ValueFrom: fieldRef("metadata.annotations['owner']")},
		{Name: "MISSING_LABEL", ValueFrom: fieldRef("metadata.labels['nope']")},
		{Name: "NODE_NAME", ValueFrom: fieldRef("spec.nodeName")},
		{Name: "SA", ValueFrom: fieldRef("spec.serviceAccountName")},
		{Name: "POD_IP", ValueFrom: fieldRef("status.podIP")},
		{Name: "CPU_LIMIT_MILLIS", ValueFrom: resourceRef("", "limits.cpu", "1m")},
		{Name: "CPU_LIMIT", ValueFrom: resourceRef("", "limits.cpu", "")},
		{Name: "MEM_REQUEST_MI", ValueFrom: resourceRef("app", "requests.memory", "1Mi")},
		{Name: "MEM_LIMIT", ValueFrom: resourceRef("", "limits.memory", "")},
		{Name: "FEATURE", ValueFrom: cmKey("settings", "feature", false)},
		{Name: "API_KEY", ValueFrom: secretKey("api", "key", false)},
		{Name: "OPTIONAL_CM", ValueFrom: cmKey("not-there", "x", true)},
		{Name: "OPTIONAL_KEY", ValueFrom: secretKey("api", "not-a-key", true)},
	}
	p := pod("env-demo", c)
	p.Labels = map[string]string{"app": "demo"}
	p.Annotations = map[string]string{"owner": "team-a"}
	p.Spec.EnableServiceLinks = ptr(false)
	out := run(t, p, vnode(), cluster(t,
		configMap("settings", map[string]string{"LOG_LEVEL": "info", "NAME": "world", "feature": "on", "bad.key": "x"}),
		secret("db", corev1.SecretTypeOpaque, map[string]string{"USER": "app", "PASSWORD": "pw"}),
		secret("api", corev1.SecretTypeOpaque, map[string]string{"key": "k-123"}),
		service("default", "kubernetes", "10.96.0.1", corev1.ServicePort{Name: "https", Port: 443}),
		service("shop", "cart", "10.96.4.4", corev1.ServicePort{Port: 80}), // not injected: enableServiceLinks false
	))
	got := envOf(out.Request.Containers[0])
	want := []string{
		"LOG_LEVEL=debug", "NAME=world", "feature=on",
		"DB_PASSWORD=pw", "DB_USER=app",
		"GREETING=hello world from $(POD_NAME), $(NOT_EXPANDED) $(UNDEFINED)",
		"POD_NAME=env-demo", "POD_NAMESPACE=shop", "POD_UID=6f1c-uid-0001",
		"APP_LABEL=demo", "OWNER=team-a", "MISSING_LABEL=",
		"NODE_NAME=cn-hangzhou.vnd-abc", "SA=default",
		"POD_IP=<fieldRef:status.podIP>",
		"CPU_LIMIT_MILLIS=1500", "CPU_LIMIT=2", "MEM_REQUEST_MI=256", "MEM_LIMIT=1073741824",
		"FEATURE=on", "API_KEY=k-123",
		// the master Service is always injected, even without service links
		"KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_SERVICE_PORT_HTTPS=443",
		"KUBERNETES_PORT=tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP_PROTO=tcp", "KUBERNETES_PORT_443_TCP_PORT=443", "KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("environment:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
	if c := out.Request.Containers[0]; c.EnvironmentVarHide == nil || !*c.EnvironmentVarHide {
		t.Error("a container with Secret values must ask ECI to hide its environment")
	}
	gotW := warnings(out.Warnings)
	for _, w := range []string{
		"spec.containers[0].envFrom[0]: keys of ConfigMap settings that are not valid ECI environment variable names were skipped: bad.key (ECI accepts letters, digits and underscores, not starting with a digit)",
		"spec.containers[0].envFrom[2].configMapRef: optional ConfigMap shop/not-there does not exist; skipped",
		"spec.containers[0].env[17].valueFrom.configMapKeyRef: optional ConfigMap shop/not-there does not exist; skipped",
		`spec.containers[0].env[18].valueFrom.secretKeyRef: optional key "not-a-key" is not in Secret shop/api; skipped`,
	} {
		if !contains(gotW, w) {
			t.Errorf("missing warning %q\n got: %s", w, strings.Join(gotW, "\n      "))
		}
	}
	if len(gotW) != 4 {
		t.Errorf("want exactly 4 warnings, got %d: %q", len(gotW), gotW)
	}
}

// Service links: every Service of the namespace, Docker-link style, unless
// the pod turns them off; headless Services have none.
func TestServiceLinkEnv(t *testing.T) {
	c := ctr("app", "img")
	c.Env = []corev1.EnvVar{{Name: "CART", Value: "$(CART_API_SERVICE_HOST):$(CART_API_SERVICE_PORT)"}}
	out := run(t, pod("links", c), vnode(), cluster(t,
		service("shop", "cart-api", "10.96.7.7",
			corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP},
			corev1.ServicePort{Name: "metrics-udp", Port: 9125, Protocol: corev1.ProtocolUDP}),
		service("shop", "db-headless", "None", corev1.ServicePort{Port: 5432}),
		service("other", "elsewhere", "10.96.9.9", corev1.ServicePort{Port: 80}),
	))
	got := envOf(out.Request.Containers[0])
	want := []string{
		"CART=10.96.7.7:80",
		"CART_API_SERVICE_HOST=10.96.7.7", "CART_API_SERVICE_PORT=80",
		"CART_API_SERVICE_PORT_HTTP=80", "CART_API_SERVICE_PORT_METRICS_UDP=9125",
		"CART_API_PORT=tcp://10.96.7.7:80",
		"CART_API_PORT_80_TCP=tcp://10.96.7.7:80", "CART_API_PORT_80_TCP_PROTO=tcp", "CART_API_PORT_80_TCP_PORT=80", "CART_API_PORT_80_TCP_ADDR=10.96.7.7",
		"CART_API_PORT_9125_UDP=udp://10.96.7.7:9125", "CART_API_PORT_9125_UDP_PROTO=udp", "CART_API_PORT_9125_UDP_PORT=9125", "CART_API_PORT_9125_UDP_ADDR=10.96.7.7",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("environment:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

// $(VAR) in command and args is expanded with the final environment; the
// pod IP is only known at start, so references to it stay as written.
func TestCommandExpansionAndPodIP(t *testing.T) {
	c := ctr("app", "img")
	c.Env = []corev1.EnvVar{
		{Name: "POD_IP", ValueFrom: fieldRef("status.podIP")},
		{Name: "ADDR", Value: "$(POD_IP):8080"},
		{Name: "NODE_IP", ValueFrom: fieldRef("status.hostIP")},
	}
	c.Command = []string{"/app", "--advertise=$(POD_IP)"}
	out := run(t, pod("ip", c), vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Container.1.Command.2":                           "--advertise=$(POD_IP)",
		"Container.1.EnvironmentVar.2.Value":              "$(POD_IP):8080",
		"Container.1.EnvironmentVar.3.Key":                "NODE_IP",
		"Container.1.EnvironmentVar.3.FieldRef.FieldPath": "status.podIP", // the instance is its own host
	})
	gotW := warnings(out.Warnings)
	for _, w := range []string{
		"spec.containers[0].env[1].value: $(POD_IP) is passed unexpanded: its value (the pod IP) is only known when the instance starts; expand it at run time instead, e.g. sh -c '... $POD_IP'",
		"spec.containers[0].env[2].valueFrom.fieldRef: status.hostIP is the pod's own IP on ECI: each instance is its own host, so there is no separate node address (a node-local agent is not reachable this way)",
		"spec.containers[0].command[1]: $(POD_IP) is passed unexpanded: its value (the pod IP) is only known when the instance starts; expand it at run time instead, e.g. sh -c '... $POD_IP'",
	} {
		if !contains(gotW, w) {
			t.Errorf("missing warning %q\n got: %s", w, strings.Join(gotW, "\n      "))
		}
	}
}

// A resourceFieldRef to a limit the container does not set resolves, as on
// a node, to what the container can use: here the whole instance.
func TestResourceFieldRefWithoutLimit(t *testing.T) {
	c := ctr("app", "img")
	c.Resources = res("1", "1Gi", "", "")
	c.Env = []corev1.EnvVar{
		{Name: "CPUS", ValueFrom: resourceRef("", "limits.cpu", "")},
		{Name: "MEM_GI", ValueFrom: resourceRef("", "limits.memory", "1Gi")},
	}
	out := run(t, pod("rf", c), vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Cpu": "1", "Memory": "2",
		"Container.1.EnvironmentVar.1.Value": "1",
		"Container.1.EnvironmentVar.2.Value": "2",
	})
	want := "spec.containers[0].env[0].valueFrom.resourceFieldRef: the container sets no limits.cpu, so the value is the instance's (1 vCPU / 2 GiB, 30 GiB ephemeral storage), fixed at creation"
	if !contains(warnings(out.Warnings), want) {
		t.Errorf("warnings %q; want %q", warnings(out.Warnings), want)
	}
}

func TestEnvProblems(t *testing.T) {
	long := strings.Repeat("x", 300)
	c := ctr("app", "img")
	c.Env = []corev1.EnvVar{
		{Name: "my-var", Value: "1"},
		{Name: "JAVA_OPTS", Value: long},
		{Name: "FROM_MISSING", ValueFrom: cmKey("missing", "k", false)},
		{Name: "MISSING_KEY", ValueFrom: secretKey("api", "nope", false)},
		{Name: "BAD_FIELD", ValueFrom: fieldRef("metadata.generation")},
		{Name: "HUGE", ValueFrom: resourceRef("", "limits.hugepages-2Mi", "")},
		{Name: "FROM_FILE", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "v", Path: "p", Key: "k"}}},
	}
	c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}}}}
	es := problems(t, pod("bad-env", c), vnode(), cluster(t,
		secret("api", corev1.SecretTypeOpaque, map[string]string{"key": "v"})))
	expectProblems(t, es, []string{
		"MissingReference spec.containers[0].envFrom[0].secretRef: Secret shop/gone does not exist; create it (the pod is retried until it exists), or mark the reference optional",
		`Unsupported spec.containers[0].env[0].name: environment variable name "my-var" is valid in Kubernetes but not on ECI, which accepts 1 to 128 letters, digits and underscores, not starting with a digit; rename it`,
		"TooLarge spec.containers[0].env[1]: the value of JAVA_OPTS is 300 bytes; ECI accepts at most 256: shorten it, or put it in a ConfigMap mounted as a file",
		"MissingReference spec.containers[0].env[2].valueFrom.configMapKeyRef: ConfigMap shop/missing does not exist; create it (the pod is retried until it exists), or mark the reference optional",
		`MissingReference spec.containers[0].env[3].valueFrom.secretKeyRef: key "nope" is not in Secret shop/api; add it, or mark the reference optional`,
		`Unsupported spec.containers[0].env[4].valueFrom.fieldRef: field path "metadata.generation" cannot be resolved; use metadata.name, metadata.namespace, metadata.uid, metadata.labels['<key>'], metadata.annotations['<key>'], spec.nodeName, spec.serviceAccountName or status.podIP`,
		"Unsupported spec.containers[0].env[5].valueFrom.resourceFieldRef: ECI instances have no huge pages",
		"Unsupported spec.containers[0].env[6].valueFrom.fileKeyRef: fileKeyRef is not supported on ECI: the file only exists once an init container writes it, after the instance is created; read the file from the volume in the container's command instead",
	})
	if es.Retryable() {
		t.Error("a pod with permanent problems must not be retried")
	}
}

// A pod that only waits for a missing object is retried, not failed.
func TestMissingReferencesAreRetryable(t *testing.T) {
	c := ctr("app", "img")
	c.Env = []corev1.EnvVar{{Name: "A", ValueFrom: cmKey("later", "a", false)}}
	p := pod("wait", c)
	_, err := translatePod(p, cluster(t))
	if !translate.IsRetryable(err) {
		t.Fatalf("IsRetryable(%v) = false; want true", err)
	}
	_, err = translatePod(p, cluster(t, configMap("later", map[string]string{"a": "1"})))
	if err != nil {
		t.Fatalf("once the ConfigMap exists the pod translates; got %v", err)
	}
}
