package image

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// ReadLayout returns the one image index an OCI layout written by WriteLayout holds, and
// the tag it was written under.
func ReadLayout(dir string) (v1.ImageIndex, string, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, "", fmt.Errorf("open the OCI layout %s: %w", dir, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		return nil, "", fmt.Errorf("read the OCI layout %s: %w", dir, err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, "", fmt.Errorf("read the index.json of %s: %w", dir, err)
	}
	if len(m.Manifests) != 1 {
		return nil, "", fmt.Errorf("the OCI layout %s holds %d entries, want the one `make image` writes", dir, len(m.Manifests))
	}
	d := m.Manifests[0]
	idx, err := top.ImageIndex(d.Digest)
	if err != nil {
		return nil, "", fmt.Errorf("read the image index %s in %s: %w", d.Digest, dir, err)
	}
	return idx, d.Annotations[refNameAnnotation], nil
}

// Push uploads the image index of the layout at dir to the registry as ref
// (registry/repository:tag; empty: ImageRepository and the layout's tag) and returns ref and
// the digest, after checking that the registry serves the tag at that digest:
// a released provider pins exactly this digest (docs/design.md, "Releases"). Credentials come
// from the Docker config (~/.docker/config.json, $DOCKER_CONFIG), as `docker login` or
// `crane auth login` leave them; opts add to or override that.
func Push(ctx context.Context, dir, ref string, opts ...remote.Option) (string, v1.Hash, error) {
	idx, tag, err := ReadLayout(dir)
	if err != nil {
		return "", v1.Hash{}, err
	}
	if ref == "" {
		if tag == "" {
			return "", v1.Hash{}, fmt.Errorf("the OCI layout %s names no tag; give the reference to push to", dir)
		}
		ref = install.ImageRepository + ":" + tag
	}
	r, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return "", v1.Hash{}, fmt.Errorf("image reference %q: %w (want registry/repository:tag)", ref, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", v1.Hash{}, fmt.Errorf("compute the digest of the image index in %s: %w", dir, err)
	}
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	if err := remote.WriteIndex(r, idx, opts...); err != nil {
		return "", v1.Hash{}, fmt.Errorf("push %s to %s: %w", digest, r, err)
	}
	desc, err := remote.Head(r, opts...)
	if err != nil {
		return "", v1.Hash{}, fmt.Errorf("check the pushed tag %s: %w", r, err)
	}
	if desc.Digest != digest {
		return "", v1.Hash{}, fmt.Errorf("the registry serves %s at %s, not the pushed %s", r, desc.Digest, digest)
	}
	return r.String(), digest, nil
}
