package lineparse

import (
	"cmp"
	"fmt"

	"github.com/heraldhq/herald/parsers/internal/options"
)

// KeyedOptions are the parser_options shared by the parsers whose lines are
// named key/value pairs (json, logfmt). Each of them declares its own Options
// type with these fields, for its documentation, and converts it.
type KeyedOptions struct {
	Fields     []string // further keys that rules may read
	TimeField  string   // the key holding the record's time; empty means the parser's default
	TimeFormat string   // as NewTimeFormat takes it
}

// Keyed is what a key/value parser makes of its KeyedOptions: the field names
// it declares, and the key holding the record's time with its format.
type Keyed struct {
	TimeField string     // the key holding the record's time
	Time      TimeFormat // how the value of TimeField is written
	fields    []string
}

// NewKeyed checks o and returns the parser's Keyed. It declares the common
// fields, then the time field (defaultTimeField unless o names one), then
// o.Fields, each once and in that order. Errors name the parser and the option.
func NewKeyed(parser string, o KeyedOptions, common []string, defaultTimeField string) (Keyed, error) {
	if err := options.FieldNames(parser, "fields", o.Fields); err != nil {
		return Keyed{}, err
	}
	k := Keyed{TimeField: cmp.Or(o.TimeField, defaultTimeField)}
	var err error
	if k.Time, err = NewTimeFormat(o.TimeFormat); err != nil {
		return Keyed{}, fmt.Errorf("%s parser: option %w", parser, err)
	}
	k.fields = options.Merge(options.Merge(common, []string{k.TimeField}), o.Fields)
	return k, nil
}

// Fields returns a copy of the declared field names.
func (k *Keyed) Fields() []string { return append([]string(nil), k.fields...) }
