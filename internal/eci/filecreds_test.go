package eci_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// secretDir lays a directory out the way the kubelet mounts a Secret: the
// values live in a timestamped directory, ..data is a symlink to it and each
// key is a symlink through ..data. update replaces all values at once by
// swapping ..data, as the kubelet does when the Secret changes.
type secretDir struct {
	t   testing.TB
	dir string
	gen int
	cur string // the timestamped directory ..data points to
}

func newSecretDir(t testing.TB, values map[string]string) *secretDir {
	d := &secretDir{t: t, dir: t.TempDir()}
	d.update(values)
	return d
}

func (d *secretDir) update(values map[string]string) {
	d.t.Helper()
	d.gen++
	gen := fmt.Sprintf("..2026_01_01_00_00_%02d.%d", d.gen, 100000+d.gen)
	must := func(err error) {
		d.t.Helper()
		if err != nil {
			d.t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(d.dir, gen), 0o755))
	for k, v := range values {
		must(os.WriteFile(filepath.Join(d.dir, gen, k), []byte(v), 0o644))
	}
	tmp := filepath.Join(d.dir, "..data_tmp")
	must(os.Symlink(gen, tmp))
	must(os.Rename(tmp, filepath.Join(d.dir, "..data")))
	for _, k := range []string{eci.FileAccessKeyID, eci.FileAccessKeySecret, eci.FileSecurityToken} {
		link := filepath.Join(d.dir, k)
		_, wanted := values[k]
		_, err := os.Lstat(link)
		switch exists := err == nil; {
		case wanted && !exists:
			must(os.Symlink(filepath.Join("..data", k), link))
		case !wanted && exists:
			must(os.Remove(link))
		}
	}
	if d.cur != "" {
		must(os.RemoveAll(filepath.Join(d.dir, d.cur)))
	}
	d.cur = gen
}

func secretValues(cr eci.Credentials) map[string]string {
	v := map[string]string{eci.FileAccessKeyID: cr.AccessKeyID + "\n", eci.FileAccessKeySecret: cr.AccessKeySecret + "\n"}
	if cr.SecurityToken != "" {
		v[eci.FileSecurityToken] = cr.SecurityToken + "\n"
	}
	return v
}

// reloads records what a FileCredentialSource reports through OnReload.
type reloads struct {
	mu   sync.Mutex
	seen []string
}

func (r *reloads) record(cr eci.Credentials, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.seen = append(r.seen, "error: "+err.Error())
		return
	}
	r.seen = append(r.seen, "reloaded: "+cr.String())
}

func (r *reloads) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func current(t *testing.T, s eci.CredentialSource) eci.Credentials {
	t.Helper()
	cr, err := s.Credentials(context.Background())
	if err != nil {
		t.Fatalf("credentials: %v", err)
	}
	return cr
}

func TestFileCredentialsFollowARotatedSecret(t *testing.T) {
	a := eci.Credentials{AccessKeyID: "LTAI5tKeyAAAA", AccessKeySecret: "secret-a"}
	b := eci.Credentials{AccessKeyID: "STS.KeyBBBB", AccessKeySecret: "secret-b", SecurityToken: "token-b"}
	c := eci.Credentials{AccessKeyID: "LTAI5tKeyCCCC", AccessKeySecret: "secret-c"}
	sd := newSecretDir(t, secretValues(a))
	src, err := eci.NewFileCredentialSource(sd.dir)
	if err != nil {
		t.Fatal(err)
	}
	var seen reloads
	src.OnReload(seen.record)

	if got := current(t, src); got != a {
		t.Fatalf("first read: %v, want %v (values are trimmed)", got, a)
	}
	sd.update(secretValues(b))
	if got := current(t, src); got != b {
		t.Fatalf("after the Secret became STS credentials: %v, want %v", got, b)
	}
	sd.update(secretValues(c))
	if got := current(t, src); got != c {
		t.Fatalf("after the Secret lost its security-token: %v, want %v", got, c)
	}
	_ = current(t, src) // unchanged files are not reported again
	want := []string{"reloaded: " + b.String(), "reloaded: " + c.String()}
	if got := seen.list(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("reload reports %q, want %q", got, want)
	}
}

func TestFileCredentialsKeepTheLastGoodOnesWhenTheFilesAreBroken(t *testing.T) {
	a := eci.Credentials{AccessKeyID: "LTAI5tKeyAAAA", AccessKeySecret: "secret-a"}
	b := eci.Credentials{AccessKeyID: "LTAI5tKeyBBBB", AccessKeySecret: "secret-b"}
	sd := newSecretDir(t, secretValues(a))
	src, err := eci.NewFileCredentialSource(sd.dir)
	if err != nil {
		t.Fatal(err)
	}
	var seen reloads
	src.OnReload(seen.record)

	sd.update(map[string]string{eci.FileAccessKeyID: "LTAI5tKeyBBBB\n"}) // the secret is missing
	for range 3 {
		if got := current(t, src); got != a {
			t.Fatalf("with a broken Secret: %v, want the last good %v", got, a)
		}
	}
	reports := seen.list()
	if len(reports) != 1 || !strings.Contains(reports[0], eci.FileAccessKeySecret) {
		t.Fatalf("want one report naming %s, got %q", eci.FileAccessKeySecret, reports)
	}

	// The kubelet removes the old directory after the swap; a reader still
	// holding its path finds nothing. Simulate ..data pointing nowhere.
	if err := os.Remove(filepath.Join(sd.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..gone", filepath.Join(sd.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if got := current(t, src); got != a {
		t.Fatalf("with ..data dangling: %v, want the last good %v", got, a)
	}

	sd.update(secretValues(b))
	if got := current(t, src); got != b {
		t.Fatalf("after the Secret was fixed: %v, want %v", got, b)
	}
	for _, r := range seen.list() {
		if strings.Contains(r, "secret-a") || strings.Contains(r, "secret-b") {
			t.Errorf("a report shows a secret: %q", r)
		}
	}
}

func TestFileCredentialsRefuseAnIncompleteDirectoryAtStart(t *testing.T) {
	dir := t.TempDir()
	_, err := eci.NewFileCredentialSource(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, eci.FileAccessKeyID)) {
		t.Fatalf("empty directory: want an error naming %s, got %v", eci.FileAccessKeyID, err)
	}
	if err := os.WriteFile(filepath.Join(dir, eci.FileAccessKeyID), []byte("LTAI5tKey"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, eci.FileAccessKeySecret), []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := eci.NewFileCredentialSource(dir); err == nil || !strings.Contains(err.Error(), eci.FileAccessKeySecret+" is empty") {
		t.Fatalf("blank secret: want an error saying %s is empty, got %v", eci.FileAccessKeySecret, err)
	}
}

func TestFileCredentialsNeverPrintSecrets(t *testing.T) {
	sd := newSecretDir(t, secretValues(eci.Credentials{AccessKeyID: "STS.SECRETID", AccessKeySecret: "s3cr3t-value", SecurityToken: "sts-token-value"}))
	src, err := eci.NewFileCredentialSource(sd.dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := eci.New(eci.Config{Region: "cn-hangzhou", CredentialSource: src})
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{src.String(), fmt.Sprintf("%v %+v %#v", src, src, src), c.String(), fmt.Sprintf("%+v", c)} {
		for _, secret := range []string{"s3cr3t-value", "sts-token-value", "SECRETID"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q leaks %q", out, secret)
			}
		}
	}
	if !strings.Contains(c.String(), sd.dir) {
		t.Errorf("the client should say where its credentials come from: %s", c)
	}
}

func TestCredentialsAndCredentialSourceAreExclusive(t *testing.T) {
	cr := eci.Credentials{AccessKeyID: "id", AccessKeySecret: "sec"}
	_, err := eci.New(eci.Config{Region: "cn-hangzhou", Credentials: &cr, CredentialSource: eci.StaticCredentials(cr)})
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("want an error, got %v", err)
	}
}
