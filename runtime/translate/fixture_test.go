package translate_test

import (
	"context"
	"encoding/base64"
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	fakecorev1 "k8s.io/client-go/kubernetes/typed/core/v1/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// tokenIssued is the fixed "now" of the fake TokenRequest API.
var tokenIssued = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// cluster builds the Resolver the runtime uses (translate.Listers) over
// in-memory indexers holding objs, with a TokenRequest API that issues
// "token:<namespace>/<sa>:<audiences>:<seconds>" for the ServiceAccounts
// among objs and answers NotFound for others.
func cluster(t testing.TB, objs ...runtime.Object) translate.Listers {
	t.Helper()
	newIndexer := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	cms, secrets, pvcs, pvs, svcs := newIndexer(), newIndexer(), newIndexer(), newIndexer(), newIndexer()
	accounts := map[string]bool{}
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.ConfigMap:
			err = cms.Add(o)
		case *corev1.Secret:
			err = secrets.Add(o)
		case *corev1.PersistentVolumeClaim:
			err = pvcs.Add(o)
		case *corev1.PersistentVolume:
			err = pvs.Add(o)
		case *corev1.Service:
			err = svcs.Add(o)
		case *corev1.ServiceAccount:
			accounts[o.Namespace+"/"+o.Name] = true
		default:
			t.Fatalf("cluster: unexpected object %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	fake := &k8stesting.Fake{}
	fake.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca := a.(k8stesting.CreateActionImpl)
		if ca.GetSubresource() != "token" {
			return false, nil, nil
		}
		if !accounts[ca.GetNamespace()+"/"+ca.Name] {
			return true, nil, apierrors.NewNotFound(corev1.Resource("serviceaccounts"), ca.Name)
		}
		req := ca.GetObject().(*authenticationv1.TokenRequest)
		// The kube-proxy's token is the one not bound to a pod: the API
		// server binds tokens only to pods running as the same account.
		if ca.Name != kubeProxySA && (req.Spec.BoundObjectRef == nil || req.Spec.BoundObjectRef.Kind != "Pod") {
			t.Errorf("token request for %s is not bound to a pod: %+v", ca.Name, req.Spec.BoundObjectRef)
		}
		exp := *req.Spec.ExpirationSeconds
		out := req.DeepCopy()
		out.CreationTimestamp = metav1.NewTime(tokenIssued) // as the API server stamps it
		out.Status.Token = "token:" + ca.GetNamespace() + "/" + ca.Name + ":" + strings.Join(req.Spec.Audiences, ",") + ":" + itoa(exp)
		out.Status.ExpirationTimestamp = metav1.NewTime(tokenIssued.Add(time.Duration(exp) * time.Second))
		return true, out, nil
	})
	return translate.Listers{
		ConfigMapLister:             corev1listers.NewConfigMapLister(cms),
		SecretLister:                corev1listers.NewSecretLister(secrets),
		PersistentVolumeClaimLister: corev1listers.NewPersistentVolumeClaimLister(pvcs),
		PersistentVolumeLister:      corev1listers.NewPersistentVolumeLister(pvs),
		ServiceLister:               corev1listers.NewServiceLister(svcs),
		TokenClient:                 &fakecorev1.FakeCoreV1{Fake: fake},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// vnode is the VNode most tests use.
func vnode() translate.VNode {
	return translate.VNode{
		ClusterName:     "prod",
		NodeName:        "cn-hangzhou.vnd-abc",
		Region:          "cn-hangzhou",
		ZoneIDs:         []string{"cn-hangzhou-h"},
		VSwitchIDs:      []string{"vsw-h1"},
		SecurityGroupID: "sg-vnode",
		ClusterDNS:      []string{"10.96.0.10"},
		ClusterDomain:   "cluster.local",
		Tags:            map[string]string{"team": "platform"},
	}
}

// --- pod builders -------------------------------------------------------

func pod(name string, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: "6f1c-uid-" + "0001"},
		Spec: corev1.PodSpec{
			Containers:         containers,
			RestartPolicy:      corev1.RestartPolicyAlways,
			DNSPolicy:          corev1.DNSClusterFirst,
			ServiceAccountName: "default",
			NodeName:           "cn-hangzhou.vnd-abc",
		},
	}
}

func ctr(name, image string) corev1.Container {
	return corev1.Container{
		Name: name, Image: image,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
}

func res(cpuReq, memReq, cpuLim, memLim string) corev1.ResourceRequirements {
	rr := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	set := func(l corev1.ResourceList, n corev1.ResourceName, v string) {
		if v != "" {
			l[n] = resource.MustParse(v)
		}
	}
	set(rr.Requests, corev1.ResourceCPU, cpuReq)
	set(rr.Requests, corev1.ResourceMemory, memReq)
	set(rr.Limits, corev1.ResourceCPU, cpuLim)
	set(rr.Limits, corev1.ResourceMemory, memLim)
	return rr
}

func configMap(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Data: data}
}

func secret(name string, typ corev1.SecretType, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Type: typ, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func service(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: ports}}
}

func serviceAccount(name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}}
}

func port(n int) intstr.IntOrString         { return intstr.FromInt32(int32(n)) }
func namedPort(n string) intstr.IntOrString { return intstr.FromString(n) }
func ptr[T any](v T) *T                     { return &v }

// --- running and checking ----------------------------------------------

// run translates p, failing the test on error.
func run(t *testing.T, p *corev1.Pod, node translate.VNode, r translate.Resolver) *translate.Result {
	t.Helper()
	out, err := translate.Pod(context.Background(), p, node, r)
	if err != nil {
		t.Fatalf("translate.Pod: unexpected error:\n%v", err)
	}
	if err := out.Request.Validate(); err != nil {
		t.Fatalf("the request does not pass the client's validation: %v", err)
	}
	return out
}

// wire returns the request as the query parameters the client sends.
func wire(t *testing.T, r *eci.CreateContainerGroupRequest) map[string]string {
	t.Helper()
	p, err := r.WireParams()
	if err != nil {
		t.Fatalf("WireParams: %v", err)
	}
	return p
}

// expectWire checks that the request is sent with these parameters; a value
// of "<absent>" means the parameter must not be sent.
func expectWire(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := got[k]
		switch {
		case want[k] == absent && ok:
			t.Errorf("%s is sent (%q) but must not be", k, v)
		case want[k] != absent && !ok:
			t.Errorf("%s is not sent; want %q", k, want[k])
		case want[k] != absent && v != want[k]:
			t.Errorf("%s = %q; want %q", k, v, want[k])
		}
	}
	if t.Failed() {
		t.Logf("all parameters:\n%s", dumpWire(got))
	}
}

const absent = "<absent>"

func dumpWire(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := p[k]
		if len(v) > 80 {
			v = v[:80] + "..."
		}
		b.WriteString("  " + k + "=" + v + "\n")
	}
	return b.String()
}

// problems translates p and returns its problems as "field: message"
// lines with their reasons, failing the test if it translated.
func problems(t *testing.T, p *corev1.Pod, node translate.VNode, r translate.Resolver) translate.Errors {
	t.Helper()
	out, err := translate.Pod(context.Background(), p, node, r)
	if err == nil {
		t.Fatalf("translate.Pod succeeded; want problems. Request parameters:\n%s", dumpWire(wire(t, out.Request)))
	}
	es := translate.Problems(err)
	if es == nil {
		t.Fatalf("error is not translate.Errors: %v", err)
	}
	return es
}

// warnings renders warnings as "field: message" for comparison.
func warnings(ws []translate.Warning) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	return out
}

func hasWarning(ws []translate.Warning, field string, reason translate.WarningReason, substr string) bool {
	for _, w := range ws {
		if w.Field == field && w.Reason == reason && strings.Contains(w.Message, substr) {
			return true
		}
	}
	return false
}

func translatePod(p *corev1.Pod, r translate.Resolver) (*translate.Result, error) {
	return translate.Pod(context.Background(), p, vnode(), r)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
