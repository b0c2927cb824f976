// Package procstat reads what the benchmark measures about a process and its
// descendants from Linux's /proc: CPU time, peak resident memory and the
// command line. On other systems every function returns an error wrapping
// errors.ErrUnsupported.
package procstat

import "time"

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
