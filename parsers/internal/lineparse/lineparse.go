// Package lineparse is the decoder shared by parsers whose records are single
// lines (json, logfmt, regex, line): it trims the terminator, skips empty lines,
// enforces the size and encoding limits, applies the filter and reuses one Record.
// It also holds the time_format option those parsers take, and the options of
// the key/value parsers (json, logfmt), which differ only in their syntax.
package lineparse

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald/parsers"
)

// ParseFunc splits one line into fields appended to dst and returns them with
// the record's time (zero when the line carries none). ok=false drops the line
// without an error (a regex that does not match); err reports a malformed line.
type ParseFunc func(raw string, dst []parsers.Field) (fields []parsers.Field, t time.Time, ok bool, err error)

// NewDecoder returns a decoder that turns each line into one record with parse.
//
// The Record it emits, and its Fields slice, are reused from one Emit to the next.
func NewDecoder(input, path string, filter parsers.Filter, parse ParseFunc) parsers.Decoder {
	return &decoder{
		rec:    parsers.Record{Input: input, Path: path},
		filter: filter,
		parse:  parse,
	}
}

type decoder struct {
	rec    parsers.Record
	filter parsers.Filter
	parse  ParseFunc
}

// Decode implements parsers.Decoder.
func (d *decoder) Decode(l parsers.Line, emit parsers.Emit) {
	raw := strings.TrimSuffix(l.Text, "\r")
	if raw == "" {
		return
	}
	if len(raw) > parsers.MaxRecordBytes {
		emit(nil, d.errorf(l.Offset, "line of %d bytes exceeds the limit of %d", len(raw), parsers.MaxRecordBytes))
		return
	}
	if d.filter != nil && !d.filter(raw) {
		return
	}
	if !utf8.ValidString(raw) {
		emit(nil, d.errorf(l.Offset, "line is not valid UTF-8"))
		return
	}
	fields, t, ok, err := d.parse(raw, d.rec.Fields[:0])
	d.rec.Fields = fields[:0]
	if err != nil {
		emit(nil, d.errorf(l.Offset, "%s", err.Error()))
		return
	}
	if !ok {
		return
	}
	d.rec.Fields = fields
	d.rec.Time = t
	d.rec.Raw = raw
	d.rec.Offset = l.Offset
	emit(&d.rec, nil)
}

// Flush implements parsers.Decoder: a line decoder never holds a record.
func (d *decoder) Flush(parsers.Emit) {}

// Held implements parsers.Decoder: a line decoder never holds a record.
func (d *decoder) Held() (int64, bool) { return 0, false }

func (d *decoder) errorf(offset int64, format string, args ...any) error {
	return &parsers.ParseError{Path: d.rec.Path, Offset: offset, Reason: fmt.Sprintf(format, args...)}
}

// Verify the decoder honours the contract.
var _ parsers.Decoder = (*decoder)(nil)
