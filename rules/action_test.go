package rules

import (
	"strings"
	"testing"
)

// callbackInputs is an input of SIGNL4-like callbacks and one of chat messages.
func callbackInputs() map[string]InputInfo {
	return map[string]InputInfo{
		"signl4": {Fields: []string{"EventType", "StatusCode", "ExternalEventId", "User", "Annotation"}, Parser: "signl4"},
		"chat":   {Fields: []string{"Text", "Tmid", "UserName", "Bot"}, Parser: "rocketchat"},
	}
}

func TestActionLoadErrors(t *testing.T) {
	const ack = `
[[rule]]
id = "ack"
parsers = ["signl4"]
when = 'EventType == "201" && StatusCode == "2"'
action = "acknowledge"
key = 'ExternalEventId'
by = 'User'
`
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"unknown action", strings.Replace(ack, `"acknowledge"`, `"ack"`, 1),
			[]string{`rules.toml:6: rule "ack": action: "ack" is not one of fire, resolve, acknowledge, annotate`}},
		{"by on a firing rule", strings.Replace(ack, `action = "acknowledge"`, `title = '"t"'`+"\nmessage = '\"m\"'", 1),
			[]string{`rule "ack": by: only for rules that act on existing alerts`}},
		{"key_from_ref on a firing rule", okRule + "key_from_ref = 'TaskId'\n",
			[]string{`rule "ok": key_from_ref: only for rules that act on existing alerts`}},
		{"neither key nor key_from_ref", strings.Replace(ack, "key = 'ExternalEventId'\n", "", 1),
			[]string{`rule "ack": key: is required (or key_from_ref`}},
		{"both key and key_from_ref", ack + "key_from_ref = 'User'\n",
			[]string{`rule "ack": key_from_ref: set key or key_from_ref, not both`}},
		{"resolves with another action", okRule + strings.Replace(ack, `parsers = ["signl4"]`, `parsers = ["signl4"]`+"\nresolves = [\"ok\"]", 1),
			[]string{`rule "ack": resolves: only for action = "resolve" (this rule's action is "acknowledge")`}},
		{"resolves a rule that only acknowledges", ack + strings.Replace(strings.Replace(ack, `id = "ack"`, `id = "fix"`, 1), `action = "acknowledge"`, `resolves = ["ack"]`, 1),
			[]string{`rule "fix": resolves: rule "ack" only acknowledges and never fires`}},
		{"key_from_ref is compiled", strings.Replace(ack, "key = 'ExternalEventId'", "key_from_ref = 'Tmidd'", 1),
			[]string{`rule "ack": key_from_ref (input "signl4"): unknown name Tmidd`}},
		{"by must be a string", strings.Replace(ack, "by = 'User'", "by = 'len(User)'", 1),
			[]string{`rule "ack": by (input "signl4"): expected string, but got int`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inputs := callbackInputs()
			inputs["scheduler"] = qlikInfo(t)
			_, err := loadText(t, tt.text, inputs)
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%s", w, err)
				}
			}
		})
	}
}

func TestActionEval(t *testing.T) {
	text := `
[[rule]]
id = "ack"
parsers = ["signl4"]
when = 'EventType == "201" && StatusCode == "2"'
action = "acknowledge"
key = 'ExternalEventId'
by = 'User'
title = '"Alert acknowledged by " + User'

[[rule]]
id = "closed"
parsers = ["signl4"]
when = 'EventType == "201" && StatusCode == "4"'
action = "resolve"
key = 'ExternalEventId'
by = 'User'

[[rule]]
id = "thread-ack"
parsers = ["rocketchat"]
when = 'Bot != "true" && Tmid != "" && lower(Text) == "ack"'
action = "acknowledge"
key_from_ref = 'Tmid'
by = 'UserName'
`
	set, err := loadText(t, text, callbackInputs())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Rule{}
	for _, r := range set.Rules() {
		byID[r.ID] = r
	}
	if a := byID["ack"].Action; a != ActionAcknowledge {
		t.Errorf("ack rule action = %q", a)
	}
	if r := byID["closed"]; r.Action != ActionResolve || !r.Resolving() || r.Fires() {
		t.Errorf("closed rule: action %q, resolving %v, fires %v", r.Action, r.Resolving(), r.Fires())
	}

	ev := set.NewEvaluator()
	tests := []struct {
		rec  []string
		want string // rule key ref by title, or ""
	}{
		{[]string{"signl4", "EventType", "201", "StatusCode", "2", "ExternalEventId", "task-1", "User", "rene"},
			"ack task-1  rene Alert acknowledged by rene"},
		{[]string{"signl4", "EventType", "201", "StatusCode", "4", "ExternalEventId", "task-1", "User", "rene"},
			"closed task-1  rene "},
		{[]string{"signl4", "EventType", "203", "StatusCode", "0", "ExternalEventId", "task-1"}, ""},
		{[]string{"chat", "Text", "ack", "Tmid", "root-1", "UserName", "alice", "Bot", "false"},
			"thread-ack  root-1 alice "},
		{[]string{"chat", "Text", "ack", "Tmid", "root-1", "UserName", "herald", "Bot", "true"}, ""},
	}
	for _, tt := range tests {
		ms, err := ev.Eval(record(tt.rec[0], tt.rec[1:]...))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, strings.Join([]string{m.Rule.ID, m.Key, m.Ref, m.By, m.Title}, " "))
		}
		if s := strings.Join(got, "|"); s != tt.want {
			t.Errorf("record %v: matches %q, want %q", tt.rec, s, tt.want)
		}
	}
}
