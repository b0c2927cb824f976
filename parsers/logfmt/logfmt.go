// Package logfmt parses logfmt lines: space-separated key=value pairs whose
// values may be double-quoted, as written by Go's log/slog TextHandler,
// logrus, Heroku and many others:
//
//	time=2024-05-01T10:00:00Z level=ERROR msg="reload failed" task="Daily \"sales\""
package logfmt

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/internal/lineparse"
	"github.com/heraldhq/herald/parsers/internal/options"
)

// Name is the parser's name in herald.toml.
const Name = "logfmt"

// DefaultTimeField is the key read for the record's time unless time_field says otherwise.
const DefaultTimeField = "time"

// CommonFields are declared by every logfmt parser (slog's and logrus's keys).
var CommonFields = []string{"time", "level", "msg", "message"}

// Options are the parser_options of the logfmt parser.
type Options struct {
	// Fields declares further keys that rules may read.
	Fields []string `json:"fields"`
	// TimeField is the key holding the record's time. Default "time".
	TimeField string `json:"time_field"`
	// TimeFormat is how the time is written: a Go layout, unix, unix_ms,
	// unix_us or unix_ns. Default RFC 3339.
	TimeFormat string `json:"time_format"`
}

// Parser turns logfmt lines into records.
type Parser struct {
	keyed lineparse.Keyed
}

// New builds a logfmt parser from its options.
func New(opts map[string]any) (parsers.Parser, error) {
	var o Options
	if err := options.Decode(Name, opts, &o); err != nil {
		return nil, err
	}
	k, err := lineparse.NewKeyed(Name, lineparse.KeyedOptions(o), CommonFields, DefaultTimeField)
	if err != nil {
		return nil, err
	}
	return &Parser{keyed: k}, nil
}

// Fields returns time, level, msg, message, the time field and the declared fields.
func (p *Parser) Fields() []string { return p.keyed.Fields() }

// Verbatim returns false: quoted values are unescaped.
func (p *Parser) Verbatim() bool { return false }

// NewDecoder returns a decoder for one stream.
func (p *Parser) NewDecoder(input, path string, filter parsers.Filter) parsers.Decoder {
	return lineparse.NewDecoder(input, path, filter, p.parse)
}

func (p *Parser) parse(raw string, dst []parsers.Field) ([]parsers.Field, time.Time, bool, error) {
	dst, err := Split(raw, dst)
	if err != nil {
		return dst, time.Time{}, false, err
	}
	var t time.Time
	for _, f := range dst {
		if f.Name == p.keyed.TimeField {
			if t, err = p.keyed.Time.Parse(f.Value); err != nil {
				return dst, time.Time{}, false, fmt.Errorf("field %s: %w", f.Name, err)
			}
			break
		}
	}
	return dst, t, true, nil
}

// Split appends the pairs of a logfmt line to dst.
//
// A key runs up to '=' or a space and may not contain '"'. A value is either
// quoted (Go escapes: \" \\ \n \t \uXXXX ...) or runs up to the next space.
// A key with no '=' gets the empty value, as does "key=". Unquoted values and
// quoted values without escapes are substrings of line. Escapes that spell
// bytes that are not UTF-8 become U+FFFD, as in encoding/json.
func Split(line string, dst []parsers.Field) ([]parsers.Field, error) {
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return dst, nil
		}
		start := i
		for i < len(line) && line[i] != '=' && !isSpace(line[i]) {
			if line[i] == '"' {
				return dst, fmt.Errorf("logfmt: unexpected '\"' in key at column %d", i+1)
			}
			i++
		}
		if i == start {
			return dst, fmt.Errorf("logfmt: '=' without a key at column %d", i+1)
		}
		key := line[start:i]
		if i == len(line) || line[i] != '=' {
			dst = append(dst, parsers.Field{Name: key})
			continue
		}
		i++ // '='
		if i < len(line) && line[i] == '"' {
			end, escaped := quotedEnd(line, i)
			if end < 0 {
				return dst, fmt.Errorf("logfmt: value of %q has no closing quote", key)
			}
			v := line[i+1 : end-1]
			if escaped {
				u, err := strconv.Unquote(line[i:end])
				if err != nil {
					return dst, fmt.Errorf("logfmt: value of %q: bad escape", key)
				}
				// A \x or octal escape can spell bytes that are not UTF-8
				// (slog quotes such a string that way). Like encoding/json,
				// keep the record and replace them, so that every field is
				// valid UTF-8 as the line is.
				v = strings.ToValidUTF8(u, "\uFFFD")
			}
			dst = append(dst, parsers.Field{Name: key, Value: v})
			i = end
			if i < len(line) && !isSpace(line[i]) {
				return dst, fmt.Errorf("logfmt: text after the closing quote of %q at column %d", key, i+1)
			}
			continue
		}
		start = i
		for i < len(line) && !isSpace(line[i]) {
			if line[i] == '"' {
				return dst, fmt.Errorf("logfmt: unexpected '\"' in the value of %q at column %d", key, i+1)
			}
			i++
		}
		dst = append(dst, parsers.Field{Name: key, Value: line[start:i]})
	}
}

// quotedEnd returns the index just past the quote closing the string that
// opens at line[open], and whether it holds escapes; -1 when it never closes.
func quotedEnd(line string, open int) (int, bool) {
	escaped := false
	for i := open + 1; i < len(line); i++ {
		switch line[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i + 1, escaped
		}
	}
	return -1, escaped
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

var (
	_ parsers.Factory = New
	_ parsers.Parser  = (*Parser)(nil)
)
