package rules

import (
	"fmt"
	"unicode/utf8"

	"github.com/expr-lang/expr"
)

// function is a Go function callable from rule expressions.
type function struct {
	name  string
	fn    func(params ...any) (any, error)
	types []any
}

// helperFunctions are the functions every rule can call, besides expr's own
// builtins (lower, upper, trim, split, replace, hasPrefix, len, ...). Add new
// helpers here, and to the README's list.
func helperFunctions(o *options) []function {
	return append([]function{
		{name: "truncate", fn: truncateFunc, types: []any{new(func(string, int) string)}},
	}, scriptLogFunctions(o.scriptLogs)...)
}

// functionOptions turns helpers and the caller's functions into expr options,
// refusing a name registered twice.
func functionOptions(o *options) ([]expr.Option, error) {
	all := append(helperFunctions(o), o.funcs...)
	seen := make(map[string]bool, len(all))
	opts := make([]expr.Option, 0, len(all))
	for _, f := range all {
		if f.name == "" || f.fn == nil {
			return nil, fmt.Errorf("function %q: a name and a Go function are required", f.name)
		}
		if seen[f.name] {
			return nil, fmt.Errorf("function %q is registered twice", f.name)
		}
		seen[f.name] = true
		opts = append(opts, expr.Function(f.name, f.fn, f.types...))
	}
	return opts, nil
}

func truncateFunc(params ...any) (any, error) {
	s, ok1 := params[0].(string)
	n, ok2 := params[1].(int)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("truncate(string, int): got (%T, %T)", params[0], params[1])
	}
	return truncate(s, n), nil
}

// truncate shortens s to at most n runes. A shortened string ends in "…",
// which counts as one of the n; n <= 0 gives "".
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	cut, runes := 0, 0
	for i := range s {
		if runes == n-1 {
			cut = i
			break
		}
		runes++
	}
	return s[:cut] + "…"
}
