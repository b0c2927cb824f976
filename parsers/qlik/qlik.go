// Package qlik parses Qlik Sense trace logs such as
// <HOST>_System_Scheduler.txt: UTF-8 (often with a BOM), CRLF, one header line
// naming tab-separated columns, then one record per row. A row whose text
// breaks across physical lines is joined back into one record.
//
// Columns are read by name, because their order differs between Qlik Sense
// releases: a new header (the first line of every file) replaces the previous.
package qlik

import (
	"fmt"
	"slices"
	"unicode"

	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/internal/options"
)

// Name is the parser's name in herald.toml.
const Name = "qlik"

// DocumentedFields are the columns Qlik documents for its trace, service and
// audit logs (plus the scheduler's task columns), as field names: the column
// Sequence# is the field Sequence. Rules may read any of them; a record from a
// file whose header lacks one has no such field, and reading it yields "".
var DocumentedFields = []string{
	"Sequence", "Timestamp", "Level", "Hostname", "Logger", "Thread", "Id",
	"ServiceUser", "Message", "Exception", "StackTrace", "ProxySessionId",
	"ProxyPackageId", "RequestSequenceId", "Id2", "Checksum", "TaskName", "TaskId",
	"ExecutionId", "AppName", "AppId", "UserDirectory", "UserId", "User",
	"ProductVersion", "Severity", "Description",
}

// Column names with a role in finding where a record starts, as field names.
const (
	sequenceField  = "Sequence"
	timestampField = "Timestamp"
)

// Options are the parser_options of the qlik parser.
type Options struct {
	// Fields declares columns beyond DocumentedFields that rules may read, by
	// field name (the column name without characters that are not letters,
	// digits or underscores).
	Fields []string `json:"fields"`
}

// Parser parses Qlik Sense trace logs.
type Parser struct {
	fields []string
}

// New builds a qlik parser from its options.
func New(opts map[string]any) (parsers.Parser, error) {
	var o Options
	if err := options.Decode(Name, opts, &o); err != nil {
		return nil, err
	}
	if err := options.FieldNames(Name, "fields", o.Fields); err != nil {
		return nil, err
	}
	for _, f := range o.Fields {
		if !options.IsIdentifier(f) {
			hint := ""
			if s := FieldName(f); s != "" {
				hint = fmt.Sprintf("; the column %q is the field %q", f, s)
			}
			return nil, fmt.Errorf("qlik parser: option \"fields\": %q is not a field name (letters, digits and underscores, not starting with a digit)%s", f, hint)
		}
	}
	return &Parser{fields: options.Merge(DocumentedFields, o.Fields)}, nil
}

// Fields returns DocumentedFields followed by the fields option.
func (p *Parser) Fields() []string { return slices.Clone(p.fields) }

// Verbatim returns true: every field value is a substring of Raw.
func (p *Parser) Verbatim() bool { return true }

// NewDecoder returns the decoder of one file (or one stream of files, each
// starting with its header).
//
// The decoder reuses one Record, its Fields slice and its Raw text between
// Emit calls; field values are substrings of Raw, never copies.
func (p *Parser) NewDecoder(input, path string, filter parsers.Filter) parsers.Decoder {
	return newDecoder(input, path, filter)
}

// FieldName turns a column name into the field name records carry it under:
// characters other than letters, digits and underscores are dropped (so
// Sequence# becomes Sequence), and a name starting with a digit gets a leading
// underscore. It returns "" for a name with nothing left, and such a column is
// not made a field.
func FieldName(column string) string {
	clean := true
	for i, r := range column {
		if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) || (i == 0 && unicode.IsDigit(r)) {
			clean = false
			break
		}
	}
	if clean {
		return column
	}
	b := make([]rune, 0, len(column)+1)
	for _, r := range column {
		if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			b = append(b, r)
		}
	}
	if len(b) > 0 && unicode.IsDigit(b[0]) {
		b = append([]rune{'_'}, b...)
	}
	return string(b)
}

var (
	_ parsers.Factory = New
	_ parsers.Parser  = (*Parser)(nil)
)
