package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// processesMentioning returns "pid: cmdline" of every process (other than this one) whose
// command line contains s.
func processesMentioning(t testing.TB, s string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("scan /proc: %v", err)
	}
	self := os.Getpid()
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue // gone, or a zombie/kernel thread
		}
		cmd := strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
		if strings.Contains(cmd, s) {
			out = append(out, e.Name()+": "+cmd)
		}
	}
	return out
}

// processesOutliving returns what processesMentioning still finds for any of ss after
// polling for up to within. A process signalled with SIGKILL is not gone the moment its
// killer returns: the kernel tears it down asynchronously, which on a loaded machine can
// take a noticeable time, so a check made right after a stop must allow for that.
func processesOutliving(t testing.TB, within time.Duration, ss ...string) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var left []string
		for _, s := range ss {
			left = append(left, processesMentioning(t, s)...)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}
