package provider

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// providerModel is the provider block, in schema order.
type providerModel struct {
	Region        types.String `tfsdk:"region"`
	AccessKey     types.String `tfsdk:"access_key"`
	SecretKey     types.String `tfsdk:"secret_key"`
	SecurityToken types.String `tfsdk:"security_token"`
	Endpoint      types.String `tfsdk:"endpoint"`
	DefaultTags   types.Map    `tfsdk:"default_tags"`
	// Kubernetes is kept as an object, not a struct pointer: the whole block
	// may be unknown at plan time (a dynamic block), and a struct cannot
	// hold that.
	Kubernetes types.Object `tfsdk:"kubernetes"`
}

// Environment variables the provider reads when an argument is unset or
// empty. The ALIBABA_CLOUD_* names are those of the current Alibaba Cloud
// SDKs and CLI and win over the ALICLOUD_* names of the alicloud provider,
// as in internal/eci (CredentialsFromEnv, RegionFromEnv).
var (
	envRegion    = []string{"ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION"}
	envAccessKey = []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY"}
	envSecretKey = []string{"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECRET_KEY"}
)

// config is the provider block after the environment fallbacks, checked as
// far as its known values allow. Nothing in it has talked to a server.
type config struct {
	eci  eciSettings
	kube kubeSettings
	// tags are default_tags; tagsKnown is false when the map or one of its
	// values was unknown at Configure.
	tags      map[string]string
	tagsKnown bool
}

// eciSettings is what the ECI client is built from.
type eciSettings struct {
	region   setting
	endpoint setting
	// creds are nil when no credentials were given at all; credsFrom says
	// where they came from ("the provider block" or "the environment").
	creds     *eci.Credentials
	credsFrom string
	// envProblem is what is wrong with half-set credential variables, kept
	// for the error at first use.
	envProblem string
	// unknown lists the arguments that were unknown at Configure.
	unknown []string
}

// setting is one string argument after the environment fallback.
type setting struct {
	value   string
	env     string // the variable it came from; "" for the provider block or unset
	unknown bool
}

// origin names the argument for a message: "region", or
// "region (from ALICLOUD_REGION)" when the value came from the environment.
func (s setting) origin(attr string) string {
	if s.env != "" {
		return attr + " (from " + s.env + ")"
	}
	return attr
}

// fromBlock reports whether the provider block set a non-empty value.
func (s setting) fromBlock() bool { return s.value != "" && s.env == "" }

// stringSetting reads a string argument: the block's value unless it is null
// or empty, else the first non-empty variable of envs. An unknown value is
// kept as unknown: it will be known when Terraform configures the provider
// again for apply, and the environment must not stand in for it.
func stringSetting(v types.String, getenv func(string) string, envs ...string) setting {
	if v.IsUnknown() {
		return setting{unknown: true}
	}
	if s := v.ValueString(); s != "" {
		return setting{value: s}
	}
	for _, name := range envs {
		if s := strings.TrimSpace(getenv(name)); s != "" {
			return setting{value: s, env: name}
		}
	}
	return setting{}
}

// resolveConfig applies the environment fallbacks to m and checks every
// known value. An error names the argument (and the variable, when the value
// came from one) and says what to do. Values that are missing but needed
// only by some resources (credentials, region, the Kubernetes connection)
// are not errors here; the resources that need them report them.
func resolveConfig(ctx context.Context, m providerModel, getenv func(string) string) (config, diag.Diagnostics) {
	var diags diag.Diagnostics
	var c config
	c.eci, diags = resolveECI(m, getenv)
	kube, d := resolveKube(ctx, m.Kubernetes, getenv)
	c.kube = kube
	diags.Append(d...)
	c.tags, c.tagsKnown, d = resolveTags(m.DefaultTags)
	diags.Append(d...)
	return c, diags
}

func resolveECI(m providerModel, getenv func(string) string) (eciSettings, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := eciSettings{
		region:   stringSetting(m.Region, getenv, envRegion...),
		endpoint: stringSetting(m.Endpoint, getenv),
	}
	if s.region.unknown {
		s.unknown = append(s.unknown, "region")
	} else if s.region.value != "" {
		if err := eci.CheckRegion(s.region.value); err != nil {
			diags.AddAttributeError(path.Root("region"), "Invalid region",
				"The provider argument "+s.region.origin("region")+" is not a region ID: "+err.Error()+
					". Use the ID of an Alibaba Cloud region where ECI is offered, such as cn-hangzhou or ap-southeast-1.")
		}
	}
	if s.endpoint.unknown {
		s.unknown = append(s.unknown, "endpoint")
	} else if s.endpoint.value != "" {
		if err := eci.CheckEndpoint(s.endpoint.value, ""); err != nil {
			diags.AddAttributeError(path.Root("endpoint"), "Invalid endpoint",
				"The provider argument endpoint is not an API address: "+err.Error()+
					". Give a host name with an optional port (eci-vpc.cn-hangzhou.aliyuncs.com) or a URL "+
					"with an http or https scheme and no path (http://127.0.0.1:8080), or leave it unset "+
					"for the region's public endpoint.")
		}
	}

	ak, sk, tok := m.AccessKey, m.SecretKey, m.SecurityToken
	for _, a := range []struct {
		name string
		v    types.String
	}{{"access_key", ak}, {"secret_key", sk}, {"security_token", tok}} {
		if a.v.IsUnknown() {
			s.unknown = append(s.unknown, a.name)
		}
	}
	blockSet := func(v types.String) bool { return !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" }
	switch {
	case ak.IsUnknown() || sk.IsUnknown() || tok.IsUnknown():
		// Checked when Terraform configures the provider with the values.
	case blockSet(ak) || blockSet(sk) || blockSet(tok):
		// The block's credentials are taken as a whole: a key pair from
		// the block and a token from the environment belong to different
		// identities.
		switch {
		case !blockSet(ak):
			diags.AddAttributeError(path.Root("access_key"), "Incomplete credentials",
				"The provider block sets "+strings.Join(setNames(sk, tok), " and ")+" but not access_key. "+
					"Set access_key to the AccessKey ID that goes with secret_key, or remove the credentials "+
					"from the provider block to take them from the environment.")
		case !blockSet(sk):
			diags.AddAttributeError(path.Root("secret_key"), "Incomplete credentials",
				"The provider block sets access_key but not secret_key. Set secret_key to the AccessKey "+
					"secret of that key, or remove the credentials from the provider block to take them "+
					"from the environment.")
		default:
			s.creds = &eci.Credentials{AccessKeyID: ak.ValueString(), AccessKeySecret: sk.ValueString(), SecurityToken: tok.ValueString()}
			s.credsFrom = "the provider block"
		}
	default:
		if cr, err := eci.CredentialsFromEnv(getenv); err == nil {
			s.creds = &cr
			s.credsFrom = "the environment"
		} else {
			s.envProblem = halfSetPairs(getenv)
		}
	}
	return s, diags
}

// setNames lists which of secret_key and security_token the block sets.
func setNames(sk, tok types.String) []string {
	var names []string
	if sk.ValueString() != "" {
		names = append(names, "secret_key")
	}
	if tok.ValueString() != "" {
		names = append(names, "security_token")
	}
	return names
}

// halfSetPairs says which credential variables are set without their
// other half, or "" when none are.
func halfSetPairs(getenv func(string) string) string {
	var half []string
	for i := range envAccessKey {
		id, secret := strings.TrimSpace(getenv(envAccessKey[i])) != "", strings.TrimSpace(getenv(envSecretKey[i])) != ""
		switch {
		case id && !secret:
			half = append(half, envAccessKey[i]+" is set but "+envSecretKey[i]+" is not")
		case secret && !id:
			half = append(half, envSecretKey[i]+" is set but "+envAccessKey[i]+" is not")
		}
	}
	return strings.Join(half, "; ")
}

// maxDefaultTags is what the runtime leaves of an instance's tags
// (docs/design.md, "Owned tags"): ECI takes 20 per instance and the runtime
// owns five. install holds the numbers, tied by a test to what the runtime
// really tags.
const maxDefaultTags = install.MaxInstanceTags - install.OwnedTagCount

func resolveTags(m types.Map) (map[string]string, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	if m.IsNull() {
		return map[string]string{}, true, nil
	}
	if m.IsUnknown() {
		return nil, false, nil
	}
	known := true
	tags := map[string]string{}
	elems := m.Elements()
	keys := make([]string, 0, len(elems))
	for k := range elems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := elems[k].(types.String)
		if !ok || v.IsUnknown() {
			known = false
			continue
		}
		if problem := checkTag(k, v.ValueString()); problem != "" {
			diags.AddAttributeError(path.Root("default_tags").AtMapKey(k), "Invalid default tag", problem)
			continue
		}
		tags[k] = v.ValueString()
	}
	if len(elems) > maxDefaultTags {
		diags.AddAttributeError(path.Root("default_tags"), "Too many default tags",
			strconv.Itoa(len(elems))+" default tags are set; at most "+strconv.Itoa(maxDefaultTags)+
				" fit, because ECI takes 20 tags per instance and the runtime puts five of its own on each. Remove some.")
	}
	return tags, known, diags
}

// checkTag applies ECI's tag rules and keeps the runtime's prefix for its
// own tags (eci.CheckTag), as a sentence for a diagnostic.
func checkTag(key, value string) string {
	msg := eci.CheckTag(key, value, install.OwnedTagPrefix)
	if msg == "" {
		return ""
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}
