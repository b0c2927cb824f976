package driver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// perfRecorder samples a process's call stacks with perf(1) while it runs.
type perfRecorder struct {
	dir  string
	data string
	p    *proc
}

// startPerf attaches perf record to pid (and the threads it has).
func startPerf(dir string, pid int) (*perfRecorder, error) {
	bin, err := exec.LookPath("perf")
	if err != nil {
		return nil, fmt.Errorf("perf is not installed: %w", err)
	}
	data := filepath.Join(dir, "perf.data")
	p, err := startProc("perf", filepath.Join(dir, "perf.out"), bin, "record", "-F", "999", "-g", "-o", data, "-p", fmt.Sprint(pid))
	if err != nil {
		return nil, err
	}
	return &perfRecorder{dir: dir, data: data, p: p}, nil
}

// stop ends the recording and writes a text report next to it; it returns
// the report's path.
func (r *perfRecorder) stop() (string, error) {
	r.p.stop(30 * time.Second) // SIGTERM makes perf write its data and exit
	report := filepath.Join(r.dir, "perf-report.txt")
	out, err := exec.Command("perf", "report", "-i", r.data, "--stdio", "--no-children", "--percent-limit", "1", "-g", "none").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("perf report: %w: %s", err, out)
	}
	if err := os.WriteFile(report, out, 0o644); err != nil {
		return "", err
	}
	return report, nil
}
