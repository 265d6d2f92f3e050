package translate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// The provider checks a VNode's tags at plan time against install's copy of
// the tag budget, because it must not import the runtime. This keeps the two
// copies the same: the tags translation puts on every instance under the
// eci-vnode/ prefix are exactly install.OwnedTagCount, and what is left for
// a VNode's tags is install.MaxInstanceTags minus those.
func TestTheProvidersTagBudgetMatchesWhatTheRuntimeTags(t *testing.T) {
	node := vnode()
	node.Tags = nil
	out, err := translate.Pod(context.Background(), pod("budget", ctr("app", "nginx:1.27")), node, cluster(t))
	if err != nil {
		t.Fatal(err)
	}
	owned := 0
	for _, tag := range out.Request.Tags {
		if strings.HasPrefix(tag.Key, translate.TagPrefix) {
			owned++
		}
	}
	if translate.TagPrefix != install.OwnedTagPrefix {
		t.Errorf("the runtime's tags start with %q; install.OwnedTagPrefix, which the provider keeps users' tags from, says %q", translate.TagPrefix, install.OwnedTagPrefix)
	}
	if owned != install.OwnedTagCount {
		t.Errorf("translation tags every instance with %d eci-vnode/ tags; install.OwnedTagCount says %d (the provider's plan-time tag budget)", owned, install.OwnedTagCount)
	}

	full := vnode()
	full.Tags = map[string]string{}
	for i := 0; len(full.Tags) < install.MaxInstanceTags-install.OwnedTagCount; i++ {
		full.Tags["k"+string(rune('a'+i))] = "v"
	}
	if _, err := translate.Pod(context.Background(), pod("full", ctr("app", "nginx:1.27")), full, cluster(t)); err != nil {
		t.Errorf("a VNode with exactly the %d tags the provider allows is refused by translation: %v", len(full.Tags), err)
	}
	full.Tags["one-more"] = "v"
	if _, err := translate.Pod(context.Background(), pod("over", ctr("app", "nginx:1.27")), full, cluster(t)); err == nil {
		t.Errorf("a VNode with %d tags, one over the provider's budget, is accepted by translation", len(full.Tags))
	}
}
