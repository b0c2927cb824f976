//go:build unix

package tail

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// openFile opens path for reading. On Unix a rename or delete of an open
// file never fails, so a plain open shares the file as Qlik needs.
func openFile(path string) (*os.File, error) {
	return os.Open(path)
}

// handleKey returns the identity of an open file: "device:inode".
func handleKey(f *os.File) (string, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	return keyOf(fi)
}

// statKey returns the identity of the file at path and whether it is a
// regular file.
func statKey(path string) (key string, regular bool, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", false, err
	}
	key, err = keyOf(fi)
	return key, fi.Mode().IsRegular(), err
}

func keyOf(fi fs.FileInfo) (string, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("no device and inode for %s", fi.Name())
	}
	return fmt.Sprintf("%d:%d", uint64(st.Dev), uint64(st.Ino)), nil //nolint:unconvert // Dev/Ino types differ per OS
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
