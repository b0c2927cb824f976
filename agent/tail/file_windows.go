//go:build windows

package tail

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// openFile opens path for reading with FILE_SHARE_READ, FILE_SHARE_WRITE and
// FILE_SHARE_DELETE, so the writer can keep appending to, rename and delete
// the file while it is open here. os.Open leaves out FILE_SHARE_DELETE, which
// would make Qlik's rollover fail.
func openFile(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p,
		windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// handleKey returns the identity of an open file:
// "volumeSerial:fileIndex" in hex.
func handleKey(f *os.File) (string, error) {
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(f.Fd()), &info); err != nil {
		return "", &os.PathError{Op: "GetFileInformationByHandle", Path: f.Name(), Err: err}
	}
	return fmt.Sprintf("%08x:%08x%08x", info.VolumeSerialNumber, info.FileIndexHigh, info.FileIndexLow), nil
}

// statKey returns the identity of the file at path and whether it is a
// regular file. Windows has no identity without a handle, so it opens the
// file (sharing everything) and closes it again.
func statKey(path string) (key string, regular bool, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", false, err
	}
	if !fi.Mode().IsRegular() {
		return "", false, nil
	}
	f, err := openFile(path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	key, err = handleKey(f)
	return key, true, err
}

// isNotExist also treats a file pending deletion (which keeps its name until
// the last handle closes but can no longer be opened) as gone.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, windows.ERROR_DELETE_PENDING)
}
