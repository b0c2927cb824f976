package rules

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/qlik"
)

// qlikInfo describes an input read by the real qlik parser.
func qlikInfo(t testing.TB) InputInfo {
	t.Helper()
	p, err := qlik.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return InputInfo{Fields: p.Fields(), Verbatim: p.Verbatim(), Parser: qlik.Name}
}

// decodeQlik reads text through the qlik parser and returns clones of the
// records it emits, with filter applied by the decoder.
func decodeQlik(t testing.TB, input, path, text string, filter parsers.Filter) []*parsers.Record {
	t.Helper()
	p, err := qlik.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dec := p.NewDecoder(input, path, filter)
	var recs []*parsers.Record
	emit := func(rec *parsers.Record, err error) {
		if err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
		recs = append(recs, rec.Clone())
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, parsers.MaxRecordBytes)
	var off int64
	first := true
	for sc.Scan() {
		off += int64(len(sc.Bytes())) + 1
		dec.Decode(parsers.Line{Text: strings.TrimSuffix(sc.Text(), "\r"), Offset: off, First: first}, emit)
		first = false
	}
	dec.Flush(emit)
	return recs
}

// writeFile writes a file under dir and returns its path.
func writeFile(t testing.TB, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadText loads one rule file with the given text.
func loadText(t testing.TB, text string, inputs map[string]InputInfo, opts ...Option) (*Set, error) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "rules.toml", text)
	return Load([]string{"rules.toml"}, dir, nil, inputs, opts...)
}

// record builds a record of the given fields, with a raw text holding every
// value (tab-separated), as a verbatim parser would.
func record(input string, kv ...string) *parsers.Record {
	rec := &parsers.Record{Input: input}
	var raw []string
	for i := 0; i+1 < len(kv); i += 2 {
		rec.Fields = append(rec.Fields, parsers.Field{Name: kv[i], Value: kv[i+1]})
		raw = append(raw, kv[i+1])
	}
	rec.Raw = strings.Join(raw, "\t")
	return rec
}
