package procstat

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It is
// 100 on every Linux architecture Go supports, and reading it from sysconf
// would need cgo.
const clockTicks = 100

// Read returns a snapshot of the process pid.
func Read(pid int) (Proc, error) {
	p, err := readStat(pid)
	if err != nil {
		return Proc{}, err
	}
	if err := readStatus(&p); err != nil {
		return Proc{}, err
	}
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(cmd) > 0 {
		p.Name = strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return p, nil
}

// Tree returns snapshots of pid and of every process descending from it,
// pid first. A descendant that exits while the tree is read is left out.
func Tree(pid int) ([]Proc, error) {
	root, err := Read(pid)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("procstat: list processes: %w", err)
	}
	parent := make(map[int]int)
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n == pid {
			continue
		}
		p, err := readStat(n)
		if err != nil {
			continue // exited meanwhile, or not readable
		}
		parent[n] = p.PPID
	}
	inTree := map[int]bool{pid: true}
	// Parents are not always listed before children (pids wrap), so repeat
	// until no process joins; depth is small, so this ends quickly.
	for changed := true; changed; {
		changed = false
		for child, pp := range parent {
			if !inTree[child] && inTree[pp] {
				inTree[child], changed = true, true
			}
		}
	}
	procs := []Proc{root}
	for child := range parent {
		if !inTree[child] {
			continue
		}
		if p, err := Read(child); err == nil {
			procs = append(procs, p)
		}
	}
	slices.SortFunc(procs[1:], func(a, b Proc) int { return cmp.Compare(a.PID, b.PID) })
	return procs, nil
}

// readStat fills PID, PPID, CPU and a bracketed Name from /proc/PID/stat.
func readStat(pid int) (Proc, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Proc{}, fmt.Errorf("procstat: %w", err)
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
	// the fields start after the last ')'.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return Proc{}, fmt.Errorf("procstat: /proc/%d/stat: no command name in %q", pid, b)
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return Proc{}, fmt.Errorf("procstat: /proc/%d/stat: %d fields, want at least 15", pid, len(f)+2)
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseUint(f[11], 10, 64)
	st, err3 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Proc{}, fmt.Errorf("procstat: /proc/%d/stat: %w", pid, err)
	}
	return Proc{
		PID:  pid,
		PPID: ppid,
		Name: "[" + string(b[open+1:end]) + "]",
		CPU:  time.Duration(ut+st) * time.Second / clockTicks,
	}, nil
}

// readStatus fills PeakRSS and the RSS fields from /proc/PID/status.
func readStatus(p *Proc) error {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
	if err != nil {
		return fmt.Errorf("procstat: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		dst := map[string]*int64{"VmHWM": &p.PeakRSS, "VmRSS": &p.RSS, "RssAnon": &p.RSSAnon, "RssFile": &p.RSSFile}[name]
		if !ok || dst == nil {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return fmt.Errorf("procstat: /proc/%d/status: %s: %w", p.PID, name, err)
		}
		*dst = kb << 10
	}
	return nil
}

// ReadMemory returns the memory of process pid from /proc/PID/smaps_rollup.
// The kernel walks the process's mappings under its memory-map lock to
// produce it, which costs the process little at a sampling interval of tens
// of milliseconds.
func ReadMemory(pid int) (Memory, error) {
	name := fmt.Sprintf("/proc/%d/smaps_rollup", pid)
	b, err := os.ReadFile(name)
	if err != nil {
		return Memory{}, fmt.Errorf("procstat: %w", err)
	}
	return parseSmapsRollup(name, b)
}

// Supported reports whether this system has the /proc this package reads.
func Supported() bool {
	_, err := os.Stat("/proc/self/stat")
	return !errors.Is(err, fs.ErrNotExist)
}
