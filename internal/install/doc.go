// Package install describes what an installed eci-vnode runtime is in a cluster, once:
// the Terraform provider applies it, `eci-vnode render` prints it as YAML, and the local
// sandbox and the webhook's tests run it. It is plain Go over the Kubernetes API types,
// with no Terraform types, so each of them calls it the same way.
//
// A Runtime (once per cluster) renders:
//
//   - the Namespace (eci-vnode-system unless told otherwise; not rendered when
//     NamespaceExists, so that deleting the installation never deletes a namespace it
//     did not make);
//   - the credentials Secret eci-vnode-credentials, from Credentials, unless
//     CredentialsSecret names an existing Secret (then nothing secret is rendered);
//   - the profile webhook: ServiceAccount, ClusterRole, Roles and bindings, Service and
//     Deployment, unless Webhook.Disabled.
//
// Runtime.ConfigMap renders, apart from Objects, the ConfigMap eci-vnode-runtime that
// records the runtime's non-secret settings; RuntimeFromConfigMap reads them back, so a
// VNode installed later renders with the settings of the runtime it joins.
//
// Each VNode renders its own ServiceAccount, a ClusterRole and Roles that name its
// Node and Leases, their bindings, and the Deployment that runs `eci-vnode node` with
// the VNode's settings as flags (docs/runtime.md, "Settings").
//
// # The webhook configurations are the webhook's
//
// The Mutating- and ValidatingWebhookConfiguration eci-vnode-profile are not rendered
// here. The webhook writes them itself, by server-side apply, with the caBundle of the
// CA it keeps in its Secret, and re-applies them when the CA rotates and every resync
// period (see the runtime/webhook package documentation). Their caBundle exists only in
// the cluster, so a rendered copy could never be complete: Terraform would show drift
// on every plan and undo each rotation, and two writers of one object would be two
// descriptions of it. The webhook's settings that shape them (failure policy, log
// level, URL mode) are flags of the Deployment rendered here, which makes this package
// the one description of them. Because the runtime makes them, RuntimeLeftovers lists
// them (with the TLS Secret) so that Delete removes them with the installation. A
// leftover configuration would do no harm meanwhile: with failurePolicy Ignore, a webhook
// that is gone never stops a pod.
//
// # Permissions
//
// The RBAC is the least the code calls, with no wildcard verb, resource or group;
// resource names are used wherever the API allows (get, update, patch — never create,
// list or watch, which RBAC cannot restrict by name). The VNode's runtime runs as its node,
// system:node:<name> (runtime/nodeidentity, TLS bootstrap with the token the approver mints;
// docs/design.md, "Node identity"): the Node authorizer grants it what a kubelet may do, and
// the Roles rendered here add, for that user, the API server's client CA ConfigMap and, with
// leader election, its Lease eci-vnode-<node> in the runtime's namespace. Its ServiceAccount
// may only get and update its own Node (taints, which NodeRestriction denies the node). The
// approver gets, per VNode, get/update/delete of the VNode's two bootstrap token Secrets by
// name. The webhook's are listed in the runtime/webhook package documentation
// ("Permissions").
//
// # Applying
//
// Apply writes objects by server-side apply under the field manager
// terraform-provider-eci, forcing conflicts (the installer owns what it renders).
// Delete removes the objects it is given, in reverse order, and counts NotFound as done.
package install
