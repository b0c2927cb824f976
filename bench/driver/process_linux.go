package driver

import (
	"os"
	"syscall"
)

// sysProcAttr makes the kernel kill a started process when the benchmark
// dies, so an interrupted run leaves nothing behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// terminate asks p to stop the way a service manager does.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
