package rules

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/parsers"
)

func TestEval(t *testing.T) {
	inputs := map[string]InputInfo{
		"app":   {Fields: []string{"level", "msg", "task", "user"}, Verbatim: true, Parser: "logfmt"},
		"other": {Fields: []string{"level", "msg"}, Verbatim: false, Parser: "json"},
	}
	set, err := loadText(t, `
[[rule]]
id = "error"
when = 'level == "error"'
key = 'msg'
title = '"Error on " + Input + ": " + truncate(msg, 12)'
message = 'Raw'

[[rule]]
id = "task-failed"
inputs = ["app"]
when = 'msg startsWith "task failed" && task != ""'
key = 'task'
dedup = 'task + "/" + Time.Format("2006")'
severity = "critical"
title = '"Task " + task + " failed"'
message = '"in " + Path'
fields = { Task = 'task', User = 'user', Level = 'upper(level)' }

[[rule]]
id = "task-ok"
inputs = ["app"]
when = 'msg == "task ok"'
key = 'task'
resolves = ["task-failed"]
`, inputs)
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 2, 16, 9, 22, 1, 0, time.UTC)
	withMeta := func(r *parsers.Record, path string) *parsers.Record {
		r.Path, r.Time = path, when
		return r
	}
	tests := []struct {
		name string
		rec  *parsers.Record
		want []Match
	}{
		{
			name: "built-in names and truncate",
			rec:  record("app", "level", "error", "msg", "disk quota exceeded on volume"),
			want: []Match{{Key: "disk quota exceeded on volume", Title: "Error on app: disk quota …", Message: "error\tdisk quota exceeded on volume"}},
		},
		{
			name: "a rule for all inputs runs on every input",
			rec:  record("other", "level", "error", "msg", "x"),
			want: []Match{{Key: "x", Title: "Error on other: x", Message: "error\tx"}},
		},
		{
			name: "fields: empty values are left out, missing fields read as empty",
			rec:  withMeta(record("app", "level", "warn", "msg", "task failed: timeout", "task", "nightly"), "/var/log/app.log"),
			want: []Match{{Key: "nightly", Dedup: "nightly/2026", Title: "Task nightly failed", Message: "in /var/log/app.log",
				Fields: map[string]string{"Task": "nightly", "Level": "WARN"}}},
		},
		{
			name: "when false",
			rec:  record("app", "level", "warn", "msg", "task failed: timeout"),
		},
		{
			name: "resolving rule without title",
			rec:  record("app", "level", "info", "msg", "task ok", "task", "nightly"),
			want: []Match{{Key: "nightly"}},
		},
		{
			name: "unknown input",
			rec:  record("nope", "level", "error", "msg", "x"),
		},
	}
	ev := set.NewEvaluator()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ev.Eval(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d matches, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Key != w.Key || g.Dedup != w.Dedup || g.Title != w.Title || g.Message != w.Message || fmt.Sprint(g.Fields) != fmt.Sprint(w.Fields) {
					t.Errorf("match %d (rule %s) =\n %+v\nwant\n %+v", i, g.Rule.ID, g, w)
				}
			}
		})
	}
}

func TestEvalRuntimeErrorsDoNotStopOtherRules(t *testing.T) {
	inputs := map[string]InputInfo{"app": {Fields: []string{"n", "msg"}, Verbatim: true, Parser: "logfmt"}}
	set, err := loadText(t, `
[[rule]]
id = "bad-when"
when = 'int(n) > 3'
key = '"k"'
title = '"t"'
message = '"m"'

[[rule]]
id = "bad-title"
when = 'msg == "go"'
key = '"k"'
title = 'string(int(n))'
message = '"still delivered"'
fields = { N = 'string(int(n))', Msg = 'msg' }

[[rule]]
id = "good"
when = 'msg == "go"'
key = 'msg'
title = '"fine"'
message = '"fine"'
`, inputs)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := set.NewEvaluator().Eval(record("app", "n", "not a number", "msg", "go"))
	if err == nil {
		t.Fatal("want runtime errors")
	}
	for _, w := range []string{
		`rules.toml:4: rule "bad-when": when (input "app"): invalid operation: int(not a number) (1:1)`,
		`rules.toml:13: rule "bad-title": title (input "app"): invalid operation: int(not a number)`,
		`rules.toml:15: rule "bad-title": fields.N (input "app"): invalid operation: int(not a number)`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
	var re *Error
	if !errors.As(err, &re) || re.Rule != "bad-when" {
		t.Errorf("first error = %+v", re)
	}
	if len(ms) != 2 || ms[0].Rule.ID != "bad-title" || ms[1].Rule.ID != "good" {
		t.Fatalf("matches = %+v", ms)
	}
	if m := ms[0]; m.Title != "bad-title" || m.Message != "still delivered" || fmt.Sprint(m.Fields) != "map[Msg:go]" {
		t.Errorf("a match whose title failed = %+v, want the rule id as title and the other values", m)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 4, "hel…"},
		{"hello", 1, "…"},
		{"hello", 0, ""},
		{"hello", -3, ""},
		{"", 3, ""},
		{"été à Zürich", 6, "été à…"},
		{"日本語のテキスト", 3, "日本…"},
		{"日本語", 3, "日本語"},
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestWithFunction(t *testing.T) {
	inputs := map[string]InputInfo{"app": {Fields: []string{"app"}, Verbatim: true, Parser: "logfmt"}}
	calls := 0
	owner := func(params ...any) (any, error) {
		calls++
		return fmt.Sprintf("owner of %s (%d)", params[0], params[1]), nil
	}
	rule := `
[[rule]]
id = "r"
when = 'app != ""'
key = 'app'
title = '"t"'
message = 'appOwner(app, 20)'
`
	set, err := loadText(t, rule, inputs, WithFunction("appOwner", owner, new(func(string, int) string)))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := set.NewEvaluator().Eval(record("app", "app", "abc"))
	if err != nil || len(ms) != 1 || ms[0].Message != "owner of abc (20)" || calls != 1 {
		t.Fatalf("Eval = %+v, %v (calls %d)", ms, err, calls)
	}
	// The declared signature is checked at load.
	_, err = loadText(t, strings.Replace(rule, "appOwner(app, 20)", `appOwner(app, "20")`, 1), inputs,
		WithFunction("appOwner", owner, new(func(string, int) string)))
	if err == nil || !strings.Contains(err.Error(), `message (input "app"): cannot use string as argument (type int) to call appOwner`) {
		t.Errorf("err = %v", err)
	}
	// Without the function the rule does not load.
	if _, err := loadText(t, rule, inputs); err == nil || !strings.Contains(err.Error(), `rules.toml:7:12: rule "r": message (input "app"): unknown name appOwner`) {
		t.Errorf("err = %v", err)
	}
	// A built-in function's name is taken.
	if _, err := loadText(t, rule, inputs, WithFunction("scriptLogTail", owner)); err == nil ||
		!strings.Contains(err.Error(), `function "scriptLogTail" is registered twice`) {
		t.Errorf("err = %v", err)
	}
}

func TestEnvAccessByName(t *testing.T) {
	// Field names that are not identifiers are read through $env, which makes
	// the evaluator fill every field.
	inputs := map[string]InputInfo{"app": {Fields: []string{"log.level", "msg"}, Verbatim: true, Parser: "json"}}
	set, err := loadText(t, `
[[rule]]
id = "r"
when = '$env["log.level"] == "error"'
key = 'msg'
title = 'msg'
message = '$env["log.level"]'
`, inputs)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := set.NewEvaluator().Eval(record("app", "log.level", "error", "msg", "boom"))
	if err != nil || len(ms) != 1 || ms[0].Message != "error" || ms[0].Title != "boom" {
		t.Fatalf("Eval = %+v, %v", ms, err)
	}
}

func TestEvalWhenOfTypeAny(t *testing.T) {
	// $env[...] has no static type, so a non-boolean `when` shows only at run time.
	inputs := map[string]InputInfo{"app": {Fields: []string{"msg"}, Verbatim: true, Parser: "line"}}
	set, err := loadText(t, "[[rule]]\nid = \"r\"\nwhen = '$env[msg]'\nkey = 'msg'\ntitle = 'msg'\nmessage = 'msg'\n", inputs)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := set.NewEvaluator().Eval(record("app", "msg", "msg"))
	if len(ms) != 0 || err == nil || !strings.Contains(err.Error(), `rule "r": when (input "app"): invalid operation: bool(string)`) {
		t.Errorf("Eval = %v, %v", ms, err)
	}
}

func TestEvaluatorsRunConcurrently(t *testing.T) {
	set, err := Load(nil, "", []string{"qliksense"}, map[string]InputInfo{"scheduler": qlikInfo(t)})
	if err != nil {
		t.Fatal(err)
	}
	text := mixHeader + "\n" + strings.Join(mixLines(400, 10, 5), "\n") + "\n"
	recs := decodeQlik(t, "scheduler", "mix.txt", text, nil)
	count := func() int {
		ev, n := set.NewEvaluator(), 0
		for _, r := range recs {
			ms, err := ev.Eval(r)
			if err != nil {
				t.Error(err)
			}
			n += len(ms)
		}
		return n
	}
	want := count()
	if want == 0 {
		t.Fatal("no matches in the mix")
	}
	var wg sync.WaitGroup
	got := make([]int, 4)
	for i := range got {
		wg.Go(func() { got[i] = count() })
	}
	wg.Wait()
	for i, n := range got {
		if n != want {
			t.Errorf("goroutine %d: %d matches, want %d", i, n, want)
		}
	}
}
