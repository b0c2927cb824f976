package host

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPluginDiesWithSIGKILLedAgent kills an agent (a helper process that
// started a plugin) with SIGKILL, which it cannot handle, and checks that the
// plugin does not outlive it. The plugin is a raw one without the SDK's parent
// watchdog, so this proves the parent-death signal alone.
func TestPluginDiesWithSIGKILLedAgent(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(self)
	agent.Env = append(os.Environ(), helperEnv+"=parent")
	agent.Stderr = os.Stderr
	stdin, err := agent.StdinPipe() // held open: the agent waits on it
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := agent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = agent.Process.Kill()
		_ = agent.Wait()
		t.Fatalf("reading the plugin's pid from the agent: %v", err)
	}
	pid := mustAtoi(t, strings.TrimSpace(line))
	// Open the plugin before killing the agent, so its exit can be awaited
	// without polling and without confusing it with a reused pid.
	pidfd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ENOSYS) {
		_ = agent.Process.Kill()
		_ = agent.Wait()
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Skip("pidfd_open not supported by this kernel")
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(pidfd)
	t.Cleanup(func() { _ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0) })

	if err := agent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = agent.Wait()

	// A pidfd becomes readable when its process terminates.
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 20_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if n == 0 {
			t.Fatalf("plugin %d still running 20s after its agent was SIGKILLed", pid)
		}
		return
	}
}

// TestPluginTimerSlack: a plugin runs with pluginTimerSlack (its main
// thread, which /proc shows; the threads it starts inherit it), and the
// agent's thread that started it gets its own slack back.
func TestPluginTimerSlack(t *testing.T) {
	runtime.LockOSThread() // so that the slack read below is of the thread that forked
	defer runtime.UnlockOSThread()
	before, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Skipf("PR_GET_TIMERSLACK: %v", err)
	}
	p := startHelper(t, "sdk", nil)
	if after, _ := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); after != before {
		t.Errorf("the agent's thread has a timer slack of %d ns after starting a plugin, %d before", after, before)
	}
	f := fmt.Sprintf("/proc/%d/timerslack_ns", p.Pid())
	b, err := os.ReadFile(f)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		t.Skipf("cannot read the plugin's slack: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != strconv.FormatInt(pluginTimerSlack.Nanoseconds(), 10) {
		t.Errorf("%s = %s, want %d", f, got, pluginTimerSlack.Nanoseconds())
	}
}
