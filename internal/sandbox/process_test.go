package sandbox

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProcessStopIsBounded(t *testing.T) {
	sp := newSpawner()
	defer sp.close()
	dir := t.TempDir()

	polite, err := startProcess(sp, processSpec{Name: "polite", Path: "/bin/sleep", Args: []string{"100.4242"}, LogPath: filepath.Join(dir, "polite.log")})
	if err != nil {
		t.Fatal(err)
	}
	if err := polite.stop(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if code := polite.exitCode(); code != 128+15 {
		t.Errorf("exit code after SIGTERM = %d, want 143", code)
	}

	// Ignores SIGTERM, and has a child in its process group that must die too.
	stubbornLog := filepath.Join(dir, "stubborn.log")
	stubborn, err := startProcess(sp, processSpec{Name: "stubborn", Path: "/bin/sh", Args: []string{"-c", `trap "" TERM; echo trapped; sleep 100.4243 & wait`}, LogPath: stubbornLog})
	if err != nil {
		t.Fatal(err)
	}
	// SIGTERM must arrive after the trap is in place, or the shell simply dies of it.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(fileTail(stubbornLog, 5), "trapped"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the shell never installed its trap: %q", fileTail(stubbornLog, 5))
		}
	}
	began := time.Now()
	if err := stubborn.stop(context.Background(), 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("stop took %s with a 500ms grace", d)
	}
	if code := stubborn.exitCode(); code != 128+9 {
		t.Errorf("exit code after SIGKILL = %d, want 137", code)
	}
	if pids := processesOutliving(t, 5*time.Second, "100.4242", "100.4243"); len(pids) > 0 {
		// Both sleeps were in process groups that were signalled.
		t.Errorf("processes left behind: %v", pids)
	}
}
