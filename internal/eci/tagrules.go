package eci

import (
	"strconv"
	"strings"
)

// ECI's tag limits for an instance (CreateContainerGroup, Tag.N:
// https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-createcontainergroup).
const (
	MaxInstanceTags = 20
	MaxTagKeyLen    = 64
	MaxTagValueLen  = 128
)

// CheckTag says what is wrong with a tag a user asks to put on an instance,
// by ECI's rules, and keeps reservedPrefix (none when empty) for the
// caller's own tags, so that nothing can pose as one of them. It returns a
// lower-case clause for the caller to wrap, or "". The runtime (VNode tags,
// the eci-custom-tags annotation) and the provider (plan-time checks) share
// it; the emulator keeps its own copy on purpose, as the server's side.
func CheckTag(key, value, reservedPrefix string) string {
	q := strconv.Quote(key)
	switch {
	case key == "":
		return "a tag key cannot be empty"
	case len(key) > MaxTagKeyLen:
		return "tag key " + q + " is " + strconv.Itoa(len(key)) + " characters; ECI allows at most " + strconv.Itoa(MaxTagKeyLen)
	case strings.HasPrefix(key, "aliyun") || strings.HasPrefix(key, "acs:"):
		return "tag key " + q + " starts with aliyun or acs:, which ECI reserves"
	case reservedPrefix != "" && strings.HasPrefix(key, reservedPrefix):
		return "tag key " + q + " uses the prefix " + reservedPrefix + ", which eci-vnode reserves for its own tags"
	case strings.Contains(key, "http://") || strings.Contains(key, "https://"):
		return "tag key " + q + " contains http:// or https://, which ECI does not allow"
	case len(value) > MaxTagValueLen:
		return "the value of tag " + q + " is " + strconv.Itoa(len(value)) + " characters; ECI allows at most " + strconv.Itoa(MaxTagValueLen)
	case strings.Contains(value, "http://") || strings.Contains(value, "https://"):
		return "the value of tag " + q + " contains http:// or https://, which ECI does not allow"
	}
	return ""
}
