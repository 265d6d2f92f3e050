// Package profile is the one model of the eci-profile: the rules that decide which
// pods run on ECI through a VNode, what ECI settings they get, and where they may be
// scheduled. The Terraform provider writes it (one entry per eci_profile_selector),
// the admission webhook reads it and mutates new pods; both go through this package
// and nothing else encodes the format.
//
// # Where it lives
//
// The ConfigMap kube-system/eci-profile, key "selectors", holds a JSON array of
// selectors. This is Alibaba ACK's format, so an ACK profile works unchanged; the
// other keys ACK keeps there (vpcId, securityGroupId, vSwitchIds, enableClusterIp,
// featureGates, …) are preserved as they are and not interpreted.
//
//	apiVersion: v1
//	kind: ConfigMap
//	metadata: {name: eci-profile, namespace: kube-system}
//	data:
//	  selectors: |
//	    [
//	      {"name":"eci-label","objectSelector":{"matchLabels":{"alibabacloud.com/eci":"true"}}},
//	      {"name":"burst-web","namespaceSelector":{"matchLabels":{"team":"web"}},
//	       "objectSelector":{"matchExpressions":[{"key":"tier","operator":"In","values":["frontend"]}]},
//	       "effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi"},"labels":{"billing":"eci"}},
//	       "policy":"normalNodePrefer","priority":10}
//	    ]
//
// # A selector
//
//   - name (required): unique within the profile, a DNS-1123 label (at most 63
//     lowercase letters, digits and '-', starting and ending with a letter or digit),
//     the form of ACK's own names ("default-selector-1") and of a Kubernetes name, so
//     it can also appear in label values and resource names.
//   - namespaceSelector, objectSelector: Kubernetes label selectors (matchLabels and
//     matchExpressions with In, NotIn, Exists, DoesNotExist), against the labels of the
//     pod's namespace and of the pod. Namespaces are selected by name with the label
//     kubernetes.io/metadata.name. A selector with both needs both to match. A missing
//     (or null) part is not used; a present but empty part ({}) matches everything.
//     At least one part is required: ACK requires it too, and an entry without either
//     is more likely a typo than a wish to send every pod of the cluster to ECI. To
//     match every pod on purpose, write "objectSelector": {}.
//   - effect: annotations and labels added to matched pods, typically ECI annotations
//     (k8s.aliyun.com/eci-use-specs, eci-spot-strategy, …). A key the pod already has
//     keeps the pod's value: pod annotations win over the profile, as in ACK. Values of
//     well-known ECI annotations are checked (booleans, numbers, fixed choices).
//   - policy (extension): where matched pods may run.
//     virtualNodeOnly (default) adds the VNode toleration and the nodeSelector
//     k8s.aliyun.com/vnode: "true": the pod runs on a VNode and nowhere else. It is the
//     default because it is what ACK's ECI Scheduler does with a matched pod, and what
//     the open-source eci-profile component does when no policy is given.
//     fair adds the toleration only: the scheduler may pick a VNode or a normal node.
//     normalNodePrefer (burst) adds the toleration and a preferred node affinity (weight
//     100) for nodes without k8s.aliyun.com/vnode=true: pods go to normal nodes while
//     they fit and overflow to VNodes when they do not. This is a scheduling
//     preference decided at pod creation, not a guarantee: other scoring can still pick
//     a VNode for a pod that would fit on a busy normal node.
//   - priority (extension, whole number, default 0): when several selectors match a
//     pod, the highest priority wins; equal priorities go to the name that sorts first.
//     Exactly one selector applies to a pod.
//   - virtualNode (extension): the node name of one VNode; matched pods must run there
//     (a required node affinity on metadata.name, which works whatever the node's
//     labels). Only with policy virtualNodeOnly.
//
// Unknown members of a selector or of its effect are kept when the profile is
// rewritten, so fields of newer ACK versions survive; an unknown member that looks
// like a misspelling of a known one ("namspaceSelector") fails validation. Inside a
// label selector nothing unknown is accepted, because a misspelt "matchLabels" would
// otherwise leave an empty selector that matches every pod. A member name repeated in
// one object is an error too: JSON readers disagree on which one counts.
//
// # What a matched pod gets
//
// The webhook annotates every pod it mutates with eci-vnode.io/profile-selector: <name>,
// so it is visible why a pod runs where it runs. It never adds a toleration, a
// nodeSelector key or an affinity term the pod already has, and it leaves placement
// alone for pods that already name their node (spec.nodeName) and for DaemonSet pods.
// If a pod's own nodeSelector or affinity contradicts the policy, the pod's own
// settings stand, and the scheduler will say the pod does not fit.
//
// # Differences from ACK
//
// ACK applies the effects of every matching selector in array order; here the one
// winning selector applies, because with policies and pinned VNodes mixing several
// selectors has no clear meaning. ACK documents entries without either selector part
// as "effect for all pods scheduled to ECI"; such entries are rejected here (see
// above). Priority and name, not array order, decide between overlapping selectors,
// so the result does not depend on who appended an entry last.
//
// # Writing it
//
// Render keeps hand edits intact: if nothing changed, the original text comes back
// byte for byte; otherwise selectors are written one per line in their existing
// order, new ones appended, untouched ones as they were written. Writers change one
// entry with Upsert and Remove and should check it with Validate before writing.
package profile
