package healthz

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestReadyzListsEveryCheckAndFailsWhenOneFails(t *testing.T) {
	var synced atomic.Bool
	mux := http.NewServeMux()
	Install(mux,
		Check{Name: "leader-election", Run: func() (bool, string) { return true, "leading" }},
		Check{Name: "pods-synced", Run: func() (bool, string) {
			if synced.Load() {
				return true, ""
			}
			return false, "the informers have not\nsynced yet"
		}},
	)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, body := get("/readyz")
	want := "[+]leader-election ok: leading\n[-]pods-synced failed: the informers have not synced yet\nreadyz check failed\n"
	if code != http.StatusServiceUnavailable || body != want {
		t.Fatalf("/readyz = %d %q; want 503 %q", code, body, want)
	}
	if code, body := get("/readyz?exclude=pods-synced"); code != http.StatusOK || !strings.Contains(body, "[+]pods-synced excluded: ok") {
		t.Fatalf("/readyz?exclude=pods-synced = %d %q; want 200 with the check excluded", code, body)
	}
	for _, path := range []string{"/livez", "/healthz"} {
		if code, body := get(path); code != http.StatusOK || body != "ok" {
			t.Fatalf("%s = %d %q while not ready; want 200 ok", path, code, body)
		}
	}
	synced.Store(true)
	if code, body := get("/readyz"); code != http.StatusOK || !strings.HasSuffix(body, "[+]pods-synced ok\nreadyz check passed\n") {
		t.Fatalf("/readyz = %d %q once synced; want 200 and every check ok", code, body)
	}
}
