package rules

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/scriptlog"
	"github.com/heraldhq/herald/parsers"
)

// The failed run of the synthetic scheduler sample: app, and the UTC start of
// its reload (the "Execution State Change to Started" row, 09:22:01 +0100).
const (
	failedApp   = "e7af59a0-c243-480d-9571-08727551a66f"
	failedStamp = "2021_02_16_08_22_01"
)

// failedScriptLog is the synthetic tail of a failed reload's script log, as
// Qlik writes it: BOM, CRLF.
const failedScriptLog = "\uFEFF" +
	"20210216T092201.900+0100      Execution started.\r\n" +
	"20210216T092458.801+0100 0012 ThisFailsForSure\r\n" +
	"20210216T092458.802+0100      Error: Unknown statement: ThisFailsForSure\r\n" +
	"20210216T092458.803+0100      Execution Failed\r\n" +
	"20210216T092458.810+0100      Execution finished.\r\n"

// scriptLogDir makes a script log directory with the failed run's log, an
// older log of the same app that failed otherwise, and a newer one that
// succeeded (the app's next run).
func scriptLogDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, failedApp+"."+failedStamp+".11BD4F0BF21DFEFEC220.log", failedScriptLog)
	writeFile(t, dir, failedApp+".2021_02_15_08_22_01.0000000000000000000A.log",
		"\uFEFF2021-02-15 09:22:02      Error: yesterday's error\r\n2021-02-15 09:22:02      Execution Failed\r\n")
	writeFile(t, dir, failedApp+".2021_02_16_08_29_50.0000000000000000000B.log",
		"\uFEFF20210216T092959.000+0100      Execution finished.\r\n")
	return dir
}

func TestScriptLogFunctions(t *testing.T) {
	inputs := map[string]InputInfo{"app": {Fields: []string{"app", "msg"}, Verbatim: true, Parser: "logfmt"}}
	const rule = `
[[rule]]
id = "r"
when = 'msg == "failed"'
key = 'app'
title = '"t"'
message = 'scriptLogErrors(app, Time)'
fields = { Tail = 'scriptLogTail(app, 2, Time)', Now = 'scriptLogTail(app, 1)', Errors = 'scriptLogErrors(app)' }
`
	dir := scriptLogDir(t)
	at := func(s string) time.Time {
		tm, err := time.Parse("20060102T150405.000-0700", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	failedAt := at("20210216T092459.099+0100")
	clock := at("20210216T100000.000+0100")
	rec := func(app string, when time.Time) *parsers.Record {
		r := record("app", "app", app, "msg", "failed")
		r.Time = when
		return r
	}
	tests := []struct {
		name string
		opts []Option
		rec  *parsers.Record
		want Match
	}{
		{
			name: "without the option: empty, fields left out",
			rec:  rec(failedApp, failedAt),
			want: Match{Key: failedApp, Title: "t"},
		},
		{
			name: "the log of the record's time; without a time, the newest before now",
			opts: []Option{WithScriptLogs(&scriptlog.Finder{Dir: dir, Now: func() time.Time { return clock }}, nil)},
			rec:  rec(strings.ToUpper(failedApp), failedAt),
			want: Match{Key: strings.ToUpper(failedApp), Title: "t",
				Message: "0012 ThisFailsForSure\nError: Unknown statement: ThisFailsForSure",
				Fields: map[string]string{
					"Tail": "20210216T092458.803+0100      Execution Failed\n20210216T092458.810+0100      Execution finished.",
					"Now":  "20210216T092959.000+0100      Execution finished.",
				}},
		},
		{
			name: "a record without a time reads as of now",
			opts: []Option{WithScriptLogs(&scriptlog.Finder{Dir: dir, Now: func() time.Time { return at("20210216T092800.000+0100") }}, nil)},
			rec:  rec(failedApp, time.Time{}),
			want: Match{Key: failedApp, Title: "t",
				Message: "0012 ThisFailsForSure\nError: Unknown statement: ThisFailsForSure",
				Fields: map[string]string{
					"Tail":   "20210216T092458.803+0100      Execution Failed\n20210216T092458.810+0100      Execution finished.",
					"Now":    "20210216T092458.810+0100      Execution finished.",
					"Errors": "0012 ThisFailsForSure\nError: Unknown statement: ThisFailsForSure",
				}},
		},
		{
			name: "an older time picks the older log",
			opts: []Option{WithScriptLogDir(dir)},
			rec:  rec(failedApp, at("20210215T235959.000+0100")),
			want: Match{Key: failedApp, Title: "t", Message: "Error: yesterday's error",
				Fields: map[string]string{
					"Tail": "2021-02-15 09:22:02      Error: yesterday's error\n2021-02-15 09:22:02      Execution Failed",
					"Now":  "20210216T092959.000+0100      Execution finished.",
				}},
		},
		{
			name: "no log of the app: empty, the alert still fires",
			opts: []Option{WithScriptLogDir(dir)},
			rec:  rec("00000000-0000-0000-0000-000000000000", failedAt),
			want: Match{Key: "00000000-0000-0000-0000-000000000000", Title: "t"},
		},
		{
			name: "missing directory",
			opts: []Option{WithScriptLogDir(filepath.Join(dir, "missing"))},
			rec:  rec(failedApp, failedAt),
			want: Match{Key: failedApp, Title: "t"},
		},
		{
			name: "an empty directory turns the functions off",
			opts: []Option{WithScriptLogDir("")},
			rec:  rec(failedApp, failedAt),
			want: Match{Key: failedApp, Title: "t"},
		},
		{
			name: "no app id",
			opts: []Option{WithScriptLogDir(dir)},
			rec:  rec("", failedAt),
			want: Match{Title: "t"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := loadText(t, rule, inputs, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := set.NewEvaluator().Eval(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 1 {
				t.Fatalf("%d matches, want 1", len(ms))
			}
			got := ms[0]
			got.Rule = nil
			if !matchEqual(got, tt.want) {
				t.Errorf("match\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func matchEqual(a, b Match) bool {
	if a.Key != b.Key || a.Dedup != b.Dedup || a.Title != b.Title || a.Message != b.Message || len(a.Fields) != len(b.Fields) {
		return false
	}
	for k, v := range a.Fields {
		if b.Fields[k] != v {
			return false
		}
	}
	return true
}

// TestScriptLogOnlyForMatches checks that a script log is looked for only
// when a rule matches, once per expression, not for every line read.
func TestScriptLogOnlyForMatches(t *testing.T) {
	inputs := map[string]InputInfo{"app": {Fields: []string{"app", "msg"}, Verbatim: true, Parser: "logfmt"}}
	looks := 0
	f := &scriptlog.Finder{Dir: scriptLogDir(t), Now: func() time.Time { looks++; return time.Now() }}
	set, err := loadText(t, `
[[rule]]
id = "r"
when = 'msg == "failed"'
key = 'app'
title = '"t"'
message = 'scriptLogTail(app, 5)'
fields = { Errors = 'scriptLogErrors(app)' }
`, inputs, WithScriptLogs(f, nil))
	if err != nil {
		t.Fatal(err)
	}
	ev := set.NewEvaluator()
	for range 100 {
		if _, err := ev.Eval(record("app", "app", failedApp, "msg", "running")); err != nil {
			t.Fatal(err)
		}
	}
	if looks != 0 {
		t.Fatalf("%d script log look-ups for lines no rule matched", looks)
	}
	ms, err := ev.Eval(record("app", "app", failedApp, "msg", "failed"))
	if err != nil || len(ms) != 1 || !strings.Contains(ms[0].Message, "Execution finished.") {
		t.Fatalf("Eval = %+v, %v", ms, err)
	}
	if looks != 2 {
		t.Errorf("%d script log look-ups for one match of a rule calling the functions twice", looks)
	}
}

func TestScriptLogLogging(t *testing.T) {
	inputs := map[string]InputInfo{"app": {Fields: []string{"app"}, Verbatim: true, Parser: "logfmt"}}
	dir := t.TempDir()
	// A directory named like a log: found, but not readable as one.
	if err := os.Mkdir(filepath.Join(dir, failedApp+"."+failedStamp+".AB.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	set, err := loadText(t, `
[[rule]]
id = "r"
when = 'app != ""'
key = 'app'
title = '"t"'
message = 'scriptLogErrors(app)'
`, inputs, WithScriptLogs(&scriptlog.Finder{Dir: dir}, log))
	if err != nil {
		t.Fatal(err)
	}
	ev := set.NewEvaluator()
	for _, app := range []string{failedApp, "other-app"} {
		ms, err := ev.Eval(record("app", "app", app))
		if err != nil || len(ms) != 1 || ms[0].Message != "" {
			t.Fatalf("Eval = %+v, %v", ms, err)
		}
	}
	out := buf.String()
	if !strings.Contains(out, `level=WARN msg="cannot read the script log for the alert" app_id=`+failedApp) ||
		!strings.Contains(out, `level=DEBUG msg="no script log for the alert" app_id=other-app`) {
		t.Errorf("log:\n%s", out)
	}
}

// TestQlikSensePackScriptLog runs the pack with script logs: the failed
// run's alert carries the error and the tail of its script log.
func TestQlikSensePackScriptLog(t *testing.T) {
	f := &scriptlog.Finder{Dir: scriptLogDir(t)}
	set, err := Load(nil, "", []string{"qliksense"}, map[string]InputInfo{"scheduler": qlikInfo(t)}, WithScriptLogs(f, nil))
	if err != nil {
		t.Fatal(err)
	}
	const path = "PRO2-WIN1_System_Scheduler.txt"
	ev := set.NewEvaluator()
	var failed []Match
	for _, rec := range decodeQlik(t, "scheduler", path, packText(t), set.Filter("scheduler")) {
		ms, err := ev.Eval(rec)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Rule.ID == "qlik-reload-failed" && m.Fields["AppId"] == failedApp {
				failed = append(failed, m)
			}
		}
	}
	if len(failed) != 2 {
		t.Fatalf("%d failed alerts of the app, want 2", len(failed))
	}
	const wantMessage = `Reload task "Manually triggered reload of Test failing reloads 2" failed for app "Test failing reloads 2" ` +
		`(app id e7af59a0-c243-480d-9571-08727551a66f), reported by the scheduler on PRO2-WIN1. ` +
		`Execution 14a81bf5-f81c-4047-b1a1-193b0920de28. ` +
		`Script log: %ProgramData%\Qlik\Sense\Log\Script\e7af59a0-c243-480d-9571-08727551a66f.*.log on the node that ran the reload.` +
		"\n\nScript error:\n0012 ThisFailsForSure\nError: Unknown statement: ThisFailsForSure"
	wantTail := strings.ReplaceAll(strings.TrimSpace(strings.TrimPrefix(failedScriptLog, "\uFEFF")), "\r\n", "\n")
	for _, m := range failed {
		if m.Message != wantMessage {
			t.Errorf("message\n%s\nwant\n%s", m.Message, wantMessage)
		}
		if got := m.Fields["ScriptLogErrors"]; got != "0012 ThisFailsForSure\nError: Unknown statement: ThisFailsForSure" {
			t.Errorf("ScriptLogErrors = %q", got)
		}
		if got := m.Fields["ScriptLogTail"]; got != wantTail {
			t.Errorf("ScriptLogTail =\n%s\nwant\n%s", got, wantTail)
		}
	}
}

func TestJoinEnd(t *testing.T) {
	tests := []struct {
		lines []string
		max   int
		want  string
	}{
		{nil, 10, ""},
		{[]string{"a", "b", "c"}, 10, "a\nb\nc"},
		{[]string{"a", "b", "c"}, 5, "a\nb\nc"},
		{[]string{"a", "b", "c"}, 4, "b\nc"},
		{[]string{"aaaa", "bb"}, 7, "aaaa\nbb"},
		{[]string{"aaaa", "bb"}, 6, "bb"},
		{[]string{"aaaa", "ééééé"}, 8, "éé…"}, // 10 bytes cut to 8: two runes and the ellipsis
	}
	for _, tt := range tests {
		if got := joinEnd(tt.lines, tt.max); got != tt.want {
			t.Errorf("joinEnd(%q, %d) = %q, want %q", tt.lines, tt.max, got, tt.want)
		}
	}
}
