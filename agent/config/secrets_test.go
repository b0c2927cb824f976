package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// minimal is a valid config whose sink URL and alerts token are secrets.
const minimalSecrets = `
[agent]
host = "node1"
data_dir = "state"

[[input]]
name = "scheduler"
paths = ["logs/*.txt"]

[[sink]]
name = "pager"
plugin = "signl4"
[sink.config]
url = "https://connect.signl4.com/webhook/${SIGNL4_TEAM_SECRET}"

[server]
listen = "127.0.0.1:0"
alerts_token = "${ALERTS_TOKEN}"
`

func source(name string, vars map[string]string) Source {
	return Source{Name: name, Lookup: envOf(vars)}
}

func sinkURL(t *testing.T, c *Config) string {
	t.Helper()
	u, _ := c.Sinks[0].Config["url"].(string)
	return u
}

// The first source that sets a variable wins: the process environment over
// herald.env, herald.env over the service's registered environment.
func TestSourcesPrecedence(t *testing.T) {
	const token = "a-token-of-at-least-thirty-two-characters"
	process := source("the environment", map[string]string{"SIGNL4_TEAM_SECRET": "from-process"})
	file := source("herald.env", map[string]string{"SIGNL4_TEAM_SECRET": "from-file", "ALERTS_TOKEN": token})
	service := source("service Herald", map[string]string{"SIGNL4_TEAM_SECRET": "from-service", "ALERTS_TOKEN": "service-" + token})
	tests := []struct {
		name    string
		sources []Source
		want    string
	}{
		{"process first", []Source{process, file, service}, "from-process"},
		{"then the env file", []Source{source("the environment", nil), file, service}, "from-file"},
		{"then the service", []Source{source("the environment", nil), source("herald.env", nil), service}, "from-service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseWith("herald.toml", []byte(minimalSecrets), Options{Sources: tt.sources})
			if err != nil {
				t.Fatal(err)
			}
			if got := sinkURL(t, c); got != "https://connect.signl4.com/webhook/"+tt.want {
				t.Errorf("url = %q, want the secret %s", got, tt.want)
			}
		})
	}

	// A variable set nowhere is reported with the places looked in.
	_, err := ParseWith("herald.toml", []byte(minimalSecrets), Options{Sources: []Source{source("the environment", nil), source("/etc/herald/herald.env", nil)}})
	want := "environment variable SIGNL4_TEAM_SECRET is not set (looked in the environment, /etc/herald/herald.env)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to contain %q", err, want)
	}
}

func TestFileReference(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "signl4")
	if err := os.WriteFile(secret, []byte("team-secret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	twoLines := filepath.Join(dir, "two")
	if err := os.WriteFile(twoLines, []byte("a\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := Options{Sources: []Source{source("the environment", map[string]string{"ALERTS_TOKEN": strings.Repeat("t", 40)})}}

	src := strings.Replace(minimalSecrets, "${SIGNL4_TEAM_SECRET}", "${file:"+filepath.ToSlash(secret)+"}", 1)
	c, err := ParseWith("herald.toml", []byte(src), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := sinkURL(t, c); got != "https://connect.signl4.com/webhook/team-secret" {
		t.Errorf("url = %q: want the file's content less its one trailing newline", got)
	}

	// A relative path is relative to the config's directory.
	rel := strings.Replace(minimalSecrets, "${SIGNL4_TEAM_SECRET}", "${file:signl4}", 1)
	c, err = ParseWith(filepath.Join(dir, "herald.toml"), []byte(rel), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := sinkURL(t, c); got != "https://connect.signl4.com/webhook/team-secret" {
		t.Errorf("relative ${file:}: url = %q", got)
	}

	// Only one newline is trimmed: the rest is the secret.
	got, _, _ := expand("${file:"+twoLines+"}", refs{readFile: os.ReadFile})
	if got != "a\n" {
		t.Errorf("two trailing newlines: got %q, want %q", got, "a\n")
	}

	// Forward slashes: a TOML basic string would read C:\Users as an escape.
	missing := filepath.ToSlash(filepath.Join(dir, "nope"))
	src = strings.Replace(minimalSecrets, "${SIGNL4_TEAM_SECRET}", "${file:"+missing+"}", 1)
	_, err = ParseWith("herald.toml", []byte(src), noEnv)
	want := "herald.toml:14:1: sink[0].config.url: secret file " + missing + " does not exist"
	if err == nil || err.Error() != want {
		t.Errorf("missing file: err = %v\nwant %s", err, want)
	}

	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		locked := filepath.Join(dir, "locked")
		if err := os.WriteFile(locked, []byte("x"), 0o000); err != nil {
			t.Fatal(err)
		}
		src = strings.Replace(minimalSecrets, "${SIGNL4_TEAM_SECRET}", "${file:"+locked+"}", 1)
		_, err = ParseWith("herald.toml", []byte(src), noEnv)
		want := "herald.toml:14:1: sink[0].config.url: secret file " + locked + " cannot be read: permission denied"
		if err == nil || err.Error() != want {
			t.Errorf("unreadable file: err = %v\nwant %s", err, want)
		}
	}
}

// A value that came from herald.env or a ${file:} is a secret: a message
// about it describes it and never quotes it.
func TestSecretsFromFilesAreRedacted(t *testing.T) {
	const secret = "s3cr3t-value"
	dir := t.TempDir()
	f := filepath.Join(dir, "level")
	if err := os.WriteFile(f, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvFile("herald.env", []byte("POLL="+secret+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	src := `
[agent]
host = "node1"
log_level = "${file:` + filepath.ToSlash(f) + `}"

[[input]]
name = "scheduler"
paths = ["a"]
poll_interval = "${POLL}"

[[sink]]
name = "s"
plugin = "console"
`
	_, err = ParseWith("herald.toml", []byte(src), Options{Sources: []Source{{Name: "herald.env", Lookup: env.Lookup}}})
	if err == nil {
		t.Fatal("ParseWith succeeded, want errors")
	}
	msg := err.Error()
	if strings.Contains(msg, secret) {
		t.Errorf("an error shows a secret:\n%s", msg)
	}
	for _, key := range []string{"agent.log_level", "input[0].poll_interval"} {
		if !strings.Contains(msg, " "+key+": the value from the environment ") {
			t.Errorf("no error for %s describing the value without showing it:\n%s", key, msg)
		}
	}
}

// Partial leaves missing secrets for Require; the rest of the config loads.
func TestPartialAndRequire(t *testing.T) {
	opts := Options{Sources: []Source{source("the environment", nil)}, Partial: true}
	c, err := ParseWith("herald.toml", []byte(minimalSecrets), opts)
	if err != nil {
		t.Fatalf("Partial: %v", err)
	}
	if len(c.Unresolved) != 2 {
		t.Fatalf("Unresolved = %v, want the sink URL and the alerts token", c.Unresolved)
	}
	if err := c.Require("agent", "input"); err != nil {
		t.Errorf("Require(agent, input) = %v, want nil: no secret there", err)
	}
	err = c.Require("server.alerts_token")
	want := "herald.toml:18:1: server.alerts_token: environment variable ALERTS_TOKEN is not set"
	if err == nil || err.Error() != want {
		t.Errorf("Require(server.alerts_token) = %v\nwant %s", err, want)
	}
	if err := c.Require("sink"); err == nil || !strings.Contains(err.Error(), "sink[0].config.url: environment variable SIGNL4_TEAM_SECRET is not set") {
		t.Errorf("Require(sink) = %v, want the sink URL's variable", err)
	}

	// A malformed reference is a mistake in the file, Partial or not.
	bad := strings.Replace(minimalSecrets, "${ALERTS_TOKEN}", "${ALERTS TOKEN}", 1)
	if _, err := ParseWith("herald.toml", []byte(bad), opts); err == nil {
		t.Error("Partial accepted an invalid reference")
	}
}

func TestParseEnvFile(t *testing.T) {
	src := "\uFEFF# Herald secrets\n" +
		"\n" +
		"SIGNL4_TEAM_SECRET=abc123\r\n" +
		"export ROCKETCHAT_TOKEN=\"tok \\\"q\\\" \\$x\"  # comment\n" +
		"  WEBHOOK_PASSWORD = 'p#ss $HOME \\n'\n" +
		"EMPTY=\n" +
		"HASH=a#b # comment\n"
	f, err := ParseEnvFile("herald.env", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"SIGNL4_TEAM_SECRET": "abc123",
		"ROCKETCHAT_TOKEN":   `tok "q" $x`,
		"WEBHOOK_PASSWORD":   `p#ss $HOME \n`,
		"EMPTY":              "",
		"HASH":               "a#b",
	}
	if f.Len() != len(want) {
		t.Errorf("%d variables, want %d", f.Len(), len(want))
	}
	for k, v := range want {
		if got, ok := f.Lookup(k); !ok || got != v {
			t.Errorf("%s = %q, %v; want %q", k, got, ok, v)
		}
	}
}

func TestParseEnvFileErrors(t *testing.T) {
	const secret = "s3cr3t"
	src := "OK=1\n" +
		"just text " + secret + "\n" +
		"1BAD=" + secret + "\n" +
		"OPEN=\"" + secret + "\n" +
		"TRAIL='" + secret + "' more\n" +
		"ESC=\"\\q" + secret + "\"\n" +
		"MID=a\"" + secret + "\n" +
		"OK=2\n"
	_, err := ParseEnvFile("/etc/herald/herald.env", []byte(src))
	if err == nil {
		t.Fatal("ParseEnvFile succeeded, want errors")
	}
	want := []string{
		"/etc/herald/herald.env:2: not a NAME=value line",
		"/etc/herald/herald.env:3: invalid variable name: a name matches [A-Za-z_][A-Za-z0-9_]*",
		"/etc/herald/herald.env:4: OPEN: no closing \" quote (a value is one line)",
		"/etc/herald/herald.env:5: TRAIL: text after the closing quote (put a comment after \" #\")",
		"/etc/herald/herald.env:6: ESC: unknown escape \\q in double quotes (write \\\\ for a backslash, or use single quotes)",
		"/etc/herald/herald.env:7: MID: a quote inside an unquoted value (quote the whole value)",
		"/etc/herald/herald.env:8: OK: set again (first set on line 1)",
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if strings.Contains(err.Error(), secret) {
		t.Error("an error shows a value")
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 2 {
		t.Errorf("errors.As: %+v, want the first *Error (line 2)", ce)
	}

	if _, err := ReadEnvFile(filepath.Join(t.TempDir(), "herald.env")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadEnvFile of a missing file: %v, want fs.ErrNotExist", err)
	}
}
