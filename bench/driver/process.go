package driver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// proc is a process the benchmark started, with its output in a file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	start   time.Time // just before it was started
	logPath string
	exited  chan struct{} // closed when it has exited
	err     error         // why it exited; valid once exited is closed
}

// startProc starts argv with its standard output and error in logPath.
func startProc(name, logPath string, argv ...string) (*proc, error) {
	out, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	p := &proc{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.exited)
	}()
	return p, nil
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exitErr describes why the process ended early, with the end of its output.
func (p *proc) exitErr() error {
	return fmt.Errorf("%s exited early (%v); the end of its output (%s):\n%s", p.name, p.err, p.logPath, p.tail(20))
}

// tail returns the last n lines of the process's output.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// stop asks the process to stop (SIGTERM; a kill where there are no signals),
// waits up to grace, and kills it after that. It returns how long it took to
// exit after being asked and whether it had to be killed.
func (p *proc) stop(grace time.Duration) (time.Duration, bool) {
	select {
	case <-p.exited:
		return 0, false
	default:
	}
	t0 := time.Now()
	if err := terminate(p.cmd.Process); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = p.cmd.Process.Kill()
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.exited:
		return time.Since(t0), false
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
		return time.Since(t0), true
	}
}
