package parsertest

import (
	"errors"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/heraldhq/herald/parsers"
)

// Emitted is one Emit call of a line decoder, copied so it outlives the call.
type Emitted struct {
	Rec  *parsers.Record // a clone; nil for an error
	Err  error
	Line int // index of the line whose Decode emitted it
}

// SplitLines cuts content into the Lines a tailer hands a decoder: text
// without "\n" (a "\r" before it is left for the decoder), Offset just past
// the terminator, the last line possibly unterminated.
func SplitLines(content string) []parsers.Line {
	var lines []parsers.Line
	off := int64(0)
	for content != "" {
		text, rest, found := strings.Cut(content, "\n")
		off += int64(len(text))
		if found {
			off++
		}
		lines = append(lines, parsers.Line{Text: text, Offset: off, First: len(lines) == 0})
		content = rest
	}
	return lines
}

// CheckLineDecoder is the invariant check shared by the fuzz targets of the
// one-line-per-record parsers (json, logfmt, regex, line). It decodes content
// twice with fresh decoders and fails t unless:
//
//   - each record or error is emitted by the Decode of one line, and carries
//     that line's end offset, so no offset exceeds len(content) and offsets
//     never go backwards;
//   - every error is a *parsers.ParseError naming the path and the offset;
//   - a record's Raw is its line without the "\r" before "\n", valid UTF-8,
//     and its Input and Path are the decoder's;
//   - with Verbatim, every field value is a substring of Raw;
//   - a line decoder never holds a record;
//   - the second decoding emits exactly what the first did (determinism, and
//     no state leaking from one reused Record to the next).
//
// It returns what the first decoding emitted, for parser-specific checks.
func CheckLineDecoder(t TB, p parsers.Parser, content string) []Emitted {
	t.Helper()
	lines := SplitLines(content)
	first := decodeAll(t, p, lines, content)
	second := decodeAll(t, p, lines, content)
	if len(first) != len(second) {
		t.Fatalf("decoding twice emitted %d, then %d results", len(first), len(second))
	}
	for i := range first {
		a, b := first[i], second[i]
		if (a.Err == nil) != (b.Err == nil) || (a.Err != nil && a.Err.Error() != b.Err.Error()) ||
			!reflect.DeepEqual(a.Rec, b.Rec) || a.Line != b.Line {
			t.Fatalf("result %d differs between two decodings:\n%+v %v\n%+v %v", i, a.Rec, a.Err, b.Rec, b.Err)
		}
	}
	return first
}

func decodeAll(t TB, p parsers.Parser, lines []parsers.Line, content string) []Emitted {
	t.Helper()
	const input, path = "in", "fuzz.log"
	dec := p.NewDecoder(input, path, nil)
	var out []Emitted
	cur := -1
	var last int64
	emit := func(rec *parsers.Record, err error) {
		if (rec == nil) == (err == nil) {
			t.Fatalf("emit(%v, %v): exactly one of record and error must be set", rec, err)
		}
		if cur < 0 {
			t.Fatalf("emit called outside Decode (by Flush) by a line decoder")
		}
		l := lines[cur]
		var off int64
		if err != nil {
			var pe *parsers.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *parsers.ParseError", err, err)
			}
			if pe.Path != path || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the path %q", err, path)
			}
			off = pe.Offset
			out = append(out, Emitted{Err: err, Line: cur})
		} else {
			off = rec.Offset
			want := strings.TrimSuffix(l.Text, "\r")
			if rec.Raw != want {
				t.Fatalf("record Raw %q, want its line %q", rec.Raw, want)
			}
			if !utf8.ValidString(rec.Raw) {
				t.Fatalf("record Raw %q is not valid UTF-8", rec.Raw)
			}
			if rec.Input != input || rec.Path != path {
				t.Fatalf("record Input %q Path %q, want %q %q", rec.Input, rec.Path, input, path)
			}
			if p.Verbatim() {
				for _, f := range rec.Fields {
					if !strings.Contains(rec.Raw, f.Value) {
						t.Fatalf("Verbatim parser: field %s=%q is not in Raw %q", f.Name, f.Value, rec.Raw)
					}
				}
			}
			out = append(out, Emitted{Rec: rec.Clone(), Line: cur})
		}
		if off != l.Offset || off > int64(len(content)) || off < last {
			t.Fatalf("emitted offset %d for line %d ending at %d (input %d bytes, previous offset %d)",
				off, cur, l.Offset, len(content), last)
		}
		last = off
	}
	for i, l := range lines {
		cur = i
		dec.Decode(l, emit)
		if _, held := dec.Held(); held {
			t.Fatalf("a line decoder holds a record after line %d", i)
		}
	}
	cur = -1
	dec.Flush(emit)
	return out
}
