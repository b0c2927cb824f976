// Package procstat reads what the benchmark measures about a process and its
// descendants from Linux's /proc: CPU time, resident and proportional memory
// and the command line. On other systems every function returns an error wrapping
// errors.ErrUnsupported.
package procstat

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Proc is a snapshot of one process.
type Proc struct {
	PID  int
	PPID int
	// Name is the command line with its arguments, or the kernel's name of the
	// process in brackets when the command line is unreadable.
	Name string
	// CPU is the user plus system time the process has used so far (its own,
	// not that of its children).
	CPU time.Duration
	// PeakRSS is VmHWM, the most memory the process has had resident, in bytes.
	PeakRSS int64
	// RSS is VmRSS, the memory resident now, in bytes: RSSAnon (the heap,
	// stacks and other private memory) plus RSSFile (mapped files, such as
	// the executable's pages, which processes running the same binary share)
	// plus shared memory.
	RSS, RSSAnon, RSSFile int64
}

// TotalCPU sums the CPU time of procs.
func TotalCPU(procs []Proc) time.Duration {
	var d time.Duration
	for _, p := range procs {
		d += p.CPU
	}
	return d
}

// Memory is a process's memory from /proc/PID/smaps_rollup, in bytes.
type Memory struct {
	// PSS is the proportional set size: every resident page the process maps,
	// each divided by the number of processes mapping it. The executable's
	// pages, shared by the agent and its built-in plugins (the same binary),
	// are counted once across them, and clean file pages of mapped files (the
	// agent's state database) count like any other. The PSS of a process tree
	// sums to what the tree holds in memory.
	PSS int64
	// Anonymous is the process's private memory that no file backs: the Go
	// heap, stacks and runtime structures.
	Anonymous int64
}

// parseSmapsRollup reads PSS and Anonymous from the text of
// /proc/PID/smaps_rollup; name says where it came from in errors.
func parseSmapsRollup(name string, b []byte) (Memory, error) {
	var m Memory
	var seen int
	for line := range strings.SplitSeq(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		var dst *int64
		switch key {
		case "Pss":
			dst = &m.PSS
		case "Anonymous":
			dst = &m.Anonymous
		}
		if !ok || dst == nil {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("procstat: %s: %s: %w", name, key, err)
		}
		*dst = kb << 10
		seen++
	}
	if seen != 2 {
		return Memory{}, fmt.Errorf("procstat: %s: no Pss and Anonymous lines (a kernel before 4.14 has no smaps_rollup)", name)
	}
	return m, nil
}

// TotalMemory sums the memory of processes.
func TotalMemory(ms []Memory) Memory {
	var t Memory
	for _, m := range ms {
		t.PSS += m.PSS
		t.Anonymous += m.Anonymous
	}
	return t
}
