package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"

	"github.com/hashicorp/go-plugin/runner"
)

// procRunner runs the plugin as a child process for go-plugin (which calls
// Start, Wait and Kill). It exists, instead of go-plugin's default runner, so
// that the host can
//   - know the moment the process is gone (done), which go-plugin only offers
//     as a polled flag;
//   - apply platform settings to the command and the process (a parent-death
//     signal on Linux, a kill-on-close job object on Windows);
//   - abort a start-up when the caller's context ends, without waiting for
//     go-plugin's start timeout;
//   - keep the agent's standard input away from plugins.
type procRunner struct {
	path string
	args []string
	env  []string
	// done is closed when the process has exited (or failed to start).
	done chan struct{}

	mu      sync.Mutex
	cmd     *exec.Cmd
	stdout  io.ReadCloser
	stderr  io.ReadCloser
	started bool
	killed  bool
	pid     int
	// killedRunning is set when Kill found the process still running.
	killedRunning bool
	// uncontained says why the process could not be tied to the agent's
	// lifetime by the OS (Windows: the job object); nil when it is.
	uncontained error
}

var _ runner.Runner = (*procRunner)(nil)

// newProcRunner returns a runner for the executable at path. The command is
// built by prepare, once go-plugin hands over the handshake environment.
func newProcRunner(path string, args, env []string) *procRunner {
	return &procRunner{path: path, args: args, env: env, done: make(chan struct{})}
}

// prepare builds the command. env holds go-plugin's handshake variables, which
// come last so that nothing in the caller's environment can override them.
func (r *procRunner) prepare(env []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cmd := exec.Command(r.path, r.args...)
	cmd.Env = append(append(os.Environ(), r.env...), env...)
	// The plugin gets no standard input (exec connects it to the null device):
	// the agent's own may be a terminal or a service's pipe.
	cmd.Stdin = nil
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		_ = stdout.Close()
		return err
	}
	configureCmd(cmd)
	r.cmd, r.stdout, r.stderr = cmd, stdout, stderr
	return nil
}

func (r *procRunner) Start(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.killed {
		close(r.done)
		return errors.New("start-up cancelled")
	}
	if err := startCmd(r.cmd); err != nil {
		close(r.done)
		return err
	}
	warn, err := contain(r.cmd.Process)
	if err != nil {
		// go-plugin does not Wait for a runner whose Start failed.
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		close(r.done)
		return err
	}
	r.uncontained = warn
	r.started = true
	r.pid = r.cmd.Process.Pid
	return nil
}

// Wait is called exactly once by go-plugin, after it has read the plugin's
// standard output and error to the end, so when done closes every log line of
// the plugin has been passed on.
func (r *procRunner) Wait(context.Context) error {
	defer close(r.done)
	return r.cmd.Wait()
}

// Kill kills the process; before Start it makes Start fail. It may be called
// more than once and from any goroutine.
func (r *procRunner) Kill(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killed = true
	if !r.started {
		return nil
	}
	if !r.exited() {
		r.killedRunning = true
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }
func (r *procRunner) Name() string          { return r.path }

func (r *procRunner) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pid == 0 {
		return ""
	}
	return strconv.Itoa(r.pid)
}

// Diagnose explains a handshake that never came; go-plugin appends it to its
// "Unrecognized remote plugin message" error.
func (r *procRunner) Diagnose(context.Context) string {
	return fmt.Sprintf("%s is either not a Herald sink plugin, or it wrote to standard output before the handshake; "+
		"a sink plugin is a Go program that calls sdk.Serve from github.com/heraldhq/herald/plugins/sdk, built for this OS and architecture", r.path)
}

func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// exitStatus describes how the process ended, once done is closed.
func (r *procRunner) exitStatus() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.ProcessState == nil {
		return "not started"
	}
	return r.cmd.ProcessState.String()
}

// exitedByItself reports whether the process has exited without having been
// killed while it ran. go-plugin kills the plugin as soon as the handshake
// fails, and that kill is not the plugin exiting during start-up.
func (r *procRunner) exitedByItself() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exited() && !r.killedRunning
}

func (r *procRunner) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}
