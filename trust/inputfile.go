package trust

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxInputFile is the largest certificate, CA or key file dctwiz reads.
// Real ones are a few KiB; a path typed by mistake (a device, a disk
// image, a log) must not be read whole.
const MaxInputFile = 1 << 20

// ReadInputFile reads a small input file: a regular file of at most
// MaxInputFile bytes. A FIFO or a device (/dev/zero, /dev/stdin) is
// refused before it is read, so nothing blocks or fills memory.
func ReadInputFile(path string) ([]byte, error) {
	b, err := readBounded(path, MaxInputFile)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxInputFile {
		return nil, fmt.Errorf("larger than %d KiB, so not a certificate or key file", MaxInputFile>>10)
	}
	return b, nil
}

// readBounded reads a regular file, at most limit+1 bytes of it: more
// than limit says the file is too large for what it should be.
func readBounded(path string, limit int64) ([]byte, error) {
	// Looked at before it is opened: opening a FIFO blocks until someone
	// writes to it.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	f, err := os.Open(path)
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return nil, pathErr.Err // the caller names the path
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}
