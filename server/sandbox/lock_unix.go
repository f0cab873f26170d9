//go:build unix

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile, under DataDir/sandbox, is held locked by the running sandbox.
const lockFile = "lock"

// lockDir takes dir for this sandbox alone: two brokers on one state
// directory would overwrite each other's topics and users. The kernel drops
// the lock when the process dies, however it dies, so a killed sandbox
// leaves nothing to clean up.
func lockDir(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another sandbox is already running on %s; share it with `meshplane serve --sandbox %s`",
				dir, filepath.Dir(dir))
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f.Close, nil
}
