package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/sinktest/fakesignl4"
)

// markerRules fires one alert per marker row, keyed by the row's Id, with no
// dedup: a row read twice is sent twice, so the events count the rows read.
const markerRules = `
[[rule]]
id = "marker"
inputs = ["scheduler"]
when = 'Message startsWith "Marker "'
key = 'Id'
title = 'Message'
message = 'Message'
`

// TestArchivedRollWhileStopped: Qlik rolls the scheduler log while the agent
// is stopped. Rows written after the saved position end up in the archived
// file (renamed into ArchivedLogs\<node>\Scheduler\Trace), and a new live
// file starts. With the archive pattern next to the live one, the agent
// recognises the archived file by its identity and fingerprint, resumes it
// at the saved position, and reads the new file from its start: no row lost,
// none repeated.
func TestArchivedRollWhileStopped(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("renames a file the test holds open")
	}
	dir := t.TempDir()
	archive := filepath.Join(dir, "ArchivedLogs", "QS-NODE1", "Scheduler", "Trace")
	if err := os.MkdirAll(archive, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "markers.toml"), []byte(markerRules), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
[agent]
data_dir = "state"
host = "QS-NODE1"

[[input]]
name = "scheduler"
paths = ["QS-NODE1_System_Scheduler.txt", 'ArchivedLogs/QS-NODE1/Scheduler/Trace/*_System_Scheduler_*.log']
parser = "qlik"
start_at = "beginning"
poll_interval = "100ms"

[[sink]]
name = "hook"
plugin = "webhook"
[sink.config]
url = "%s/alerts"

[rules]
files = ["markers.toml"]
`, rec.URL))
	live := filepath.Join(dir, "QS-NODE1_System_Scheduler.txt")
	marker := func(l *qlikLog, name string) {
		l.row("INFO", taskSession, "Marker "+name, 1, "")
	}

	log := newQlikLog(t, live)
	marker(log, "M1")
	agent := startAgent(t, cfg)
	rec.waitN(t, 1)
	agent.stop(t)

	// While stopped: rows after the saved position, then the roll.
	marker(log, "M2")
	marker(log, "M3")
	rolled := filepath.Join(archive, "QS-NODE1_System_Scheduler_2026-11-22T05.00.00Z.log")
	if err := os.Rename(live, rolled); err != nil {
		t.Fatal(err)
	}
	next := newQlikLog(t, live)
	next.seq = 500 // new row ids
	marker(next, "M4")

	agent = startAgent(t, cfg)
	titles := func(evs []sdk.Event) map[string]int {
		n := map[string]int{}
		for _, ev := range evs {
			if ev.Status == sdk.StatusFiring {
				n[ev.Title]++
			}
		}
		return n
	}
	rec.waitFor(t, 30*time.Second, "M2, M3 and M4", func(evs []sdk.Event) bool {
		n := titles(evs)
		return n["Marker M2"] > 0 && n["Marker M3"] > 0 && n["Marker M4"] > 0
	})
	// A row written now comes after everything read at start-up.
	marker(next, "M5")
	evs := rec.waitFor(t, 30*time.Second, "M5", func(evs []sdk.Event) bool { return titles(evs)["Marker M5"] > 0 })
	agent.stop(t)
	evs = rec.got()
	n := titles(evs)
	for _, m := range []string{"M1", "M2", "M3", "M4", "M5"} {
		if n["Marker "+m] != 1 {
			t.Errorf("marker %s sent %d times, want once (all: %v)", m, n["Marker "+m], n)
		}
	}
	if len(evs) != 5 {
		t.Errorf("%d events, want 5: %v", len(evs), n)
	}
}

// TestFailoverResolvesOnAnotherNode: agent A (the master before a failover)
// raises a SIGNL4 alert; the task's next success is logged on node B, whose
// agent (its own data_dir) has no record of the alert, and still closes it in
// SIGNL4. B's webhook (resolve_unknown off by default) gets no resolution.
func TestFailoverResolvesOnAnotherNode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	fake := fakesignl4.New(fakesignl4.Options{Secrets: []string{"team-secret"}})
	s4 := httptest.NewServer(fake)
	t.Cleanup(s4.Close)
	hookB := newRecorder(t)
	node := func(name, extra string) (*qlikLog, string) {
		dir := t.TempDir()
		cfg := writeConfig(t, dir, fmt.Sprintf(tailPreamble(`host = "`+name+`"`)+`
[[sink]]
name = "pager"
plugin = "signl4"
[sink.config]
url = "%s/webhook/team-secret"
%s`, s4.URL, extra)+packs)
		return newQlikLog(t, filepath.Join(dir, name+"_System_Scheduler.txt")), cfg
	}
	logA, cfgA := node("QS-NODE1", "")
	logB, cfgB := node("QS-NODE2", fmt.Sprintf(`
[[sink]]
name = "hook"
plugin = "webhook"
[sink.config]
url = "%s/alerts"
`, hookB.URL))

	a := startAgent(t, cfgA)
	b := startAgent(t, cfgB)
	fail(logA, 1, "exec-1")
	waitAlert(t, fake, taskID(1), fakesignl4.StatusNew)

	succeed(logB, 1, "exec-2")
	waitAlert(t, fake, taskID(1), fakesignl4.StatusClosed)

	// B's webhook was not told: its first event is a later failure's.
	fail(logB, 2, "exec-3")
	evs := hookB.waitN(t, 1)
	assertEvent(t, evs[0], "qlik-reload-failed", sdk.StatusFiring, taskID(2), nil)
	waitAlert(t, fake, taskID(2), fakesignl4.StatusNew)
	a.stop(t)
	b.stop(t)
	if evs := hookB.got(); len(evs) != 1 {
		t.Errorf("B's webhook got %d events, want only the failure: %+v", len(evs), evs)
	}
	if n := len(fake.Alerts()); n != 2 {
		t.Errorf("SIGNL4 has %d alerts, want 2: %+v", n, fake.Alerts())
	}
}
