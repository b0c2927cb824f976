// Package all knows every built-in parser by the name an [[input]]'s parser
// key uses.
package all

import (
	"fmt"
	"slices"
	"strings"

	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/jsonparser"
	"github.com/heraldhq/herald/parsers/line"
	"github.com/heraldhq/herald/parsers/logfmt"
	"github.com/heraldhq/herald/parsers/qlik"
	"github.com/heraldhq/herald/parsers/regex"
)

// factories is fixed at compile time: parsers are not plugins, so there is no
// registration and no mutable package state.
var factories = map[string]parsers.Factory{
	qlik.Name:       qlik.New,
	jsonparser.Name: jsonparser.New,
	logfmt.Name:     logfmt.New,
	regex.Name:      regex.New,
	line.Name:       line.New,
}

// New builds the parser called name from its options. An unknown name is an
// error wrapping parsers.ErrUnknownParser that lists the known names.
func New(name string, opts map[string]any) (parsers.Parser, error) {
	f, ok := factories[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", parsers.ErrUnknownParser, name, strings.Join(Names(), ", "))
	}
	return f(opts)
}

// Names returns the names of the built-in parsers, sorted.
func Names() []string {
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
