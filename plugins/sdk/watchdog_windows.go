//go:build windows

package sdk

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// watchParent calls exit once the process that started the plugin is gone.
// Windows never re-parents a process, so os.Getppid keeps returning the dead
// agent's pid; instead the plugin waits on a handle to the agent process,
// opened while the agent is certainly alive (it is waiting for the handshake),
// so a later reuse of its pid cannot fool the wait.
func watchParent(exit func()) error {
	ppid := os.Getppid()
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(ppid))
	if err != nil {
		return fmt.Errorf("opening parent process %d: %w", ppid, err)
	}
	go func() {
		defer func() { _ = windows.CloseHandle(h) }()
		ev, err := windows.WaitForSingleObject(h, windows.INFINITE)
		if err == nil && ev == windows.WAIT_OBJECT_0 {
			exit()
		}
	}()
	return nil
}
