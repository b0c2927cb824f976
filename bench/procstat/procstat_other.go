//go:build !linux

package procstat

import (
	"errors"
	"fmt"
)

var errUnsupported = fmt.Errorf("procstat: process statistics are read from Linux's /proc: %w", errors.ErrUnsupported)

// Read returns a snapshot of the process pid. Only Linux is supported.
func Read(pid int) (Proc, error) { return Proc{}, errUnsupported }

// Tree returns snapshots of pid and its descendants. Only Linux is supported.
func Tree(pid int) ([]Proc, error) { return nil, errUnsupported }

// ReadMemory returns the memory of process pid. Only Linux is supported.
func ReadMemory(pid int) (Memory, error) { return Memory{}, errUnsupported }

// Supported reports whether this system has the /proc this package reads.
func Supported() bool { return false }
