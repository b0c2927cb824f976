package host

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// configureCmd makes the kernel kill the plugin when the agent dies, even by
// SIGKILL, which no handler in the agent could react to. Strictly the signal
// follows the death of the OS thread that started the plugin; Go only ends a
// thread when a goroutine exits while locked to it, which the agent does not
// do around Start (startCmd locks its thread, but returns, and unlocks it).
// The SDK's parent watchdog is the second line of defence.
func configureCmd(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// contain has nothing to do on Linux: the parent-death signal is set at start.
func contain(*os.Process) (warn, err error) { return nil, nil }

// pluginTimerSlack is how late the kernel may wake a plugin's threads from a
// timed sleep, so that it can wake them together with other work (see
// prctl(2), PR_SET_TIMERSLACK; systemd's TimerSlackNSec= sets the same for a
// service). The default is 50 µs.
//
// The Go runtime's monitor thread (sysmon) sleeps only 20 µs at a time
// while the program is busy and for a millisecond after each time it woke
// up idle; a sink plugin with GOMAXPROCS=1 that goes idle between answers
// keeps it in that mode, and its wake-ups cost the webhook plugin about 15 %
// of its CPU time. With 4 ms of slack it wakes some 15 times less often and
// the plugin used 12-20 % less CPU per event (plugins/README.md). A sink's
// timers are timeouts of seconds, to which 4 ms more makes no difference;
// network I/O is not timed and wakes a plugin at once, whatever the slack.
const pluginTimerSlack = 4 * time.Millisecond

// startCmd starts cmd with the timer slack pluginTimerSlack. A process starts
// with the slack of the thread that forked it, and its threads inherit it, so
// the slack of this goroutine's thread is raised for the fork and restored.
// Where that fails the plugin just starts with the default.
func startCmd(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(pluginTimerSlack.Nanoseconds()), 0, 0, 0) != nil {
		return cmd.Start()
	}
	// The same call just worked with another value: it cannot fail now.
	defer func() { _ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0) }()
	return cmd.Start()
}
