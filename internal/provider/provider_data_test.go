package provider

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// testData resolves m (with a null kubernetes block unless m has one) and
// env the way Configure does, and fails on a configuration error.
func testData(t *testing.T, m providerModel, env map[string]string) *providerData {
	t.Helper()
	if m.Kubernetes.IsNull() && m.Kubernetes.AttributeTypes(context.Background()) == nil {
		m.Kubernetes = types.ObjectNull(kubernetesBlock().Type().(types.ObjectType).AttrTypes)
	}
	if m.DefaultTags.ElementType(context.Background()) == nil {
		m.DefaultTags = types.MapNull(types.StringType)
	}
	cfg, diags := resolveConfig(context.Background(), m, envMap(env))
	if diags.HasError() {
		t.Fatalf("configuration refused:\n%s", describeDiags(diags))
	}
	return newProviderData("1.2.3", cfg, envMap(env))
}

func TestTheECIClientIsBuiltOnFirstUseAndKept(t *testing.T) {
	t.Parallel()
	e := emulator.StartForTest(t, emulator.Config{})
	cr := e.Credentials()[0]
	d := testData(t, providerModel{
		Region: str(e.Region()), Endpoint: str("http://" + e.Endpoint()),
		AccessKey: str(cr.AccessKeyID), SecretKey: str(cr.AccessKeySecret),
	}, nil)
	if calls := e.Calls(); len(calls) != 0 {
		t.Fatalf("configuring called the API: %v", calls)
	}
	ctx := context.Background()
	c, diags := d.ECI(ctx)
	if diags.HasError() {
		t.Fatalf("ECI: %s", describeDiags(diags))
	}
	if _, err := c.DescribeRegions(ctx); err != nil {
		t.Fatalf("DescribeRegions through the provider's client: %v", err)
	}
	if again, _ := d.ECI(ctx); again != c {
		t.Error("a second ECI call built another client")
	}
	if got, ok := d.Credentials(); !ok || got.AccessKeyID != cr.AccessKeyID || got.AccessKeySecret != cr.AccessKeySecret {
		t.Errorf("Credentials() = %v, %v", got, ok)
	}
	if r, ok := d.Region(); !ok || r != e.Region() {
		t.Errorf("Region() = %q, %v", r, ok)
	}
}

func TestClientsSayWhatIsMissingAndHowToGiveIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	good := providerModel{Region: str("cn-hangzhou"), AccessKey: str("LTAIkey"), SecretKey: str(testSecret)}
	withKube := func(m providerModel, args map[string]attr.Value) providerModel {
		m.Kubernetes = kubeBlock(t, args)
		return m
	}
	tests := []struct {
		name  string
		m     providerModel
		env   map[string]string
		kube  bool // ask Kube instead of ECI
		words []string
	}{
		{name: "no region", m: providerModel{AccessKey: str("LTAIkey"), SecretKey: str(testSecret)},
			words: []string{"region", "ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION"}},
		{name: "no credentials", m: providerModel{Region: str("cn-hangzhou")},
			words: []string{"access_key", "secret_key", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY", "credentials_secret"}},
		{name: "half a key pair in the environment", m: providerModel{Region: str("cn-hangzhou")},
			env:   map[string]string{"ALICLOUD_SECRET_KEY": testSecret},
			words: []string{"ALICLOUD_SECRET_KEY is set but ALICLOUD_ACCESS_KEY is not"}},
		{name: "an endpoint unknown at Configure", m: providerModel{Region: str("cn-hangzhou"), Endpoint: unknownStr, AccessKey: str("LTAIkey"), SecretKey: str(testSecret)},
			words: []string{"endpoint", "-target"}},
		{name: "no Kubernetes connection", m: good, kube: true,
			words: []string{"config_path", "host", "KUBE_CONFIG_PATH", "KUBE_HOST"}},
		{name: "a Kubernetes host unknown at Configure", m: withKube(good, map[string]attr.Value{"host": unknownStr}), kube: true,
			words: []string{"kubernetes.host", "-target"}},
		{name: "a kubeconfig file that is not there", m: withKube(good, map[string]attr.Value{"config_path": str(filepath.Join(t.TempDir(), "missing"))}), kube: true,
			words: []string{"config_path", "missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testData(t, tt.m, tt.env)
			var err string
			if tt.kube {
				c, diags := d.Kube(ctx)
				if c != nil || !diags.HasError() {
					t.Fatal("Kube built a client")
				}
				_, again := d.KubeConfig(ctx)
				if !again.Equal(diags) {
					t.Error("KubeConfig and Kube disagree")
				}
				err = describeDiags(diags)
			} else {
				c, diags := d.ECI(ctx)
				if c != nil || !diags.HasError() {
					t.Fatal("ECI built a client")
				}
				err = describeDiags(diags)
			}
			for _, w := range tt.words {
				if !strings.Contains(err, w) {
					t.Errorf("the error does not say %q:\n%s", w, err)
				}
			}
			if strings.Contains(err, testSecret) {
				t.Errorf("the error shows the secret:\n%s", err)
			}
		})
	}
}

func TestProviderDataNeverPrintsSecrets(t *testing.T) {
	t.Parallel()
	d := testData(t, providerModel{
		Region: str("cn-hangzhou"), AccessKey: str("LTAIprintme"), SecretKey: str(testSecret), SecurityToken: str(testToken),
	}, nil)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, d); strings.Contains(out, testSecret) || strings.Contains(out, testToken) {
			t.Errorf("%s shows a secret: %s", verb, out)
		}
	}
}

func TestDefaultTagsAreACopy(t *testing.T) {
	t.Parallel()
	d := testData(t, providerModel{DefaultTags: types.MapValueMust(types.StringType, map[string]attr.Value{"team": str("infra")})}, nil)
	tags, known := d.DefaultTags()
	if !known || tags["team"] != "infra" {
		t.Fatalf("DefaultTags() = %v, %v", tags, known)
	}
	tags["team"] = "changed"
	if again, _ := d.DefaultTags(); again["team"] != "infra" {
		t.Error("DefaultTags handed out the provider's own map")
	}
	unknown := testData(t, providerModel{DefaultTags: types.MapUnknown(types.StringType)}, nil)
	if _, known := unknown.DefaultTags(); known {
		t.Error("unknown default_tags reported as known")
	}
}

func TestTheDefaultImageIsTheReleasedOnePinnedByDigest(t *testing.T) {
	t.Parallel()
	d := testData(t, providerModel{}, nil)
	if got, want := d.DefaultImage(), "ghcr.io/eci-vnode/eci-vnode:1.2.3"; got != want {
		t.Errorf("a development build's default image = %s, want %s", got, want)
	}
	const digest = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	p := New("1.2.3", digest)().(*eciProvider)
	d.imageDigest = p.imageDigest
	if got, want := d.DefaultImage(), "ghcr.io/eci-vnode/eci-vnode:1.2.3@"+digest; got != want {
		t.Errorf("a release's default image = %s, want %s", got, want)
	}
}
