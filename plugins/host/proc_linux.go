package host

import (
	"os"
	"os/exec"
	"syscall"
)

// configureCmd makes the kernel kill the plugin when the agent dies, even by
// SIGKILL, which no handler in the agent could react to. Strictly the signal
// follows the death of the OS thread that started the plugin; Go only ends a
// thread when a goroutine exits while locked to it, which the agent does not
// do around Start. The SDK's parent watchdog is the second line of defence.
func configureCmd(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// contain has nothing to do on Linux: the parent-death signal is set at start.
func contain(*os.Process) (warn, err error) { return nil, nil }
