package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Time limits for StartForTest; tools are normally built by `make tools` beforehand, but a
// cold cache still has to fit.
const (
	testToolsTimeout = 30 * time.Minute
	testStartTimeout = 3 * time.Minute
	testStopTimeout  = 1 * time.Minute
)

// StartForTest ensures the tools, starts a sandbox for t and registers its Stop with
// t.Cleanup. If opts.Dir is empty it uses a fresh t.TempDir(). The sandbox's own log goes to
// <dir>/sandbox.log; when the test fails, the tail of every component and pod log is written
// to the test log before the sandbox stops. A start failure fails the test at once.
func StartForTest(t testing.TB, opts Options) *Sandbox {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		t.Fatalf("sandbox: create dir: %v", err)
	}
	logFile, err := os.Create(filepath.Join(opts.Dir, "sandbox.log"))
	if err != nil {
		t.Fatalf("sandbox: create log: %v", err)
	}
	if opts.Log == nil {
		opts.Log = logFile
	}
	if opts.Tools == nil {
		ctx, cancel := context.WithTimeout(context.Background(), testToolsTimeout)
		tools, err := EnsureTools(ctx, ToolOptions{Progress: logFile, MetricsServer: opts.MetricsServer})
		cancel()
		if err != nil {
			logFile.Close()
			t.Fatalf("sandbox: ensure tools: %v", err)
		}
		opts.Tools = tools
	}
	ctx, cancel := context.WithTimeout(context.Background(), testStartTimeout)
	defer cancel()
	sb, err := Start(ctx, opts)
	if err != nil {
		dumpLogs(t, opts.Dir)
		logFile.Close()
		t.Fatalf("sandbox: start: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, sb.Dir())
		}
		ctx, cancel := context.WithTimeout(context.Background(), testStopTimeout)
		defer cancel()
		if err := sb.Stop(ctx); err != nil {
			t.Errorf("sandbox: stop: %v", err)
		}
		logFile.Close()
	})
	return sb
}

// dumpLogs writes the tail of the sandbox's log files to the test log.
func dumpLogs(t testing.TB, dir string) {
	t.Helper()
	var files []string
	for _, pattern := range []string{"sandbox.log", filepath.Join("logs", "*.log"), filepath.Join("pods", "*", "*.log")} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		files = append(files, m...)
	}
	for _, f := range files {
		t.Logf("--- %s (tail) ---\n%s", f, fileTail(f, 40))
	}
}
