package sandbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// TestVNodeKubeletAPIThroughTheAPIServerProxy reads a VNode's kubelet API the way
// `kubectl get --raw /api/v1/nodes/<node>/proxy/...` and metrics-server's peers do: through
// kube-apiserver's node proxy, which refuses loopback addresses, so the sandbox gives its
// pods routed addresses (Options.ProxyablePodIPs). It also calls the runtime's port
// directly, as metrics-server does, with no credentials, with a token that has no rights and
// with one that has.
func TestVNodeKubeletAPIThroughTheAPIServerProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox control plane")
	}
	ctx := context.Background()
	vs := startVNodeSandbox(t, func(o *Options) { o.ProxyablePodIPs = true })
	sb, eciC := vs.Sandbox, vs.ECI
	if err := sb.ProxyablePodIPs(); err != nil {
		t.Skipf("the node proxy cannot reach the VNode here: %v", err)
	}
	c := sb.Client()
	vn := vs.VNode
	addr := kubeletAddress(t, c, vn.Name)
	if ip := net.ParseIP(addr.ip); ip == nil || ip.IsLoopback() {
		t.Fatalf("the VNode's InternalIP %q is not a routed address", addr.ip)
	}

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "measured", Namespace: "default"}, Spec: onVNode(corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("2Gi")}}}},
	})}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var instance string
	waitFor(t, 2*time.Minute, "the pod running on ECI", func() (bool, string) {
		p, err := c.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		pod, instance = p, p.Annotations["k8s.aliyun.com/eci-instance-id"]
		return p.Status.Phase == corev1.PodRunning && instance != "", fmt.Sprintf("phase %s, instance %q", p.Status.Phase, instance)
	})
	info := eciC.Info()
	eciClient, err := eci.New(eci.Config{Region: info.Region, Endpoint: info.Endpoint, Scheme: "HTTP",
		Credentials: &eci.Credentials{AccessKeyID: info.AccessKeyID, AccessKeySecret: info.AccessKeySecret}})
	if err != nil {
		t.Fatal(err)
	}
	// sampleAt is ECI's record of the instance at a sample time the runtime reported.
	sampleAt := func(t *testing.T, at time.Time) eci.MetricRecord {
		t.Helper()
		ts := at.UTC().Format(time.RFC3339)
		out, err := eciClient.DescribeContainerGroupMetric(ctx, &eci.DescribeContainerGroupMetricRequest{
			ContainerGroupID: instance, StartTime: ts, EndTime: ts, Period: "15"})
		if err != nil || len(out.Records) != 1 {
			t.Fatalf("ECI's sample of %s at %s: %+v, %v", instance, ts, out, err)
		}
		return out.Records[0]
	}
	nodeProxy := func(path string) *rest.Request {
		return c.CoreV1().RESTClient().Get().Resource("nodes").Name(vn.Name).SubResource("proxy").Suffix(path)
	}

	t.Run("stats/summary through the node proxy shows the pod with ECI's figures", func(t *testing.T) {
		var summary statsv1alpha1.Summary
		var ps *statsv1alpha1.PodStats
		// ECI has the first sample of an instance within 15 s of its start; the runtime
		// caches an answer for 10 s.
		waitFor(t, time.Minute, "the pod in the summary", func() (bool, string) {
			raw, err := nodeProxy("stats/summary").DoRaw(ctx)
			if err != nil {
				return false, err.Error()
			}
			summary = statsv1alpha1.Summary{}
			if err := json.Unmarshal(raw, &summary); err != nil {
				return false, fmt.Sprintf("decode %q: %v", raw, err)
			}
			for i := range summary.Pods {
				if summary.Pods[i].PodRef.UID == string(pod.UID) {
					ps = &summary.Pods[i]
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d pods in the summary", len(summary.Pods))
		})
		if summary.Node.NodeName != vn.Name {
			t.Errorf("summary of node %q, want %q", summary.Node.NodeName, vn.Name)
		}
		if ps.CPU == nil || ps.CPU.UsageNanoCores == nil || ps.Memory == nil || ps.Memory.WorkingSetBytes == nil || len(ps.Containers) != 1 {
			t.Fatalf("pod stats without CPU, memory or its container: %+v", ps)
		}
		rec := sampleAt(t, ps.CPU.Time.Time)
		if *ps.CPU.UsageNanoCores != uint64(rec.CPU.UsageNanoCores) || *ps.Memory.WorkingSetBytes != uint64(rec.Memory.WorkingSet) {
			t.Errorf("pod CPU %d nanocores, working set %d bytes; ECI's sample at %s: %d, %d", *ps.CPU.UsageNanoCores,
				*ps.Memory.WorkingSetBytes, ps.CPU.Time.UTC().Format(time.RFC3339), rec.CPU.UsageNanoCores, rec.Memory.WorkingSet)
		}
		if ctr := ps.Containers[0]; ctr.Name != "app" || ctr.CPU == nil || ctr.CPU.UsageNanoCores == nil || *ctr.CPU.UsageNanoCores == 0 {
			t.Errorf("container stats %+v", ctr)
		}
	})

	t.Run("metrics/resource through the node proxy carries the pod", func(t *testing.T) {
		raw, err := nodeProxy("metrics/resource").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("parse %q: %v", raw, err)
		}
		var found bool
		for _, m := range fams["pod_memory_working_set_bytes"].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] != "default" || labels["pod"] != pod.Name {
				continue
			}
			found = true
			if m.TimestampMs == nil {
				t.Fatalf("pod_memory_working_set_bytes has no sample time")
			}
			rec := sampleAt(t, time.UnixMilli(m.GetTimestampMs()))
			if got := m.GetGauge().GetValue(); got != float64(rec.Memory.WorkingSet) {
				t.Errorf("pod_memory_working_set_bytes %v, ECI's sample %d", got, rec.Memory.WorkingSet)
			}
		}
		if !found {
			t.Errorf("no pod_memory_working_set_bytes for default/%s in\n%s", pod.Name, raw)
		}
		if fams["container_cpu_usage_seconds_total"] == nil || fams["node_cpu_usage_seconds_total"] == nil {
			t.Errorf("missing the kubelet's CPU families in\n%s", raw)
		}
	})

	t.Run("pods and runningpods through the node proxy list the VNode's pods", func(t *testing.T) {
		for _, path := range []string{"pods", "runningpods/"} {
			var list corev1.PodList
			if err := nodeProxy(path).Do(ctx).Into(&list); err != nil {
				t.Fatalf("/%s: %v", path, err)
			}
			var names []string
			var found bool
			for _, p := range list.Items {
				names = append(names, p.Namespace+"/"+p.Name)
				found = found || p.UID == pod.UID
			}
			if !found {
				t.Errorf("/%s lists %v, not default/%s", path, names, pod.Name)
			}
		}
	})

	t.Run("callers without rights are refused, directly and through the API server", func(t *testing.T) {
		// Two ServiceAccounts: one with no rights at all, one allowed the kubelet's stats
		// (nodes/stats), so the refusal below is the authorization's, not a broken path.
		for _, name := range []string{"no-rights", "stats-reader"} {
			if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}},
				metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
		if _, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "test-node-stats"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes/stats"}, Verbs: []string{"get"}}}},
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "test-node-stats"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "test-node-stats"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "default", Name: "stats-reader"}}},
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		token := func(sa string) string {
			tr, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return tr.Status.Token
		}
		noRights, statsReader := token("no-rights"), token("stats-reader")

		// Straight to the runtime's port, as metrics-server scrapes; the serving certificate
		// must be valid for the Node's address under the cluster CA.
		for _, tc := range []struct {
			who, token, path string
			want             int
		}{
			{"no credentials", "", "/stats/summary", http.StatusUnauthorized},
			{"no credentials", "", "/pods", http.StatusUnauthorized},
			{"a ServiceAccount with no rights", noRights, "/stats/summary", http.StatusForbidden},
			{"a ServiceAccount with no rights", noRights, "/pods", http.StatusForbidden},
			{"a ServiceAccount with no rights", noRights, "/metrics/resource", http.StatusForbidden},
			{"a ServiceAccount allowed nodes/stats", statsReader, "/pods", http.StatusForbidden}, // nodes/proxy
			{"a ServiceAccount allowed nodes/stats", statsReader, "/stats/summary", http.StatusOK},
		} {
			if got := addr.get(t, sb.RESTConfig().CAData, tc.token, tc.path); got != tc.want {
				t.Errorf("%s, GET %s on the kubelet port: %d, want %d", tc.who, tc.path, got, tc.want)
			}
		}

		// Through the API server, which checks nodes/proxy before it proxies; anonymous
		// callers are system:anonymous there (--anonymous-auth=true, as kubeadm sets it).
		cfg := sb.RESTConfig()
		for _, tc := range []struct {
			who   string
			token string
		}{{"no credentials", ""}, {"a ServiceAccount with no rights", noRights}, {"a ServiceAccount allowed nodes/stats", statsReader}} {
			anon := rest.AnonymousClientConfig(cfg)
			anon.BearerToken = tc.token
			cs, err := kubernetes.NewForConfig(anon)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cs.CoreV1().RESTClient().Get().Resource("nodes").Name(vn.Name).SubResource("proxy").Suffix("stats/summary").DoRaw(ctx)
			if !apierrors.IsForbidden(err) && !apierrors.IsUnauthorized(err) {
				t.Errorf("%s through the node proxy: %v, want 401 or 403", tc.who, err)
			}
		}
	})
}

// kubeletEndpoint is a Node's kubelet API: its InternalIP and advertised port.
type kubeletEndpoint struct {
	ip   string
	port int32
}

func kubeletAddress(t *testing.T, c kubernetes.Interface, node string) kubeletEndpoint {
	t.Helper()
	n, err := c.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var e kubeletEndpoint
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			e.ip = a.Address
		}
	}
	e.port = n.Status.DaemonEndpoints.KubeletEndpoint.Port
	if e.ip == "" || e.port == 0 {
		t.Fatalf("node %s advertises no kubelet API: addresses %v, port %d", node, n.Status.Addresses, e.port)
	}
	return e
}

// get calls the kubelet API directly with an optional bearer token and returns the status,
// verifying the serving certificate against caPEM for the endpoint's IP.
func (e kubeletEndpoint) get(t *testing.T, caPEM []byte, token, path string) int {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate in the sandbox's admin config")
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: e.ip, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, "https://"+net.JoinHostPort(e.ip, strconv.Itoa(int(e.port)))+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", req.URL, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
