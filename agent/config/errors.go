package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/heraldhq/herald/internal/fileerr"
)

// Error is one problem with a config file. Load and Parse report every problem
// they find at once, as an errors.Join of *Error values, so a user fixes a
// config in one round; use errors.As to get the first, or unwrap the join to
// get all of them.
//
// Messages never contain a value that came from an environment variable.
type Error struct {
	File string // the config file, as given to Load or Parse; Config.Path for a problem found later (agent.Load)
	Line int    // 1-based; 0 when the problem has no single place (a missing [[sink]]) or is not located yet (see Locate)
	Col  int    // 1-based, in characters; 0 when unknown
	Key  string // the key path, such as sink[1].plugin; empty for syntax errors
	Msg  string
}

// Error formats the problem as "file:line:col: key: message", leaving out the
// parts that are unknown.
func (e *Error) Error() string {
	return fileerr.Format(e.File, e.Line, e.Col, e.Key, e.Msg)
}

// problems collects the errors of one file.
type problems struct {
	file string
	pos  positions
	errs []*Error
	// bad holds the paths that already have an error, so that validation does
	// not pile a second, derived complaint onto them (a paths value of the
	// wrong type is not also reported as "no paths").
	bad map[string]bool
}

func (ps *problems) add(p keyPath, format string, args ...any) {
	pos := ps.pos.lookup(p)
	k := p.String()
	ps.bad[k] = true
	ps.errs = append(ps.errs, &Error{
		File: ps.file,
		Line: pos.line,
		Col:  pos.col,
		Key:  k,
		Msg:  fmt.Sprintf(format, args...),
	})
}

// addUnlessBad adds the problem unless p, an ancestor of it or a descendant of
// it already has one.
func (ps *problems) addUnlessBad(p keyPath, format string, args ...any) {
	k := p.String()
	for b := range ps.bad {
		if b == k || within(k, b) || within(b, k) {
			return
		}
	}
	ps.add(p, format, args...)
}

// within reports whether path k lies inside path parent.
func within(k, parent string) bool {
	if parent == "" {
		return true
	}
	return strings.HasPrefix(k, parent) && len(k) > len(parent) && (k[len(parent)] == '.' || k[len(parent)] == '[')
}

// err returns the problems in file order (those without a line first), joined,
// or nil.
func (ps *problems) err() error {
	if len(ps.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(ps.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	errs := make([]error, len(ps.errs))
	for i, e := range ps.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}
