package regex

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldhq/herald/parsers/internal/parsertest"
)

// FuzzDecode builds a regex parser from a fuzzed pattern and feeds it fuzzed
// text. A pattern New refuses is skipped; for one it accepts, besides the
// shared line-decoder invariants (offsets within the input and in order,
// errors naming the location, Raw the line, determinism, every field a
// substring of Raw), a line becomes a record exactly when the expression
// matches it, and the record's fields are the named groups that took part in
// the match, with their submatches as values.
func FuzzDecode(f *testing.F) {
	f.Add(apache, `127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200`+"\r\nnope\n")
	f.Add(`(?P<level>[A-Z]+) (?P<msg>.*)`, "ERROR reload failed\nINFO ok\n\nlower case\n")
	f.Add(`a(?P<x>\d)|b(?P<x>\w)`, "a1\nbz\nc\n")
	f.Add(`(?P<time>\S+) (?P<rest>.*)`, "2024-05-01T10:00:00Z x\nyesterday y\n")
	f.Add(`(?P<empty>)`, "\xff\n")
	f.Fuzz(func(t *testing.T, pattern, content string) {
		if !utf8.ValidString(pattern) {
			return // herald.toml is UTF-8; options decoding would change the pattern
		}
		p, err := New(map[string]any{"pattern": pattern})
		if err != nil {
			return
		}
		re := regexp.MustCompile(pattern)
		emitted := parsertest.CheckLineDecoder(t, p, content)
		byLine := map[int]parsertest.Emitted{}
		for _, e := range emitted {
			byLine[e.Line] = e
		}
		for i, l := range parsertest.SplitLines(content) {
			raw := strings.TrimSuffix(l.Text, "\r")
			e, ok := byLine[i]
			if ok && e.Err != nil {
				continue // a time that does not parse, a bad line
			}
			m := re.FindStringSubmatchIndex(raw)
			if ok != (m != nil && raw != "") {
				t.Fatalf("line %q: record %v, but the pattern matches: %v", raw, ok, m != nil)
			}
			if !ok {
				continue
			}
			var want []string
			for g, name := range re.SubexpNames() {
				if name != "" && m[2*g] >= 0 {
					want = append(want, name+"="+raw[m[2*g]:m[2*g+1]])
				}
			}
			var got []string
			for _, fl := range e.Rec.Fields {
				got = append(got, fl.Name+"="+fl.Value)
			}
			if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
				t.Fatalf("line %q: fields %q, want %q", raw, got, want)
			}
		}
	})
}
