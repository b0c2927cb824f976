//go:build windows

package state

import "golang.org/x/sys/windows"

// releaseMapped removes the pages of the memory map at addr..addr+size from
// the process's working set. VirtualUnlock on pages that are not locked does
// exactly that; it then reports ERROR_NOT_LOCKED, which is expected.
func releaseMapped(addr uintptr, size int) error {
	err := windows.VirtualUnlock(addr, uintptr(size))
	if err == windows.ERROR_NOT_LOCKED {
		return nil
	}
	return err
}
