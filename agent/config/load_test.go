package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// envOf returns a lookup function over a fixed environment.
func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// etcHerald is the directory of the config file in tests that resolve
// relative paths against it. /etc/herald is not absolute on Windows (it has
// no drive), so there it is C:\etc\herald.
var etcHerald = func() string {
	if runtime.GOOS == "windows" {
		return `C:\etc\herald`
	}
	return "/etc/herald"
}()

func TestParseFullExample(t *testing.T) {
	env := envOf(map[string]string{
		"POLL":               "250ms",
		"SIGNL4_HOOK_TOKEN":  "hook-token",
		"SIGNL4_TEAM_SECRET": "team-secret",
		"TEAM":               "bi",
		"HC_UUID":            "0d338dcc-a054-11ec-b909-0242ac120002",
	})
	got, err := Parse(filepath.Join(etcHerald, "herald.toml"), readFile(t, "testdata/valid/full.toml"), env)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &Config{
		Path: filepath.Join(etcHerald, "herald.toml"),
		Agent: Agent{
			DataDir:      `C:\ProgramData\Herald`,
			Host:         "qlik-node-1",
			LogLevel:     "debug",
			LogFormat:    "json",
			ScriptLogDir: `C:\ProgramData\Qlik\Sense\Log\Script`,
		},
		Inputs: []Input{{
			Name:          "scheduler",
			Type:          "file",
			Paths:         []string{`C:\ProgramData\Qlik\Sense\Log\Scheduler\Trace\*_System_Scheduler.txt`},
			Exclude:       []string{`C:\ProgramData\Qlik\Sense\Log\Scheduler\Trace\*_Audit_*.txt`},
			Parser:        "qlik",
			ParserOptions: map[string]any{"timezone": "Europe/Berlin"},
			StartAt:       "beginning",
			PollInterval:  Duration{250 * time.Millisecond},
			MaxSilence:    Duration{2 * time.Hour},
		}, {
			Name:   "signl4-callbacks",
			Type:   "http",
			Path:   "/hooks/signl4",
			Format: "signl4",
			Token:  "hook-token",
		}},
		Sinks: []Sink{{
			Name:   "pager",
			Plugin: "signl4",
			Config: map[string]any{
				"url":     "https://connect.signl4.com/webhook/team-secret",
				"headers": map[string]any{"X-Team": "bi-bi", "Price": "$5"},
				"tags":    []any{"qlik", "bi", map[string]any{"nested": "bi"}},
				"retries": int64(3),
			},
			BatchSize: 20, MaxPending: DefaultMaxPending,
		}, {
			Name:      "chat",
			Plugin:    filepath.Join(etcHerald, "plugins", "herald-sink-rocketchat"),
			BatchSize: DefaultBatchSize, MaxPending: DefaultMaxPending,
		}},
		Rules: Rules{
			Files: []string{filepath.Join(etcHerald, "rules", "*.toml"), `\\fileserver\herald\rules\*.toml`},
			Packs: []string{"qliksense"},
		},
		Server: Server{Listen: "127.0.0.1:9308"},
		SelfWatch: SelfWatch{
			Alerts: true, Sinks: []string{"chat"}, Severity: "warning",
			CheckInterval: Duration{30 * time.Second}, InputBlindAfter: Duration{5 * time.Minute},
			FileUnreadableAfter: Duration{5 * time.Minute}, StateFailingAfter: Duration{2 * time.Minute},
			TraceLevelWindow: Duration{4 * time.Hour}, SinkPendingAfter: Duration{30 * time.Minute},
			DeadLettersFor: Duration{2 * time.Hour}, PluginRestarts: 5, PluginRestartsWindow: Duration{15 * time.Minute},
		},
		Heartbeat: Heartbeat{
			URL:       "https://hc-ping.com/0d338dcc-a054-11ec-b909-0242ac120002",
			Interval:  Duration{30 * time.Second},
			Timeout:   Duration{5 * time.Second},
			Method:    "POST",
			OnFailure: "stop",
			Style:     "healthchecks",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse mismatch\n got: %+v\nwant: %+v", got, want)
	}
	if got.Dir() != etcHerald {
		t.Errorf("Dir() = %q, want %s", got.Dir(), etcHerald)
	}
}

func TestParseDefaults(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skipf("no host name on this machine: %v", err)
	}
	got, err := Parse(filepath.Join(etcHerald, "herald.toml"), readFile(t, "testdata/valid/minimal.toml"), envOf(nil))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	dataDir, scriptLogDir := platformDefaults(envOf(nil))
	want := &Config{
		Path: filepath.Join(etcHerald, "herald.toml"),
		Agent: Agent{
			DataDir:      dataDir,
			Host:         host,
			LogLevel:     "info",
			LogFormat:    "text",
			ScriptLogDir: scriptLogDir,
		},
		Inputs: []Input{{
			Name:    "scheduler",
			Type:    "file",
			Paths:   []string{filepath.Join(etcHerald, "logs", "*.txt")},
			Parser:  "qlik",
			StartAt: "end",
			// PollInterval left zero: the tailer chooses (agent/tail).
		}},
		Sinks:     []Sink{{Name: "console", Plugin: "console", BatchSize: 100, MaxPending: DefaultMaxPending}},
		SelfWatch: defaultSelfWatch(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse mismatch\n got: %+v\nwant: %+v", got, want)
	}
}

func TestWindowsDefaults(t *testing.T) {
	tests := []struct {
		name              string
		env               map[string]string
		dataDir, scriptLo string
	}{
		{"ProgramData set", map[string]string{"ProgramData": `D:\PD`},
			`D:\PD\Herald`, `D:\PD\Qlik\Sense\Log\Script`},
		{"trailing separator", map[string]string{"ProgramData": `D:\PD\`},
			`D:\PD\Herald`, `D:\PD\Qlik\Sense\Log\Script`},
		{"ProgramData unset", nil,
			`C:\ProgramData\Herald`, `C:\ProgramData\Qlik\Sense\Log\Script`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := windowsDataDir(envOf(tt.env)); got != tt.dataDir {
				t.Errorf("data dir = %q, want %q", got, tt.dataDir)
			}
			if got := windowsScriptLogDir(envOf(tt.env)); got != tt.scriptLo {
				t.Errorf("script log dir = %q, want %q", got, tt.scriptLo)
			}
		})
	}
}

// TestLoad reads a real file: the environment comes from the process, and
// relative paths resolve against the file's directory, not the working one.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "herald.toml")
	t.Setenv("HERALD_TEST_LOGS", "qlik")
	const src = `
[agent]
data_dir = "state"
host = "node1"

[[input]]
name = "scheduler"
paths = ["${HERALD_TEST_LOGS}/*.txt"]

[[sink]]
name = "console"
plugin = "console"

[rules]
files = ["rules/*.toml"]
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct{ what, got, want string }{
		{"Path", c.Path, path},
		{"Dir()", c.Dir(), dir},
		{"agent.data_dir", c.Agent.DataDir, filepath.Join(dir, "state")},
		{"input[0].paths[0]", c.Inputs[0].Paths[0], filepath.Join(dir, "qlik", "*.txt")},
		{"rules.files[0]", c.Rules.Files[0], filepath.Join(dir, "rules", "*.toml")},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.what, ck.got, ck.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	_, err := Load(path)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(missing) = %v, want a not-exist error naming %s", err, path)
	}
}

// TestErrors checks the complete message for each class of mistake against
// testdata/errors/NAME.golden. Run with -update to rewrite the golden files
// after a deliberate change, and review the diff.
func TestErrors(t *testing.T) {
	env := envOf(map[string]string{
		"EMPTY":       "",
		"HOOK_TOKEN":  "s3cr3t-hook-token",
		"TEAM_SECRET": "s3cr3t-team",
	})
	files, err := filepath.Glob("testdata/errors/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		t.Run(name, func(t *testing.T) {
			c, err := Parse("herald.toml", readFile(t, file), env)
			if err == nil {
				t.Fatalf("Parse succeeded, want errors; got %+v", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config along with errors")
			}
			for _, e := range unwrapAll(err) {
				var ce *Error
				if !errors.As(e, &ce) {
					t.Errorf("error %q is a %T, want *Error", e, e)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := string(readFile(t, golden)); got != want {
				t.Errorf("errors differ from %s\n--- got:\n%s--- want:\n%s", golden, got, want)
			}
		})
	}
}

func unwrapAll(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	return []error{err}
}

// TestErrorsNeverShowEnvironmentValues puts values that are wrong for their
// keys into environment variables: every key must be reported, and no message
// may contain the values.
func TestErrorsNeverShowEnvironmentValues(t *testing.T) {
	const secret = "TOPSECRET"
	env := envOf(map[string]string{
		"NAME":   secret + " with spaces",
		"TYPE":   secret,
		"START":  secret,
		"POLL":   secret,
		"FORMAT": secret,
		"PATH_":  secret,
		"LISTEN": secret,
		"LEVEL":  secret,
	})
	const src = `
[agent]
host = "node1"
log_level = "${LEVEL}"

[[input]]
name = "${NAME}"
paths = ["a"]
start_at = "${START}"
poll_interval = "${POLL}"

[[input]]
name = "x"
type = "${TYPE}"

[[input]]
name = "hook"
type = "http"
path = "${PATH_}"
format = "${FORMAT}"
token = "t"

[[sink]]
name = "s"
plugin = "console"

[server]
listen = "${LISTEN}"
`
	_, err := Parse("herald.toml", []byte(src), env)
	if err == nil {
		t.Fatal("Parse succeeded, want errors")
	}
	msg := err.Error()
	if strings.Contains(msg, secret) {
		t.Errorf("an error shows an environment value:\n%s", msg)
	}
	for _, key := range []string{
		"agent.log_level", "input[0].name", "input[0].start_at", "input[0].poll_interval",
		"input[1].type", "input[2].path", "input[2].format", "server.listen",
	} {
		if !strings.Contains(msg, " "+key+": the value from the environment ") {
			t.Errorf("no error for %s describing the value without showing it:\n%s", key, msg)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "herald.toml", Line: 12, Col: 3, Key: "sink[1].plugin", Msg: "required"},
			"herald.toml:12:3: sink[1].plugin: required"},
		{Error{File: "herald.toml", Line: 12, Key: "sink[1].plugin", Msg: "required"},
			"herald.toml:12: sink[1].plugin: required"},
		{Error{File: "herald.toml", Key: "sink", Msg: "no [[sink]]"},
			"herald.toml: sink: no [[sink]]"},
		{Error{File: "herald.toml", Line: 4, Col: 1, Msg: "expected value"},
			"herald.toml:4:1: expected value"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestIsAbs(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{`C:\ProgramData\Herald`, true},
		{`c:/ProgramData/Herald`, true},
		{`C:relative`, true},
		{`\\server\share\logs\*.txt`, true},
		{`//server/share/logs`, true},
		{`\rooted`, true},
		{`/var/lib/herald`, true},
		{`rules/*.toml`, false},
		{`logs\*.txt`, false},
		{`./state`, false},
		{`..\state`, false},
		{`1:\x`, false},
	}
	for _, tt := range tests {
		if got := isAbs(tt.path); got != tt.want {
			t.Errorf("isAbs(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestParseEquivalentForms writes one config in the different ways TOML
// allows; all must decode alike.
func TestParseEquivalentForms(t *testing.T) {
	forms := map[string]string{
		"tables": `
[agent]
host = "n"
[[input]]
name = "a"
paths = ["x"]
[input.parser_options]
tz = "UTC"
[[sink]]
name = "s"
plugin = "console"
[sink.config.headers]
X-Key = "${KEY}"
`,
		"inline": `
agent = { host = "n" }
input = [ { name = "a", paths = ["x"], parser_options = { tz = "UTC" } } ]
sink = [ { name = "s", plugin = "console", config = { headers = { X-Key = "${KEY}" } } } ]
`,
		"dotted": `
agent.host = "n"
[[input]]
name = "a"
paths = ["x"]
parser_options.tz = "UTC"
[[sink]]
name = "s"
plugin = "console"
config.headers.X-Key = "${KEY}"
`,
		"multi-line inline (TOML 1.1)": `
agent = {
  host = "n",
}
[[input]]
name = "a"
paths = [
  "x",
]
parser_options = { tz = "UTC" }
[[sink]]
name = "s"
plugin = "console"
config = {
  headers = { X-Key = "${KEY}" },
}
`,
	}
	env := envOf(map[string]string{"KEY": "k"})
	var first *Config
	for name, src := range forms {
		c, err := Parse("/etc/herald/herald.toml", []byte(src), env)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := c.Sinks[0].Config["headers"].(map[string]any)["X-Key"]; got != "k" {
			t.Errorf("%s: sink[0].config.headers.X-Key = %v, want k", name, got)
		}
		if first == nil {
			first = c
		} else if !reflect.DeepEqual(c, first) {
			t.Errorf("%s decodes differently:\n got: %+v\nwant: %+v", name, c, first)
		}
	}
}

// TestReadmeExample keeps the example in README.md valid.
func TestReadmeExample(t *testing.T) {
	readme := string(readFile(t, "README.md"))
	_, rest, ok := strings.Cut(readme, "## Example\n\n```toml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no ```toml block under ## Example")
	}
	env := envOf(map[string]string{"SIGNL4_HOOK_TOKEN": "t", "SIGNL4_TEAM_SECRET": "s"})
	c, err := Parse("/etc/herald/herald.toml", []byte(example), env)
	if err != nil {
		t.Fatalf("README example: %v", err)
	}
	if len(c.Inputs) != 2 || len(c.Sinks) != 2 {
		t.Errorf("README example: got %d inputs and %d sinks, want 2 and 2", len(c.Inputs), len(c.Sinks))
	}
}

// defaultSelfWatch is [self_watch] as a config without it has it.
func defaultSelfWatch() SelfWatch {
	return SelfWatch{
		Alerts: true, Severity: DefaultSelfSeverity, CheckInterval: Duration{DefaultCheckInterval},
		InputBlindAfter: Duration{DefaultInputBlindAfter}, FileUnreadableAfter: Duration{DefaultFileUnreadableAfter},
		StateFailingAfter: Duration{DefaultStateFailingAfter}, TraceLevelWindow: Duration{DefaultTraceLevelWindow},
		SinkPendingAfter: Duration{DefaultSinkPendingAfter}, DeadLettersFor: Duration{DefaultDeadLettersFor},
		PluginRestarts: DefaultPluginRestarts, PluginRestartsWindow: Duration{DefaultPluginRestartsWindow},
	}
}

// TestScriptLogDirs checks script_log_dirs: with script_log_dir, the union;
// alone, no default directory; relative entries resolved; repeats dropped.
func TestScriptLogDirs(t *testing.T) {
	const inputs = `
[[input]]
name = "scheduler"
paths = ['logs/*.txt']
[[sink]]
name = "console"
plugin = "console"
`
	tests := []struct {
		name  string
		agent string
		want  []string
	}{
		{"both", `script_log_dir = 'C:\ProgramData\Qlik\Sense\Log\Script'
script_log_dirs = ['\\QS-RIM1\c$\ProgramData\Qlik\Sense\Log\Script', 'C:\ProgramData\Qlik\Sense\Log\Script', 'rim2']`,
			[]string{`C:\ProgramData\Qlik\Sense\Log\Script`, `\\QS-RIM1\c$\ProgramData\Qlik\Sense\Log\Script`,
				filepath.Join(etcHerald, "rim2")}},
		{"list only", `script_log_dirs = ['\\QS-RIM1\c$\ProgramData\Qlik\Sense\Log\Script']`,
			[]string{`\\QS-RIM1\c$\ProgramData\Qlik\Sense\Log\Script`}},
		{"old key only", `script_log_dir = '/var/qlik/script'`, []string{"/var/qlik/script"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "[agent]\nhost = \"n1\"\n" + tt.agent + "\n" + inputs
			got, err := Parse(filepath.Join(etcHerald, "herald.toml"), []byte(text), envOf(nil))
			if err != nil {
				t.Fatal(err)
			}
			if dirs := got.Agent.ScriptLogDirList(); !reflect.DeepEqual(dirs, tt.want) {
				t.Errorf("ScriptLogDirList = %q, want %q", dirs, tt.want)
			}
		})
	}
}
