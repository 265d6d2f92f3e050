package translate

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// The ECI tags eci-vnode owns. Every instance it creates carries all five;
// runtime/node finds its instances with OwnedTags and maps an instance back
// to its pod by TagPodUID (the namespace and name tags are for people and
// cost reports, and may be shortened).
const (
	TagPrefix       = "eci-vnode/"
	TagCluster      = TagPrefix + "cluster"
	TagNode         = TagPrefix + "node"
	TagPodNamespace = TagPrefix + "pod-namespace"
	TagPodName      = TagPrefix + "pod-name"
	TagPodUID       = TagPrefix + "pod-uid"
)

// ECI's tag limits for CreateContainerGroup (docs/design.md, "Owned tags").
const (
	maxTags        = eci.MaxInstanceTags
	maxTagValueLen = eci.MaxTagValueLen
	ownedTagCount  = 5
	maxCustomTags  = 3
)

// TagValue is v as stored in an owned tag: unchanged up to ECI's 128
// characters, longer values (a 253-character pod name) cut with a hash
// suffix. It is deterministic, so a selector built from the same input
// matches.
func TagValue(v string) string { return truncateWithHash(v, maxTagValueLen) }

// OwnedTags is the tag filter that selects every instance of one VNode, for
// DescribeContainerGroups / ListTagResources. Both names must be non-empty:
// ECI treats an empty tag value in a filter as "any value" (Pod refuses a
// VNode without them).
func OwnedTags(cluster, node string) []eci.Tag {
	return []eci.Tag{
		{Key: TagCluster, Value: TagValue(cluster)},
		{Key: TagNode, Value: TagValue(node)},
	}
}

// PodUIDFromTags returns the pod UID an instance was created for, if it is
// one of ours.
func PodUIDFromTags(tags []eci.Tag) (types.UID, bool) {
	for _, t := range tags {
		if t.Key == TagPodUID && t.Value != "" {
			return types.UID(t.Value), true
		}
	}
	return "", false
}

// PodTagKeys are the keys of the tags the pod's own
// k8s.aliyun.com/eci-custom-tags sets on its instance, read by the same
// parser Pod uses: tags only the pod decides, which a VNode's tags never
// overwrite or remove (runtime/node re-tags running instances when the
// VNode's tags change). A pod without the annotation, or with an invalid
// one (such a pod gets no instance), has none.
func PodTagKeys(pod *corev1.Pod) []string {
	v, ok := pod.Annotations[annCustomTags]
	if !ok {
		return nil
	}
	t := &translator{pod: pod}
	t.customTags(annCustomTags, v)
	keys := make([]string, len(t.ann.customTags))
	for i, c := range t.ann.customTags {
		keys[i] = c.Key
	}
	return keys
}

// tags sets Tag: ours, then the VNode's (sorted by key), then the pod's
// k8s.aliyun.com/eci-custom-tags (which win over a VNode tag with the same
// key), refusing more than ECI's 20.
func (t *translator) tags() {
	owned := [ownedTagCount]eci.Tag{
		{Key: TagCluster, Value: TagValue(t.node.ClusterName)},
		{Key: TagNode, Value: TagValue(t.node.NodeName)},
		{Key: TagPodNamespace, Value: TagValue(t.pod.Namespace)},
		{Key: TagPodName, Value: TagValue(t.pod.Name)},
		{Key: TagPodUID, Value: TagValue(string(t.pod.UID))},
	}
	custom := t.ann.customTags

	keys := make([]string, 0, len(t.node.Tags))
	for k := range t.node.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	nodeTags := make([]eci.Tag, 0, len(keys))
	overridden := 0
	for _, k := range keys {
		v := t.node.Tags[k]
		field := `vnode.tags["` + k + `"]`
		if msg := checkTag(k, v); msg != "" {
			t.c.fail(field, ReasonInvalidNodeConfig, "%s; fix the VNode's tags", msg)
			continue
		}
		if slices.ContainsFunc(custom, func(c eci.Tag) bool { return c.Key == k }) {
			overridden++
			continue
		}
		nodeTags = append(nodeTags, eci.Tag{Key: k, Value: v})
	}

	total := ownedTagCount + len(nodeTags) + len(custom)
	if total > maxTags {
		field := "vnode.tags"
		if len(custom) > 0 {
			field = annotationField(annCustomTags)
		}
		msg := "the instance would carry " + strconv.Itoa(total) + " tags but ECI allows at most " +
			strconv.Itoa(maxTags) + ": " + strconv.Itoa(ownedTagCount) + " owned by eci-vnode (" +
			strings.Join([]string{TagCluster, TagNode, TagPodNamespace, TagPodName, TagPodUID}, ", ") + "), " +
			strconv.Itoa(len(nodeTags)) + " from the VNode, " + strconv.Itoa(len(custom)) + " from " + annCustomTags
		if overridden > 0 {
			msg += " (which replaced " + strconv.Itoa(overridden) + " VNode tags of the same key)"
		}
		msg += "; remove tags from the VNode or from the annotation"
		t.c.fail(field, ReasonTooManyTags, "%s", msg)
		return
	}
	tags := make([]eci.Tag, 0, total)
	tags = append(tags, owned[:]...)
	tags = append(tags, nodeTags...)
	tags = append(tags, custom...)
	t.req.Tags = tags
}

// checkTag applies ECI's rules to a user tag (VNode tags, custom tags) and
// keeps our prefix for our own tags (eci.CheckTag).
func checkTag(key, value string) string { return eci.CheckTag(key, value, TagPrefix) }
