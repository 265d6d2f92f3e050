package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/homedir"
)

// kubernetesModel is the provider's kubernetes block, in schema order.
type kubernetesModel struct {
	Host                 types.String `tfsdk:"host"`
	ClusterCACertificate types.String `tfsdk:"cluster_ca_certificate"`
	ClientCertificate    types.String `tfsdk:"client_certificate"`
	ClientKey            types.String `tfsdk:"client_key"`
	Token                types.String `tfsdk:"token"`
	Insecure             types.Bool   `tfsdk:"insecure"`
	TLSServerName        types.String `tfsdk:"tls_server_name"`
	ConfigPath           types.String `tfsdk:"config_path"`
	ConfigContext        types.String `tfsdk:"config_context"`
	Exec                 types.Object `tfsdk:"exec"`
}

// execModel is the kubernetes block's exec block.
type execModel struct {
	APIVersion types.String `tfsdk:"api_version"`
	Command    types.String `tfsdk:"command"`
	Args       types.List   `tfsdk:"args"`
	Env        types.Map    `tfsdk:"env"`
}

// The KUBE_* variables, as the hashicorp/kubernetes provider reads them
// (https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs#argument-reference).
const (
	envKubeHost          = "KUBE_HOST"
	envKubeCA            = "KUBE_CLUSTER_CA_CERT_DATA"
	envKubeClientCert    = "KUBE_CLIENT_CERT_DATA"
	envKubeClientKey     = "KUBE_CLIENT_KEY_DATA"
	envKubeToken         = "KUBE_TOKEN"
	envKubeInsecure      = "KUBE_INSECURE"
	envKubeTLSServerName = "KUBE_TLS_SERVER_NAME"
	envKubeConfigPath    = "KUBE_CONFIG_PATH"
	envKubeContext       = "KUBE_CTX"
)

// The exec credential API versions client-go still speaks; v1alpha1 is gone.
var execAPIVersions = []string{"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"}

// kubeMode says where the connection to the cluster comes from.
type kubeMode int

const (
	kubeNone       kubeMode = iota // nothing configured
	kubeKubeconfig                 // config_path (+ config_context)
	kubeDirect                     // host + credentials
)

func (m kubeMode) String() string {
	switch m {
	case kubeKubeconfig:
		return "kubeconfig"
	case kubeDirect:
		return "host"
	}
	return "none"
}

// kubeSettings is the kubernetes block after the environment fallbacks.
type kubeSettings struct {
	// unknown lists the block's arguments that were unknown at Configure,
	// as kubernetes.<name>; when it is not empty nothing else is set.
	unknown []string
	mode    kubeMode

	configPath, context setting

	host, ca, cert, key, token, tlsServerName setting
	insecure                                  bool
	exec                                      *clientcmdapi.ExecConfig
}

// kubeAttr is the path of an argument of the kubernetes block.
func kubeAttr(name string) path.Path { return path.Root("kubernetes").AtName(name) }

// resolveKube reads the kubernetes block and the KUBE_* variables and checks
// them. The connection comes from exactly one place, chosen in this order:
// config_path in the block, host in the block, KUBE_CONFIG_PATH, KUBE_HOST.
// A block that holds an unknown value is not checked here: Terraform
// configures the provider again, with the values, before anything is
// applied.
func resolveKube(ctx context.Context, obj types.Object, getenv func(string) string) (kubeSettings, diag.Diagnostics) {
	var diags diag.Diagnostics
	var s kubeSettings
	var m kubernetesModel
	switch {
	case obj.IsUnknown():
		s.unknown = []string{"kubernetes"}
		return s, nil
	case obj.IsNull():
		// No block: the KUBE_* variables alone.
		m = kubernetesModel{Exec: types.ObjectNull(execAttrTypes)}
	default:
		if unknown := unknownKubeAttrs(ctx, obj); len(unknown) > 0 {
			s.unknown = unknown
			return s, nil
		}
		diags.Append(obj.As(ctx, &m, basetypes.ObjectAsOptions{})...)
		if diags.HasError() {
			return s, diags
		}
	}

	s.configPath = stringSetting(m.ConfigPath, getenv, envKubeConfigPath)
	s.context = stringSetting(m.ConfigContext, getenv, envKubeContext)
	s.host = stringSetting(m.Host, getenv, envKubeHost)
	s.ca = stringSetting(m.ClusterCACertificate, getenv, envKubeCA)
	s.cert = stringSetting(m.ClientCertificate, getenv, envKubeClientCert)
	s.key = stringSetting(m.ClientKey, getenv, envKubeClientKey)
	s.token = stringSetting(m.Token, getenv, envKubeToken)
	s.tlsServerName = stringSetting(m.TLSServerName, getenv, envKubeTLSServerName)
	if !m.Insecure.IsNull() {
		s.insecure = m.Insecure.ValueBool()
	} else if v := strings.TrimSpace(getenv(envKubeInsecure)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			diags.AddAttributeError(kubeAttr("insecure"), "Invalid KUBE_INSECURE",
				fmt.Sprintf("The environment variable %s is %q, which is not a boolean. Set it to true or false, or unset it.", envKubeInsecure, v))
		}
		s.insecure = b
	}
	if !m.Exec.IsNull() {
		var em execModel
		diags.Append(m.Exec.As(ctx, &em, basetypes.ObjectAsOptions{})...)
		if diags.HasError() {
			return s, diags
		}
		s.exec = execConfig(ctx, em, &diags)
	}

	// Where the connection comes from.
	switch {
	case s.configPath.fromBlock() && s.host.fromBlock():
		diags.AddAttributeError(kubeAttr("host"), "Conflicting Kubernetes connection",
			"The kubernetes block sets both config_path and host. Use config_path (with config_context) to "+
				"connect as a kubeconfig file says, or host with its credentials, not both.")
		return s, diags
	case s.configPath.fromBlock():
		s.mode = kubeKubeconfig
	case s.host.fromBlock():
		s.mode = kubeDirect
	case s.configPath.value != "" && s.host.value != "":
		diags.AddAttributeError(path.Root("kubernetes"), "Conflicting Kubernetes connection",
			"Both "+envKubeConfigPath+" and "+envKubeHost+" are set in the environment. Unset one of them, or "+
				"set config_path or host in the provider's kubernetes block, which then wins.")
		return s, diags
	case s.configPath.value != "":
		s.mode = kubeKubeconfig
	case s.host.value != "":
		s.mode = kubeDirect
	}

	direct := []struct {
		name string
		s    setting
	}{
		{"cluster_ca_certificate", s.ca}, {"client_certificate", s.cert}, {"client_key", s.key},
		{"token", s.token}, {"tls_server_name", s.tlsServerName},
	}
	switch s.mode {
	case kubeKubeconfig:
		// The file says how to connect; arguments of the block that say
		// it differently are refused rather than silently dropped. The
		// KUBE_* variables of a direct connection do not apply.
		for _, d := range direct {
			if d.s.fromBlock() {
				diags.AddAttributeError(kubeAttr(d.name), "Conflicting Kubernetes connection",
					"The kubernetes block sets "+d.name+", but the connection comes from the kubeconfig file in "+
						s.configPath.origin("config_path")+". Remove "+d.name+", or remove config_path and set host.")
			}
		}
		if !m.Insecure.IsNull() {
			diags.AddAttributeError(kubeAttr("insecure"), "Conflicting Kubernetes connection",
				"The kubernetes block sets insecure, but the connection comes from the kubeconfig file in "+
					s.configPath.origin("config_path")+". Remove insecure, or set it in the kubeconfig file.")
		}
		if s.exec != nil {
			diags.AddAttributeError(kubeAttr("exec"), "Conflicting Kubernetes connection",
				"The kubernetes block has an exec block, but the connection comes from the kubeconfig file in "+
					s.configPath.origin("config_path")+". Remove exec, or remove config_path and set host.")
		}
		s.host, s.ca, s.cert, s.key, s.token, s.tlsServerName, s.insecure = setting{}, setting{}, setting{}, setting{}, setting{}, setting{}, false
		return s, diags
	case kubeNone:
		for _, d := range direct {
			if d.s.fromBlock() {
				diags.AddAttributeError(kubeAttr(d.name), "Missing Kubernetes host",
					"The kubernetes block sets "+d.name+" but no host to use it with. Set host (or "+envKubeHost+
						") to the API server's URL, or use config_path for a kubeconfig file.")
			}
		}
		if s.context.fromBlock() {
			diags.AddAttributeError(kubeAttr("config_context"), "Missing kubeconfig file",
				"config_context picks a context of a kubeconfig file, but no config_path (or "+envKubeConfigPath+
					") names one. Set config_path, or remove config_context.")
		}
		if s.exec != nil {
			diags.AddAttributeError(kubeAttr("exec"), "Missing Kubernetes host",
				"The kubernetes block has an exec block but no host to use it with. Set host (or "+envKubeHost+
					") to the API server's URL.")
		}
		return kubeSettings{}, diags
	}

	// A direct connection.
	if s.context.fromBlock() {
		diags.AddAttributeError(kubeAttr("config_context"), "Conflicting Kubernetes connection",
			"config_context picks a context of the kubeconfig file in config_path, but the connection is "+
				"given by "+s.host.origin("host")+". Remove config_context, or use config_path instead of host.")
	}
	s.configPath, s.context = setting{}, setting{}
	if err := checkKubeHost(s.host.value); err != "" {
		diags.AddAttributeError(kubeAttr("host"), "Invalid Kubernetes host",
			"The argument "+s.host.origin("host")+" "+err+". Give the API server's URL, "+
				"such as https://203.0.113.10:6443.")
	}
	if s.ca.value != "" {
		if s.insecure {
			diags.AddAttributeError(kubeAttr("insecure"), "Conflicting Kubernetes connection",
				"insecure turns off the check of the API server's certificate, and "+s.ca.origin("cluster_ca_certificate")+
					" gives the CA to check it with. Keep one of them.")
		}
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(s.ca.value)) {
			diags.AddAttributeError(kubeAttr("cluster_ca_certificate"), "Invalid cluster CA certificate",
				"The argument "+s.ca.origin("cluster_ca_certificate")+" holds no PEM-encoded certificate."+base64Hint(s.ca.value))
		}
	}
	switch {
	case s.cert.value != "" && s.key.value == "":
		diags.AddAttributeError(kubeAttr("client_key"), "Incomplete client certificate",
			"The argument "+s.cert.origin("client_certificate")+" is set but client_key (or "+envKubeClientKey+
				") is not. Set the private key of the certificate, or remove client_certificate.")
	case s.key.value != "" && s.cert.value == "":
		diags.AddAttributeError(kubeAttr("client_certificate"), "Incomplete client certificate",
			"The argument "+s.key.origin("client_key")+" is set but client_certificate (or "+envKubeClientCert+
				") is not. Set the certificate of the key, or remove client_key.")
	case s.key.value != "":
		if _, err := tls.X509KeyPair([]byte(s.cert.value), []byte(s.key.value)); err != nil {
			// The tls package's errors describe the input without quoting it.
			diags.AddAttributeError(kubeAttr("client_certificate"), "Invalid client certificate",
				"The arguments "+s.cert.origin("client_certificate")+" and "+s.key.origin("client_key")+
					" are not a PEM-encoded certificate and its private key: "+err.Error()+"."+base64Hint(s.cert.value))
		}
	}
	if s.exec != nil {
		for _, d := range []struct {
			name string
			s    setting
		}{{"token", s.token}, {"client_certificate", s.cert}} {
			if d.s.value != "" {
				diags.AddAttributeError(kubeAttr("exec"), "Conflicting Kubernetes credentials",
					"The exec block and "+d.s.origin(d.name)+" both give credentials for the API server. "+
						"Keep one of them.")
			}
		}
	}
	return s, diags
}

var execAttrTypes = map[string]attr.Type{
	"api_version": types.StringType,
	"command":     types.StringType,
	"args":        types.ListType{ElemType: types.StringType},
	"env":         types.MapType{ElemType: types.StringType},
}

// unknownKubeAttrs lists the arguments of the block (a known object) that
// hold unknown values, as kubernetes.<name>.
func unknownKubeAttrs(ctx context.Context, obj types.Object) []string {
	var unknown []string
	attrs := obj.Attributes()
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, err := attrs[n].ToTerraformValue(ctx)
		if err != nil || !v.IsFullyKnown() {
			unknown = append(unknown, "kubernetes."+n)
		}
	}
	return unknown
}

// execConfig turns the exec block into client-go's form.
func execConfig(ctx context.Context, em execModel, diags *diag.Diagnostics) *clientcmdapi.ExecConfig {
	ec := &clientcmdapi.ExecConfig{
		APIVersion: em.APIVersion.ValueString(),
		Command:    em.Command.ValueString(),
		// Terraform runs without a terminal for the plugin: a plugin that
		// asks for input would hang.
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}
	diags.Append(em.Args.ElementsAs(ctx, &ec.Args, false)...)
	env := map[string]string{}
	diags.Append(em.Env.ElementsAs(ctx, &env, false)...)
	names := make([]string, 0, len(env))
	for n := range env {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ec.Env = append(ec.Env, clientcmdapi.ExecEnvVar{Name: n, Value: env[n]})
	}
	ok := false
	for _, v := range execAPIVersions {
		ok = ok || ec.APIVersion == v
	}
	if !ok {
		diags.AddAttributeError(kubeAttr("exec").AtName("api_version"), "Unsupported exec API version",
			fmt.Sprintf("api_version %q is not one this provider speaks; use %s. The plugin's documentation "+
				"says which one it returns.", ec.APIVersion, strings.Join(execAPIVersions, " or ")))
	}
	if ec.Command == "" {
		diags.AddAttributeError(kubeAttr("exec").AtName("command"), "Missing exec command",
			"The exec block needs the command of the credential plugin, such as aliyun or kubelogin.")
	}
	return ec
}

// checkKubeHost returns what is wrong with an API server address, or "".
// client-go takes a URL (https://host:port/prefix) or a bare host[:port].
func checkKubeHost(host string) string {
	if strings.ContainsAny(host, " \t\n") {
		return "contains white space"
	}
	if !strings.Contains(host, "://") {
		if strings.ContainsAny(host, "/?#") {
			return "is neither a URL nor a host[:port]"
		}
		return ""
	}
	u, err := url.Parse(host)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "https" && u.Scheme != "http":
		return "has the scheme " + strconv.Quote(u.Scheme) + "; use https (or http)"
	case u.Host == "":
		return "has no host"
	}
	return ""
}

// base64Hint points out a value that is base64 of PEM, as kubeconfig files
// hold them, without showing the value.
func base64Hint(v string) string {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return ""
	}
	if blk, _ := pem.Decode(b); blk == nil {
		return ""
	}
	return " It looks base64-encoded, as a kubeconfig file stores it: pass it through base64decode()."
}

// restConfig builds the client configuration. It reads the kubeconfig file
// and does not contact the API server.
func (s kubeSettings) restConfig() (*rest.Config, error) {
	switch s.mode {
	case kubeKubeconfig:
		p := s.configPath.value
		if p == "~" || strings.HasPrefix(p, "~/") {
			p = filepath.Join(homedir.HomeDir(), p[1:])
		}
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: p}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: s.context.value}
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("load the kubeconfig file in %s: %w", s.configPath.origin("config_path"), err)
		}
		return cfg, nil
	case kubeDirect:
		return &rest.Config{
			Host:        s.host.value,
			BearerToken: s.token.value,
			TLSClientConfig: rest.TLSClientConfig{
				Insecure:   s.insecure,
				ServerName: s.tlsServerName.value,
				CAData:     pemBytes(s.ca.value),
				CertData:   pemBytes(s.cert.value),
				KeyData:    pemBytes(s.key.value),
			},
			ExecProvider: s.exec,
		}, nil
	}
	return nil, fmt.Errorf("no Kubernetes connection is configured")
}

// pemBytes is v as bytes, nil when empty: client-go tells "not set" by nil.
func pemBytes(v string) []byte {
	if v == "" {
		return nil
	}
	return []byte(v)
}
