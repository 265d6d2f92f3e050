package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

// Values no diagnostic may ever show.
const (
	testSecret = "s3cr3t-never-shown"
	testToken  = "t0ken-never-shown"
)

func envMap(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// wantDiag is an expected error: the path it is on and words its detail holds.
type wantDiag struct {
	path  string
	words []string
}

// checkDiags fails unless diags are exactly the wanted errors, in any order,
// and none of them shows a secret.
func checkDiags(t *testing.T, diags diag.Diagnostics, want []wantDiag, secrets ...string) {
	t.Helper()
	for _, d := range diags {
		for _, s := range append(secrets, testSecret, testToken) {
			if strings.Contains(d.Summary()+d.Detail(), s) {
				t.Errorf("diagnostic %q shows a secret: %s", d.Summary(), d.Detail())
			}
		}
	}
	got := diags.Errors()
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), describeDiags(got))
	}
	for _, w := range want {
		found := false
		for _, d := range got {
			p := ""
			if wp, ok := d.(diag.DiagnosticWithPath); ok {
				p = wp.Path().String()
			}
			if p != w.path {
				continue
			}
			found = true
			for _, word := range w.words {
				if !strings.Contains(d.Detail(), word) {
					t.Errorf("error on %s does not say %q: %s", w.path, word, d.Detail())
				}
			}
		}
		if !found {
			t.Errorf("no error on %q among:\n%s", w.path, describeDiags(got))
		}
	}
}

func describeDiags(diags diag.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		p := ""
		if wp, ok := d.(diag.DiagnosticWithPath); ok {
			p = wp.Path().String()
		}
		b.WriteString("  [" + p + "] " + d.Summary() + ": " + d.Detail() + "\n")
	}
	return b.String()
}

func str(s string) types.String { return types.StringValue(s) }

var unknownStr = types.StringUnknown()

func TestECIArgumentsFallBackToTheEnvironmentAndWinOverIt(t *testing.T) {
	aliyunEnv := map[string]string{
		"ALICLOUD_ACCESS_KEY": "LTAIalicloud", "ALICLOUD_SECRET_KEY": testSecret, "ALICLOUD_SECURITY_TOKEN": testToken,
		"ALICLOUD_REGION": "cn-beijing",
	}
	bothEnv := map[string]string{
		"ALICLOUD_ACCESS_KEY": "LTAIalicloud", "ALICLOUD_SECRET_KEY": testSecret,
		"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIalibaba", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": testSecret,
		"ALICLOUD_REGION": "cn-beijing", "ALIBABA_CLOUD_REGION_ID": "cn-shanghai",
	}
	tests := []struct {
		name        string
		m           providerModel
		env         map[string]string
		region      string
		regionEnv   string
		keyID       string
		token       string
		credsFrom   string
		unknown     []string
		envProblem  string
		errs        []wantDiag
		noRegionSet bool
	}{
		{name: "nothing set is no error yet", m: providerModel{}},
		{name: "the environment fills every unset argument", env: aliyunEnv,
			region: "cn-beijing", regionEnv: "ALICLOUD_REGION", keyID: "LTAIalicloud", token: testToken, credsFrom: "the environment"},
		{name: "ALIBABA_CLOUD names win over ALICLOUD names", env: bothEnv,
			region: "cn-shanghai", regionEnv: "ALIBABA_CLOUD_REGION_ID", keyID: "LTAIalibaba", credsFrom: "the environment"},
		{name: "empty arguments count as unset", env: aliyunEnv,
			m:      providerModel{Region: str(""), AccessKey: str(""), SecretKey: str("")},
			region: "cn-beijing", regionEnv: "ALICLOUD_REGION", keyID: "LTAIalicloud", token: testToken, credsFrom: "the environment"},
		{name: "the provider block wins over the environment, credentials as a whole", env: aliyunEnv,
			m:      providerModel{Region: str("cn-shenzhen"), AccessKey: str("LTAIblock"), SecretKey: str(testSecret)},
			region: "cn-shenzhen", keyID: "LTAIblock", credsFrom: "the provider block"},
		{name: "an STS token from the block", m: providerModel{AccessKey: str("STS.block"), SecretKey: str(testSecret), SecurityToken: str(testToken)},
			keyID: "STS.block", token: testToken, credsFrom: "the provider block"},
		{name: "access_key without secret_key", env: aliyunEnv, m: providerModel{AccessKey: str("LTAIblock")},
			region: "cn-beijing", regionEnv: "ALICLOUD_REGION",
			errs: []wantDiag{{"secret_key", []string{"access_key", "secret_key"}}}},
		{name: "secret_key without access_key", m: providerModel{SecretKey: str(testSecret)},
			errs: []wantDiag{{"access_key", []string{"secret_key", "access_key"}}}},
		{name: "security_token alone", m: providerModel{SecurityToken: str(testToken)},
			errs: []wantDiag{{"access_key", []string{"security_token", "access_key"}}}},
		{name: "a region that is no region ID", m: providerModel{Region: str("Hangzhou 1")},
			errs: []wantDiag{{"region", []string{"region", "cn-hangzhou"}}}},
		{name: "a bad region from the environment names the variable", env: map[string]string{"ALICLOUD_REGION": "CN_HANGZHOU"},
			errs: []wantDiag{{"region", []string{"region (from ALICLOUD_REGION)"}}}},
		{name: "an endpoint with a path", m: providerModel{Endpoint: str("https://eci.example.com/api")},
			errs: []wantDiag{{"endpoint", []string{"endpoint", "no path"}}}},
		{name: "an endpoint with another scheme", m: providerModel{Endpoint: str("ftp://eci.example.com")},
			errs: []wantDiag{{"endpoint", []string{"endpoint", "HTTP"}}}},
		{name: "unknown arguments stay unknown and the environment does not stand in", env: aliyunEnv,
			m:       providerModel{Region: unknownStr, Endpoint: unknownStr, AccessKey: unknownStr, SecretKey: str(testSecret)},
			unknown: []string{"region", "endpoint", "access_key"}},
		{name: "half a pair in the environment is reported at first use",
			env:        map[string]string{"ALICLOUD_ACCESS_KEY": "LTAIhalf"},
			envProblem: "ALICLOUD_ACCESS_KEY is set but ALICLOUD_SECRET_KEY is not"},
		{name: "half a pair next to a whole one is fine",
			env:   map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIhalf", "ALICLOUD_ACCESS_KEY": "LTAIwhole", "ALICLOUD_SECRET_KEY": testSecret},
			keyID: "LTAIwhole", credsFrom: "the environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, diags := resolveECI(tt.m, envMap(tt.env))
			checkDiags(t, diags, tt.errs)
			if diags.HasError() {
				return
			}
			if s.region.value != tt.region || s.region.env != tt.regionEnv {
				t.Errorf("region %q from %q, want %q from %q", s.region.value, s.region.env, tt.region, tt.regionEnv)
			}
			switch {
			case tt.keyID == "" && s.creds != nil:
				t.Errorf("credentials %v, want none", s.creds)
			case tt.keyID != "" && s.creds == nil:
				t.Errorf("no credentials, want %s", tt.keyID)
			case tt.keyID != "":
				if s.creds.AccessKeyID != tt.keyID || s.creds.AccessKeySecret != testSecret || s.creds.SecurityToken != tt.token {
					t.Errorf("credentials %v (token set: %v), want key %s (token set: %v)", s.creds, s.creds.SecurityToken != "", tt.keyID, tt.token != "")
				}
			}
			if s.credsFrom != tt.credsFrom {
				t.Errorf("credentials from %q, want %q", s.credsFrom, tt.credsFrom)
			}
			if !slices.Equal(s.unknown, tt.unknown) {
				t.Errorf("unknown %v, want %v", s.unknown, tt.unknown)
			}
			if s.envProblem != tt.envProblem {
				t.Errorf("environment problem %q, want %q", s.envProblem, tt.envProblem)
			}
		})
	}
}

// testPKI is a CA-less self-signed certificate and its key, and a second key.
type testPKI struct {
	certPEM, keyPEM, otherKeyPEM string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := func(k *ecdsa.PrivateKey) string {
		b, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: b}))
	}
	return testPKI{
		certPEM:     string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:      keyPEM(key),
		otherKeyPEM: keyPEM(other),
	}
}

// kubeBlock is a kubernetes block with the given arguments; the rest are null.
func kubeBlock(t *testing.T, args map[string]attr.Value) types.Object {
	t.Helper()
	typ := kubernetesBlock().Type().(types.ObjectType)
	vals := map[string]attr.Value{}
	for name, at := range typ.AttrTypes {
		if v, ok := args[name]; ok {
			vals[name] = v
			continue
		}
		switch at := at.(type) {
		case types.ObjectType:
			vals[name] = types.ObjectNull(at.AttrTypes)
		case basetypes.BoolType:
			vals[name] = types.BoolNull()
		default:
			vals[name] = types.StringNull()
		}
	}
	obj, diags := types.ObjectValue(typ.AttrTypes, vals)
	if diags.HasError() {
		t.Fatalf("kubernetes block: %v", diags)
	}
	return obj
}

func execBlock(t *testing.T, apiVersion, command string) types.Object {
	t.Helper()
	obj, diags := types.ObjectValue(execAttrTypes, map[string]attr.Value{
		"api_version": str(apiVersion),
		"command":     str(command),
		"args":        types.ListValueMust(types.StringType, []attr.Value{str("token"), str("--cluster"), str("c1")}),
		"env":         types.MapValueMust(types.StringType, map[string]attr.Value{"B": str("2"), "A": str("1")}),
	})
	if diags.HasError() {
		t.Fatalf("exec block: %v", diags)
	}
	return obj
}

func TestKubernetesConnectionComesFromOnePlace(t *testing.T) {
	pki := newTestPKI(t)
	none := types.ObjectNull(kubernetesBlock().Type().(types.ObjectType).AttrTypes)
	tests := []struct {
		name    string
		block   map[string]attr.Value // nil: no kubernetes block
		obj     *types.Object         // instead of block
		env     map[string]string
		mode    kubeMode
		host    string
		path    string
		context string
		unknown []string
		errs    []wantDiag
		check   func(t *testing.T, s kubeSettings)
	}{
		{name: "nothing configured", mode: kubeNone},
		{name: "a kubeconfig file from the environment",
			env:  map[string]string{"KUBE_CONFIG_PATH": "/etc/kube/config", "KUBE_CTX": "prod"},
			mode: kubeKubeconfig, path: "/etc/kube/config", context: "prod"},
		{name: "a host and credentials from the environment",
			env:  map[string]string{"KUBE_HOST": "https://10.0.0.1:6443", "KUBE_TOKEN": testToken, "KUBE_CLUSTER_CA_CERT_DATA": pki.certPEM, "KUBE_TLS_SERVER_NAME": "kubernetes"},
			mode: kubeDirect, host: "https://10.0.0.1:6443",
			check: func(t *testing.T, s kubeSettings) {
				if s.token.value != testToken || s.ca.value != strings.TrimSpace(pki.certPEM) || s.tlsServerName.value != "kubernetes" {
					t.Error("token, CA or TLS server name not taken from KUBE_*")
				}
			}},
		{name: "KUBE_INSECURE", env: map[string]string{"KUBE_HOST": "10.0.0.1:6443", "KUBE_INSECURE": "true"},
			mode: kubeDirect, host: "10.0.0.1:6443",
			check: func(t *testing.T, s kubeSettings) {
				if !s.insecure {
					t.Error("KUBE_INSECURE=true ignored")
				}
			}},
		{name: "KUBE_INSECURE that is no boolean", env: map[string]string{"KUBE_HOST": "10.0.0.1:6443", "KUBE_INSECURE": "maybe"},
			errs: []wantDiag{{"kubernetes.insecure", []string{"KUBE_INSECURE", "maybe"}}}},
		{name: "both KUBE_CONFIG_PATH and KUBE_HOST", env: map[string]string{"KUBE_CONFIG_PATH": "/k", "KUBE_HOST": "https://h"},
			errs: []wantDiag{{"kubernetes", []string{"KUBE_CONFIG_PATH", "KUBE_HOST"}}}},
		{name: "config_path in the block wins over the environment's host",
			block: map[string]attr.Value{"config_path": str("~/.kube/config")},
			env:   map[string]string{"KUBE_HOST": "https://h", "KUBE_TOKEN": testToken},
			mode:  kubeKubeconfig, path: "~/.kube/config",
			check: func(t *testing.T, s kubeSettings) {
				if s.token.value != "" {
					t.Error("KUBE_TOKEN kept for a kubeconfig connection")
				}
			}},
		{name: "host in the block wins over the environment's kubeconfig",
			block: map[string]attr.Value{"host": str("https://10.0.0.2")},
			env:   map[string]string{"KUBE_CONFIG_PATH": "/k", "KUBE_CTX": "c"},
			mode:  kubeDirect, host: "https://10.0.0.2"},
		{name: "the block's value wins over its variable",
			block: map[string]attr.Value{"host": str("https://10.0.0.2")},
			env:   map[string]string{"KUBE_HOST": "https://10.0.0.3"},
			mode:  kubeDirect, host: "https://10.0.0.2"},
		{name: "config_path and host", block: map[string]attr.Value{"config_path": str("/k"), "host": str("https://h")},
			errs: []wantDiag{{"kubernetes.host", []string{"config_path", "host"}}}},
		{name: "config_path and a token", block: map[string]attr.Value{"config_path": str("/k"), "token": str(testToken)},
			errs: []wantDiag{{"kubernetes.token", []string{"token", "config_path"}}}},
		{name: "config_path and exec", block: map[string]attr.Value{"config_path": str("/k"), "exec": execBlock(t, "client.authentication.k8s.io/v1", "aliyun")},
			errs: []wantDiag{{"kubernetes.exec", []string{"exec", "config_path"}}}},
		{name: "client_certificate without client_key", block: map[string]attr.Value{"host": str("https://h"), "client_certificate": str(pki.certPEM)},
			errs: []wantDiag{{"kubernetes.client_key", []string{"client_certificate", "client_key"}}}},
		{name: "client_key without client_certificate", block: map[string]attr.Value{"host": str("https://h"), "client_key": str(pki.keyPEM)},
			errs: []wantDiag{{"kubernetes.client_certificate", []string{"client_key", "client_certificate"}}}},
		{name: "a client key of another certificate", block: map[string]attr.Value{"host": str("https://h"), "client_certificate": str(pki.certPEM), "client_key": str(pki.otherKeyPEM)},
			errs: []wantDiag{{"kubernetes.client_certificate", []string{"client_certificate", "client_key"}}}},
		{name: "a client certificate and its key", block: map[string]attr.Value{"host": str("https://h"), "client_certificate": str(pki.certPEM), "client_key": str(pki.keyPEM), "cluster_ca_certificate": str(pki.certPEM)},
			mode: kubeDirect, host: "https://h"},
		{name: "insecure with a CA", block: map[string]attr.Value{"host": str("https://h"), "insecure": types.BoolValue(true), "cluster_ca_certificate": str(pki.certPEM)},
			errs: []wantDiag{{"kubernetes.insecure", []string{"insecure", "cluster_ca_certificate"}}}},
		{name: "a CA that is no PEM", block: map[string]attr.Value{"host": str("https://h"), "cluster_ca_certificate": str("not a certificate")},
			errs: []wantDiag{{"kubernetes.cluster_ca_certificate", []string{"cluster_ca_certificate", "PEM"}}}},
		{name: "a base64-encoded CA", block: map[string]attr.Value{"host": str("https://h"), "cluster_ca_certificate": str(base64.StdEncoding.EncodeToString([]byte(pki.certPEM)))},
			errs: []wantDiag{{"kubernetes.cluster_ca_certificate", []string{"base64decode()"}}}},
		{name: "a host with another scheme", block: map[string]attr.Value{"host": str("ftp://h")},
			errs: []wantDiag{{"kubernetes.host", []string{"host", "https"}}}},
		{name: "a bad host from the environment names the variable", env: map[string]string{"KUBE_HOST": "https://h/x y"},
			errs: []wantDiag{{"kubernetes.host", []string{"host (from KUBE_HOST)"}}}},
		{name: "a token without a host", block: map[string]attr.Value{"token": str(testToken)},
			errs: []wantDiag{{"kubernetes.token", []string{"token", "host"}}}},
		{name: "config_context without config_path", block: map[string]attr.Value{"config_context": str("c")},
			errs: []wantDiag{{"kubernetes.config_context", []string{"config_context", "config_path"}}}},
		{name: "config_context with host", block: map[string]attr.Value{"config_context": str("c"), "host": str("https://h")},
			errs: []wantDiag{{"kubernetes.config_context", []string{"config_context", "host"}}}},
		{name: "exec with a host", block: map[string]attr.Value{"host": str("https://h"), "exec": execBlock(t, "client.authentication.k8s.io/v1beta1", "aliyun")},
			mode: kubeDirect, host: "https://h",
			check: func(t *testing.T, s kubeSettings) {
				e := s.exec
				if e == nil || e.Command != "aliyun" || !slices.Equal(e.Args, []string{"token", "--cluster", "c1"}) ||
					len(e.Env) != 2 || e.Env[0].Name != "A" || e.Env[1].Value != "2" {
					t.Errorf("exec config %+v", e)
				}
			}},
		{name: "exec of a retired API version", block: map[string]attr.Value{"host": str("https://h"), "exec": execBlock(t, "client.authentication.k8s.io/v1alpha1", "aliyun")},
			errs: []wantDiag{{"kubernetes.exec.api_version", []string{"v1alpha1", "client.authentication.k8s.io/v1"}}}},
		{name: "exec and a token", block: map[string]attr.Value{"host": str("https://h"), "token": str(testToken), "exec": execBlock(t, "client.authentication.k8s.io/v1", "aliyun")},
			errs: []wantDiag{{"kubernetes.exec", []string{"exec", "token"}}}},
		{name: "an unknown argument defers every check", block: map[string]attr.Value{"host": unknownStr, "config_path": str("/k"), "token": str(testToken)},
			env: map[string]string{"KUBE_HOST": "https://h"}, unknown: []string{"kubernetes.host"}},
		{name: "an unknown block", obj: ptr(types.ObjectUnknown(kubernetesBlock().Type().(types.ObjectType).AttrTypes)),
			unknown: []string{"kubernetes"}},
		{name: "an empty block is none", block: map[string]attr.Value{}, mode: kubeNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := none
			switch {
			case tt.obj != nil:
				obj = *tt.obj
			case tt.block != nil:
				obj = kubeBlock(t, tt.block)
			}
			s, diags := resolveKube(context.Background(), obj, envMap(tt.env))
			checkDiags(t, diags, tt.errs, pki.keyPEM, pki.otherKeyPEM)
			if diags.HasError() {
				return
			}
			if s.mode != tt.mode || s.host.value != tt.host || s.configPath.value != tt.path || s.context.value != tt.context {
				t.Errorf("mode %s host %q path %q context %q, want %s %q %q %q",
					s.mode, s.host.value, s.configPath.value, s.context.value, tt.mode, tt.host, tt.path, tt.context)
			}
			if !slices.Equal(s.unknown, tt.unknown) {
				t.Errorf("unknown %v, want %v", s.unknown, tt.unknown)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestDefaultTagsFollowECIRules(t *testing.T) {
	tags := func(kv map[string]attr.Value) types.Map { return types.MapValueMust(types.StringType, kv) }
	many := map[string]attr.Value{}
	for i := range 16 {
		many["k"+strings.Repeat("x", i)] = str("v")
	}
	tests := []struct {
		name  string
		m     types.Map
		want  map[string]string
		known bool
		errs  []wantDiag
	}{
		{name: "none", m: types.MapNull(types.StringType), want: map[string]string{}, known: true},
		{name: "valid", m: tags(map[string]attr.Value{"team": str("infra"), "cost-center": str("42")}),
			want: map[string]string{"team": "infra", "cost-center": "42"}, known: true},
		{name: "unknown map", m: types.MapUnknown(types.StringType)},
		{name: "an unknown value", m: tags(map[string]attr.Value{"team": str("infra"), "owner": unknownStr}),
			want: map[string]string{"team": "infra"}},
		{name: "the runtime's prefix", m: tags(map[string]attr.Value{"eci-vnode/node": str("x")}),
			errs: []wantDiag{{`default_tags["eci-vnode/node"]`, []string{"eci-vnode/", "reserves"}}}},
		{name: "ECI's reserved prefixes", m: tags(map[string]attr.Value{"aliyun-x": str("x"), "acs:y": str("y")}),
			errs: []wantDiag{{`default_tags["aliyun-x"]`, []string{"aliyun"}}, {`default_tags["acs:y"]`, []string{"acs:"}}}},
		{name: "a key too long", m: tags(map[string]attr.Value{strings.Repeat("k", 65): str("x")}),
			errs: []wantDiag{{`default_tags["` + strings.Repeat("k", 65) + `"]`, []string{"65", "64"}}}},
		{name: "a value too long", m: tags(map[string]attr.Value{"k": str(strings.Repeat("v", 129))}),
			errs: []wantDiag{{`default_tags["k"]`, []string{"129", "128"}}}},
		{name: "too many", m: tags(many), errs: []wantDiag{{"default_tags", []string{"16", "15"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, known, diags := resolveTags(tt.m)
			checkDiags(t, diags, tt.errs)
			if diags.HasError() {
				return
			}
			if known != tt.known || len(got) != len(tt.want) {
				t.Fatalf("tags %v known %v, want %v known %v", got, known, tt.want, tt.known)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("tag %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
