// Package parsers defines how input lines become records: the Record every rule
// reads, and the Parser/Decoder contract each parser package implements.
//
// A Parser is configuration (built once per input); a Decoder is the state of one
// stream (one file, one HTTP body): a header, a record held for continuation lines.
package parsers

import (
	"errors"
	"fmt"
	"time"
)

// Field is one named value of a record.
type Field struct {
	Name  string
	Value string
}

// Record is one parsed log entry.
//
// Records passed to an Emit are only valid during the call: decoders reuse them.
// A consumer that keeps one must copy what it needs (Clone does).
type Record struct {
	// Time is when the entry was logged (zero when the entry carries no time).
	Time time.Time
	// Fields are the entry's values by name, in the order the source had them.
	Fields []Field
	// Raw is the whole entry as read, continuation lines joined with "\n".
	Raw string
	// Input is the name of the [[input]] the record came from.
	Input string
	// Path is the file the record was read from; empty for non-file inputs.
	Path string
	// Offset is the byte offset just past the record's last line in Path.
	Offset int64
}

// Lookup returns the value of the named field and whether the record has it.
func (r *Record) Lookup(name string) (string, bool) {
	for i := range r.Fields {
		if r.Fields[i].Name == name {
			return r.Fields[i].Value, true
		}
	}
	return "", false
}

// Get returns the value of the named field, or "" when the record lacks it.
func (r *Record) Get(name string) string {
	v, _ := r.Lookup(name)
	return v
}

// Clone returns a deep copy that stays valid after the Emit call returns.
func (r *Record) Clone() *Record {
	c := *r
	c.Fields = append([]Field(nil), r.Fields...)
	return &c
}

// Line is one physical line of input.
type Line struct {
	// Text is the line without its terminator ("\n" or "\r\n").
	Text string
	// Offset is the byte offset just past the line's terminator.
	Offset int64
	// First is true for the first line of a file: a header, for parsers that have one.
	First bool
}

// Emit receives each record a decoder completes, or the error that made one unparseable.
// Exactly one of rec and err is non-nil. An error never stops a decoder: it goes on
// with the next line.
type Emit func(rec *Record, err error)

// Filter reports whether a record's raw text can match any rule. Decoders call it
// before splitting a record into fields, so lines no rule can match stay cheap.
// A nil Filter accepts everything.
type Filter func(raw string) bool

// Decoder turns the lines of one stream into records.
type Decoder interface {
	// Decode consumes one line and calls emit for each record the line completes.
	Decode(l Line, emit Emit)
	// Flush completes a record held back for continuation lines, if there is one.
	// The agent calls it when a stream goes idle or ends.
	Flush(emit Emit)
	// Held returns the offset at which the held record's first line starts, and
	// true, when a record is waiting for continuation lines. A checkpoint must not
	// pass that offset, or a crash would lose the record.
	Held() (offset int64, ok bool)
}

// Parser is a configured parser: the fields it declares and a factory of decoders.
type Parser interface {
	// Fields lists the field names its records may carry. Rules are compiled
	// against them: a rule reading any other name fails at load.
	Fields() []string
	// Verbatim reports whether every field value appears byte for byte in Raw,
	// which lets the agent skip records that lack a rule's literal strings.
	Verbatim() bool
	// NewDecoder returns the decoder of one stream. filter may be nil.
	NewDecoder(input string, path string, filter Filter) Decoder
}

// ParseError says why a record could not be parsed and where it was.
type ParseError struct {
	Path   string // file, when known
	Offset int64  // offset just past the record
	Reason string
}

func (e *ParseError) Error() string {
	if e.Path == "" {
		return "parse: " + e.Reason
	}
	return fmt.Sprintf("parse %s at byte %d: %s", e.Path, e.Offset, e.Reason)
}

// ErrUnknownParser is returned for a parser name no package provides.
var ErrUnknownParser = errors.New("unknown parser")

// MaxRecordBytes caps one record. A longer record is reported as a ParseError and
// skipped, so a runaway line cannot exhaust memory.
const MaxRecordBytes = 1 << 20

// Factory builds a parser from the options of an [[input]] (its parser_options
// table, possibly empty). It rejects unknown or malformed options with an error
// naming them.
type Factory func(opts map[string]any) (Parser, error)

// Primer is implemented by decoders whose records depend on a file's first line
// (a header). When reading resumes mid-file, the agent hands that line to Prime
// rather than Decode, so it is not taken for a record.
type Primer interface {
	Prime(firstLine string)
}
