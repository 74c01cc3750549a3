//go:build !linux

package sqlstore

import (
	"errors"
	"os"
)

// startWriteback is a Linux optimisation (sync_file_range(2)); elsewhere
// Commit's fsync writes everything.
func startWriteback(f *os.File, off, n int64) error {
	return errors.ErrUnsupported
}
