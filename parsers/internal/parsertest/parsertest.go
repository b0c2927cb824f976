// Package parsertest runs lines through a parser's decoder in tests and
// reports what came out in a form easy to compare.
package parsertest

import (
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/parsers"
)

// Result is one Emit call: a record's time and fields ("name=value", in
// order), or an error's text.
type Result struct {
	Time   time.Time
	Fields []string
	Err    string
}

// String is the form test failures show.
func (r Result) String() string {
	if r.Err != "" {
		return "error: " + r.Err
	}
	return r.Time.Format(time.RFC3339Nano) + " " + strings.Join(r.Fields, " ")
}

// Decode feeds text, split at "\n", to a new decoder of p with filter, and
// flushes it. It returns the results and, when every record kept its fields
// inside Raw, verbatim true.
func Decode(p parsers.Parser, filter parsers.Filter, text string) (results []Result, verbatim bool) {
	dec := p.NewDecoder("in", "in.log", filter)
	verbatim = true
	emit := func(rec *parsers.Record, err error) {
		if err != nil {
			results = append(results, Result{Err: err.Error()})
			return
		}
		r := Result{Time: rec.Time}
		for _, f := range rec.Fields {
			r.Fields = append(r.Fields, f.Name+"="+f.Value)
			if !strings.Contains(rec.Raw, f.Value) {
				verbatim = false
			}
		}
		results = append(results, r)
	}
	off := int64(0)
	for i, l := range strings.Split(text, "\n") {
		off += int64(len(l)) + 1
		dec.Decode(parsers.Line{Text: l, Offset: off, First: i == 0}, emit)
	}
	dec.Flush(emit)
	return results, verbatim
}

// Strings decodes text like Decode and returns each result's String form.
func Strings(p parsers.Parser, filter parsers.Filter, text string) (results []string, verbatim bool) {
	res, verbatim := Decode(p, filter, text)
	for _, r := range res {
		results = append(results, r.String())
	}
	return results, verbatim
}

// TB is the part of testing.TB the helpers use.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Error(args ...any)
	Fatalf(format string, args ...any)
}

// New calls factory with opts. When wantErr is not empty it expects an error
// containing it and returns nil; otherwise it expects the parser.
func New(t TB, factory parsers.Factory, opts map[string]any, wantErr string) parsers.Parser {
	t.Helper()
	p, err := factory(opts)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("New(%v) error = %v, want one containing %q", opts, err, wantErr)
		}
		return nil
	}
	if err != nil {
		t.Fatalf("New(%v): %v", opts, err)
	}
	return p
}

// CheckFields fails t unless p declares the fields want, in that order, and
// its Verbatim is verbatim.
func CheckFields(t TB, p parsers.Parser, want []string, verbatim bool) {
	t.Helper()
	if !slices.Equal(p.Fields(), want) || p.Verbatim() != verbatim {
		t.Errorf("Fields() = %v, Verbatim() = %v; want %v, %v", p.Fields(), p.Verbatim(), want, verbatim)
	}
}

// CheckDecode builds a parser with factory and opts, decodes input with no
// filter, and fails t unless the results' String forms are want. For a parser
// whose Verbatim is true it also checks that every field is a substring of Raw.
func CheckDecode(t TB, factory parsers.Factory, opts map[string]any, input string, want []string) {
	t.Helper()
	p := New(t, factory, opts, "")
	got, verbatim := Strings(p, nil, input)
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if p.Verbatim() && !verbatim {
		t.Error("a field is not a substring of Raw")
	}
}
