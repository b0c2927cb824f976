package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/heraldhq/herald/plugins/sdk"
)

// TestSilenceEndToEnd: a silence added with `herald silence add` against the
// running agent holds back a failure it matches (an unmatched failure written
// after it arrives alone), and `herald silence expire` then delivers the
// still-firing alert once, with the held note.
func TestSilenceEndToEnd(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder(t)
	cfg := writeConfig(t, dir, webhookConfig(rec.URL, "")+packs+"\n[server]\nlisten = \"127.0.0.1:0\"\n")
	l := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	agent := startServingAgent(t, heraldBin, cfg)

	stdout, stderr, code := runHerald(t, "silence", "add", "--config", cfg, "--addr", agent.addr,
		"--matcher", `rule="qlik-reload-failed"`, "--matcher", `TaskName=~"Reload task 1"`,
		"--duration", "2h", "--comment", "DB upgrade", "--by", "ops")
	if code != 0 {
		t.Fatalf("herald silence add exited %d:\n%s%s", code, stdout, stderr)
	}
	m := regexp.MustCompile(`silence ([0-9a-f]+) added`).FindStringSubmatch(stdout)
	if m == nil || !strings.Contains(stdout, "source: running agent at http://"+agent.addr+"/api/silences") {
		t.Fatalf("herald silence add printed:\n%s", stdout)
	}
	id := m[1]

	fail(l, 1, "exec-1") // silenced
	fail(l, 1, "exec-2") // silenced: a repeat
	fail(l, 2, "exec-3") // not silenced, written after: it arrives alone
	got := rec.waitN(t, 1)
	if got[0].Key != taskID(2) {
		t.Fatalf("first delivered event is for %s, want the unsilenced %s", got[0].Key, taskID(2))
	}

	stdout, _, code = runHerald(t, "silence", "list", "--config", cfg, "--addr", agent.addr)
	if code != 0 || !strings.Contains(stdout, id) || !regexp.MustCompile(id+`\s+active\s+.*\s2\s+cli\s+ops`).MatchString(stdout) {
		t.Fatalf("herald silence list (exit %d):\n%s", code, stdout)
	}

	stdout, stderr, code = runHerald(t, "silence", "expire", "--config", cfg, "--addr", agent.addr, "--by", "ops", id)
	if code != 0 || !strings.Contains(stdout, "silence "+id+" expired by ops (2 events held)") {
		t.Fatalf("herald silence expire exited %d:\n%s%s", code, stdout, stderr)
	}
	got = rec.waitN(t, 2)
	ev := got[1]
	if ev.Key != taskID(1) || ev.Status != sdk.StatusFiring || ev.Rule != "qlik-reload-failed" {
		t.Fatalf("released event: %+v", ev)
	}
	if want := "(held by maintenance window 'DB upgrade' since 06:00 +01:00; 1 repeat)"; !strings.HasSuffix(ev.Message, want) {
		t.Errorf("released message %q does not end with %q", ev.Message, want)
	}
	// Once: a later unsilenced event arrives next, not a second copy.
	fail(l, 3, "exec-4")
	got = rec.waitN(t, 3)
	if got[2].Key != taskID(3) {
		t.Errorf("third event is for %s, want %s", got[2].Key, taskID(3))
	}
}
