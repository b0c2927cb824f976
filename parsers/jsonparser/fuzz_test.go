package jsonparser

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldhq/herald/parsers/internal/parsertest"
)

// FuzzDecode feeds arbitrary text through a json decoder. Besides the shared
// line-decoder invariants (offsets within the input and in order, errors
// naming the location, Raw the line, determinism), it holds the parser to
// encoding/json: a line becomes a record exactly when it is one valid JSON
// object (unless its time field does not parse), the record has one field per
// member, and every field value is valid UTF-8.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"time":"2024-05-01T10:00:00.123+02:00","level":"ERROR","msg":"reload \"Sales\" failed","task_id":"abc","attempt":3,"final":true,"err":null}` + "\r\n",
		`{ "n": 1.50e3, "obj": { "a": [1, 2] }, "arr": [ "x", {"y": null} ] }`,
		"{\"a\":1}\n\n[1,2]\n{\"a\":\n{\"a\":1} x\n\"str\"\n{\"time\":\"yesterday\"}\n{\"a\":1,\"a\":2}\n",
		`{"s":"\ud800 lone surrogate","u":"\u00e9\u2028"}`,
		`{"time":null,"level":"INFO"}`,
		"{\"k\":\"\xff\"}",
	} {
		f.Add(s)
	}
	p, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content string) {
		emitted := parsertest.CheckLineDecoder(t, p, content)
		byLine := map[int]parsertest.Emitted{}
		for _, e := range emitted {
			byLine[e.Line] = e
		}
		for i, l := range parsertest.SplitLines(content) {
			raw := strings.TrimSuffix(l.Text, "\r")
			if raw == "" || !utf8.ValidString(raw) {
				continue
			}
			e, ok := byLine[i]
			object := json.Valid([]byte(raw)) && strings.HasPrefix(strings.TrimLeft(raw, " \t\r\n"), "{")
			switch {
			case !ok:
				t.Fatalf("line %q emitted nothing", raw)
			case e.Rec != nil && !object:
				t.Fatalf("line %q is not one JSON object, yet became a record %v", raw, e.Rec.Fields)
			case e.Rec == nil && object && !strings.Contains(e.Err.Error(), "field time:"):
				t.Fatalf("line %q is a JSON object, yet: %v", raw, e.Err)
			case e.Rec != nil:
				if n := members(t, raw); n != len(e.Rec.Fields) {
					t.Fatalf("line %q has %d members, the record %d fields", raw, n, len(e.Rec.Fields))
				}
				for _, fl := range e.Rec.Fields {
					if !utf8.ValidString(fl.Value) || !utf8.ValidString(fl.Name) {
						t.Fatalf("field %q=%q is not valid UTF-8", fl.Name, fl.Value)
					}
				}
			}
		}
	})
}

// members counts the members of a JSON object, duplicates included.
func members(t *testing.T, raw string) int {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}
