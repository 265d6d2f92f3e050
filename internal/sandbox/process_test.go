package sandbox

import (
	"context"
	"path/filepath"
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
	stubborn, err := startProcess(sp, processSpec{Name: "stubborn", Path: "/bin/sh", Args: []string{"-c", `trap "" TERM; sleep 100.4243 & wait`}, LogPath: filepath.Join(dir, "stubborn.log")})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the shell install its trap
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
