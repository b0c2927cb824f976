package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The config and rule file of issue #15: each problem used to show only once
// the ones before it were fixed. The rule file's expression error is on line
// 7, inside a multi-line string.
const (
	allProblemsConfig = `
[agent]
data_dir = "state"
host = "QS-NODE1"
log_levle = "debug"

[[input]]
name = "scheduler"
paths = ["*_System_Scheduler.txt"]
parser = "qlik"

[[sink]]
name = "pager"
plugin = "consle"

[[sink]]
name = "hook"
plugin = "webhook"
[sink.config]
url = "ftp://hooks.example.com/herald"

[rules]
files = ["rules/*.toml"]
`
	allProblemsRules = `[[rule]]
id = "reload-error"
severity = "critcal"
sinks = ["pagr"]
key = 'TaskId'
when = '''
Level == "ERROR" && Mesage contains "x"'''
title = '"Reload error"'
message = 'Message'
`
)

// allProblems are the lines herald check prints for them, in reading order.
var allProblems = []string{
	`herald: 6 problems:`,
	`$DIR/herald.toml:5:1: agent.log_levle: unknown key (did you mean "log_level"?)`,
	`$DIR/herald.toml:14:1: sink[0].plugin: sink "pager": plugin "consle" is neither a built-in sink ` +
		`(alertmanager, console, rocketchat, signl4, webhook) nor a path to an executable (did you mean "console"?)`,
	`$DIR/herald.toml:20:1: sink "hook": url: must start with https:// or http://`,
	`$DIR/rules/ops.toml:3:13: rule "reload-error": severity: "critcal" is not a severity (did you mean "critical"?)`,
	`$DIR/rules/ops.toml:4:11: rule "reload-error": sinks: no [[sink]] is named "pagr" (did you mean "pager"?) (sinks: pager, hook)`,
	`$DIR/rules/ops.toml:7:21: rule "reload-error": when (input "scheduler"): unknown name Mesage (did you mean "Message"?)`,
}

// writeCheckDir writes herald.toml, rules/ops.toml and the log the input
// reads into a new directory, with "\r\n" line ends when crlf.
func writeCheckDir(t *testing.T, config, rules string, crlf bool) string {
	t.Helper()
	if crlf {
		config = strings.ReplaceAll(config, "\n", "\r\n")
		rules = strings.ReplaceAll(rules, "\n", "\r\n")
	}
	dir := t.TempDir()
	writeConfig(t, dir, config)
	writeLog(t, dir)
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules", "ops.toml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCheckReportsEveryProblemAtOnce: one run of the real binary names every
// problem of the issue, each in the file that holds it at its line and
// column, in LF and CRLF files alike; herald run refuses to start with the
// same list.
func TestCheckReportsEveryProblemAtOnce(t *testing.T) {
	for _, crlf := range []bool{false, true} {
		name := "LF"
		if crlf {
			name = "CRLF"
		}
		t.Run(name, func(t *testing.T) {
			dir := writeCheckDir(t, allProblemsConfig, allProblemsRules, crlf)
			stdout, stderr, code := runCheck(t, dir)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("a failed check printed on stdout:\n%s", stdout)
			}
			if got := strings.Split(strings.TrimRight(stderr, "\n"), "\n"); !slices.Equal(got, allProblems) {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, strings.Join(allProblems, "\n"))
			}
		})
	}

	// herald run does not start: it prints the problems the config and the
	// agent's load find (the sinks' own configs are checked when they start).
	dir := writeCheckDir(t, allProblemsConfig, allProblemsRules, false)
	_, stderr, code := runHerald(t, "run", "--once", "--config", filepath.Join(dir, "herald.toml"))
	if code != 2 {
		t.Errorf("herald run: exit status %d, want 2\n%s", code, stderr)
	}
	if !strings.Contains(stderr, `agent.log_levle: unknown key (did you mean "log_level"?)`) {
		t.Errorf("herald run: stderr lacks the config problem:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
		t.Error("herald run created its state: it started")
	}
}

// TestCheckJSON: --format json writes one document on stdout, nothing else,
// with each problem's fields apart; the exit status is the same as for text.
func TestCheckJSON(t *testing.T) {
	dir := writeCheckDir(t, allProblemsConfig, allProblemsRules, false)
	stdout, stderr, code := runHerald(t, "check", "--format", "json", "--config", filepath.Join(dir, "herald.toml"))
	if code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	if stderr != "" {
		t.Errorf("stderr with --format json:\n%s", stderr)
	}
	var report struct {
		Config   string
		Problems []map[string]any
		Errors   *int
		Warnings *int
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&report); err != nil {
		t.Fatalf("stdout is not the report: %v\n%s", err, stdout)
	}
	if report.Config != filepath.Join(dir, "herald.toml") || report.Errors == nil || *report.Errors != 6 ||
		report.Warnings == nil || *report.Warnings != 0 || len(report.Problems) != 6 {
		t.Fatalf("report: %s", stdout)
	}
	rules := filepath.Join(dir, "rules", "ops.toml")
	for i, want := range []map[string]any{
		{"severity": "error", "file": filepath.Join(dir, "herald.toml"), "line": 5.0, "col": 1.0, "key": "agent.log_levle",
			"rule": "", "input": "", "message": "unknown key", "hint": `did you mean "log_level"?`},
		{"severity": "error", "file": filepath.Join(dir, "herald.toml"), "line": 14.0, "col": 1.0, "key": "sink[0].plugin",
			"rule": "", "input": "",
			"message": `sink "pager": plugin "consle" is neither a built-in sink (alertmanager, console, rocketchat, signl4, webhook) nor a path to an executable`,
			"hint":    `did you mean "console"?`},
		{"severity": "error", "file": filepath.Join(dir, "herald.toml"), "line": 20.0, "col": 1.0, "key": "sink[1].config.url",
			"rule": "", "input": "", "message": "url: must start with https:// or http://", "hint": ""},
		{"severity": "error", "file": rules, "line": 3.0, "col": 13.0, "key": "severity",
			"rule": "reload-error", "input": "", "message": `"critcal" is not a severity`, "hint": `did you mean "critical"?`},
		{"severity": "error", "file": rules, "line": 4.0, "col": 11.0, "key": "sinks",
			"rule": "reload-error", "input": "", "message": `no [[sink]] is named "pagr" (sinks: pager, hook)`, "hint": `did you mean "pager"?`},
		{"severity": "error", "file": rules, "line": 7.0, "col": 21.0, "key": "when",
			"rule": "reload-error", "input": "scheduler", "message": "unknown name Mesage", "hint": `did you mean "Message"?`},
	} {
		got := report.Problems[i]
		for k, v := range want {
			if got[k] != v {
				t.Errorf("problem %d: %s = %#v, want %#v", i, k, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Errorf("problem %d has fields %v, want those of %v", i, got, want)
		}
	}

	// A clean config is a report of no problems, not null.
	t.Setenv("HERALD_CHECK_SECRET", checkSecret)
	dir = t.TempDir()
	writeLog(t, dir)
	writeConfig(t, dir, checkInput+checkSignl4+checkRules)
	stdout, _, code = runHerald(t, "check", "--format", "json", "--config", filepath.Join(dir, "herald.toml"))
	if code != 0 || !strings.Contains(stdout, `"problems": []`) || !strings.Contains(stdout, `"errors": 0`) {
		t.Errorf("clean config: exit %d\n%s", code, stdout)
	}
}

// TestCheckWarningsOnly: a severity outside the documented ones is a warning:
// check exits 1 and says OK with it; herald run starts and logs it.
func TestCheckWarningsOnly(t *testing.T) {
	t.Setenv("HERALD_CHECK_SECRET", checkSecret)
	config := checkInput + strings.Replace(checkSignl4, `"signl4"`, `"console"`, 1) + "[rules]\nfiles = [\"rules/*.toml\"]\n"
	config = strings.Replace(config, "[sink.config]\nurl = \"https://connect.signl4.com/webhook/${HERALD_CHECK_SECRET}\"\n", "", 1)
	rules := strings.NewReplacer(`"critcal"`, `"high"`, `sinks = ["pagr"]`, `sinks = ["pager"]`, "Mesage", "Message").Replace(allProblemsRules)
	dir := writeCheckDir(t, config, rules, false)

	warning := `$DIR/rules/ops.toml:3:13: warning: rule "reload-error": severity: "high" is not one of the documented severities ` +
		`(critical, warning, info): sinks and silences that look for those will not recognise it`
	stdout, stderr, code := runCheck(t, dir)
	if code != 1 {
		t.Errorf("exit status %d, want 1\n%s", code, stderr)
	}
	if stderr != "herald: "+warning+"\n" {
		t.Errorf("stderr:\n%s\nwant:\nherald: %s", stderr, warning)
	}
	if !strings.HasPrefix(stdout, "$DIR/herald.toml: OK with 1 warning\n") {
		t.Errorf("stdout:\n%s", stdout)
	}

	stdout, _, code = runHerald(t, "check", "--format", "json", "--config", filepath.Join(dir, "herald.toml"))
	if code != 1 || !strings.Contains(stdout, `"severity": "warning"`) || !strings.Contains(stdout, `"warnings": 1`) {
		t.Errorf("--format json: exit %d\n%s", code, stdout)
	}

	_, stderr, code = runHerald(t, "run", "--once", "--config", filepath.Join(dir, "herald.toml"))
	if code != 0 {
		t.Errorf("herald run: exit status %d, want 0 (a warning does not stop it)\n%s", code, stderr)
	}
	if !strings.Contains(stderr, `\"high\" is not one of the documented severities`) {
		t.Errorf("herald run did not log the warning:\n%s", stderr)
	}
}
