//go:build linux

package sdk

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// watchParent calls exit once the process that started the plugin is gone. It
// waits on a pidfd of the parent (Linux 5.3+), which becomes readable when the
// parent exits: no periodic wake-up, so an idle plugin stays idle. Where
// pidfd_open is unavailable it polls the parent pid instead.
func watchParent(exit func()) error {
	ppid := os.Getppid()
	fd, err := unix.PidfdOpen(ppid, 0)
	if err != nil {
		pollParent(ppid, exit)
		return nil
	}
	if os.Getppid() != ppid {
		// The parent died before the pidfd was opened; the pidfd may name a
		// process that reused its pid.
		_ = unix.Close(fd)
		exit()
		return nil
	}
	go func() {
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				pollParent(ppid, exit) // cannot wait: fall back to polling
				return
			}
			exit()
			return
		}
	}()
	return nil
}
