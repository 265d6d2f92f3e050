package eci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The file names of a credentials directory, one value per file, as the keys
// of a Kubernetes Secret become files when the Secret is mounted.
const (
	FileAccessKeyID     = "access-key-id"
	FileAccessKeySecret = "access-key-secret"
	FileSecurityToken   = "security-token" // optional; present for STS credentials
)

var credentialFiles = [...]string{FileAccessKeyID, FileAccessKeySecret, FileSecurityToken}

// FileCredentialSource reads credentials from a directory holding the files
// access-key-id, access-key-secret and, for STS credentials, security-token.
//
// It follows the directory as the kubelet updates a mounted Secret: the
// kubelet writes the new values into a fresh directory and swaps the ..data
// symlink to it, so the files are replaced as a whole, never edited in place
// (https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod).
// Every Credentials call stats the three files (following the symlinks) and
// reads them again only when one of them is another file, or changed size or
// modification time. A read that fails — a file missing or empty, or the
// files changing while they were read, as during a swap — keeps the last
// good credentials. Values are trimmed of surrounding white space.
//
// It is safe for concurrent use. Neither its String nor its errors contain
// the secret or the token.
type FileCredentialSource struct {
	dir string

	mu       sync.Mutex
	cur      Credentials
	stamp    filesStamp // the files cur was read from
	failed   filesStamp // the files the last read failed on; not read again until they change
	onReload func(Credentials, error)
}

// NewFileCredentialSource reads dir once; an error says which file is
// missing, unreadable or empty.
func NewFileCredentialSource(dir string) (*FileCredentialSource, error) {
	s := &FileCredentialSource{dir: dir}
	cr, st, err := s.read()
	if err != nil {
		return nil, err
	}
	s.cur, s.stamp = cr, st
	return s, nil
}

// Dir is the directory the credentials are read from.
func (s *FileCredentialSource) Dir() string { return s.dir }

// OnReload sets a function that is told about every change the source
// notices: the new credentials after a successful read (print them with %v or
// String, never field by field), or the error of a read that failed, in which
// case the first argument is the last good credentials, still in use. It is
// not called for the read in NewFileCredentialSource, and never while the
// source's lock is held, so it may call the source.
func (s *FileCredentialSource) OnReload(f func(Credentials, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onReload = f
}

// Credentials returns the current credentials, reading the files again if
// they changed since the last read. It returns an error only for a cancelled
// context; a failed read keeps the last good credentials.
func (s *FileCredentialSource) Credentials(ctx context.Context) (Credentials, error) {
	if err := ctx.Err(); err != nil {
		return Credentials{}, err
	}
	cr, _ := s.load(false) // a failed read went to OnReload; cr is the last good
	return cr, nil
}

// Refresh reads the files even if they look unchanged, for when the server
// says the credentials in use are stale. It returns the credentials now in
// use and the error of the read, if it failed.
func (s *FileCredentialSource) Refresh(ctx context.Context) (Credentials, error) {
	if err := ctx.Err(); err != nil {
		return Credentials{}, err
	}
	return s.load(true)
}

// String names the directory and the key in use, without secrets.
func (s *FileCredentialSource) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%s from %s", s.cur, s.dir)
}

// GoString keeps %#v from printing the secret fields.
func (s *FileCredentialSource) GoString() string {
	return "eci.FileCredentialSource{" + s.String() + "}"
}

// load returns the credentials in use after reading the files if they
// changed (or always, with force). With force it also returns the error of a
// failed read; without, errors only reach OnReload.
func (s *FileCredentialSource) load(force bool) (Credentials, error) {
	s.mu.Lock()
	now := s.statAll()
	if !force && (now.equal(s.stamp) || now.equal(s.failed)) {
		cr := s.cur
		s.mu.Unlock()
		return cr, nil
	}
	cr, st, err := s.read()
	var notify func(Credentials, error)
	switch {
	case err == nil:
		changed := cr != s.cur
		s.cur, s.stamp, s.failed = cr, st, filesStamp{}
		if changed {
			notify = s.onReload
		}
	case errors.Is(err, errFilesChanged):
		// Caught in the middle of an update: the next call reads the
		// result. Not worth a report.
	default:
		if !st.equal(s.failed) {
			notify = s.onReload
		}
		s.failed = st
	}
	cur := s.cur
	s.mu.Unlock()
	if notify != nil {
		notify(cur, err)
	}
	return cur, err
}

var errFilesChanged = errors.New("the files changed while they were read")

// read reads the three files and returns them with the stamp they were read
// at. The files are stat'ed before and after reading: if they differ, the
// read may mix old and new values and is refused with errFilesChanged.
func (s *FileCredentialSource) read() (Credentials, filesStamp, error) {
	before := s.statAll()
	var vals [len(credentialFiles)]string
	for i, name := range credentialFiles {
		path := filepath.Join(s.dir, name)
		b, err := os.ReadFile(path)
		switch {
		case err != nil && errors.Is(err, os.ErrNotExist) && name == FileSecurityToken:
			// An AccessKey pair without a token.
		case err != nil:
			return Credentials{}, before, fmt.Errorf("read ECI credentials file %s: %w", path, pathless(err))
		default:
			vals[i] = strings.TrimSpace(string(b))
		}
	}
	if after := s.statAll(); !after.equal(before) {
		return Credentials{}, after, fmt.Errorf("read ECI credentials from %s: %w", s.dir, errFilesChanged)
	}
	cr := Credentials{AccessKeyID: vals[0], AccessKeySecret: vals[1], SecurityToken: vals[2]}
	for i, name := range credentialFiles[:2] {
		if vals[i] == "" {
			return Credentials{}, before, fmt.Errorf("read ECI credentials from %s: the file %s is empty", s.dir, name)
		}
	}
	return cr, before, nil
}

// pathless drops the path from an *os.PathError, which the caller's message
// already names.
func pathless(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fileStamp identifies one version of a file well enough to notice a swap:
// the file itself (os.SameFile), its size and modification time, or the
// error stat'ing it gave.
type fileStamp struct {
	info os.FileInfo
	err  string
}

func (a fileStamp) equal(b fileStamp) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil && a.err == b.err
	}
	return os.SameFile(a.info, b.info) && a.info.Size() == b.info.Size() && a.info.ModTime().Equal(b.info.ModTime())
}

type filesStamp struct {
	valid bool // false: never taken, equal to nothing
	files [len(credentialFiles)]fileStamp
}

func (a filesStamp) equal(b filesStamp) bool {
	if !a.valid || !b.valid {
		return false
	}
	for i := range a.files {
		if !a.files[i].equal(b.files[i]) {
			return false
		}
	}
	return true
}

func (s *FileCredentialSource) statAll() filesStamp {
	st := filesStamp{valid: true}
	for i, name := range credentialFiles {
		fi, err := os.Stat(filepath.Join(s.dir, name))
		if err != nil {
			st.files[i] = fileStamp{err: pathless(err).Error()}
			continue
		}
		st.files[i] = fileStamp{info: fi}
	}
	return st
}
