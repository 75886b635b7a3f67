package trust

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// lockFileName is the trust dir's lock: one ceremony at a time. Two at
// once could each make a root key (the second never sees the first's) or
// publish over each other.
const lockFileName = ".dctwiz.lock"

// errLocked is what tryLock says when another process holds the lock.
var errLocked = errors.New("locked")

// LockTrustDir takes the trust dir's lock for this process, waiting up to
// wait for another command to finish. release gives it back (the system
// does too when the process ends, however it ends). what names this
// command in the lock file, for the error another one would give.
func LockTrustDir(dir, what string, wait time.Duration) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, wrapError(ErrBadInput, err, dir, "choose a trust dir that is a writable directory", "cannot use the trust dir: %s", shortCause(err)).with(ActionTrustDir)
	}
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, wrapError(ErrBadInput, err, path, "check that the trust dir is writable", "cannot open the trust dir's lock: %s", shortCause(err)).with(ActionTrustDir)
	}
	deadline := time.Now().Add(wait)
	for {
		err = tryLock(f)
		if err == nil {
			break
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, wrapError(ErrBadInput, err, path, "", "cannot lock the trust dir: %s", shortCause(err))
		}
		if time.Now().After(deadline) {
			holder := readHolder(f)
			f.Close()
			return nil, newError(ErrBusy, dir, "wait for it to finish, then run this again (two ceremonies at once could each make a root key)",
				"the trust dir is in use by %s", holder)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Who holds it, for the error another command gives.
	f.Truncate(0)
	f.WriteAt([]byte(fmt.Sprintf("process %d (%s) since %s\n", os.Getpid(), what, time.Now().Format("15:04:05"))), 0)
	return func() {
		f.Truncate(0)
		unlock(f)
		f.Close()
	}, nil
}

func readHolder(f *os.File) string {
	b := make([]byte, 256)
	n, _ := f.ReadAt(b, 0)
	if s := strings.TrimSpace(string(b[:n])); s != "" {
		return s
	}
	return "another process"
}
