package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// checkSecret is the SIGNL4 team secret, the webhook path token and the
// Rocket.Chat token of the check tests, handed to herald only through
// ${HERALD_CHECK_SECRET}. It must never appear in what check prints.
const checkSecret = "Zq8sT3cr3tTeamK3y4tests"

// checkInput and checkRules frame the [[sink]] tables of most cases.
// checkInput's paths match checkLog, which the tests create next to the config.
const (
	checkLog = "QS-NODE1_System_Scheduler.txt"

	checkInput = `
[agent]
data_dir = "state"
host = "QS-NODE1"

[[input]]
name = "scheduler"
paths = ["*_System_Scheduler.txt"]
parser = "qlik"
`
	checkRules = `
[rules]
packs = ["qliksense"]
`
	// Each sink is valid; cases change one of them.
	checkSignl4 = `
[[sink]]
name = "pager"
plugin = "signl4"
[sink.config]
url = "https://connect.signl4.com/webhook/${HERALD_CHECK_SECRET}"
`
	checkWebhook = `
[[sink]]
name = "hook"
plugin = "webhook"
[sink.config]
url = "https://hooks.example.com/herald/${HERALD_CHECK_SECRET}"
`
	checkRocketchat = `
[[sink]]
name = "chat"
plugin = "rocketchat"
[sink.config]
server = "https://chat.example.com"
user_id = "aobEdbYhXfu5hkeqG"
token = "${HERALD_CHECK_SECRET}"
room_id = "ALERTS"
`
)

// runCheck runs `herald check` on dir/herald.toml with the secret in the
// environment, and returns its output with dir written as $DIR.
func runCheck(t *testing.T, dir string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, code = runHerald(t, "check", "--config", filepath.Join(dir, "herald.toml"))
	// The temp dir may be reached through a symlink (macOS).
	for _, d := range []string{dir, evalSymlinks(dir)} {
		stdout = strings.ReplaceAll(stdout, d, "$DIR")
		stderr = strings.ReplaceAll(stderr, d, "$DIR")
	}
	return stdout, stderr, code
}

func evalSymlinks(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// TestCheck runs `herald check` on broken configs and checks that it exits 2
// and names every problem where it is: the config file (line and column for
// its own keys), the sink and its key, the rule file, rule id and line. The
// secret given through ${HERALD_CHECK_SECRET} appears in no output.
func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		config string
		files  map[string]string // more files in the config's directory
		env    map[string]string // more environment variables
		// lines must each appear as a whole line of stderr.
		lines []string
	}{
		{
			name:   "signl4 url not http",
			config: checkInput + strings.Replace(checkSignl4, "https://", "ftp://", 1) + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:15:1: sink "pager": url: must start with https:// or http://`},
		},
		{
			name:   "signl4 url does not parse",
			config: checkInput + strings.Replace(checkSignl4, "signl4.com/", "signl4.com:port/", 1) + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:15:1: sink "pager": url: not a valid URL: invalid port ":…" after host`},
		},
		{
			name:   "signl4 url without secret",
			config: checkInput + checkSignl4 + checkRules,
			env:    map[string]string{"HERALD_CHECK_SECRET": ""}, // set, but empty
			lines: []string{`herald: $DIR/herald.toml:15:1: sink "pager": url: has no secret in its path; ` +
				`copy it from SIGNL4: https://connect.signl4.com/webhook/<team or integration secret>`},
		},
		{
			name:   "signl4 no url",
			config: checkInput + "[[sink]]\nname = \"pager\"\nplugin = \"signl4\"\n[sink.config]\nservice = \"Qlik Sense\"\n" + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:13:1: sink "pager": url: required`},
		},
		{
			name:   "signl4 unknown option",
			config: checkInput + checkSignl4 + "serivce = \"Qlik Sense\"\n" + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:16:1: sink "pager": unknown config key "serivce"`},
		},
		{
			name:   "signl4 several problems",
			config: checkInput + checkSignl4 + "alerting_scenario = \"everyone\"\nlocation = \"north\"\n" + checkRules,
			lines: []string{
				`herald: 2 problems:`,
				`$DIR/herald.toml:16:1: sink "pager": alerting_scenario: must be one of single_ack, multi_ack, emergency, got "everyone"`,
				`$DIR/herald.toml:17:1: sink "pager": location: must be "latitude,longitude" in degrees, such as "52.5200,13.4050"; got "north"`,
			},
		},
		{
			name:   "webhook url without host",
			config: checkInput + strings.Replace(checkWebhook, "hooks.example.com", "", 1) + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:15:1: sink "hook": url: has no host`},
		},
		{
			name:   "webhook no url",
			config: checkInput + "[[sink]]\nname = \"hook\"\nplugin = \"webhook\"\n[sink.config]\nmethod = \"PUT\"\n" + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:13:1: sink "hook": url: required`},
		},
		{
			name:   "webhook unknown option",
			config: checkInput + checkWebhook + "signing_secret = \"${HERALD_CHECK_SECRET}\"\n" + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:16:1: sink "hook": unknown config key "signing_secret"`},
		},
		{
			name: "rocketchat webhook url not http",
			config: checkInput + "[[sink]]\nname = \"chat\"\nplugin = \"rocketchat\"\n[sink.config]\n" +
				"url = \"chat.example.com/hooks/h1/${HERALD_CHECK_SECRET}\"\n" + checkRules,
			lines: []string{`herald: $DIR/herald.toml:14:1: sink "chat": config key "url": must start with https:// (or http://)`},
		},
		{
			name:   "rocketchat no token",
			config: checkInput + strings.Replace(checkRocketchat, `token = "${HERALD_CHECK_SECRET}"`, "", 1) + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:14:1: sink "chat": config key "token": required with server (a personal access token)`},
		},
		{
			name:   "rocketchat neither url nor server",
			config: checkInput + "[[sink]]\nname = \"chat\"\nplugin = \"rocketchat\"\n[sink.config]\nalias = \"Herald\"\n" + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:13:1: sink "chat": config key "url" (incoming webhook) or "server" (REST API) is required`},
		},
		{
			name:   "rocketchat unknown option",
			config: checkInput + checkRocketchat + "room = \"alerts\"\n" + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:19:1: sink "chat": unknown config key "room"`},
		},
		{
			name: "every sink wrong at once",
			config: checkInput + checkSignl4 + "bogus = 1\n" + checkWebhook + "bogus = 2\n" + checkRocketchat + "bogus = 3\n" +
				"[[sink]]\nname = \"console\"\nplugin = \"console\"\n" + checkRules,
			lines: []string{
				`herald: 3 problems:`,
				`$DIR/herald.toml:16:1: sink "pager": unknown config key "bogus"`,
				`$DIR/herald.toml:23:1: sink "hook": unknown config key "bogus"`,
				`$DIR/herald.toml:33:1: sink "chat": unknown config key "bogus"`,
			},
		},
		{
			name:   "unknown plugin",
			config: checkInput + strings.Replace(checkSignl4, `"signl4"`, `"signl5"`, 1) + checkRules,
			lines: []string{`herald: $DIR/herald.toml:13:1: sink[0].plugin: sink "pager": plugin "signl5" is neither a built-in sink ` +
				`(alertmanager, console, rocketchat, signl4, webhook) nor a path to an executable (did you mean "signl4"?)`},
		},
		{
			name:   "plugin path missing",
			config: checkInput + strings.Replace(checkSignl4, `"signl4"`, `"./plugins/herald-sink-pager"`, 1) + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:13:1: sink[0].plugin: sink "pager": plugin executable: stat $DIR/plugins/herald-sink-pager: $NOTEXIST`},
		},
		{
			name:   "secret variable not set",
			config: checkInput + strings.ReplaceAll(checkSignl4, "HERALD_CHECK_SECRET", "HERALD_CHECK_UNSET") + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:15:1: sink[0].config.url: environment variable HERALD_CHECK_UNSET is not set`},
		},
		{
			name:   "paths match nothing",
			config: strings.Replace(checkInput, `"*_System_Scheduler.txt"`, `"Log/Scheduler/Trace/*_System_Scheduler.txt"`, 1) + checkSignl4 + checkRules,
			files:  map[string]string{"Log/Scheduler/readme.txt": ""},
			lines: []string{`herald: $DIR/herald.toml:8:10: input[0].paths[0]: input "scheduler": ` +
				`no file matches $DIR/Log/Scheduler/Trace/*_System_Scheduler.txt; the deepest folder that exists is $DIR/Log/Scheduler`},
		},
		{
			name: "one of two paths matches nothing, and a sink problem",
			config: strings.Replace(checkInput, `"*_System_Scheduler.txt"`, `"*_System_Scheduler.txt", "Trace/*_System_Scheduler.txt"`, 1) +
				checkSignl4 + "bogus = 1\n" + checkRules,
			lines: []string{
				`herald: 2 problems:`,
				`$DIR/herald.toml:8:36: input[0].paths[1]: input "scheduler": ` +
					`no file matches $DIR/Trace/*_System_Scheduler.txt; the deepest folder that exists is $DIR`,
				`$DIR/herald.toml:16:1: sink "pager": unknown config key "bogus"`,
			},
		},
		{
			name:   "config unknown key",
			config: strings.Replace(checkInput, `host = "QS-NODE1"`, "host = \"QS-NODE1\"\nlog_levle = \"debug\"", 1) + checkSignl4 + checkRules,
			lines:  []string{`herald: $DIR/herald.toml:5:1: agent.log_levle: unknown key (did you mean "log_level"?)`},
		},
		{
			name:   "rule file unknown key and unknown field",
			config: checkInput + checkSignl4 + "[rules]\nfiles = [\"rules/*.toml\"]\n",
			files: map[string]string{"rules/ops.toml": `[[rule]]
id = "reload-error"
when = 'Levle == "ERROR"'
key = 'TaskId'
title = '"Reload error"'
message = 'Message'
severty = "critical"
`},
			lines: []string{
				`herald: 2 problems:`,
				`$DIR/rules/ops.toml:3:9: rule "reload-error": when (input "scheduler"): unknown name Levle`,
				`$DIR/rules/ops.toml:7: rule "reload-error": unknown key "severty" (did you mean "severity"?)`,
			},
		},
	}
	// How this OS says a file does not exist.
	_, statErr := os.Stat(filepath.Join(t.TempDir(), "missing"))
	notExist := errors.Unwrap(statErr).Error()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HERALD_CHECK_SECRET", checkSecret)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			writeConfig(t, dir, tt.config)
			writeLog(t, dir)
			for name, body := range tt.files {
				path := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			stdout, stderr, code := runCheck(t, dir)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("a failed check printed on stdout:\n%s", stdout)
			}
			got := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			for _, want := range tt.lines {
				want = strings.ReplaceAll(want, "$NOTEXIST", notExist)
				if !slices.Contains(got, want) {
					t.Errorf("stderr lacks the line\n\t%s\ngot:\n%s", want, stderr)
				}
			}
			assertNoSecret(t, "check output", stdout+stderr)
		})
	}
}

// TestCheckOK: a valid config with every built-in sink prints OK and what it
// loaded, nothing else, and no secret.
func TestCheckOK(t *testing.T) {
	t.Setenv("HERALD_CHECK_SECRET", checkSecret)
	dir := t.TempDir()
	writeLog(t, dir)
	writeConfig(t, dir, checkInput+checkSignl4+checkWebhook+"secret = \"${HERALD_CHECK_SECRET}\"\n"+checkRocketchat+
		"[[sink]]\nname = \"console\"\nplugin = \"console\"\n"+checkRules)
	stdout, stderr, code := runCheck(t, dir)
	if code != 0 {
		t.Fatalf("exit status %d, want 0\n%s", code, stderr)
	}
	want := `$DIR/herald.toml: OK
  inputs: scheduler
  sinks:  pager (signl4), hook (webhook), chat (rocketchat), console (console)
  rules:  3 (qlik-reload-aborted, qlik-reload-failed, qlik-reload-succeeded)
`
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	if stderr != "" {
		t.Errorf("a passing check logged on stderr:\n%s", stderr)
	}
	assertNoSecret(t, "check output", stdout+stderr)
}

// writeLog creates the log file that checkInput's paths match in dir.
func writeLog(t *testing.T, dir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, checkLog), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, checkSecret) || strings.Contains(s, signl4Secret) || strings.Contains(s, chatToken) {
		t.Errorf("%s shows a secret:\n%s", what, s)
	}
}
