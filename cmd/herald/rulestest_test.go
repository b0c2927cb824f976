package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// -update rewrites golden files. Another test file of the package may
// register the flag as well; package variables are initialised before init
// runs, so this registers it only when none did.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
}

func updatingGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// opsGolden compares got with testdata/name, or rewrites it with -update.
func opsGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updatingGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal([]byte(got), want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

var elapsed = regexp.MustCompile(`(?m)^replayed in .*$`)

// TestRulesTestQuickstart replays the quickstart sample with its config: the
// events on stdout, the summary on stderr, both as the README shows them.
func TestRulesTestQuickstart(t *testing.T) {
	qs := filepath.Join("..", "..", "examples", "quickstart")
	stdout, stderr, code := runHerald(t, "rules", "test", "--config", filepath.Join(qs, "herald.toml"),
		filepath.Join(qs, "QS-NODE1_System_Scheduler.txt"))
	if code != 0 {
		t.Fatalf("exit status %d\n%s", code, stderr)
	}
	opsGolden(t, "rules-test/quickstart.stdout", stdout)
	opsGolden(t, "rules-test/quickstart.stderr", elapsed.ReplaceAllString(stderr, "replayed in (time)"))
	if n := strings.Count(stdout, "\n"); n != 3 || strings.Count(stdout, `"sinks":["console"]`) != 3 {
		t.Errorf("want 3 events routed to the console sink, got:\n%s", stdout)
	}

	// The same replay without a config, with the pack and parser given by
	// flags (the defaults), the input named as in the config (event ids derive
	// from it) and a glob: the same events, without sinks.
	stdout2, stderr2, code := runHerald(t, "rules", "test", "--host", "QS-NODE1", "--input", "scheduler", filepath.Join(qs, "*_System_Scheduler.txt"))
	if code != 0 {
		t.Fatalf("exit status %d\n%s", code, stderr2)
	}
	if want := strings.ReplaceAll(stdout, `,"sinks":["console"]`, ""); stdout2 != want {
		t.Errorf("without --config:\n%s\nwant:\n%s", stdout2, want)
	}
	if elapsed.ReplaceAllString(stderr2, "") != elapsed.ReplaceAllString(stderr, "") {
		t.Errorf("summary without --config differs:\n%s\nwant:\n%s", stderr2, stderr)
	}
}

func TestRulesTestErrors(t *testing.T) {
	dir := t.TempDir()
	qs := filepath.Join("..", "..", "examples", "quickstart")
	badRules := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(badRules, []byte("[[rule]]\nid = \"x\"\nwhen = 'Mesage == \"a\"'\nkey = 'TaskId'\ntitle = '\"t\"'\nmessage = '\"m\"'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(qs, "QS-NODE1_System_Scheduler.txt")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file", []string{"--pack", "qliksense"}, 2, "requires at least 1 arg"},
		{"flag with config", []string{"--config", filepath.Join(qs, "herald.toml"), "--rules", "x.toml", log}, 2, "--rules cannot be used with --config"},
		{"pattern matches nothing", []string{filepath.Join(dir, "*.log")}, 2, "matches no file"},
		{"missing file", []string{filepath.Join(dir, "missing.txt")}, 1, "missing.txt"},
		{"bad rule", []string{"--rules", badRules, log}, 2, `unknown name Mesage (did you mean "Message"?)`},
		{"unknown input", []string{"--config", filepath.Join(qs, "herald.toml"), "--input", "nope", log}, 2, `--input nope: no such file input (have: scheduler)`},
		{"bad parser option", []string{"--parser-option", "fields", log}, 2, "want key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runHerald(t, append([]string{"rules", "test"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit status %d, stderr:\n%s\nwant %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

func TestParseParserOptions(t *testing.T) {
	tests := []struct {
		in   []string
		want map[string]any
		err  string
	}{
		{nil, nil, ""},
		{[]string{`fields=["NodeRole", "Extra"]`}, map[string]any{"fields": []any{"NodeRole", "Extra"}}, ""},
		{[]string{"time_format=2006-01-02 15:04:05"}, map[string]any{"time_format": "2006-01-02 15:04:05"}, ""},
		{[]string{`pattern=^(?P<level>\w+) (?P<msg>.*)$`}, map[string]any{"pattern": `^(?P<level>\w+) (?P<msg>.*)$`}, ""},
		{[]string{`time_field="ts"`, "n=3", "b=true"}, map[string]any{"time_field": "ts", "n": int64(3), "b": true}, ""},
		{[]string{"=x"}, nil, "want key=value"},
		{[]string{`fields=["a"`}, nil, "--parser-option fields"},
	}
	for _, tt := range tests {
		got, err := parseParserOptions(tt.in)
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%q: err = %v, want %q", tt.in, err, tt.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}
