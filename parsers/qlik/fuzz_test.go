package qlik

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldhq/herald/parsers"
)

// FuzzDecoder feeds arbitrary input through the decoder. It must not panic;
// records and errors come out in offset order, never past the line being
// decoded; a held record starts before the line that extends it; records are
// valid UTF-8 with field values taken from Raw. In normal test runs only the
// seed corpus (the testdata files) runs.
func FuzzDecoder(f *testing.F) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), true)
	}
	f.Add(testHeader+"\n1\t20211109T193744.331+0100\tINFO\tm\n\n more\tx\n2\t20211109T193744Z\n", false)
	f.Fuzz(func(t *testing.T, content string, stripCR bool) {
		p, err := New(nil)
		if err != nil {
			t.Fatal(err)
		}
		dec := p.NewDecoder("in", "f.txt", func(raw string) bool { return len(raw)%7 != 3 })
		var last, lineEnd int64
		emit := func(rec *parsers.Record, err error) {
			off := int64(-1)
			if err != nil {
				off = err.(*parsers.ParseError).Offset
			} else {
				off = rec.Offset
				if !utf8.ValidString(rec.Raw) {
					t.Errorf("record Raw %q is not valid UTF-8", rec.Raw)
				}
				for _, fl := range rec.Fields {
					if !strings.Contains(rec.Raw, fl.Value) {
						t.Errorf("field %s=%q not in Raw %q", fl.Name, fl.Value, rec.Raw)
					}
				}
			}
			if off < last || off > lineEnd {
				t.Fatalf("emitted offset %d after %d, with the current line ending at %d", off, last, lineEnd)
			}
			last = off
		}
		for _, l := range splitLines(content, stripCR) {
			lineEnd = l.Offset
			dec.Decode(l, emit)
			if held, ok := dec.Held(); ok && (held >= l.Offset || held < 0) {
				t.Fatalf("Held() = %d, not before the end %d of the line just decoded", held, l.Offset)
			}
		}
		dec.Flush(emit)
		if _, ok := dec.Held(); ok {
			t.Fatal("Held() after Flush")
		}
	})
}
