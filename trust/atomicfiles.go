package trust

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/theupdateframework/notary"
	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustmanager"
)

// atomicFiles is notary's file store with writes that a crash or a kill
// cannot tear: notary's own Set removes the file, then writes the new one
// in place, so a SIGKILL in between leaves no file or half a file (a key
// file that is no key, a cached root.json that is gone). Here each file is
// written to a temporary file beside it, synced, and renamed over it.
type atomicFiles struct {
	*store.FilesystemStore
	dir, ext string
}

func newAtomicFiles(fs *store.FilesystemStore, ext string) *atomicFiles {
	a := &atomicFiles{FilesystemStore: fs, dir: fs.Location(), ext: "." + strings.TrimPrefix(ext, ".")}
	a.removeStaleTemps()
	return a
}

// staleAfter is how old a temporary file must be to be another run's
// leftover (a write killed before its rename) rather than a write going on.
const staleAfter = time.Minute

// removeStaleTemps removes the temporary files of writes that were killed
// before their rename; they hold nothing that is not elsewhere.
func (a *atomicFiles) removeStaleTemps() {
	filepath.WalkDir(a.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), ".") || !strings.Contains(d.Name(), ".tmp-") {
			return nil
		}
		if info, err := d.Info(); err == nil && time.Since(info.ModTime()) > staleAfter {
			os.Remove(path)
		}
		return nil
	})
}

// Set writes name's file atomically.
func (a *atomicFiles) Set(name string, data []byte) error {
	path := filepath.Join(a.dir, name+a.ext)
	if !strings.HasPrefix(path, a.dir) {
		return store.ErrPathOutsideStore
	}
	if sameFile(path, data, notary.PrivNoExecPerms) {
		// notary saves root.json on every load: rewriting (and syncing) the
		// same bytes costs a ceremony more than its requests do.
		return nil
	}
	if a.ext == ".json" && name != "root" {
		// The cache's timestamp, snapshot and targets are fetched again and
		// verified when lost: renamed whole, but not synced (a setup writes
		// ten of them). Keys and the cached root.json, the repository's
		// pin, are synced.
		return renameInto(path, data, notary.PrivNoExecPerms, false)
	}
	return writeFileAtomic(path, data, notary.PrivNoExecPerms)
}

// sameFile says whether path is a regular file with these bytes and mode.
func sameFile(path string, data []byte, perm os.FileMode) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != perm || info.Size() != int64(len(data)) {
		return false
	}
	have, err := io.ReadAll(io.LimitReader(f, int64(len(data))+1))
	return err == nil && bytes.Equal(have, data)
}

// SetMulti writes each file atomically (notary's would call its own Set).
func (a *atomicFiles) SetMulti(files map[string][]byte) error {
	for name, data := range files {
		if err := a.Set(name, data); err != nil {
			return err
		}
	}
	return nil
}

var (
	_ trustmanager.Storage = (*atomicFiles)(nil)
	_ store.MetadataStore  = (*atomicFiles)(nil)
)

// writeFileAtomic writes data to path through a synced temporary file in
// the same directory and a rename: readers see the old file or the whole
// new one, never a part.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return renameInto(path, data, perm, true)
}

// renameInto writes data to a temporary file beside path and renames it
// over path; with sync, the data and the rename reach the disk first.
func renameInto(path string, data []byte, perm os.FileMode, sync bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, notary.PrivExecPerms); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; removes a failed one
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if !sync {
		return nil
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself survives a crash
		d.Close()
	}
	return nil
}

// WriteOutputFile writes a file dctwiz produces (a root certificate, an
// attestation, a ceremony record) the way nothing is surprised: a path
// that exists and is not a regular file (a directory, a device, a FIFO,
// a socket) is refused, never replaced or written into; the file is
// written whole and synced beside it, then renamed into place.
func WriteOutputFile(path string, data []byte, perm os.FileMode) error {
	if path == "-" {
		// "-" is stdout where a command takes it; here it would be a file
		// named "-", which nobody means.
		return newError(ErrBadInput, path, "give a file's path", "\"-\" (stdout) cannot take this output")
	}
	if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
		what := "not a regular file"
		switch {
		case st.IsDir():
			what = "a directory"
		case st.Mode()&os.ModeSymlink != 0:
			what = "a symbolic link"
		case st.Mode()&os.ModeDevice != 0:
			what = "a device"
		case st.Mode()&os.ModeNamedPipe != 0:
			what = "a named pipe"
		}
		return newError(ErrBadInput, path, "give the path of a file to create or replace", "the path exists and is %s", what)
	}
	if err := renameInto(path, data, perm, true); err != nil {
		return wrapError(ErrBadInput, err, path, "choose a writable path", "cannot write it: %s", shortCause(err))
	}
	return nil
}
