package line

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/internal/parsertest"
)

// FuzzDecode feeds arbitrary text through the line decoder. Besides the
// shared line-decoder invariants (offsets within the input and in order,
// errors naming the location, Raw the line, determinism), every non-empty
// line gives exactly one result, and a record's one field is its whole line.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"2024-05-01 10:00:00 ERROR reload failed\r\n\r\nnext line\n",
		"no terminator",
		"bad \xff utf-8\nok\n\n\n",
		"\r\n\r\r\n",
	} {
		f.Add(s)
	}
	p, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content string) {
		emitted := parsertest.CheckLineDecoder(t, p, content)
		want := 0
		for _, l := range parsertest.SplitLines(content) {
			if strings.TrimSuffix(l.Text, "\r") != "" {
				want++
			}
		}
		if len(emitted) != want {
			t.Fatalf("%d results for %d non-empty lines", len(emitted), want)
		}
		for _, e := range emitted {
			if e.Rec == nil {
				continue
			}
			if len(e.Rec.Fields) != 1 || e.Rec.Fields[0] != (parsers.Field{Name: Field, Value: e.Rec.Raw}) || !e.Rec.Time.IsZero() {
				t.Fatalf("record %+v: want one field %s holding Raw, and no time", e.Rec, Field)
			}
		}
	})
}
