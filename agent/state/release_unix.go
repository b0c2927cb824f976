//go:build unix

package state

import "golang.org/x/sys/unix"

// releaseMapped tells the kernel that the process no longer needs the pages
// of the memory map at addr..addr+size resident. The map is bbolt's, shared
// and read-only, of the state file: the pages stay in the file (and the page
// cache), and the next read maps them again.
func releaseMapped(addr uintptr, size int) error {
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, addr, uintptr(size), unix.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
