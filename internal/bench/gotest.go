package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// goTestJSON runs `go test -count=1 args...` in the module at root with env
// added to the environment, one entry of which names jsonPath, the file the
// test writes its result to, and decodes that result into v. It returns what
// the test printed (copied to log as well, unless log is nil), whether a
// result was decoded, and go test's error or, without one, the error of
// decoding the result.
func goTestJSON(ctx context.Context, root string, env []string, jsonPath string, v any, log io.Writer, args ...string) (out []byte, found bool, err error) {
	_ = os.Remove(jsonPath) // a result left by an earlier run is not this one's
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-count=1"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	w := io.Writer(&buf)
	if log != nil {
		w = io.MultiWriter(&buf, log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Run()
	raw, rerr := os.ReadFile(jsonPath)
	if rerr != nil {
		return buf.Bytes(), false, err
	}
	if jerr := json.Unmarshal(raw, v); jerr != nil {
		return buf.Bytes(), false, cmp.Or(err, fmt.Errorf("read %s: %w", jsonPath, jerr))
	}
	return buf.Bytes(), true, err
}
