package emulator

import "sort"

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortBySeqDesc[T any](items []T, seq func(T) int) {
	sort.Slice(items, func(i, j int) bool { return seq(items[i]) > seq(items[j]) })
}

// mergeTags sets the given tags on top of existing ones (same key:
// new value) and enforces the 20-tags-per-resource limit.
func mergeTags(have, add []tag) ([]tag, *apiError) {
	out := append([]tag(nil), have...)
	for _, a := range add {
		found := false
		for i := range out {
			if out[i].Key == a.Key {
				out[i].Value, found = a.Value, true
			}
		}
		if !found {
			out = append(out, a)
		}
	}
	if len(out) > maxTags {
		return nil, newErr(400, "InvalidParameter.TagCount", "A resource can have at most %d tags; this request would leave %d.", maxTags, len(out))
	}
	return out, nil
}
