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

// reloadRule is a rules file with one rule, "failed-" + name, whose alerts are
// titled name + " " + TaskName. The rule id differs per version so that the
// version the agent runs shows in /metrics (herald_rule_matches_total{rule=...}).
func reloadRule(name string) string {
	return fmt.Sprintf(`
[[rule]]
id = "failed-%s"
inputs = ["scheduler"]
when = 'Logger == "System.Scheduler.Scheduler.Master.Task.TaskSession" && Message startsWith "Execution State Change to FinishedFail"'
key = 'TaskId'
title = '"%s " + TaskName'
message = 'Message'
`, name, name)
}

// waitRule waits until the agent runs the rules that hold rule id: its
// series appears in /metrics when the configuration carrying it starts, after
// the previous one stopped reading. How many reloads an edit causes (a SIGHUP
// and the file watcher may both ask for one) does not matter.
func waitRule(t *testing.T, agent *agentProc, id string) {
	t.Helper()
	waitMetric(t, agent, fmt.Sprintf(`herald_rule_matches_total{rule=%q} `, id))
}

// TestHotReload changes the rules of a running agent: by SIGHUP, then by just
// saving the file. A broken new rule file is reported and the running rules
// kept; nothing read in between is lost.
//
// Each step waits for its own effect (the new rule in /metrics, the error
// naming the broken rule), never for a number of "configuration reloaded"
// lines: one edit may cause several reloads.
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

[server]
listen = "127.0.0.1:0"
`, rcv.URL))
	agent := startAgent(t, cfg)

	fail(log, 1, "e1")
	if ev := rcv.next(t); ev.Title != "first Reload task 1" {
		t.Fatalf("title %q", ev.Title)
	}

	// SIGHUP with new rules.
	writeRules(reloadRule("second"))
	if err := agent.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitRule(t, agent, "failed-second")
	fail(log, 2, "e2")
	if ev := rcv.next(t); ev.Title != "second Reload task 2" {
		t.Fatalf("after SIGHUP: title %q", ev.Title)
	}

	// A broken rule file: reported, the running rules stay. The report is
	// the only one that names the misspelt field.
	writeRules(reloadRule("third") + "\n[[rule]]\nid = \"bad\"\nwhen = 'Mesage == \"x\"'\nkey = 'TaskId'\ntitle = 'x'\nmessage = 'x'\n")
	if err := agent.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload error naming Mesage in the agent's log", func() (string, bool) {
		for line := range strings.Lines(agent.stderr.String()) {
			if strings.Contains(line, "keeping the running one") && strings.Contains(line, "unknown name Mesage") {
				return line, true
			}
		}
		return "", false
	})
	fail(log, 3, "e3")
	if ev := rcv.next(t); ev.Title != "second Reload task 3" {
		t.Fatalf("after a broken reload: title %q, want the running rules' title", ev.Title)
	}

	// Saving a fixed file reloads without a signal.
	writeRules(reloadRule("fourth"))
	waitRule(t, agent, "failed-fourth")
	fail(log, 4, "e4")
	if ev := rcv.next(t); ev.Title != "fourth Reload task 4" {
		t.Fatalf("after a file change: title %q", ev.Title)
	}
	agent.stop(t)
}
