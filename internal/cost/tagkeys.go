package cost

import (
	"fmt"
	"strings"
)

// maxTagKeyLen is the longest tag key ECI takes.
const maxTagKeyLen = 128

// TagKeyProblems says what is wrong with keys as the tag keys an estimate is
// split by: each must be a tag key, and given once (a key twice would count
// its instances twice). The runtime checks its --cost-tag-keys with it, and
// internal/install the setting it renders into that flag, so a bad key is
// refused before a Deployment would crash on it.
func TagKeyProblems(keys []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		switch {
		case strings.TrimSpace(k) == "":
			out = append(out, "an empty tag key")
		case len(k) > maxTagKeyLen:
			out = append(out, fmt.Sprintf("tag key %q is longer than %d characters, the limit of a tag key", k, maxTagKeyLen))
		case seen[k]:
			out = append(out, fmt.Sprintf("tag key %q is given twice", k))
		}
		seen[k] = true
	}
	return out
}
