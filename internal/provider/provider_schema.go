package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// providerSchema is the provider block. The descriptions are what
// tfplugindocs writes into docs/index.md and what language servers show.
func providerSchema() schema.Schema {
	return schema.Schema{
		MarkdownDescription: "The `eci` provider connects self-managed Kubernetes clusters to Alibaba Cloud " +
			"Elastic Container Instance (ECI) through virtual nodes (VNodes): it declares VNodes, their tags and " +
			"eci-profile rules, and installs the bundled `eci-vnode` runtime into the cluster.",
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The Alibaba Cloud region whose ECI API is called, such as `cn-hangzhou`. " +
					"Unset or empty: the environment variable `ALIBABA_CLOUD_REGION_ID`, else `ALICLOUD_REGION`. " +
					"Needed by resources that call the ECI API.",
			},
			"access_key": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The AccessKey ID of a RAM user or role. Set it together with `secret_key` " +
					"(and `security_token` for STS credentials); the three are taken as a whole, so when the " +
					"provider block sets any of them no credential is read from the environment. Unset: " +
					"`ALIBABA_CLOUD_ACCESS_KEY_ID` and `ALIBABA_CLOUD_ACCESS_KEY_SECRET` " +
					"(and `ALIBABA_CLOUD_SECURITY_TOKEN`), else `ALICLOUD_ACCESS_KEY` and `ALICLOUD_SECRET_KEY` " +
					"(and `ALICLOUD_SECURITY_TOKEN`): the first complete pair wins.",
			},
			"secret_key": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "The AccessKey secret of `access_key`. Unset: from the environment, as for `access_key`.",
			},
			"security_token": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "The STS security token, for temporary credentials (an assumed RAM role). " +
					"Unset: from the environment with the key pair, as for `access_key`.",
			},
			"endpoint": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The ECI API endpoint, to call something other than the region's public " +
					"endpoint `eci.<region>.aliyuncs.com`: the VPC endpoint " +
					"(`eci-vpc.cn-hangzhou.aliyuncs.com`), or an emulator (`http://127.0.0.1:8080`). A host " +
					"with an optional port (HTTPS), or a URL with an `http` or `https` scheme and no path.",
			},
			"default_tags": schema.MapAttribute{
				Optional:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Tags added to every ECI instance of the VNodes this provider manages, " +
					"under the resources' own tags. At most 15 (ECI takes 20 per instance and the runtime " +
					"sets five of its own); keys of up to 64 characters that do not start with `aliyun`, " +
					"`acs:` or `eci-vnode/`, values of up to 128 characters.",
			},
		},
		Blocks: map[string]schema.Block{
			"kubernetes": kubernetesBlock(),
		},
	}
}

func kubernetesBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "The cluster the VNodes join, reached as the `kubernetes` and `helm` providers " +
			"reach it and with the same `KUBE_*` environment variables. Give either `config_path` " +
			"(and `config_context`) for a kubeconfig file, or `host` with its credentials: " +
			"`cluster_ca_certificate` and one of `token`, `client_certificate` with `client_key`, or an " +
			"`exec` block, not both. `config_path` or `host` in the block wins over `KUBE_CONFIG_PATH` and " +
			"`KUBE_HOST` in the environment, of which, too, only one may be set. The provider does not read " +
			"`KUBECONFIG` or `~/.kube/config` on its own. It connects only when a resource needs the " +
			"cluster.",
		Attributes: map[string]schema.Attribute{
			"host": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The URL of the API server, such as `https://203.0.113.10:6443`. " +
					"Unset or empty: `KUBE_HOST`.",
			},
			"cluster_ca_certificate": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "PEM-encoded CA certificate(s) the API server's certificate is checked " +
					"against (a kubeconfig file holds them base64-encoded: pass them through " +
					"`base64decode()`). Unset or empty: `KUBE_CLUSTER_CA_CERT_DATA`, else the system's roots.",
			},
			"client_certificate": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "PEM-encoded client certificate to authenticate with, together with " +
					"`client_key`. Unset or empty: `KUBE_CLIENT_CERT_DATA`.",
			},
			"client_key": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "PEM-encoded private key of `client_certificate`. Unset or empty: " +
					"`KUBE_CLIENT_KEY_DATA`.",
			},
			"token": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "Bearer token to authenticate with, such as a ServiceAccount token. " +
					"Unset or empty: `KUBE_TOKEN`.",
			},
			"insecure": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Whether to skip the check of the API server's certificate. Default " +
					"`false`; unset: `KUBE_INSECURE`. Cannot be combined with `cluster_ca_certificate`.",
			},
			"tls_server_name": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The name the API server's certificate is checked against, when it is " +
					"not the host of `host`. Unset or empty: `KUBE_TLS_SERVER_NAME`.",
			},
			"config_path": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Path of a kubeconfig file to connect as it says (`~/` is the home " +
					"directory). The file is read when a resource first needs the cluster. Unset or empty: " +
					"`KUBE_CONFIG_PATH`. Cannot be combined with `host` and its credentials.",
			},
			"config_context": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The context of the kubeconfig file to use. Default: the file's " +
					"`current-context`; unset or empty: `KUBE_CTX`.",
			},
		},
		Blocks: map[string]schema.Block{
			"exec": schema.SingleNestedBlock{
				MarkdownDescription: "A credential plugin to run for a token, as in a kubeconfig file's " +
					"`users[].user.exec`, such as `kubelogin`. Used with `host`, instead of `token` or " +
					"`client_certificate`.",
				Attributes: map[string]schema.Attribute{
					"api_version": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "The ExecCredential API version the plugin speaks: " +
							"`client.authentication.k8s.io/v1` or `client.authentication.k8s.io/v1beta1`. Required.",
					},
					"command": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "The plugin's executable, a path or a name found on `PATH`. Required.",
					},
					"args": schema.ListAttribute{
						Optional:            true,
						ElementType:         types.StringType,
						MarkdownDescription: "Arguments of the plugin.",
					},
					"env": schema.MapAttribute{
						Optional:            true,
						ElementType:         types.StringType,
						MarkdownDescription: "Environment variables set for the plugin, on top of Terraform's own.",
					},
				},
			},
		},
	}
}
