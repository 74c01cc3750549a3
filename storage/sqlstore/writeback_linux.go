//go:build linux

package sqlstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing the range [off, off+n)
// of f to disk and returns without waiting (sync_file_range(2) with
// SYNC_FILE_RANGE_WRITE). It makes nothing durable — Commit's fsync still
// does that — it only leaves less for that fsync to flush.
func startWriteback(f *os.File, off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	}); err != nil {
		return err
	}
	return serr
}
