// Package line is the simplest parser: every non-empty line is a record with
// one field, line, holding the whole line.
package line

import (
	"time"

	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/internal/lineparse"
	"github.com/heraldhq/herald/parsers/internal/options"
)

// Name is the parser's name in herald.toml.
const Name = "line"

// Field is the name of the one field a record carries.
const Field = "line"

// Options are the parser_options of the line parser: it has none.
type Options struct{}

// Parser makes one record per line.
type Parser struct{}

// New returns the line parser. It takes no options; any key is an error.
func New(opts map[string]any) (parsers.Parser, error) {
	var o Options
	if err := options.Decode(Name, opts, &o); err != nil {
		return nil, err
	}
	return Parser{}, nil
}

// Fields returns ["line"].
func (Parser) Fields() []string { return []string{Field} }

// Verbatim returns true: the field is the raw line.
func (Parser) Verbatim() bool { return true }

// NewDecoder returns a decoder for one stream. Records carry no time.
func (Parser) NewDecoder(input, path string, filter parsers.Filter) parsers.Decoder {
	return lineparse.NewDecoder(input, path, filter, parse)
}

func parse(raw string, dst []parsers.Field) ([]parsers.Field, time.Time, bool, error) {
	return append(dst, parsers.Field{Name: Field, Value: raw}), time.Time{}, true, nil
}

var (
	_ parsers.Factory = New
	_ parsers.Parser  = Parser{}
)
