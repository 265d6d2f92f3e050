package eci

import (
	"errors"
	"fmt"
	"strings"
)

// Credentials authenticate calls: a RAM AccessKey pair, plus a security
// token when the pair is temporary (STS). The secret and the token never
// appear in String, GoString or any error of this package.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string // set for STS credentials
}

// String shows which key is used without revealing secrets.
func (c Credentials) String() string {
	kind := "AccessKey"
	if c.SecurityToken != "" {
		kind = "STS"
	}
	return fmt.Sprintf("%s %s (secret %s)", kind, maskID(c.AccessKeyID), presence(c.AccessKeySecret))
}

// GoString keeps %#v from printing the secret fields.
func (c Credentials) GoString() string { return "eci.Credentials{" + c.String() + "}" }

// maskID keeps the first four characters of an AccessKey ID: enough to tell
// keys apart in logs, not enough to use one.
func maskID(id string) string {
	if id == "" {
		return "<empty>"
	}
	if len(id) <= 4 {
		return "****"
	}
	return id[:4] + "****"
}

func presence(secret string) string {
	if secret == "" {
		return "unset"
	}
	return "set"
}

// validate checks the credentials are complete.
func (c Credentials) validate() error {
	switch {
	case c.AccessKeyID == "" && c.AccessKeySecret == "":
		return errors.New("credentials: AccessKeyID and AccessKeySecret are empty")
	case c.AccessKeyID == "":
		return errors.New("credentials: AccessKeyID is empty")
	case c.AccessKeySecret == "":
		return fmt.Errorf("credentials: AccessKeySecret is empty for AccessKey %s", maskID(c.AccessKeyID))
	}
	return nil
}

// envCredentialSet is one naming convention for the credential variables.
type envCredentialSet struct{ id, secret, token string }

// The two conventions in use: the current Alibaba Cloud SDK/CLI names and
// the older names of the alicloud Terraform provider. The first one with a
// complete key pair wins.
func envCredentialSets() []envCredentialSet {
	return []envCredentialSet{
		{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"},
		{"ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN"},
	}
}

// Region variables, in order of precedence.
const (
	envRegion       = "ALIBABA_CLOUD_REGION_ID"
	envRegionLegacy = "ALICLOUD_REGION"
)

// CredentialsFromEnv reads credentials from the conventional environment
// variables through getenv (os.Getenv in production, a map in tests).
// The error names the variables to set and never includes their values.
func CredentialsFromEnv(getenv func(string) string) (Credentials, error) {
	var partial []string
	for _, s := range envCredentialSets() {
		id, secret := strings.TrimSpace(getenv(s.id)), strings.TrimSpace(getenv(s.secret))
		switch {
		case id != "" && secret != "":
			return Credentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: strings.TrimSpace(getenv(s.token))}, nil
		case id != "":
			partial = append(partial, fmt.Sprintf("%s is set but %s is not", s.id, s.secret))
		case secret != "":
			partial = append(partial, fmt.Sprintf("%s is set but %s is not", s.secret, s.id))
		}
	}
	msg := "no ECI credentials found: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET " +
		"(or ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY), plus ALIBABA_CLOUD_SECURITY_TOKEN " +
		"(or ALICLOUD_SECURITY_TOKEN) for STS credentials"
	if len(partial) > 0 {
		msg += " (" + strings.Join(partial, "; ") + ")"
	}
	return Credentials{}, errors.New(msg)
}

// RegionFromEnv returns the region from ALIBABA_CLOUD_REGION_ID or
// ALICLOUD_REGION, or "" when neither is set.
func RegionFromEnv(getenv func(string) string) string {
	for _, v := range []string{envRegion, envRegionLegacy} {
		if r := strings.TrimSpace(getenv(v)); r != "" {
			return r
		}
	}
	return ""
}
