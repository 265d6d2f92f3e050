package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestApproverReportsEverySettingProblemBeforeStarting(t *testing.T) {
	var out, errOut bytes.Buffer
	code := approverCommand([]string{"--log-level", "loud", "--kubeconfig", "/nonexistent/kubeconfig"}, &out, &errOut,
		func(string) string { return "" })
	if code == 0 {
		t.Fatalf("approver started with bad settings; stderr %q", errOut.String())
	}
	for _, want := range []string{"--log-level", "--kubeconfig", "/nonexistent/kubeconfig"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr does not name %s:\n%s", want, errOut.String())
		}
	}
}
