package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"unicode/utf8"
)

// ECI's rules for ContainerGroupName: 2–128 characters of lowercase letters,
// digits and hyphens, not starting or ending with a hyphen.
const (
	minInstanceName = 2
	maxInstanceName = 128
	hashLen         = 10 // hex characters of the disambiguating suffix
)

// InstanceName is the ECI instance name for a pod: "<namespace>-<name>",
// lowercased, with every character ECI does not allow (dots, in practice)
// turned into a hyphen. A name longer than ECI allows is cut and given a
// hash of the full namespace/name, so two long pods that share a prefix
// still differ. Identical input always gives identical output, and the
// output is always a valid name.
//
// The name is for people reading the ECI console; it is not unique (pods
// "a.b" and "a-b" share one). The identity of an instance is its pod UID,
// sent as ClientToken and as the eci-vnode/pod-uid tag.
func InstanceName(namespace, name string) string {
	buf := make([]byte, 0, len(namespace)+1+len(name))
	buf = appendNameChars(buf, namespace)
	buf = append(buf, '-')
	buf = appendNameChars(buf, name)
	s := trimHyphens(buf)
	switch {
	case len(s) > maxInstanceName:
		prefix := trimHyphens(s[:maxInstanceName-hashLen-1])
		return string(prefix) + "-" + shortHash(namespace, name)
	case len(s) < minInstanceName:
		if len(s) == 0 {
			s = []byte("pod")
		}
		return string(s) + "-" + shortHash(namespace, name)
	}
	return string(s)
}

// appendNameChars appends s mapped to ECI's alphabet.
func appendNameChars(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			buf = append(buf, c)
		case c >= 'A' && c <= 'Z':
			buf = append(buf, c+('a'-'A'))
		default:
			buf = append(buf, '-')
		}
	}
	return buf
}

func trimHyphens(b []byte) []byte {
	for len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] == '-' {
		b = b[:len(b)-1]
	}
	return b
}

// shortHash is a stable digest of the parts, joined with a separator that
// cannot occur in Kubernetes names so ("a-b","c") and ("a","b-c") differ.
func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))[:hashLen]
}

// truncateWithHash shortens s to at most max bytes, replacing the tail with
// "-<hash of s>" and never splitting a UTF-8 character. Shorter strings are
// returned unchanged.
func truncateWithHash(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - hashLen - 1
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "-" + shortHash(s)
}
