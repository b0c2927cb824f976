//go:build !linux

package driver

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminate stops p. Without signals to ask it, it is killed.
func terminate(p *os.Process) error { return p.Kill() }
