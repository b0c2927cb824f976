package rules

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldhq/herald/parsers"
)

// FuzzLoad loads a fuzzed rule file against a qlik and a json input. Load is
// deterministic and either fails with an errors.Join of *Error values only,
// each naming the file and a line inside it (a column only with a line), or
// returns rules that come from the file, at lines inside it, with valid
// unique ids, applying to some input. The loaded rules then evaluate the
// sample scheduler log and a record carrying the fuzzed message without
// panicking, the same way twice, and a record the input's prefilter rejects
// never matches.
func FuzzLoad(f *testing.F) {
	for _, p := range Packs() {
		src, _ := PackSource(p)
		f.Add(string(src), "Execution State Change to FinishedFail")
	}
	f.Add(okRule, "ERROR")
	f.Add("[[rule]]\nid = \"a\"\nwhen = \n", "")
	f.Add("[[rule]]\nid = \"x\"\nwhen = 'Message contains \"Max retries\" && Level in [\"ERROR\", \"WARN\"]'\nkey = 'TaskId'\ntitle = 'TaskName'\nmessage = 'truncate(Message, 10)'\nrate_limit = \"5m\"\nsinks = [\"pager\"]\n"+
		"[[rule]]\nid = \"y\"\nresolves = [\"x\"]\nwhen = 'Message matches \"FinishedSuccess$\"'\nkey = 'TaskId'\n", "Max retries reached")
	f.Add("[[rule]]\nid = \"j\"\ninputs = [\"hooks\"]\nwhen = 'status == \"failed\" || event startsWith \"x\"'\nkey = 'event'\ntitle = 'message'\nmessage = 'Raw'\nfields = { s = 'status' }\nunknown = 1\n", "failed")

	text, err := os.ReadFile(filepath.Join("testdata", "synthetic-System_Scheduler.txt"))
	if err != nil {
		f.Fatal(err)
	}
	base := decodeQlik(f, "scheduler", "sched.txt", string(text), nil)
	inputs := testInputs(f)

	f.Fuzz(func(t *testing.T, src, message string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "rules.toml")
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		set, err := Load([]string{"rules.toml"}, dir, nil, inputs)
		set2, err2 := Load([]string{"rules.toml"}, dir, nil, inputs)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("Load twice: %v / %v", err, err2)
		}
		lines := strings.Count(src, "\n") + 1
		if err != nil {
			checkLoadErrors(t, path, lines, err)
			return
		}
		seen := map[string]bool{}
		for _, r := range set.Rules() {
			if r.File != path || r.Line < 1 || r.Line > lines || !validID.MatchString(r.ID) || seen[r.ID] || len(r.AppliesTo) == 0 {
				t.Fatalf("rule %q from %s:%d applies to %v (file %s, %d lines)", r.ID, r.File, r.Line, r.AppliesTo, path, lines)
			}
			seen[r.ID] = true
		}

		recs := append([]*parsers.Record(nil), base...)
		recs = append(recs, withMessage(base[len(base)-1], message), jsonRecord(message))
		e1, e2 := set.NewEvaluator(), set2.NewEvaluator()
		for _, rec := range recs {
			m1, err1 := e1.Eval(rec)
			m1 = append([]Match(nil), m1...)
			m2, err2 := e2.Eval(rec)
			if (err1 == nil) != (err2 == nil) || len(m1) != len(m2) {
				t.Fatalf("Eval of %q twice: %d matches (%v), then %d (%v)", rec.Raw, len(m1), err1, len(m2), err2)
			}
			for i := range m1 {
				if m1[i].Rule.ID != m2[i].Rule.ID || m1[i].Key != m2[i].Key || m1[i].Title != m2[i].Title ||
					m1[i].Message != m2[i].Message || !reflect.DeepEqual(m1[i].Fields, m2[i].Fields) {
					t.Fatalf("Eval of %q twice: %+v, then %+v", rec.Raw, m1[i], m2[i])
				}
			}
			if filter := set.Filter(rec.Input); filter != nil && !filter(rec.Raw) && len(m1) > 0 {
				t.Fatalf("the prefilter of %s rejects %q, which rule %q matches", rec.Input, rec.Raw, m1[0].Rule.ID)
			}
		}
	})
}

func checkLoadErrors(t *testing.T, path string, lines int, err error) {
	t.Helper()
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %v (%T) is not an errors.Join", err, err)
	}
	for _, e := range joined.Unwrap() {
		var re *Error
		if !errors.As(e, &re) || e != error(re) {
			t.Fatalf("error %v (%T) is not a *rules.Error", e, e)
		}
		if re.File != path || re.Line < 0 || re.Line > lines || re.Column < 0 || (re.Column > 0 && re.Line == 0) ||
			!strings.HasPrefix(re.Error(), path) || re.Err == nil {
			t.Fatalf("error %q: file %q line %d column %d (file %s, %d lines)", re, re.File, re.Line, re.Column, path, lines)
		}
	}
}

// withMessage is rec with its Message field set to msg and Raw the tab-joined
// field values, so that every value is still in Raw.
func withMessage(rec *parsers.Record, msg string) *parsers.Record {
	c := rec.Clone()
	var vals []string
	for i := range c.Fields {
		if c.Fields[i].Name == "Message" {
			c.Fields[i].Value = msg
		}
		vals = append(vals, c.Fields[i].Value)
	}
	c.Raw = strings.Join(vals, "\t")
	return c
}

// jsonRecord is a record of the json-like input "hooks" with msg as message.
func jsonRecord(msg string) *parsers.Record {
	fields := []parsers.Field{{Name: "event", Value: "x"}, {Name: "status", Value: "failed"}, {Name: "message", Value: msg}}
	raw, _ := json.Marshal(map[string]string{"event": "x", "status": "failed", "message": msg})
	return &parsers.Record{Input: "hooks", Fields: fields, Raw: string(raw)}
}
