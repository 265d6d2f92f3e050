package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// entry is one file or directory of a layer. Paths are relative to the root, without a
// leading slash, as in the layers docker and containerd write.
type entry struct {
	path     string
	dir      bool
	mode     int64
	uid, gid int
	data     []byte
}

// passwd and group name root (owner of every file) and the runtime's user. Shell is nologin:
// the image has no shell.
var (
	passwd = fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n",
		UserName, UID, GID, UserName, UserName)
	group = fmt.Sprintf("root:x:0:\n%s:x:%d:\n", UserName, GID)
	// Go's resolver reads nsswitch.conf for the order of /etc/hosts and DNS; without it the
	// order is not the usual one.
	nsswitch = "hosts: files dns\n"
)

// baseLayer holds what every platform shares.
func baseLayer(ca []byte, created time.Time) (v1.Layer, error) {
	return layer("base", created, []entry{
		{path: "etc", dir: true, mode: 0o755},
		{path: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{path: "etc/group", mode: 0o644, data: []byte(group)},
		{path: "etc/nsswitch.conf", mode: 0o644, data: []byte(nsswitch)},
		{path: "etc/ssl", dir: true, mode: 0o755},
		{path: "etc/ssl/certs", dir: true, mode: 0o755},
		{path: layerPath(CABundlePath), mode: 0o644, data: ca},
		{path: "home", dir: true, mode: 0o755},
		{path: "home/" + UserName, dir: true, mode: 0o700, uid: UID, gid: GID},
		{path: "root", dir: true, mode: 0o700},
		{path: "tmp", dir: true, mode: 0o1777},
		{path: "usr", dir: true, mode: 0o755},
		{path: "usr/local", dir: true, mode: 0o755},
		{path: "usr/local/bin", dir: true, mode: 0o755},
	})
}

// binaryLayer holds one platform's runtime binary; its directories are in the base layer.
func binaryLayer(bin []byte, created time.Time) (v1.Layer, error) {
	return layer("binary", created, []entry{
		{path: layerPath(BinaryPath), mode: 0o755, data: bin},
	})
}

// layer writes entries as a gzipped tar, sorted by path, every header fixed but the content.
func layer(name string, created time.Time, entries []entry) (v1.Layer, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].path < entries[j].path })
	var buf bytes.Buffer
	// A zero gzip.Header has no file name and a zero mtime, and the level is fixed, so the
	// same tar gives the same bytes with the same Go version.
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, fmt.Errorf("compress %s layer: %w", name, err)
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{
			Name:    e.path,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: created.UTC(),
			Format:  tar.FormatPAX,
		}
		if e.dir {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("write %s to the %s layer: %w", e.path, name, err)
		}
		if !e.dir {
			if _, err := tw.Write(e.data); err != nil {
				return nil, fmt.Errorf("write %s to the %s layer: %w", e.path, name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finish the %s layer: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress the %s layer: %w", name, err)
	}
	compressed := buf.Bytes()
	// The opener hands back gzip data, which tarball keeps as the blob as it is (it only
	// decompresses to compute the diff id), so the digest is that of our bytes.
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("make the %s layer: %w", name, err)
	}
	return l, nil
}

// layerPath is the path of a file inside a layer, for callers that know its absolute path.
func layerPath(abs string) string { return path.Clean(strings.TrimPrefix(abs, "/")) }
