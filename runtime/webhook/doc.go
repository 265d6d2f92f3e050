// Package webhook is the eci-profile admission webhook, `eci-vnode profile-webhook`: it
// routes new pods to VNodes by the rules of the eci-profile, gives them their ECI
// settings, refuses what a VNode cannot run with a message that names the alternative,
// warns about Services and DaemonSets that will not work with VNodes, and makes
// ReplicaSets scale in their ECI pods first.
//
// # What it does
//
// Mutation (pods, CREATE). The profile is the ConfigMap kube-system/eci-profile (see
// internal/profile for the format). The webhook reads it through an informer: an edit
// takes effect for the next pod, without a restart. The one selector that matches a new
// pod (by the labels of the pod and of its namespace; highest priority, then name)
// applies its effects — labels and annotations the pod does not have yet — and its
// placement:
//
//   - virtualNodeOnly (the default): the VNode toleration and the nodeSelector
//     k8s.aliyun.com/vnode: "true" (with virtualNode: a required affinity to that node);
//   - fair: the toleration only, the scheduler decides;
//   - normalNodePrefer (burst): the toleration and a preferred affinity for nodes that are
//     not VNodes, so pods fill the normal nodes and overflow to VNodes.
//
// The pod is annotated eci-vnode.io/profile-selector: <name>. Pods that already name their
// node and DaemonSet pods keep their placement. A pod a VNode cannot run (below) that a
// fair or normalNodePrefer selector matches gets the effects but not the toleration, so
// it stays on normal nodes, and the API client sees a warning saying so.
//
// A malformed ConfigMap (bad JSON, an unknown policy, a misspelt field, …) is not used:
// the last good version stays in effect — or no selector at all, if none was ever good —
// and the problem is reported three ways: a Warning Event with reason InvalidProfile on
// the ConfigMap listing every problem, a log line, and the metrics
// eci_vnode_profile_config_valid (0) and eci_vnode_profile_config_errors_total. A valid
// version is acknowledged with a Normal Event ProfileLoaded. Deleting the ConfigMap
// removes all selectors. Nothing about the profile ever blocks a pod.
//
// Guards (pods, CREATE; a validating webhook, so it sees the pod as the mutation left
// it). A pod is refused when it can only run on a VNode — spec.nodeName names a node
// labelled k8s.aliyun.com/vnode=true, its nodeSelector demands k8s.aliyun.com/vnode:
// "true", every term of its required node affinity demands a VNode (by that label, or by
// node name as the DaemonSet controller pins its pods), or a virtualNodeOnly selector
// routes it — and it uses what a VNode does not support. The refusal names every
// problem with what to use instead (docs/design.md, "Unsupported on a VNode"):
//
//	hostPath volume "data" is not supported on a VNode: use emptyDir, a cloud disk, or NAS (NFS) instead
//	hostNetwork is not supported on a VNode: expose the pod with a Service of type LoadBalancer instead
//	hostPID is not supported on a VNode: use shareProcessNamespace to share processes between the pod's containers instead
//	hostIPC is not supported on a VNode: the pod's containers already share one IPC namespace, remove hostIPC
//	DaemonSet pods cannot run on a VNode: run the agent as a sidecar container in the pod instead
//	annotation k8s.aliyun.com/eci-spot-strategy: "Cheap" is not a valid value: …
//
// The message reads "pod cannot run on a VNode, where <reason> sends it: <problems>";
// the API server prefixes `admission webhook "pods.guard.eci-vnode.io" denied the
// request:`. ECI annotations are held to the same value rules as profile effects,
// because ECI reads them only at creation. A pod that may also run on a normal node is
// never refused. The runtime on the VNode refuses such a pod too, should one get
// there another way (a webhook that was down under failurePolicy Ignore).
//
// Warnings (never refusals), as admission warnings that kubectl and client-go show:
//
//   - Service CREATE/UPDATE of type NodePort whose selector selects pods running on VNodes
//     (the webhook watches bound pods): a node port does not reach an ECI instance; use a
//     Service of type LoadBalancer.
//   - DaemonSet CREATE/UPDATE whose pods would land on a VNode: they are not kept off VNodes
//     by a nodeSelector or required affinity (k8s.aliyun.com/vnode NotIn ["true"]), an
//     existing VNode matches their nodeSelector and affinity, and they tolerate every
//     NoSchedule and NoExecute taint that VNode carries (its --node-taints; by default the
//     VNode taint k8s.aliyun.com/vnode=true:NoSchedule, which a blanket operator: Exists
//     tolerates; passing node.kubernetes.io/* taints and eci-vnode.io/eci-api-unreachable
//     do not count). With no VNode yet, the default VNode taint is assumed. The DaemonSet
//     controller would create pods for such VNodes, and they are refused (above); add the
//     affinity, or use a sidecar.
//
// Scale-in order. Pods running on VNodes get controller.kubernetes.io/pod-deletion-cost
// (default -100, --deletion-cost, "off" disables it) so that a ReplicaSet that scales
// down deletes its ECI pods before those on normal nodes — the burst goes first, and so
// does its bill. A pod's node is known only after scheduling, so this is not done at
// admission but by a small controller in the webhook process, which watches bound pods
// and nodes and patches pods on VNodes that lack the annotation. A cost the pod already
// has is left alone.
//
// # Safety
//
// The pod webhooks use failurePolicy Ignore by default (--failure-policy): a broken or
// unreachable webhook must not stop the cluster from creating pods. The Service and
// DaemonSet webhooks only warn and always use Ignore. Calls time out after at most 5
// seconds (--timeout-seconds, 1–5). The pod webhooks never see pods in kube-system or in
// the webhook's own namespace (a namespaceSelector on kubernetes.io/metadata.name), so
// the webhook can never keep itself or the control plane from starting. All webhooks
// declare sideEffects None (dry-run requests are answered like any other) and speak
// admission.k8s.io/v1. Everything a request needs is read from informer caches.
//
// # Certificates and configurations
//
// The webhook keeps a CA and a serving certificate (ECDSA P-256) in the Secret
// <namespace>/eci-vnode-webhook-tls (type kubernetes.io/tls; ca.crt is the bundle the
// API server trusts, ca.key the CA's key), creating them when missing. It renews each at
// 80% of its lifetime (serving 1 year, CA 5 years by default); a renewed serving
// certificate is served from the next TLS handshake on (tls.Config.GetCertificate), with
// no restart. A new CA joins the bundle next to the old one and signs the serving
// certificate only a minute later, so API servers trust it before they see it; old CAs
// leave the bundle when they expire. Replicas share the Secret (optimistic concurrency)
// and each serves what it holds. The serving certificate names the Service
// (<service>, <service>.<namespace>, ….svc, ….svc.cluster.local) or, in URL mode, the
// URL's host (an IP address becomes an IP SAN); it is reissued when that changes.
//
// The webhook writes its MutatingWebhookConfiguration and ValidatingWebhookConfiguration
// (both named eci-vnode-profile) itself by server-side apply with field manager
// eci-vnode, with the current caBundle: at start, whenever the bundle changes, and every
// --resync-period to repair edits. The webhooks are pods.profile.eci-vnode.io
// (mutating) and pods.guard., services.guard., daemonsets.guard.eci-vnode.io
// (validating), at the paths /mutate/pods, /validate/pods, /validate/services and
// /validate/daemonsets. The API server reaches them through the Service
// <namespace>/eci-vnode-webhook port 443 (--service-name), which the installer puts in
// front of the Deployment, or in URL mode (--webhook-url-host HOST:PORT) at
// https://HOST:PORT/… directly — for the local sandbox, whose API server cannot route to
// Services and which runs the pod as a local process with POD_IP set to a unique
// 127.0.0.N (--webhook-url-host=$(POD_IP):9443). URL mode is for one replica.
//
// # Flags
//
// Each flag can also be set by the environment variable ECI_VNODE_<FLAG> (dashes become
// underscores) or by a key in the YAML file of --config; the command line wins, then the
// environment, then the file, then the default.
//
//	--namespace           own namespace and Secret's (default $POD_NAMESPACE, else eci-vnode-system)
//	--listen              HTTPS address (default $POD_IP:9443)
//	--webhook-url-host    URL mode: HOST:PORT the API server calls
//	--service-name        Service in front of the webhook (default eci-vnode-webhook); --service-port (443)
//	--configuration-name  name of both webhook configurations (default eci-vnode-profile)
//	--secret-name         TLS Secret (default eci-vnode-webhook-tls)
//	--failure-policy      Ignore (default) or Fail, for the pod webhooks
//	--timeout-seconds     1 to 5 (default 5)
//	--deletion-cost       pod-deletion-cost of pods on VNodes (default -100), or off
//	--metrics-addr        /metrics, /livez, /healthz, /readyz over HTTP (default $POD_IP:8080), or off
//	--kubeconfig          default: in-cluster configuration
//	--kube-api-qps, --kube-api-burst, --cert-validity, --ca-validity, --resync-period
//	--log-level           debug, info, warn or error
//	--log-format          text (default: logfmt-style key=value) or json (one JSON object a line)
//	--config              YAML file of the settings above
//
// /livez and /healthz (liveness: "ok" while it serves) and /readyz (ready once the
// configurations are applied; the body lists the check, as kube-apiserver's
// /readyz?verbose does) are served on the webhook port too, for probes.
//
// # Permissions
//
// The least RBAC it runs with (TestRuntimeImageDeployment runs it with exactly this):
//
//	cluster:      namespaces, nodes: get, list, watch; pods: get, list, watch, patch;
//	              mutating- and validatingwebhookconfigurations: create, and get, patch
//	              on the one named by --configuration-name
//	kube-system:  configmaps: get, list, watch on eci-profile; events: create, patch
//	own namespace: secrets: create, and get, list, watch, update on --secret-name
//
// # Metrics
//
//	eci_vnode_admission_requests_total{kind,webhook,result}   result: allowed, patched, warned, denied, error
//	eci_vnode_admission_duration_seconds{kind,webhook}        time to answer one request
//	eci_vnode_profile_config_valid                            1 valid, 0 malformed (last good kept)
//	eci_vnode_profile_config_errors_total                     malformed versions seen
//	eci_vnode_profile_selectors                               selectors in use
//	eci_vnode_profile_mutations_total{selector,policy}        pods mutated
//	eci_vnode_profile_placement_withheld_total                pods kept off VNodes (fair/normalNodePrefer + unsupported feature)
//	eci_vnode_pod_deletion_cost_patches_total{result}         patched, gone, error
//	eci_vnode_webhook_certificate_expiry_timestamp_seconds{cert}
//	eci_vnode_webhook_certificate_rotations_total{cert}
//	eci_vnode_webhook_configuration_applies_total{result}
package webhook
