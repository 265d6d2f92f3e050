package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestSourceDateEpochIsSecondsOrZeroWhenUnset(t *testing.T) {
	for in, want := range map[string]time.Time{
		"":            time.Unix(0, 0).UTC(),
		" 1700000000": time.Unix(1700000000, 0).UTC(),
	} {
		got, err := parseEpoch(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseEpoch(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1", "2023-11-14", "1.5"} {
		if _, err := parseEpoch(bad); err == nil {
			t.Errorf("parseEpoch(%q) accepted a value that is not whole non-negative seconds", bad)
		}
	}
}

func TestRunRefusesMissingInputsBeforeBuilding(t *testing.T) {
	noenv := func(string) string { return "" }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--revision", "abc"}, "Version are required"},
		{[]string{"--version", "v1", "--revision", "abc", "--source-date-epoch", "soon"}, "source date epoch"},
		{[]string{"--version", "v1", "extra"}, "unexpected arguments"},
		{[]string{"push", "--layout", "/nonexistent"}, "open the OCI layout /nonexistent"},
		{[]string{"push", "extra"}, "unexpected arguments"},
	} {
		err := run(context.Background(), c.args, io.Discard, noenv)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", c.args, err, c.want)
		}
	}
}
