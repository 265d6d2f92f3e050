package image

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// refNameAnnotation names an image in an OCI layout's index.json (OCI image-layout spec);
// tools address it as <layout>:<tag>, e.g. skopeo's oci:dist/image:v1.2.3.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// WriteLayout replaces dir with an OCI layout holding idx under the given tag and returns
// the digest of idx: the digest a registry reports once the index is pushed. The layout's
// own index.json points at idx; it is not idx.
func WriteLayout(idx v1.ImageIndex, dir, tag string) (v1.Hash, error) {
	digest, err := idx.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("compute the image index digest: %w", err)
	}
	// Appending to an old layout would keep earlier builds' blobs and entries.
	if err := os.RemoveAll(dir); err != nil {
		return v1.Hash{}, fmt.Errorf("remove the old layout %s: %w", dir, err)
	}
	top := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add:        idx,
		Descriptor: v1.Descriptor{Annotations: map[string]string{refNameAnnotation: tag}},
	})
	if _, err := layout.Write(dir, top); err != nil {
		return v1.Hash{}, fmt.Errorf("write the OCI layout %s: %w", dir, err)
	}
	return digest, nil
}

// WriteTar packs the layout directory into a tar file (an OCI layout tar, which `skopeo copy
// oci-archive:` and `crane push` read). Entries are sorted and carry mtime, fixed modes and
// root ownership, so the same layout gives the same tar bytes. The file is written next to
// its final name and renamed into place.
func WriteTar(layoutDir, tarPath string, mtime time.Time) (err error) {
	if err := os.MkdirAll(filepath.Dir(tarPath), 0o755); err != nil {
		return fmt.Errorf("create the directory of %s: %w", tarPath, err)
	}
	f, err := os.CreateTemp(filepath.Dir(tarPath), filepath.Base(tarPath)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create %s: %w", tarPath, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	// CreateTemp makes the file private; the tarball is a build output like any other.
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("make %s readable: %w", tarPath, err)
	}
	tw := tar.NewWriter(f)
	// WalkDir visits entries in lexical order, which keeps the tar sorted.
	err = filepath.WalkDir(layoutDir, func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			return walkErr
		}
		rel, err := filepath.Rel(layoutDir, p)
		if err != nil || rel == "." {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime.UTC(), Format: tar.FormatPAX}
		switch {
		case d.IsDir():
			h.Typeflag, h.Mode, h.Name = tar.TypeDir, 0o755, h.Name+"/"
			return tw.WriteHeader(h)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, info.Size()
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
			return err
		default:
			return fmt.Errorf("%s is neither a file nor a directory", p)
		}
	})
	if err != nil {
		return fmt.Errorf("pack %s into %s: %w", layoutDir, tarPath, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish %s: %w", tarPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("finish %s: %w", tarPath, err)
	}
	if err := os.Rename(f.Name(), tarPath); err != nil {
		return fmt.Errorf("move %s into place: %w", tarPath, err)
	}
	return nil
}
