package logfmt

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/internal/parsertest"
)

// FuzzDecode feeds arbitrary text through a logfmt decoder. Besides the
// shared line-decoder invariants (offsets within the input and in order,
// errors naming the location, Raw the line, determinism), every field value
// is valid UTF-8 like the line it came from, and writing a record's fields
// back as logfmt (values quoted) and splitting that gives the same fields.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`time=2024-05-01T10:00:00.123+02:00 level=ERROR msg="reload \"Sales\" failed" task=abc attempt=3` + "\r\n",
		`  flag empty= quoted="" path="C:\\Qlik\\Log" nl="a\nb" unicode="caf\u00e9" url=http://x/?a=b  `,
		"a=\"open\n=v\nk\"ey=v\na=b\"c\na=\"x\"y\nmsg=\"bad \\q\"\ntime=yesterday",
		"time=2024-05-01T10:00:00Z level=INFO msg=ok\n\ntime=2024-05-01T10:00:01Z level=WARN msg=\"x\ty\"\n",
		"k=\"\\xff\" v=\"\\u2028\"",
		"bad=\xff\xfe",
	} {
		f.Add(s)
	}
	p, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content string) {
		for _, e := range parsertest.CheckLineDecoder(t, p, content) {
			if e.Rec == nil {
				continue
			}
			var b strings.Builder
			for _, fl := range e.Rec.Fields {
				if !utf8.ValidString(fl.Value) {
					t.Fatalf("field %s=%q is not valid UTF-8 (line %q)", fl.Name, fl.Value, e.Rec.Raw)
				}
				b.WriteString(fl.Name + "=" + strconv.Quote(fl.Value) + " ")
			}
			again, err := Split(b.String(), nil)
			if err != nil {
				t.Fatalf("splitting the fields of %q written back as %q: %v", e.Rec.Raw, b.String(), err)
			}
			if !equalFields(again, e.Rec.Fields) {
				t.Fatalf("fields of %q written back as %q split into %q, not %q", e.Rec.Raw, b.String(), again, e.Rec.Fields)
			}
		}
	})
}

func equalFields(a, b []parsers.Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
