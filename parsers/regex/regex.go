// Package regex parses lines with a regular expression (RE2 syntax): each named
// group becomes a field. Lines the expression does not match are not records.
package regex

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/internal/lineparse"
	"github.com/heraldhq/herald/parsers/internal/options"
)

// Name is the parser's name in herald.toml.
const Name = "regex"

// DefaultTimeField is the group read for the record's time when time_field is
// not set and the pattern has a group of that name.
const DefaultTimeField = "time"

// Options are the parser_options of the regex parser.
type Options struct {
	// Pattern is the RE2 expression; it needs at least one named group (?P<name>...).
	Pattern string `json:"pattern"`
	// TimeField names the group holding the record's time. Default "time", used
	// only when the pattern has such a group.
	TimeField string `json:"time_field"`
	// TimeFormat is how the time is written: a Go layout, unix, unix_ms,
	// unix_us or unix_ns. Default RFC 3339.
	TimeFormat string `json:"time_format"`
}

// Parser extracts the named groups of a regular expression.
type Parser struct {
	re        *regexp.Regexp
	names     []string // group name per submatch index; "" for unnamed groups
	fields    []string // distinct group names, in pattern order
	timeIndex []int    // submatch indexes of the time group (several with alternation)
	timeFmt   lineparse.TimeFormat
	timeField string
}

// New builds a regex parser from its options. The pattern is required and must
// compile and have a named group; an explicit time_field must name a group.
func New(opts map[string]any) (parsers.Parser, error) {
	var o Options
	if err := options.Decode(Name, opts, &o); err != nil {
		return nil, err
	}
	if o.Pattern == "" {
		return nil, fmt.Errorf("regex parser: option \"pattern\" is required")
	}
	re, err := regexp.Compile(o.Pattern)
	if err != nil {
		return nil, fmt.Errorf("regex parser: option \"pattern\" %q: %w", o.Pattern, err)
	}
	p := &Parser{re: re, names: re.SubexpNames()}
	for _, n := range p.names {
		if n != "" && !slices.Contains(p.fields, n) {
			p.fields = append(p.fields, n)
		}
	}
	if len(p.fields) == 0 {
		return nil, fmt.Errorf("regex parser: option \"pattern\" %q has no named group; write one as (?P<name>...)", o.Pattern)
	}
	p.timeField = o.TimeField
	if p.timeField == "" {
		p.timeField = DefaultTimeField
	}
	for i, n := range p.names {
		if n == p.timeField {
			p.timeIndex = append(p.timeIndex, i)
		}
	}
	if o.TimeField != "" && len(p.timeIndex) == 0 {
		return nil, fmt.Errorf("regex parser: option \"time_field\" %q is not a named group of the pattern (groups: %v)", o.TimeField, p.fields)
	}
	if p.timeFmt, err = lineparse.NewTimeFormat(o.TimeFormat); err != nil {
		return nil, fmt.Errorf("regex parser: option %w", err)
	}
	return p, nil
}

// Fields returns the pattern's group names.
func (p *Parser) Fields() []string { return slices.Clone(p.fields) }

// Verbatim returns true: every field is a substring of the line.
func (p *Parser) Verbatim() bool { return true }

// NewDecoder returns a decoder for one stream.
func (p *Parser) NewDecoder(input, path string, filter parsers.Filter) parsers.Decoder {
	return lineparse.NewDecoder(input, path, filter, p.parse)
}

// parse adds a field for each group that took part in the match; a group in an
// alternative branch that did not match is absent, not empty.
func (p *Parser) parse(raw string, dst []parsers.Field) ([]parsers.Field, time.Time, bool, error) {
	m := p.re.FindStringSubmatchIndex(raw)
	if m == nil {
		return dst, time.Time{}, false, nil
	}
	for i := 1; i < len(p.names); i++ {
		if p.names[i] == "" || m[2*i] < 0 {
			continue
		}
		dst = append(dst, parsers.Field{Name: p.names[i], Value: raw[m[2*i]:m[2*i+1]]})
	}
	var t time.Time
	for _, i := range p.timeIndex {
		if m[2*i] < 0 {
			continue
		}
		v := raw[m[2*i]:m[2*i+1]]
		var err error
		if t, err = p.timeFmt.Parse(v); err != nil {
			return dst, time.Time{}, false, fmt.Errorf("field %s: %w", p.timeField, err)
		}
		break
	}
	return dst, t, true, nil
}

var (
	_ parsers.Factory = New
	_ parsers.Parser  = (*Parser)(nil)
)
