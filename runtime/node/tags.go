package node

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// Re-tagging running instances.
//
// The VNode's tags (Config.Tags, --tags) go on every instance at create
// (runtime/translate). When they change, the provider re-applies the
// runtime's Deployment, the runtime restarts with the new tags, and instances
// that already run must follow, or a cost report split by tag keeps billing
// them to the old team. Every complete listing of the VNode's instances
// (the poller's full round) therefore compares each instance's tags with
// the configuration and calls TagResources for VNode tags that are missing
// or have another value, and UntagResources for keys the VNode set earlier
// but no longer declares. A listing already carries every instance's tags,
// so the comparison costs no read; calls are made only where something
// differs, which after the first round is nowhere.
//
// Three kinds of tag are never touched: the runtime's own (eci-vnode/…,
// translate.OwnedTags and the pod tags), the keys a pod sets itself with
// k8s.aliyun.com/eci-custom-tags (translate.PodTagKeys; they win over a
// VNode tag at create too), and any key the VNode never set, such as a tag
// added in the ECI console. To tell "the VNode set it earlier" from "someone
// else set it", the Node records the VNode's tag keys (AnnotationManagedTags).

// AnnotationManagedTags records on the Node the keys of the VNode tags its
// instances may carry: a JSON list, sorted. A starting runtime adds its
// configured keys to the recorded ones before it creates any instance, and
// writes its configured keys alone only after a round has brought every
// instance to them; so a key of an earlier configuration stays recorded
// until no instance carries it, across any number of restarts. A Node
// without the annotation (first start, or a runtime from before it)
// records nothing, and nothing is untagged on its account.
const AnnotationManagedTags = "eci-vnode.io/managed-tags"

// ECI's limits for one tagging call (TagResources and UntagResources):
// ResourceId.N up to 50, Tag.N and TagKey.N up to 20 (the client checks the
// latter, internal/eci/tags.go).
const (
	maxRetagIDs  = 50
	maxRetagTags = 20
)

// ReasonTagsNotApplied is the Event of a pod whose instance cannot take the
// VNode's tags (more than ECI's 20), and of the Node when a tagging call fails.
const ReasonTagsNotApplied = "ECITagsNotApplied"

// tagKeysValue is the annotation's value for keys.
func tagKeysValue(keys []string) string {
	keys = slices.Sorted(slices.Values(keys))
	if keys == nil {
		keys = []string{}
	}
	b, _ := json.Marshal(slices.Compact(keys)) // cannot fail: strings only
	return string(b)
}

// parseTagKeys reads the annotation; a value that is not a JSON list of
// strings (edited by hand) records nothing.
func parseTagKeys(v string) []string {
	var keys []string
	if json.Unmarshal([]byte(v), &keys) != nil {
		return nil
	}
	return keys
}

// configuredTagKeys are the keys of Config.Tags, sorted.
func (p *Provider) configuredTagKeys() []string {
	return slices.Sorted(maps.Keys(p.cfg.Tags))
}

// syncTagKeys reads the recorded tag keys and records the configured ones
// with them, so that a key is on the Node before any instance carries it.
// It runs before the runtime creates instances and, until it succeeds, again
// at the start of every re-tag round. Without a Node (first start) there
// is nothing recorded yet; the first clean round writes the annotation.
func (p *Provider) syncTagKeys(ctx context.Context) error {
	want := p.configuredTagKeys()
	if p.kube == nil {
		p.tagKeys, p.tagKeysSynced = want, true
		return nil
	}
	var keys []string
	registered, err := p.writeTagKeys(ctx, func(prev string) string {
		keys = slices.Compact(slices.Sorted(slices.Values(append(parseTagKeys(prev), want...))))
		return tagKeysValue(keys)
	})
	if err != nil {
		return err
	}
	if !registered {
		// Nothing recorded; nil (not want) makes the first clean round
		// write the annotation once the Node exists.
		keys = nil
	}
	p.tagKeys, p.tagKeysSynced = keys, true
	return nil
}

// recordTagKeys writes keys as the annotation, once no instance carries a
// VNode tag key outside them.
func (p *Provider) recordTagKeys(ctx context.Context, keys []string) error {
	if p.kube == nil {
		p.tagKeys = keys
		return nil
	}
	registered, err := p.writeTagKeys(ctx, func(string) string { return tagKeysValue(keys) })
	if err != nil {
		return err
	}
	if registered {
		p.tagKeys = keys
	}
	return nil
}

// writeTagKeys sets the Node's managed-tags annotation to next(its current
// value), retrying on conflict. A Node that virtual-kubelet has not
// registered yet is not an error: registered is false and nothing is written.
func (p *Provider) writeTagKeys(ctx context.Context, next func(prev string) string) (registered bool, err error) {
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := p.kube.CoreV1().Nodes().Get(ctx, p.cfg.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			registered = false
			return nil
		}
		if err != nil {
			return err
		}
		registered = true
		value := next(n.Annotations[AnnotationManagedTags])
		if n.Annotations[AnnotationManagedTags] == value {
			return nil
		}
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations[AnnotationManagedTags] = value
		_, err = p.kube.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{FieldManager: fieldManager})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record the tag keys of VNode %s on its Node (%s): %w", p.cfg.NodeName, AnnotationManagedTags, err)
	}
	return registered, nil
}

// tagChange is what one instance needs: tags to set and keys to remove.
type tagChange struct {
	set   []eci.Tag // sorted by key
	unset []string  // sorted
}

// planRetag compares the tags an instance carries (have) with the VNode's
// tags (want): set are the VNode tags missing or with another value, unset
// the keys in stale (set by the VNode earlier, no longer declared) that the
// instance carries. Keys the pod sets itself (podKeys) and the runtime's
// own keys are in neither. over is the number of tags the instance would
// carry beyond ECI's limit after the change (0 when it fits).
func planRetag(have []eci.Tag, want map[string]string, stale []string, podKeys []string) (c tagChange, over int) {
	carried := map[string]string{}
	for _, t := range have {
		carried[t.Key] = t.Value
	}
	skip := func(k string) bool {
		return strings.HasPrefix(k, translate.TagPrefix) || slices.Contains(podKeys, k)
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := carried[k]; skip(k) || ok && v == want[k] {
			continue
		}
		c.set = append(c.set, eci.Tag{Key: k, Value: want[k]})
	}
	for _, k := range slices.Sorted(slices.Values(stale)) {
		if _, ok := carried[k]; ok && !skip(k) && !slices.Contains(c.unset, k) {
			c.unset = append(c.unset, k)
		}
	}
	n := len(have) - len(c.unset)
	for _, t := range c.set {
		if _, ok := carried[t.Key]; !ok {
			n++
		}
	}
	return c, max(0, n-eci.MaxInstanceTags)
}

// retag brings the tags of every instance in groups (a complete listing of
// the VNode's instances) to the configuration; see the comment at the top of
// this file. Failures are logged, counted and reported as an Event on the
// Node; the next complete listing tries again.
func (p *Provider) retag(ctx context.Context, groups []eci.ContainerGroup) {
	if !p.tagKeysSynced {
		if err := p.syncTagKeys(ctx); err != nil {
			p.retagFailed(err)
			return
		}
	}
	want := p.cfg.Tags
	wantKeys := p.configuredTagKeys()
	var stale []string
	for _, k := range p.tagKeys {
		if _, ok := want[k]; !ok {
			stale = append(stale, k)
		}
	}

	// The pods' own tag keys, by pod UID, read under the lock.
	type podTags struct {
		t    *tracked
		name string
		keys []string
	}
	pods := map[types.UID]podTags{}
	p.mu.Lock()
	for uid, t := range p.byUID {
		if t.instanceID != "" {
			pods[uid] = podTags{t, podKey(t.pod.Namespace, t.pod.Name), translate.PodTagKeys(t.pod)}
		}
	}
	p.mu.Unlock()
	listed := map[string]bool{}
	for _, g := range groups {
		listed[g.ContainerGroupID] = true
	}
	for id := range p.retagWarned {
		if !listed[id] {
			delete(p.retagWarned, id)
		}
	}

	// Instances needing the same tags set, or the same keys removed, share
	// calls (up to 50 instances each).
	var untags, tags changeGroups
	clean := true
	for i := range groups {
		g := &groups[i]
		if !p.owned(g) || g.Status == eci.StatusTerminating {
			continue
		}
		uid, _ := translate.PodUIDFromTags(g.Tags)
		pod, ok := pods[uid]
		if !ok {
			// No pod: an orphan, deleted after its grace period. Its
			// tags no longer matter to anyone's cost.
			continue
		}
		c, over := planRetag(g.Tags, want, stale, pod.keys)
		if over > 0 {
			clean = false
			msg := fmt.Sprintf("ECI instance %s keeps its tags: with the VNode's tags it would carry %d more than ECI's %d; "+
				"remove tags from the VNode (eci_vnode tags, default_tags) or from %s", g.ContainerGroupID, over, eci.MaxInstanceTags, "k8s.aliyun.com/eci-custom-tags")
			p.retagProblem(pod.t, pod.name, g.ContainerGroupID, msg)
			continue
		}
		if len(c.unset) > 0 {
			untags.add(tagChange{unset: c.unset}, g.ContainerGroupID)
		}
		if len(c.set) > 0 {
			tags.add(tagChange{set: c.set}, g.ContainerGroupID)
		}
	}

	// Untag first: it makes room under ECI's 20 tags for the new ones.
	changed := map[string]bool{}
	for _, step := range []struct {
		groups changeGroups
		call   func(context.Context, []string, tagChange) error
	}{
		{untags, func(ctx context.Context, ids []string, c tagChange) error { return p.untagInstances(ctx, ids, c.unset) }},
		{tags, func(ctx context.Context, ids []string, c tagChange) error { return p.tagInstances(ctx, ids, c.set) }},
	} {
		for _, cg := range step.groups.list {
			for ids := range slices.Chunk(cg.ids, maxRetagIDs) {
				if err := step.call(ctx, ids, cg.change); err != nil {
					clean = false
					p.retagFailed(err)
					continue
				}
				for _, id := range ids {
					changed[id] = true
				}
			}
		}
	}
	if ctx.Err() != nil {
		return
	}
	if len(changed) > 0 {
		p.log.Info("re-tagged running ECI instances to the VNode's tags", "instances", len(changed), "tags", tagKeysValue(wantKeys), "removed", tagKeysValue(stale))
	}
	if clean {
		p.retagWorks()
		if !slices.Equal(p.tagKeys, wantKeys) {
			if err := p.recordTagKeys(ctx, wantKeys); err != nil {
				p.retagFailed(err)
			}
		}
	}
}

// changeGroups gathers instances by the change they need, in the order
// the changes were first met.
type changeGroups struct {
	byKey map[string]int
	list  []changeGroup
}

type changeGroup struct {
	change tagChange
	ids    []string
}

func (cg *changeGroups) add(c tagChange, id string) {
	key := changeKey(c)
	i, ok := cg.byKey[key]
	if !ok {
		if cg.byKey == nil {
			cg.byKey = map[string]int{}
		}
		i = len(cg.list)
		cg.byKey[key] = i
		cg.list = append(cg.list, changeGroup{change: c})
	}
	cg.list[i].ids = append(cg.list[i].ids, id)
}

// changeKey identifies a change, to group the instances that need it.
func changeKey(c tagChange) string {
	var b strings.Builder
	for _, t := range c.set {
		b.WriteString(strconv.Quote(t.Key) + "=" + strconv.Quote(t.Value) + ",")
	}
	b.WriteString("-")
	for _, k := range c.unset {
		b.WriteString(strconv.Quote(k) + ",")
	}
	return b.String()
}

// tagInstances sets tags on ids (at most 50), in calls of at most 20 tags.
func (p *Provider) tagInstances(ctx context.Context, ids []string, tags []eci.Tag) error {
	for part := range slices.Chunk(tags, maxRetagTags) {
		err := p.eachOrGone(ids, func(ids []string) error {
			return p.eci.TagResources(ctx, &eci.TagResourcesRequest{ResourceType: eci.ResourceTypeContainerGroup, ResourceIDs: ids, Tags: part})
		})
		p.countRetag("tag", ids, err)
		if err != nil {
			return fmt.Errorf("tag %s with %s: %w", idsText(ids), tagsText(part), err)
		}
	}
	return nil
}

// untagInstances removes keys from ids (at most 50), in calls of at most 20 keys.
func (p *Provider) untagInstances(ctx context.Context, ids []string, keys []string) error {
	for part := range slices.Chunk(keys, maxRetagTags) {
		err := p.eachOrGone(ids, func(ids []string) error {
			return p.eci.UntagResources(ctx, &eci.UntagResourcesRequest{ResourceType: eci.ResourceTypeContainerGroup, ResourceIDs: ids, TagKeys: part})
		})
		p.countRetag("untag", ids, err)
		if err != nil {
			return fmt.Errorf("remove tags %s from %s: %w", strings.Join(part, ","), idsText(ids), err)
		}
	}
	return nil
}

// eachOrGone makes call for all ids at once. ECI refuses the whole call when
// one instance no longer exists (deleted since the listing); then each
// instance is called alone, and one that is gone needs nothing.
func (p *Provider) eachOrGone(ids []string, call func([]string) error) error {
	err := call(ids)
	if err == nil || eci.ClassOf(err) != eci.ClassNotFound {
		return err
	}
	if len(ids) == 1 {
		return nil
	}
	for _, id := range ids {
		if err := call([]string{id}); err != nil && eci.ClassOf(err) != eci.ClassNotFound {
			return err
		}
	}
	return nil
}

func (p *Provider) countRetag(call string, ids []string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	p.metrics.retags.WithLabelValues(call, result).Add(float64(len(ids)))
}

// idsText names a call's instances for a message: up to three, and how
// many more (a call holds up to 50).
func idsText(ids []string) string {
	if len(ids) == 1 {
		return "ECI instance " + ids[0]
	}
	if len(ids) <= 3 {
		return "ECI instances " + strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%d ECI instances (%s and %d more)", len(ids), strings.Join(ids[:3], ", "), len(ids)-3)
}

func tagsText(tags []eci.Tag) string {
	s := make([]string, len(tags))
	for i, t := range tags {
		s[i] = t.Key + "=" + t.Value
	}
	return strings.Join(s, ",")
}

// retagFailed reports a failed re-tag round: the first failure of a run of
// them as a Warn log and a Warning Event on the Node, the rest at Debug, so
// an outage does not flood either.
func (p *Provider) retagFailed(err error) {
	if p.retagFailing {
		p.log.Debug("re-tagging ECI instances failed again; retrying at the next complete listing", "err", oneLine(err))
		return
	}
	p.retagFailing = true
	p.log.Warn("re-tagging ECI instances failed; retrying at the next complete listing", "err", oneLine(err))
	if p.recorder != nil {
		// The Node's Events name it by name, as the kubelet's do.
		ref := &corev1.ObjectReference{Kind: "Node", Name: p.cfg.NodeName, UID: types.UID(p.cfg.NodeName)}
		p.recorder.Event(ref, corev1.EventTypeWarning, ReasonTagsNotApplied,
			"could not bring the tags of running ECI instances to the VNode's tags (retried at every complete listing): "+oneLine(err))
	}
}

func (p *Provider) retagWorks() {
	if p.retagFailing {
		p.retagFailing = false
		p.log.Info("re-tagging ECI instances works again")
	}
}

// retagProblem reports once per instance and message that an instance
// cannot take the VNode's tags.
func (p *Provider) retagProblem(t *tracked, pod, id, msg string) {
	if p.retagWarned[id] == msg {
		return
	}
	p.retagWarned[id] = msg
	p.log.Warn("an ECI instance cannot take the VNode's tags", "instance", id, "pod", pod, "problem", msg)
	p.event(t, corev1.EventTypeWarning, ReasonTagsNotApplied, msg)
}
