package rules

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/file"
)

// testInputs are a qlik input and a small json-like input.
func testInputs(t testing.TB) map[string]InputInfo {
	return map[string]InputInfo{
		"scheduler": qlikInfo(t),
		"hooks":     {Fields: []string{"event", "status", "message"}, Verbatim: false, Parser: "json"},
	}
}

const okRule = `
[[rule]]
id = "ok"
inputs = ["scheduler"]
when = 'Level == "ERROR"'
key = 'TaskId'
title = '"Error: " + Message'
message = 'Message'
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // substrings of the error, in order within one line where they share one
	}{
		{
			name: "toml syntax error has file:line:col",
			text: "[[rule]]\nid = \"a\"\nwhen = \n",
			want: []string{"rules.toml:3:8: expected value"},
		},
		{
			name: "wrong type names line and key",
			text: "[[rule]]\nid = 1\n",
			want: []string{"rules.toml:2: rule.id: incompatible types"},
		},
		{
			name: "unknown key names rule, line and suggestion",
			text: okRule + "severty = \"critical\"\n",
			want: []string{`rules.toml:9: rule "ok": unknown key "severty" (did you mean "severity"?)`},
		},
		{
			name: "key in the wrong case is unknown",
			text: strings.Replace(okRule, "when =", "When =", 1),
			want: []string{`rules.toml:5: rule "ok": unknown key "When" (did you mean "when"?)`},
		},
		{
			name: "unknown table below a rule",
			text: okRule + "[rule.extra]\nx = 1\n",
			want: []string{`rules.toml:9: rule "ok": unknown key "extra"`},
		},
		{
			name: "unknown top-level key",
			text: "[[rules]]\nid = \"a\"\n",
			want: []string{`rules.toml: unknown key "rules"`},
		},
		{
			name: "id required and required expressions",
			text: "[[rule]]\ninputs = [\"scheduler\"]\n",
			want: []string{"rules.toml:1: id: is required", "when: is required", "key: is required", "title: is required", "message: is required"},
		},
		{
			name: "bad id",
			text: strings.Replace(okRule, `id = "ok"`, `id = "Reload Failed"`, 1),
			want: []string{`rule "Reload Failed": id: "Reload Failed" may only contain a-z, 0-9`},
		},
		{
			name: "duplicate id",
			text: okRule + okRule,
			want: []string{`rules.toml:11: rule "ok": id: already used by the rule at `, `rules.toml:2`},
		},
		{
			name: "bad rate limit",
			text: okRule + "rate_limit = \"5 minutes\"\n",
			want: []string{`rule "ok": rate_limit: "5 minutes" is not a duration`},
		},
		{
			name: "resolves itself",
			text: okRule + "resolves = [\"ok\"]\n",
			want: []string{`rule "ok": resolves: a rule cannot resolve itself`},
		},
		{
			name: "resolves a misspelt rule",
			text: okRule + "resolves = [\"okk\"]\n",
			want: []string{`rule "ok": resolves: no rule has id "okk" (did you mean "ok"?)`},
		},
		{
			name: "resolves missing rule",
			text: okRule + strings.NewReplacer(`id = "ok"`, `id = "fix"`).Replace(okRule) + "resolves = [\"nope\"]\n",
			want: []string{`rule "fix": resolves: no rule has id "nope"`},
		},
		{
			name: "resolves a resolver",
			text: okRule + "resolves = [\"b\"]\n" + strings.Replace(okRule, `id = "ok"`, `id = "b"`, 1) + "resolves = [\"ok\"]\n",
			want: []string{`rule "ok": resolves: rule "b" only resolves`, `rule "b": resolves: rule "ok" only resolves`},
		},
		{
			name: "unknown input",
			text: strings.Replace(okRule, `inputs = ["scheduler"]`, `inputs = ["schedular"]`, 1),
			want: []string{`rule "ok": inputs: no input is named "schedular" (inputs: hooks, scheduler)`},
		},
		{
			name: "parser selects nothing",
			text: strings.Replace(okRule, `inputs = ["scheduler"]`, `parsers = ["logfmt"]`, 1),
			want: []string{`rule "ok": applies to no input: no selected input uses parser logfmt`},
		},
		{
			name: "unknown field: file, rule, key, input, position, name, suggestion",
			text: strings.Replace(okRule, `Level == "ERROR"`, `Level == "ERROR" && Mesage contains "x"`, 1),
			// The position is the file's: line 5, column 29 is the M of Mesage.
			want: []string{`rules.toml:5:29: rule "ok": when (input "scheduler"): unknown name Mesage (did you mean "Message"?)`},
		},
		{
			name: "rule for all inputs fails on the input lacking a field",
			text: strings.Replace(okRule, `inputs = ["scheduler"]`, ``, 1),
			want: []string{`when (input "hooks"): unknown name Level`},
		},
		{
			name: "syntax error is reported once, not per input",
			text: strings.Replace(okRule, `inputs = ["scheduler"]`, `parsers = ["qlik", "json"]`, 1) + "dedup = 'TaskId +'\n",
			want: []string{"rules.toml:9:17: rule \"ok\": dedup: unexpected token EOF\n"},
		},
		{
			name: "when must be boolean",
			text: strings.Replace(okRule, `when = 'Level == "ERROR"'`, `when = 'Level'`, 1),
			want: []string{`when (input "scheduler"): expected bool, but got string`},
		},
		{
			name: "title must be a string",
			text: strings.Replace(okRule, `title = '"Error: " + Message'`, `title = 'len(Message)'`, 1),
			want: []string{`title (input "scheduler"): expected string, but got int`},
		},
		{
			name: "field must be a string",
			text: okRule + "fields = { Size = 'len(Raw) > 3' }\n",
			want: []string{`fields.Size (input "scheduler"): expected string, but got bool`},
		},
		{
			name: "matches needs a literal",
			text: strings.Replace(okRule, `when = 'Level == "ERROR"'`, `when = 'Message matches TaskName'`, 1),
			want: []string{`rules.toml:5:17: rule "ok": when (input "scheduler"): the pattern of matches must be a string literal`},
		},
		{
			name: "bad regular expression",
			text: strings.Replace(okRule, `when = 'Level == "ERROR"'`, `when = 'Message matches "(unclosed"'`, 1),
			want: []string{`when (input "scheduler"): error parsing regexp`},
		},
		{
			name: "too large",
			text: strings.Replace(okRule, `when = 'Level == "ERROR"'`, `when = '`+strings.Repeat(`Level == "x" || `, 400)+`false'`, 1),
			want: []string{`when (input "scheduler"): compilation failed: expression exceeds maximum allowed nodes`},
		},
		{
			name: "empty list entries and duplicates",
			text: okRule + "sinks = [\"pager\", \"pager\", \"\"]\n",
			want: []string{`rule "ok": sinks: names "pager" twice`, `rule "ok": sinks: has an empty entry`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.text, testInputs(t))
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.toml", strings.Replace(okRule, "Level", "Levl", 1))
	writeFile(t, dir, "b.toml", okRule+"bogus = 1\n")
	_, err := Load([]string{"*.toml", "missing/*.toml"}, dir, []string{"nosuchpack"}, testInputs(t))
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, w := range []string{
		`rule files "missing/*.toml": no file matches ` + filepath.Join(dir, "missing/*.toml"),
		`rule pack "nosuchpack" does not exist (packs: qliksense, rocketchat-to-signl4, signl4-to-rocketchat)`,
		filepath.Join(dir, "a.toml") + `:5:9: rule "ok": when (input "scheduler"): unknown name Levl (did you mean "Level"?)`,
		filepath.Join(dir, "b.toml") + `:9: rule "ok": unknown key "bogus"`,
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not contain %q:\n%s", w, msg)
		}
	}
	// Each problem is an *Error or a plain error joined: programs can walk them.
	var re *Error
	if !errors.As(err, &re) {
		t.Errorf("no *Error in %v", err)
	}
}

func TestLoadErrorCarriesExpressionPosition(t *testing.T) {
	_, err := loadText(t, strings.Replace(okRule, `'"Error: " + Message'`, "'''\nTaskName +\n  Nope'''", 1), testInputs(t))
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("want *Error, got %v", err)
	}
	if re.Rule != "ok" || re.Key != "title" || re.Input != "scheduler" || re.Line != 9 || re.Column != 3 || !strings.HasSuffix(re.File, "rules.toml") {
		t.Errorf("Error = %+v", re)
	}
	var fe *file.Error
	if !errors.As(err, &fe) {
		t.Fatalf("want *file.Error inside, got %v", err)
	}
	if fe.Line != 2 || fe.Column != 2 {
		t.Errorf("expression position = %d:%d, want 2:2 (0-based column)", fe.Line, fe.Column)
	}
}

func TestLoadRule(t *testing.T) {
	text := `
[[rule]]
id = "reload.failed_1"
description = "a test"
inputs = ["scheduler"]
when = 'Level == "ERROR"'
key = 'TaskId'
dedup = 'ExecutionId'
title = '"x"'
message = '"y"'
fields = { A = 'TaskName', B = 'AppName' }
rate_limit = "1h30m"
sinks = ["pager", "kind:rocketchat"]

[[rule]]
id = "reload.ok"
inputs = ["scheduler"]
when = 'Level == "INFO"'
key = 'TaskId'
resolves = ["reload.failed_1"]
`
	set, err := loadText(t, text, testInputs(t))
	if err != nil {
		t.Fatal(err)
	}
	rs := set.Rules()
	if len(rs) != 2 {
		t.Fatalf("%d rules, want 2", len(rs))
	}
	r := rs[0]
	if r.ID != "reload.failed_1" || r.Description != "a test" || r.Severity != DefaultSeverity ||
		r.RateLimit != 90*time.Minute || strings.Join(r.Sinks, ",") != "pager,kind:rocketchat" ||
		r.Line != 2 || filepath.Base(r.File) != "rules.toml" || strings.Join(r.AppliesTo, ",") != "scheduler" ||
		strings.Join(r.ResolvedBy, ",") != "reload.ok" || r.Resolving() || r.Fields["B"] != "AppName" {
		t.Errorf("rule = %+v", r)
	}
	fix, ok := set.Rule("reload.ok")
	if !ok || !fix.Resolving() || fix.Line != 15 || fix.Title != "" {
		t.Errorf("resolving rule = %+v", fix)
	}
}

func TestPacks(t *testing.T) {
	if got := strings.Join(Packs(), ","); got != "qliksense,rocketchat-to-signl4,signl4-to-rocketchat" {
		t.Errorf("Packs() = %s", got)
	}
	src, ok := PackSource("qliksense")
	if !ok || !strings.Contains(string(src), `id = "qlik-reload-failed"`) {
		t.Errorf("PackSource(qliksense) = %v, %q...", ok, src[:min(len(src), 40)])
	}
	if _, ok := PackSource("../rules"); ok {
		t.Error("PackSource found a pack outside packs/")
	}
}

func TestLoadSameFileTwiceOnce(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.toml", okRule)
	set, err := Load([]string{"*.toml", filepath.Join(dir, "a.toml")}, dir, []string{"qliksense", "qliksense"},
		map[string]InputInfo{"scheduler": qlikInfo(t)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(set.Rules()); n != 4 {
		t.Errorf("%d rules, want 4 (a file or pack named twice loads once)", n)
	}
}

func TestWithFunctionNameClash(t *testing.T) {
	fn := func(...any) (any, error) { return "", nil }
	_, err := loadText(t, okRule, testInputs(t), WithFunction("truncate", fn))
	if err == nil || !strings.Contains(err.Error(), `function "truncate" is registered twice`) {
		t.Errorf("err = %v", err)
	}
}
