package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestVersionSubcommandPrintsInjectedVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "eci-vnode "+version+" ") {
		t.Fatalf("version output %q does not start with the build version %q", out.String(), version)
	}
}

func TestUnknownSubcommandIsAUsageError(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"nonsense"}, &out, &errOut); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), `unknown subcommand "nonsense"`) {
		t.Fatalf("stderr %q does not name the bad subcommand", errOut.String())
	}
}
