package install

import (
	"errors"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func TestLogFormatBecomesTheFlagOfNodeAndWebhookAndIsChecked(t *testing.T) {
	r := testRuntime()
	r.Webhook.LogFormat = "json"
	v := testVNode()
	v.LogFormat = "json"
	node := find[*appsv1.Deployment](t, must(t)(r.VNodeObjects(v)), "eci-vnode-"+v.Name).Spec.Template.Spec.Containers[0]
	webhook := find[*appsv1.Deployment](t, must(t)(r.Objects()), "eci-vnode-webhook").Spec.Template.Spec.Containers[0]
	for name, args := range map[string][]string{"node": node.Args, "webhook": webhook.Args} {
		if !slices.Contains(args, "--log-format=json") {
			t.Errorf("%s args %q lack --log-format=json", name, args)
		}
	}
	// Both are probed on the health endpoints: /readyz for readiness,
	// /livez (which checks nothing outside the process) for liveness.
	for name, c := range map[string]string{"node": node.ReadinessProbe.HTTPGet.Path + " " + node.LivenessProbe.HTTPGet.Path,
		"webhook": webhook.ReadinessProbe.HTTPGet.Path + " " + webhook.LivenessProbe.HTTPGet.Path} {
		if c != "/readyz /livez" {
			t.Errorf("%s probes readiness and liveness on %s; want /readyz /livez", name, c)
		}
	}

	r.Webhook.LogFormat, v.LogFormat = "logfmt", "yaml"
	var ps Problems
	if err := r.ValidateVNode(v); !errors.As(err, &ps) {
		t.Fatalf("unknown log formats accepted: %v", err)
	}
	got := map[string]string{}
	for _, p := range ps {
		got[p.Setting] = p.Message
	}
	if got["Webhook.LogFormat"] != `"logfmt" is not a log format; use text or json` || got["VNode.LogFormat"] != `"yaml" is not a log format; use text or json` {
		t.Errorf("problems %v; want one for Webhook.LogFormat and one for VNode.LogFormat", ps)
	}
}
