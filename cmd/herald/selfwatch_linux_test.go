package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heraldhq/herald/plugins/sdk"
)

// TestSelfWatchStateFailing fills the "disk" under the running agent: a file
// size limit (RLIMIT_FSIZE) of 0 makes every write to the state file fail
// with EFBIG, as a full disk fails it with ENOSPC (the Go runtime ignores
// SIGXFSZ; pipes, such as the agent's stderr, are not limited). The state_failing condition shows on /healthz; its
// self-alert cannot be stored, so it is sent straight to the sink, and the
// log says so. Lifting the limit ends the condition, and the failure read
// meanwhile is delivered: nothing read was lost.
func TestSelfWatchStateFailing(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder(t)
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	cfg := writeConfig(t, dir, tailPreamble(`host = "node-under-test"`)+fmt.Sprintf(`
[[sink]]
name = "hook"
plugin = "webhook"
[sink.config]
url = "%s/alerts"

[rules]
packs = ["qliksense"]

[server]
listen = "127.0.0.1:0"

[self_watch]
state_failing_after = "0s"
check_interval = "1s"
`, rec.URL))
	agent := startTwoWayAgent(t, cfg)
	pid := agent.cmd.Process.Pid
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: 0, Max: unix.RLIM_INFINITY}, &old); err != nil {
		t.Skipf("SKIPPED LOUDLY: cannot set RLIMIT_FSIZE on the agent (%v), so a full disk cannot be simulated", err)
	}
	for i := range 50 {
		fail(log, 100+i, fmt.Sprintf("exec-%d", i))
	}

	waitHealth(t, agent.addr, "503 naming state_failing state", func(code int, h healthReport) bool {
		return code == http.StatusServiceUnavailable && slices.Contains(h.Down, "state_failing state")
	})
	evs := rec.waitFor(t, 60*time.Second, "the state_failing self-alert, sent directly", func(evs []sdk.Event) bool {
		_, ok := selfEvent(evs, "herald.state_failing", "state", sdk.StatusFiring)
		return ok
	})
	ev, _ := selfEvent(evs, "herald.state_failing", "state", sdk.StatusFiring)
	if !strings.Contains(ev.Message, "file too large") || !strings.Contains(ev.Message, "Fix: ") {
		t.Errorf("self-alert message %q does not say why and what to do", ev.Message)
	}
	waitLog(t, agent.agentProc, "self-alert could not be stored; sent directly")

	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &old, nil); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, 60*time.Second, "the resolution and all 50 reload alerts", func(evs []sdk.Event) bool {
		_, resolved := selfEvent(evs, "herald.state_failing", "state", sdk.StatusResolved)
		n := 0
		for _, ev := range evs {
			if ev.Rule == "qlik-reload-failed" {
				n++
			}
		}
		return resolved && n == 50
	})
	waitHealth(t, agent.addr, "200 once the state saves again", func(code int, _ healthReport) bool { return code == http.StatusOK })
	agent.stop(t)
	if n := strings.Count(agent.stderr.String(), `msg="self-alert raised"`); n != 1 {
		t.Errorf("the self-alert was raised %d times, want once", n)
	}
}

// waitLog waits until the agent has logged text, or fails after 30 s.
func waitLog(t *testing.T, p *agentProc, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not log %q within 30s", text)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval, not a synchronisation
	}
}
