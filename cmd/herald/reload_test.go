package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// reloadRule is a rules file whose rule titles its alerts with title.
func reloadRule(title string) string {
	return fmt.Sprintf(`
[[rule]]
id = "failed"
inputs = ["scheduler"]
when = 'Logger == "System.Scheduler.Scheduler.Master.Task.TaskSession" && Message startsWith "Execution State Change to FinishedFail"'
key = 'TaskId'
title = '"%s " + TaskName'
message = 'Message'
`, title)
}

// TestHotReload changes the rules of a running agent: by SIGHUP, then by just
// saving the file. A broken new rule file is reported and the running rules
// kept; nothing read in between is lost.
func TestHotReload(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGHUP")
	}
	dir := t.TempDir()
	rcv := newReceiver(t)
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	rules := filepath.Join(dir, "rules.toml")
	writeRules := func(body string) {
		t.Helper()
		if err := os.WriteFile(rules, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeRules(reloadRule("first"))
	cfg := writeConfig(t, dir, fmt.Sprintf(`
[agent]
data_dir = "state"

[[input]]
name = "scheduler"
paths = ["*_System_Scheduler.txt"]
start_at = "beginning"

[[sink]]
name = "hook"
plugin = "webhook"
[sink.config]
url = "%s/alerts"

[rules]
files = ["rules.toml"]
`, rcv.URL))
	agent := startAgent(t, cfg)
	waitLog := func(what string, n int) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d× %q in the agent's log", n, what), func() (int, bool) {
			seen := strings.Count(agent.stderr.String(), what)
			return seen, seen >= n
		})
	}

	fail(log, 1, "e1")
	if ev := rcv.next(t); ev.Title != "first Reload task 1" {
		t.Fatalf("title %q", ev.Title)
	}

	// SIGHUP with new rules.
	writeRules(reloadRule("second"))
	if err := agent.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog("configuration reloaded", 1)
	fail(log, 2, "e2")
	if ev := rcv.next(t); ev.Title != "second Reload task 2" {
		t.Fatalf("after SIGHUP: title %q", ev.Title)
	}

	// A broken rule file: reported, the running rules stay.
	writeRules(reloadRule("third") + "\n[[rule]]\nid = \"bad\"\nwhen = 'Mesage == \"x\"'\nkey = 'TaskId'\ntitle = 'x'\nmessage = 'x'\n")
	if err := agent.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog("keeping the running one", 1)
	if !strings.Contains(agent.stderr.String(), "Mesage") {
		t.Errorf("the reload error does not name the unknown field:\n%s", agent.stderr.String())
	}
	fail(log, 3, "e3")
	if ev := rcv.next(t); ev.Title != "second Reload task 3" {
		t.Fatalf("after a broken reload: title %q, want the running rules' title", ev.Title)
	}

	// Saving a fixed file reloads without a signal.
	writeRules(reloadRule("fourth"))
	waitLog("configuration reloaded", 2)
	fail(log, 4, "e4")
	if ev := rcv.next(t); ev.Title != "fourth Reload task 4" {
		t.Fatalf("after a file change: title %q", ev.Title)
	}
	agent.stop(t)
}
