package eci

import (
	"context"
	"strings"
)

// CredentialSource supplies the credentials of each attempt. The client asks
// before every HTTP attempt, so a source can hand out rotated keys or a new
// STS token without the Client being rebuilt. Implementations must be safe
// for concurrent use and cheap to call: the answer should come from memory or
// a quick check, not from the network on every call.
type CredentialSource interface {
	Credentials(ctx context.Context) (Credentials, error)
}

// CredentialRefresher is a CredentialSource that can skip whatever change
// detection it uses and read its credentials again. The client calls Refresh
// once per call when the server says the credentials it was sent are stale
// (an expired security token, a disabled or deleted AccessKey), and retries
// only if Refresh returned different credentials.
type CredentialRefresher interface {
	CredentialSource
	Refresh(ctx context.Context) (Credentials, error)
}

// StaticCredentials is a source that always returns c; Config.Credentials and
// credentials from the environment are used through it.
func StaticCredentials(c Credentials) CredentialSource { return &staticSource{c: c} }

// staticSource holds a pointer-free copy, but is itself used by pointer so
// %+v of a structure holding it prints an address, not the secret.
type staticSource struct{ c Credentials }

func (s *staticSource) Credentials(context.Context) (Credentials, error) { return s.c, nil }

// String shows which key is used without revealing secrets.
func (s *staticSource) String() string { return s.c.String() }

// GoString keeps %#v from printing the secret fields.
func (s *staticSource) GoString() string { return "eci.StaticCredentials(" + s.c.String() + ")" }

// describeSource names a source for String without secrets: a source
// controls its own description through fmt.Stringer; others are named only
// by kind, because printing an unknown type could print its fields.
func describeSource(s CredentialSource) string {
	if st, ok := s.(interface{ String() string }); ok {
		return st.String()
	}
	return "credentials from a custom source"
}

// staleCredentialCode reports whether an error code says the credentials
// themselves went out of date, so that newer credentials from the source can
// succeed: an expired STS token, or an AccessKey that was disabled or deleted
// after a rotation.
func staleCredentialCode(code string) bool {
	switch strings.ToLower(code) {
	case "invalidsecuritytoken.expired", "invalidaccesskeyid.inactive", "invalidaccesskeyid.notfound":
		return true
	}
	return false
}
