// Package options decodes the parser_options table of an [[input]] strictly, so a
// misspelt option fails at load with its name instead of being ignored.
package options

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Decode copies opts into dst, a pointer to a struct whose fields carry json tags
// (the option names, snake_case). A key with no matching field, or a value of the
// wrong type, is an error that names the parser and the option.
//
// opts comes from TOML, so it holds plain maps, slices, strings, numbers and
// bools; a JSON round trip types them without a hand-written converter.
func Decode(parser string, opts map[string]any, dst any) error {
	known := jsonNames(dst)
	var unknown []string
	for k := range opts {
		if !slices.Contains(known, k) {
			unknown = append(unknown, fmt.Sprintf("%q", k))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		word := "option"
		if len(unknown) > 1 {
			word = "options"
		}
		if len(known) == 0 {
			return fmt.Errorf("%s parser: unknown %s %s (it takes none)", parser, word, strings.Join(unknown, ", "))
		}
		return fmt.Errorf("%s parser: unknown %s %s (known: %s)",
			parser, word, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	if len(opts) == 0 {
		return nil
	}
	b, err := json.Marshal(opts)
	if err != nil {
		return fmt.Errorf("%s parser: options: %w", parser, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s parser: option %q: got %s, want %s",
				parser, te.Field, te.Value, typeName(te.Type))
		}
		return fmt.Errorf("%s parser: options: %w", parser, err)
	}
	return nil
}

// jsonNames lists the option names dst's struct declares, in field order.
func jsonNames(dst any) []string {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(typeName(t.Elem()), "a ") + "s"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	}
	return t.String()
}

// FieldNames checks a list of field names given in option opt: each must be
// non-empty and appear once.
func FieldNames(parser, opt string, names []string) error {
	for i, n := range names {
		if n == "" {
			return fmt.Errorf("%s parser: option %q: entry %d is empty", parser, opt, i+1)
		}
		if slices.Contains(names[:i], n) {
			return fmt.Errorf("%s parser: option %q: %q is listed twice", parser, opt, n)
		}
	}
	return nil
}

// IsIdentifier reports whether s can be used as a variable name in a rule
// expression: a letter or underscore, then letters, digits or underscores.
func IsIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == utf8.RuneError {
			return false
		}
		if !(r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// Merge returns base followed by the names of extra that base lacks.
func Merge(base, extra []string) []string {
	out := slices.Clone(base)
	for _, n := range extra {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
