// Package jsonparser parses newline-delimited JSON: one object per line, whose
// top-level keys become fields.
package jsonparser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/internal/lineparse"
	"github.com/heraldhq/herald/parsers/internal/options"
)

// Name is the parser's name in herald.toml.
const Name = "json"

// DefaultTimeField is the key read for the record's time unless time_field says otherwise.
const DefaultTimeField = "time"

// CommonFields are declared by every json parser, since most JSON loggers
// (slog, zap, logrus, zerolog) write them.
var CommonFields = []string{"time", "level", "msg", "message"}

// Options are the parser_options of the json parser.
type Options struct {
	// Fields declares further keys that rules may read.
	Fields []string `json:"fields"`
	// TimeField is the key holding the record's time. Default "time".
	TimeField string `json:"time_field"`
	// TimeFormat is how the time is written: a Go layout, unix, unix_ms,
	// unix_us or unix_ns. Default RFC 3339.
	TimeFormat string `json:"time_format"`
}

// Parser turns JSON objects into records.
type Parser struct {
	keyed lineparse.Keyed
}

// New builds a json parser from its options.
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

// Verbatim returns false: string values are unescaped and nested values compacted.
func (p *Parser) Verbatim() bool { return false }

// NewDecoder returns a decoder for one stream.
func (p *Parser) NewDecoder(input, path string, filter parsers.Filter) parsers.Decoder {
	return lineparse.NewDecoder(input, path, filter, p.parse)
}

// parse reads the object key by key, so fields keep the order of the line.
// Strings become their unescaped text, null the empty string, numbers and
// booleans their JSON text, objects and arrays their compact JSON text.
func (p *Parser) parse(raw string, dst []parsers.Field) ([]parsers.Field, time.Time, bool, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil {
		return dst, time.Time{}, false, badJSON(err)
	} else if tok != json.Delim('{') {
		return dst, time.Time{}, false, fmt.Errorf("line is JSON but not an object")
	}
	var (
		t        time.Time
		val      json.RawMessage
		compact  bytes.Buffer
		haveTime bool
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return dst, time.Time{}, false, badJSON(err)
		}
		key := tok.(string) // inside an object, Token returns keys as strings
		if err := dec.Decode(&val); err != nil {
			return dst, time.Time{}, false, fmt.Errorf("value of %q: %w", key, badJSON(err))
		}
		var s string
		switch val[0] {
		case '"':
			if err := json.Unmarshal(val, &s); err != nil {
				return dst, time.Time{}, false, fmt.Errorf("value of %q: %w", key, badJSON(err))
			}
		case 'n':
			s = ""
		case '{', '[':
			compact.Reset()
			if err := json.Compact(&compact, val); err != nil {
				return dst, time.Time{}, false, fmt.Errorf("value of %q: %w", key, badJSON(err))
			}
			s = compact.String()
		default:
			s = string(val)
		}
		dst = append(dst, parsers.Field{Name: key, Value: s})
		if key == p.keyed.TimeField && !haveTime && val[0] != 'n' {
			haveTime = true
			if t, err = p.keyed.Time.Parse(s); err != nil {
				return dst, time.Time{}, false, fmt.Errorf("field %s: %w", key, err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return dst, time.Time{}, false, badJSON(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return dst, time.Time{}, false, fmt.Errorf("bad JSON: text after the object")
	}
	return dst, t, true, nil
}

// badJSON words a decoding error for a log line.
func badJSON(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("bad JSON: the line ends inside the object")
	}
	return fmt.Errorf("bad JSON: %v", err)
}

var (
	_ parsers.Factory = New
	_ parsers.Parser  = (*Parser)(nil)
)
