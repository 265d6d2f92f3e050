package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// clusterProfile serialises the tests that write the sandbox's one
// kube-system/eci-profile: some delete it or break it on purpose, which
// would fail any other test writing it at the same time. Every test that
// applies eci_profile_selector against the shared sandbox holds it.
var clusterProfile sync.Mutex

// lockClusterProfile holds clusterProfile until t and its cleanups are
// done; call it before registering cleanups that write the ConfigMap.
func lockClusterProfile(t *testing.T) {
	clusterProfile.Lock()
	t.Cleanup(clusterProfile.Unlock)
}

// testAccProfileProvider is a provider block that reaches only the shared
// sandbox's cluster: eci_profile_selector needs no ECI API.
func testAccProfileProvider(sb *sandbox.Sandbox) string {
	return fmt.Sprintf(`
provider "eci" {
  kubernetes {
    config_path = %q
  }
}
`, sb.Kubeconfig())
}

// editProfileText changes the eci-profile's data as a person with kubectl
// edit would: on the raw text, without internal/profile. It creates the
// ConfigMap when missing.
func editProfileText(t *testing.T, kc kubernetes.Interface, edit func(data map[string]string)) {
	t.Helper()
	ctx := context.Background()
	cms := kc.CoreV1().ConfigMaps(profile.ConfigMapNamespace)
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cm, err := cms.Get(ctx, profile.ConfigMapName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			data := map[string]string{}
			edit(data)
			_, err = cms.Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: profile.ConfigMapName, Namespace: profile.ConfigMapNamespace},
				Data:       data,
			}, metav1.CreateOptions{FieldManager: "kubectl-edit"})
			return err
		}
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		edit(cm.Data)
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
		return err
	})
	if err != nil {
		t.Fatalf("edit %s by hand: %v", profileRef, err)
	}
}

// selectorItems splits the selectors text into its JSON entries.
func selectorItems(t *testing.T, doc string) []json.RawMessage {
	t.Helper()
	if strings.TrimSpace(doc) == "" {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(doc), &items); err != nil {
		t.Fatalf("selectors of %s: %v", profileRef, err)
	}
	return items
}

// putForeignSelector adds (or replaces) a selector written by someone else,
// given as its JSON, and a setting key, by hand.
func putForeignSelector(t *testing.T, kc kubernetes.Interface, name, entry, key, value string) {
	t.Helper()
	editProfileText(t, kc, func(data map[string]string) {
		var keep []json.RawMessage
		for _, it := range selectorItems(t, data[profile.SelectorsKey]) {
			var head struct{ Name string }
			_ = json.Unmarshal(it, &head)
			if head.Name != name {
				keep = append(keep, it)
			}
		}
		keep = append(keep, json.RawMessage(entry))
		b, err := json.Marshal(keep)
		if err != nil {
			t.Fatal(err)
		}
		data[profile.SelectorsKey] = string(b)
		data[key] = value
	})
}

// removeSelectorByHand deletes one entry from the selectors text.
func removeSelectorByHand(t *testing.T, kc kubernetes.Interface, name string) {
	t.Helper()
	editProfileText(t, kc, func(data map[string]string) {
		var keep []json.RawMessage
		found := false
		for _, it := range selectorItems(t, data[profile.SelectorsKey]) {
			var head struct{ Name string }
			_ = json.Unmarshal(it, &head)
			if head.Name == name {
				found = true
				continue
			}
			keep = append(keep, it)
		}
		if !found {
			t.Fatalf("selector %s is not in %s", name, profileRef)
		}
		b, err := json.Marshal(keep)
		if err != nil {
			t.Fatal(err)
		}
		data[profile.SelectorsKey] = string(b)
	})
}

// replaceInProfileText replaces old by new in the selectors text, once.
func replaceInProfileText(t *testing.T, kc kubernetes.Interface, old, new string) {
	t.Helper()
	editProfileText(t, kc, func(data map[string]string) {
		doc := data[profile.SelectorsKey]
		if !strings.Contains(doc, old) {
			t.Fatalf("%s has no %s in:\n%s", profileRef, old, doc)
		}
		data[profile.SelectorsKey] = strings.Replace(doc, old, new, 1)
	})
}

// liveProfile reads the eci-profile the way the webhook does: it must parse
// and compile (which validates every selector).
func liveProfile(kc kubernetes.Interface) (*profile.Profile, *corev1.ConfigMap, error) {
	cm, err := kc.CoreV1().ConfigMaps(profile.ConfigMapNamespace).Get(context.Background(), profile.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("get %s: %w", profileRef, err)
	}
	p, err := profile.Parse(cm.Data)
	if err != nil {
		return nil, nil, fmt.Errorf("the webhook could not parse %s: %w", profileRef, err)
	}
	if _, err := profile.Compile(p); err != nil {
		return nil, nil, fmt.Errorf("the webhook would refuse %s: %w", profileRef, err)
	}
	return p, cm, nil
}

// testAccCheckProfile checks the live eci-profile.
func testAccCheckProfile(kc kubernetes.Interface, check func(p *profile.Profile, cm *corev1.ConfigMap) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		p, cm, err := liveProfile(kc)
		if err != nil {
			return err
		}
		return check(p, cm)
	}
}

// testAccCheckSelector checks one live selector.
func testAccCheckSelector(kc kubernetes.Interface, name string, check func(s profile.Selector) error) resource.TestCheckFunc {
	return testAccCheckProfile(kc, func(p *profile.Profile, _ *corev1.ConfigMap) error {
		s, ok := p.Get(name)
		if !ok {
			return fmt.Errorf("selector %s is not in %s", name, profileRef)
		}
		if err := check(s); err != nil {
			return fmt.Errorf("selector %s: %w", name, err)
		}
		return nil
	})
}

// testAccCheckForeignKept checks that a selector and a key written by
// someone else are still there, the selector exactly as written.
func testAccCheckForeignKept(kc kubernetes.Interface, entry, key, value string) resource.TestCheckFunc {
	return testAccCheckProfile(kc, func(_ *profile.Profile, cm *corev1.ConfigMap) error {
		if !strings.Contains(cm.Data[profile.SelectorsKey], entry) {
			return fmt.Errorf("the foreign selector %s is gone or changed:\n%s", entry, cm.Data[profile.SelectorsKey])
		}
		if got := cm.Data[key]; got != value {
			return fmt.Errorf("key %s = %q, want %q", key, got, value)
		}
		return nil
	})
}

// testAccCheckSelectorsGone checks that none of names is left.
func testAccCheckSelectorsGone(kc kubernetes.Interface, names ...string) resource.TestCheckFunc {
	return testAccCheckProfile(kc, func(p *profile.Profile, _ *corev1.ConfigMap) error {
		for _, n := range names {
			if _, ok := p.Get(n); ok {
				return fmt.Errorf("selector %s is still in %s after destroy", n, profileRef)
			}
		}
		return nil
	})
}

func wantEqual[T comparable](what string, got, want T) error {
	if got != want {
		return fmt.Errorf("%s = %v, want %v", what, got, want)
	}
	return nil
}

// A selector's whole life next to a selector and a setting someone else
// wrote: created, imported, updated in place (keeping a field the provider
// does not know), edited by hand and put back, deleted by hand and created
// again, destroyed; the other writer's content survives every step, and the
// webhook can read the result each time.
func TestAccProfileSelector_lifecycle(t *testing.T) {
	lockClusterProfile(t)
	sb := testAccSandbox(t)
	kc := sb.Client()
	const name = "tf-lifecycle"
	const addr = "eci_profile_selector.test"
	const foreignName = "tf-lifecycle-foreign"
	foreign := `{"name":"` + foreignName + `","objectSelector":{"matchLabels":{"owner":"someone-else"}},"futureField":{"x":1}}`
	putForeignSelector(t, kc, foreignName, foreign, "vpcId", "vpc-lifecycle")
	t.Cleanup(func() {
		editProfileText(t, kc, func(data map[string]string) { delete(data, "vpcId") })
		removeSelectorByHand(t, kc, foreignName)
	})
	prov := testAccProfileProvider(sb)

	first := prov + fmt.Sprintf(`
resource "eci_profile_selector" "test" {
  name               = %q
  namespace_selector = { match_labels = { "kubernetes.io/metadata.name" = "shop" } }
  object_selector = {
    match_expressions = [{ key = "tier", operator = "In", values = ["web", "api"] }]
  }
  policy   = "fair"
  priority = 5
  effect = {
    annotations = { "k8s.aliyun.com/eci-use-specs" = "2-4Gi" }
    labels      = { billing = "eci" }
  }
}
`, name)
	second := prov + fmt.Sprintf(`
resource "eci_profile_selector" "test" {
  name               = %q
  namespace_selector = { match_labels = { "kubernetes.io/metadata.name" = "shop" } }
  object_selector = {
    match_labels      = { app = "shop" }
    match_expressions = [{ key = "spot-ok", operator = "Exists" }]
  }
  policy   = "normalNodePrefer"
  priority = 7
  effect = {
    annotations = { "k8s.aliyun.com/eci-use-specs" = "4-8Gi", "k8s.aliyun.com/eci-spot-strategy" = "SpotAsPriceGo" }
  }
}
`, name)

	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			testAccCheckSelectorsGone(kc, name),
			testAccCheckForeignKept(kc, foreign, "vpcId", "vpc-lifecycle"),
		),
		Steps: []resource.TestStep{
			{
				Config: first,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("priority"), knownvalue.Int32Exact(5)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("vnode"), knownvalue.Null()),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckSelector(kc, name, func(s profile.Selector) error {
						e := s.ObjectSelector.MatchExpressions
						switch {
						case s.Policy != profile.PolicyFair || s.Priority != 5:
							return fmt.Errorf("policy %q priority %d, want fair 5", s.Policy, s.Priority)
						case s.NamespaceSelector.MatchLabels[profile.NamespaceNameLabel] != "shop":
							return fmt.Errorf("namespaceSelector %v", s.NamespaceSelector)
						case len(e) != 1 || e[0].Key != "tier" || e[0].Operator != "In" || strings.Join(e[0].Values, ",") != "web,api":
							return fmt.Errorf("objectSelector %v", s.ObjectSelector)
						case s.Effect.Annotations["k8s.aliyun.com/eci-use-specs"] != "2-4Gi" || s.Effect.Labels["billing"] != "eci":
							return fmt.Errorf("effect %v", s.Effect)
						}
						return nil
					}),
					testAccCheckForeignKept(kc, foreign, "vpcId", "vpc-lifecycle"),
				),
			},
			{ResourceName: addr, ImportState: true, ImportStateId: name, ImportStateVerify: true},
			// Update in place; a field added by hand that the provider does
			// not model stays.
			{
				PreConfig: func() {
					replaceInProfileText(t, kc, `"name":"`+name+`",`, `"name":"`+name+`","addedByHand":"keep me",`)
				},
				Config: second,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckSelector(kc, name, func(s profile.Selector) error {
						if err := wantEqual("policy", s.Policy, profile.PolicyNormalNodePrefer); err != nil {
							return err
						}
						if err := wantEqual("priority", s.Priority, 7); err != nil {
							return err
						}
						if err := wantEqual("spot strategy", s.Effect.Annotations["k8s.aliyun.com/eci-spot-strategy"], "SpotAsPriceGo"); err != nil {
							return err
						}
						if len(s.Effect.Labels) != 0 {
							return fmt.Errorf("effect labels %v, want none", s.Effect.Labels)
						}
						if e := s.ObjectSelector.MatchExpressions; len(e) != 1 || e[0].Operator != "Exists" || len(e[0].Values) != 0 {
							return fmt.Errorf("objectSelector %v", s.ObjectSelector)
						}
						if got := string(s.Unknown()["addedByHand"]); got != `"keep me"` {
							return fmt.Errorf("the field added by hand is %s, want kept", got)
						}
						return nil
					}),
					testAccCheckForeignKept(kc, foreign, "vpcId", "vpc-lifecycle"),
				),
			},
			// Drift: an edit by hand shows in plan as an update, first
			// without applying it, then applied.
			{
				PreConfig: func() {
					replaceInProfileText(t, kc, `"priority":7`, `"priority":99`)
					replaceInProfileText(t, kc, `"normalNodePrefer"`, `"fair"`)
				},
				Config:             second,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: second,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("priority"), knownvalue.Int32Exact(7)),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("policy"), knownvalue.StringExact("normalNodePrefer")),
				}},
				Check: testAccCheckSelector(kc, name, func(s profile.Selector) error {
					if s.Priority != 7 || s.Policy != profile.PolicyNormalNodePrefer {
						return fmt.Errorf("priority %d policy %q after apply, want 7 normalNodePrefer", s.Priority, s.Policy)
					}
					return nil
				}),
			},
			// Drift: deleted by hand, it plans a create.
			{
				PreConfig: func() { removeSelectorByHand(t, kc, name) },
				Config:    second,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckSelector(kc, name, func(s profile.Selector) error { return wantEqual("priority", s.Priority, 7) }),
					testAccCheckForeignKept(kc, foreign, "vpcId", "vpc-lifecycle"),
				),
			},
		},
	})
}

// With no eci-profile in the cluster, the first selector creates the
// ConfigMap; destroy leaves the ConfigMap without it. Empty collections in
// the configuration (`{}`, `[]`) do not plan changes after the apply.
func TestAccProfileSelector_createsConfigMap(t *testing.T) {
	lockClusterProfile(t)
	sb := testAccSandbox(t)
	kc := sb.Client()
	const name = "tf-creates-configmap"
	err := kc.CoreV1().ConfigMaps(profile.ConfigMapNamespace).Delete(context.Background(), profile.ConfigMapName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		CheckDestroy:             testAccCheckSelectorsGone(kc, name),
		Steps: []resource.TestStep{{
			Config: testAccProfileProvider(sb) + fmt.Sprintf(`
resource "eci_profile_selector" "test" {
  name            = %q
  object_selector = {}
  namespace_selector = {
    match_labels      = {}
    match_expressions = [{ key = "team", operator = "Exists", values = [] }]
  }
  effect = { labels = {} }
  vnode  = "vnode-a"
}
`, name),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("eci_profile_selector.test", tfjsonpath.New("policy"), knownvalue.StringExact("virtualNodeOnly")),
				statecheck.ExpectKnownValue("eci_profile_selector.test", tfjsonpath.New("priority"), knownvalue.Int32Exact(0)),
			},
			Check: testAccCheckSelector(kc, name, func(s profile.Selector) error {
				switch {
				case s.ObjectSelector == nil || len(s.ObjectSelector.MatchLabels)+len(s.ObjectSelector.MatchExpressions) != 0:
					return fmt.Errorf("objectSelector %v, want {}", s.ObjectSelector)
				case s.VirtualNode != "vnode-a":
					return fmt.Errorf("virtualNode %q, want vnode-a", s.VirtualNode)
				case s.Policy.Effective() != profile.PolicyVirtualNodeOnly:
					return fmt.Errorf("policy %q, want virtualNodeOnly", s.Policy)
				}
				return nil
			}),
		}},
	})
}

// Thirty selectors in one apply, ten written at a time by Terraform: every
// one ends up in the ConfigMap, next to a selector someone else wrote, and
// destroy removes all thirty and nothing else.
func TestAccProfileSelector_thirtyInOneApply(t *testing.T) {
	lockClusterProfile(t)
	sb := testAccSandbox(t)
	kc := sb.Client()
	const n = 30
	const foreignName = "tf-many-foreign"
	foreign := `{"name":"` + foreignName + `","namespaceSelector":{"matchLabels":{"team":"other"}},"priority":3}`
	putForeignSelector(t, kc, foreignName, foreign, "featureGates", "many=true")
	t.Cleanup(func() {
		editProfileText(t, kc, func(data map[string]string) { delete(data, "featureGates") })
		removeSelectorByHand(t, kc, foreignName)
	})
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("tf-many-%d", i)
	}
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			testAccCheckSelectorsGone(kc, names...),
			testAccCheckForeignKept(kc, foreign, "featureGates", "many=true"),
		),
		Steps: []resource.TestStep{{
			Config: testAccProfileProvider(sb) + fmt.Sprintf(`
resource "eci_profile_selector" "many" {
  count              = %d
  name               = "tf-many-${count.index}"
  namespace_selector = { match_labels = { team = "t${count.index}" } }
  priority           = count.index
  policy             = "normalNodePrefer"
}
`, n),
			Check: resource.ComposeAggregateTestCheckFunc(
				testAccCheckProfile(kc, func(p *profile.Profile, _ *corev1.ConfigMap) error {
					var missing []string
					for i, name := range names {
						s, ok := p.Get(name)
						if !ok {
							missing = append(missing, name)
							continue
						}
						if s.Priority != int32(i) || s.NamespaceSelector.MatchLabels["team"] != fmt.Sprintf("t%d", i) {
							return fmt.Errorf("selector %s: priority %d, namespaceSelector %v", name, s.Priority, s.NamespaceSelector)
						}
					}
					if len(missing) > 0 {
						return fmt.Errorf("%d of %d selectors lost: %s", len(missing), n, strings.Join(missing, ", "))
					}
					return nil
				}),
				testAccCheckForeignKept(kc, foreign, "featureGates", "many=true"),
			),
		}},
	})
}

// msgRE matches a message as Terraform prints it, which may wrap it at
// any space.
func msgRE(parts ...string) *regexp.Regexp {
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = strings.ReplaceAll(regexp.QuoteMeta(p), " ", `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(quoted, ".*"))
}

// Bad input stops the plan with internal/profile's message, at the
// attribute it is about, and nothing is written; so does a name the
// eci-profile already holds.
func TestAccProfileSelector_invalid(t *testing.T) {
	lockClusterProfile(t)
	sb := testAccSandbox(t)
	kc := sb.Client()
	const taken = "tf-invalid-taken"
	putForeignSelector(t, kc, taken, `{"name":"`+taken+`","objectSelector":{}}`, "vpcId", "vpc-invalid")
	t.Cleanup(func() {
		editProfileText(t, kc, func(data map[string]string) { delete(data, "vpcId") })
		removeSelectorByHand(t, kc, taken)
	})
	prov := testAccProfileProvider(sb)
	cfg := func(body string) string {
		return prov + "\nresource \"eci_profile_selector\" \"bad\" {\n" + body + "\n}\n"
	}
	cases := []struct {
		body string
		want *regexp.Regexp
	}{
		{`name = "tf-invalid"
  object_selector = { match_expressions = [{ key = "tier", operator = "Within", values = ["a"] }] }`,
			msgRE(`Invalid operator`, `"Within" is not a valid operator; use In, NotIn, Exists or DoesNotExist`)},
		{`name = "tf-invalid"
  object_selector = { match_expressions = [{ key = "tier", operator = "In" }] }`,
			msgRE(`In needs at least one value`)},
		{`name = "tf-invalid"
  object_selector = { match_expressions = [{ key = "tier", operator = "Exists", values = ["x"] }] }`,
			msgRE(`Exists takes no values`)},
		{`name = "tf-invalid"
  namespace_selector = { match_labels = { "bad key!" = "x" } }`,
			msgRE(`Invalid match_labels`, `"bad key!" is not a valid label key`)},
		{`name = "tf-invalid"
  object_selector = { match_labels = { app = "not a value" } }`,
			msgRE(`"not a value" is not a valid label value`)},
		{`name = "tf-invalid"
  object_selector = {}
  policy = "sometimes"`,
			msgRE(`"sometimes" is not a valid policy; use virtualNodeOnly (the default), fair or normalNodePrefer`)},
		{`name = "tf-invalid"
  object_selector = {}
  policy = "fair"
  vnode  = "vnode-a"`,
			msgRE(`pins pods to one VNode, which only policy virtualNodeOnly does`)},
		{`name = "Bad_Name"
  object_selector = {}`,
			msgRE(`"Bad_Name" is not a valid name; use at most 63 lowercase letters`)},
		{`name = "tf-invalid"
  object_selector = {}
  effect = { annotations = { "k8s.aliyun.com/eci-spot-strategy" = "Cheap" } }`,
			msgRE(`Invalid annotations`, `"Cheap" is not a valid value: use SpotWithPriceLimit, SpotAsPriceGo`)},
		{`name = "tf-invalid"
  object_selector = {}
  effect = { annotations = { "eci-vnode.io/profile-selector" = "x" } }`,
			msgRE(`is written by the webhook`)},
		{`name = "tf-invalid"`,
			msgRE(`needs a namespaceSelector or an objectSelector`, `object_selector = {}`)},
		{`name = "` + taken + `"
  object_selector = {}`,
			msgRE(`already exists in kube-system/eci-profile`, `terraform import eci_profile_selector.<x> `+taken)},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{Config: cfg(c.body), PlanOnly: true, ExpectError: c.want})
	}
	// The same name twice in one configuration: one is created, the other
	// is refused at apply.
	steps = append(steps, resource.TestStep{
		Config: prov + `
resource "eci_profile_selector" "a" {
  name            = "tf-invalid-twice"
  object_selector = { match_labels = { from = "a" } }
}

resource "eci_profile_selector" "b" {
  name            = "tf-invalid-twice"
  object_selector = { match_labels = { from = "b" } }
}
`,
		ExpectError: msgRE(`already exists in kube-system/eci-profile`),
	})
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			testAccCheckSelectorsGone(kc, "tf-invalid", "Bad_Name", "tf-invalid-twice"),
			testAccCheckForeignKept(kc, `{"name":"`+taken+`","objectSelector":{}}`, "vpcId", "vpc-invalid"),
		),
		Steps: steps,
	})
}

// A ConfigMap whose selectors do not parse stops the plan with an error
// that names it and the parse error; the resource stays in state, and once
// the ConfigMap is fixed the plan is empty again.
func TestAccProfileSelector_unparseable(t *testing.T) {
	lockClusterProfile(t)
	sb := testAccSandbox(t)
	kc := sb.Client()
	const name = "tf-unparseable"
	config := testAccProfileProvider(sb) + fmt.Sprintf(`
resource "eci_profile_selector" "test" {
  name            = %q
  object_selector = { match_labels = { app = "x" } }
}
`, name)
	var saved string
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		CheckDestroy:             testAccCheckSelectorsGone(kc, name),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					editProfileText(t, kc, func(data map[string]string) {
						saved = data[profile.SelectorsKey]
						data[profile.SelectorsKey] = "[\n  {\"name\": \"broken\",\n]\n"
					})
				},
				Config:      config,
				ExpectError: msgRE(`Cannot read selector `+name, `The ConfigMap kube-system/eci-profile does not parse`, `invalid JSON at line 3`),
			},
			{
				PreConfig: func() {
					editProfileText(t, kc, func(data map[string]string) { data[profile.SelectorsKey] = saved })
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
	})
}

// A Read that fails for another reason than a missing selector (here the
// provider's identity may not read ConfigMaps) is an error, and the
// selector stays in state: with the access back, the plan is empty.
func TestAccProfileSelector_readKeepsStateOnError(t *testing.T) {
	lockClusterProfile(t)
	sb := testAccSandbox(t)
	kc := sb.Client()
	const name = "tf-read-error"
	resourceHCL := fmt.Sprintf(`
resource "eci_profile_selector" "test" {
  name            = %q
  object_selector = { match_labels = { app = "read-error" } }
}
`, name)
	config := testAccProfileProvider(sb) + resourceHCL
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		CheckDestroy:             testAccCheckSelectorsGone(kc, name),
		Steps: []resource.TestStep{
			{Config: config},
			{
				Config:      testAccProviderWithoutRights(t, sb) + resourceHCL,
				ExpectError: msgRE(`Cannot read selector `+name, `get ConfigMap kube-system/eci-profile`, `forbidden`),
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
	})
}

// testAccProviderWithoutRights is a provider that signs in to the sandbox
// as a service account bound to no role: every request but discovery is
// Forbidden.
func testAccProviderWithoutRights(t *testing.T, sb *sandbox.Sandbox) string {
	t.Helper()
	ctx := context.Background()
	kc := sb.Client()
	const sa = "tf-no-rights"
	_, err := kc.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tok, err := kc.CoreV1().ServiceAccounts("default").CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc := sb.RESTConfig()
	ca := rc.CAData
	if len(ca) == 0 {
		if ca, err = os.ReadFile(rc.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf(`
provider "eci" {
  kubernetes {
    host                   = %[1]q
    cluster_ca_certificate = %[2]q
    token                  = %[3]q
  }
}
`, sb.Server(), string(ca), tok.Status.Token)
}

// Writers racing on the ConfigMap, as Terraform's parallel applies do, all
// land: every write is conditional on the version it read and a lost race
// starts over.
func TestProfileSelectorConcurrentWritesLoseNothing(t *testing.T) {
	lockClusterProfile(t)
	kc := testAccSandbox(t).Client()
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			sel := profile.Selector{
				Name:           fmt.Sprintf("tf-race-%d", i),
				ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"race": fmt.Sprint(i)}},
			}
			var diags diag.Diagnostics
			errs[i] = modifyProfile(context.Background(), kc, &diags, sel.Name, func(p *profile.Profile) (bool, error) {
				p.Upsert(sel)
				return true, nil
			})
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for i := range n {
			var diags diag.Diagnostics
			name := fmt.Sprintf("tf-race-%d", i)
			if err := modifyProfile(context.Background(), kc, &diags, name, func(p *profile.Profile) (bool, error) {
				return p.Remove(name), nil
			}); err != nil {
				t.Errorf("remove %s: %v", name, err)
			}
		}
	})
	p, _, err := liveProfile(kc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("writer %d: %v", i, errs[i])
		}
		if _, ok := p.Get(fmt.Sprintf("tf-race-%d", i)); !ok {
			t.Errorf("selector tf-race-%d was lost", i)
		}
	}
}

// Problems internal/profile reports land on the attribute they are about.
func TestProfileSelectorProblemPathsNameAttributes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]path.Path{
		"name":   path.Root("name"),
		"policy": path.Root("policy"),
		"objectSelector.matchExpressions[2].operator":          path.Root("object_selector").AtName("match_expressions").AtListIndex(2).AtName("operator"),
		"namespaceSelector.matchExpressions[0].values[1]":      path.Root("namespace_selector").AtName("match_expressions").AtListIndex(0).AtName("values").AtListIndex(1),
		"namespaceSelector.matchLabels[kubernetes.io/x.y]":     path.Root("namespace_selector").AtName("match_labels").AtMapKey("kubernetes.io/x.y"),
		"effect.annotations[k8s.aliyun.com/eci-spot-strategy]": path.Root("effect").AtName("annotations").AtMapKey("k8s.aliyun.com/eci-spot-strategy"),
		"effect.labels[a]b]":                                   path.Root("effect").AtName("labels").AtMapKey("a]b"),
		"virtualNode":                                          path.Root("vnode"),
	} {
		got, ok := profileAttrPath(in)
		if !ok || !got.Equal(want) {
			t.Errorf("profileAttrPath(%q) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "futureField", "objectSelector.matchExpressions[x].key", "objectSelector.matchExpressions[1"} {
		if got, ok := profileAttrPath(in); ok {
			t.Errorf("profileAttrPath(%q) = %s, want none", in, got)
		}
	}
}

// The schema passes the framework's checks, and every attribute, nested
// ones too, has a description for the docs.
func TestProfileSelectorSchemaIsValid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var resp fwresource.SchemaResponse
	NewProfileSelectorResource().Schema(ctx, fwresource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("schema diagnostics: %v", resp.Diagnostics)
	}
	if d := resp.Schema.ValidateImplementation(ctx); d.HasError() {
		t.Fatalf("schema implementation: %v", d)
	}
	var walk func(prefix string, attrs map[string]schema.Attribute)
	walk = func(prefix string, attrs map[string]schema.Attribute) {
		for name, a := range attrs {
			if a.GetMarkdownDescription() == "" {
				t.Errorf("%s%s has no description", prefix, name)
			}
			switch n := a.(type) {
			case schema.SingleNestedAttribute:
				walk(prefix+name+".", n.Attributes)
			case schema.ListNestedAttribute:
				walk(prefix+name+".", n.NestedObject.Attributes)
			}
		}
	}
	walk("", resp.Schema.Attributes)
}

// A write next to another writer's invalid selector lands with a warning
// (the webhook holds the last good profile until that one is fixed); a
// write whose own entry would be invalid, here through a misspelt member
// someone added to it by hand, is refused and changes nothing.
func TestProfileSelectorWriteJudgesOnlyItsOwnEntry(t *testing.T) {
	lockClusterProfile(t)
	kc := testAccSandbox(t).Client()
	ctx := context.Background()
	const bad, own = "tf-judge-bad", "tf-judge-own"
	putForeignSelector(t, kc, bad, `{"name":"`+bad+`","objectSelector":{"matchExpressions":[{"key":"a","operator":"Near"}]}}`, "vpcId", "vpc-judge")
	t.Cleanup(func() {
		editProfileText(t, kc, func(data map[string]string) { delete(data, "vpcId") })
		removeSelectorByHand(t, kc, bad)
		removeSelectorByHand(t, kc, own)
	})
	sel := profile.Selector{Name: own, ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "judge"}}}
	upsert := func(p *profile.Profile) (bool, error) { p.Upsert(sel); return true, nil }
	var diags diag.Diagnostics
	if err := modifyProfile(ctx, kc, &diags, own, upsert); err != nil {
		t.Fatalf("write next to an invalid selector: %v", err)
	}
	if diags.WarningsCount() != 1 || !strings.Contains(diags.Warnings()[0].Detail(), `"Near" is not a valid operator`) {
		t.Errorf("warnings = %v, want one naming the other selector's problem", diags.Warnings())
	}

	replaceInProfileText(t, kc, `"name":"`+own+`",`, `"name":"`+own+`","namspaceSelector":{},`)
	cm, err := kc.CoreV1().ConfigMaps(profile.ConfigMapNamespace).Get(ctx, profile.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sel.Priority = 4
	diags = nil
	err = modifyProfile(ctx, kc, &diags, own, upsert)
	if err == nil || !strings.Contains(err.Error(), `namspaceSelector: unknown field; did you mean "namespaceSelector"?`) {
		t.Fatalf("write of an entry with a misspelt member: %v, want refused with profile's message", err)
	}
	after, err := kc.CoreV1().ConfigMaps(profile.ConfigMapNamespace).Get(ctx, profile.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != cm.ResourceVersion {
		t.Errorf("the refused write changed the ConfigMap (resourceVersion %s -> %s)", cm.ResourceVersion, after.ResourceVersion)
	}
}
