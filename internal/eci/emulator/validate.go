package emulator

import (
	"regexp"
	"strings"
)

// Documented limits: the parameter descriptions of CreateContainerGroup
// (https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-createcontainergroup),
// TagResources and DescribeContainerGroups, and ECI's limits page
// (https://help.aliyun.com/en/eci/product-overview/limits).
const (
	maxContainers  = 20
	maxVolumes     = 20
	maxTags        = 20
	maxVSwitches   = 10
	maxTagKeyLen   = 128 // TagResources; CreateContainerGroup documents 64
	maxTagValueLen = 128
	maxEnvValueLen = 256
	maxConfigFile  = 32 << 10
	maxClientToken = 64
	maxIDsPerCall  = 20
)

// Name rules are compiled once per emulator (no package-level state).
type validators struct {
	groupName *regexp.Regexp
	ctrName   *regexp.Regexp
	envKey    *regexp.Regexp
	vnodeName *regexp.Regexp
	cacheName *regexp.Regexp
}

func newValidators() *validators {
	return &validators{
		// 2-128 chars, lowercase letters, digits and hyphens, no leading or
		// trailing hyphen.
		groupName: regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,126}[a-z0-9]$`),
		// Container names follow the same alphabet (1-128 chars).
		ctrName: regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,126}[a-z0-9])?$`),
		// 1-128 chars of letters, digits and underscores, not starting
		// with a digit.
		envKey: regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`),
		// VirtualNodeName: 2-128 chars, lowercase letters, digits, "." and "-".
		vnodeName: regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,126}[a-z0-9]$`),
		cacheName: regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,126}[a-z0-9]$`),
	}
}

// checkTag validates one tag with the documented rules; maxKey differs
// between CreateContainerGroup (64) and TagResources (128).
func checkTag(path string, t tag, maxKey int) *apiError {
	switch {
	case t.Key == "":
		return errMissing(path + ".Key")
	case len(t.Key) > maxKey:
		return errInvalid(path+".Key", "A tag key can be at most %d characters.", maxKey)
	case strings.HasPrefix(t.Key, "aliyun") || strings.HasPrefix(t.Key, "acs:"):
		return errInvalid(path+".Key", "A tag key cannot start with aliyun or acs:.")
	case strings.Contains(t.Key, "http://") || strings.Contains(t.Key, "https://"):
		return errInvalid(path+".Key", "A tag key cannot contain http:// or https://.")
	case len(t.Value) > maxTagValueLen:
		return errInvalid(path+".Value", "A tag value can be at most %d characters.", maxTagValueLen)
	case strings.Contains(t.Value, "http://") || strings.Contains(t.Value, "https://"):
		return errInvalid(path+".Value", "A tag value cannot contain http:// or https://.")
	}
	return nil
}

// readTags reads Tag.N.Key/Value with validation and duplicate detection.
func readTags(c *call, v Value, maxKey int) []tag {
	items := v.Items()
	if len(items) > maxTags {
		c.rd.fail(errInvalid(v.Path(), "At most %d tags are allowed, got %d.", maxTags, len(items)))
		return nil
	}
	var out []tag
	seen := map[string]bool{}
	for _, it := range items {
		t := tag{Key: it.Get("Key").String(), Value: it.Get("Value").String()}
		if e := checkTag(it.Path(), t, maxKey); e != nil {
			c.rd.fail(e)
			return nil
		}
		if seen[t.Key] {
			c.rd.fail(errInvalid(it.Path()+".Key", "Duplicate tag key %q.", t.Key))
			return nil
		}
		seen[t.Key] = true
		out = append(out, t)
	}
	return out
}

func checkClientToken(c *call, tok string) {
	if len(tok) > maxClientToken {
		c.rd.fail(errInvalid("ClientToken", "At most %d ASCII characters.", maxClientToken))
		return
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < 0x20 || tok[i] > 0x7e {
			c.rd.fail(errInvalid("ClientToken", "Only printable ASCII characters are allowed."))
			return
		}
	}
}

// matchTags reports whether have contains every wanted tag. A wanted tag
// with an empty value matches any value of that key.
func matchTags(have, want []tag) bool {
	for _, w := range want {
		ok := false
		for _, h := range have {
			if h.Key == w.Key && (w.Value == "" || h.Value == w.Value) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
