// Package healthz serves the health endpoints of the runtime's processes
// (eci-vnode node and eci-vnode profile-webhook) in the form kube-apiserver
// and the kubelet use, so probes, dashboards and operators read them alike:
//
//   - /livez and /healthz: liveness. They answer "ok" while the process
//     serves HTTP and check nothing else, so a probe on them never restarts
//     a process for the failure of something outside it (the ECI API, the
//     API server).
//   - /readyz: readiness. Every check is listed, one line each, as
//     "[+]name ok: detail" or "[-]name failed: reason", then "readyz check
//     passed" (200) or "readyz check failed" (503), like kube-apiserver's
//     /readyz?verbose; the body says why without a second request.
//     ?exclude=name leaves a check out, as kube-apiserver allows.
package healthz

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Check is one readiness check. Run reports whether the check passes and a
// short, single-line detail: what is ready, or what is still missing.
type Check struct {
	Name string
	Run  func() (ok bool, detail string)
}

// Install adds /livez, /healthz and /readyz to mux; readyz runs checks in
// the order given.
func Install(mux *http.ServeMux, checks ...Check) {
	mux.HandleFunc("/livez", alive)
	mux.HandleFunc("/healthz", alive)
	mux.Handle("/readyz", Readyz(checks...))
}

func alive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte("ok"))
}

// Readyz is the /readyz handler of checks.
func Readyz(checks ...Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		excluded := r.URL.Query()["exclude"]
		var b strings.Builder
		failed := false
		for _, c := range checks {
			if slices.Contains(excluded, c.Name) {
				fmt.Fprintf(&b, "[+]%s excluded: ok\n", c.Name)
				continue
			}
			ok, detail := c.Run()
			detail = strings.Join(strings.Fields(detail), " ")
			switch {
			case ok && detail == "":
				fmt.Fprintf(&b, "[+]%s ok\n", c.Name)
			case ok:
				fmt.Fprintf(&b, "[+]%s ok: %s\n", c.Name, detail)
			default:
				failed = true
				fmt.Fprintf(&b, "[-]%s failed: %s\n", c.Name, detail)
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if failed {
			w.WriteHeader(http.StatusServiceUnavailable)
			b.WriteString("readyz check failed\n")
		} else {
			b.WriteString("readyz check passed\n")
		}
		_, _ = w.Write([]byte(b.String()))
	})
}
