package rules

import (
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// A title or message is mostly a chain of string concatenations: "Reload
// task \"" + TaskName + "\" failed" + ... expr concatenates two strings at a
// time, so a chain of n parts allocates n-1 strings and copies its growing
// left side again for every +: the qliksense pack's message, twenty parts,
// copied about 3 KB per alert. concatPatcher turns such a chain into one call
// that allocates the result once (BenchmarkConcat).

// concatName is the function a chain becomes. It is no identifier, so no
// rule can call it, or define a function of that name.
const concatName = "herald:concat"

// concatOptions are the expr options that flatten chains of concatenations.
func concatOptions() []expr.Option {
	return []expr.Option{
		expr.Function(concatName, concatFunc, new(func(...string) string)),
		expr.Patch(concatPatcher{}),
	}
}

// concatPatcher replaces a chain of three or more strings joined by + with
// one call of concatName. It runs after expr has checked the expression's
// types, and flattens only a chain whose every part is a string, so what the
// expression means, and every error it can give, is unchanged.
type concatPatcher struct{}

var stringType = reflect.TypeFor[string]()

func (concatPatcher) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || b.Operator != "+" || b.Type() != stringType {
		return
	}
	var parts []ast.Node
	if !concatParts(b, &parts) || len(parts) < 3 {
		return
	}
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: concatName}, Arguments: parts}
	call.SetType(stringType)
	ast.Patch(node, call)
}

// concatParts appends the parts of the chain n to parts, and reports whether
// each is a string. Walk visits the inner + first, so a part may already be
// a call of concatName: its arguments are parts of this chain.
func concatParts(n ast.Node, parts *[]ast.Node) bool {
	switch n := n.(type) {
	case *ast.BinaryNode:
		if n.Operator == "+" && n.Type() == stringType {
			return concatParts(n.Left, parts) && concatParts(n.Right, parts)
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == concatName {
			*parts = append(*parts, n.Arguments...)
			return true
		}
	}
	if n.Type() != stringType {
		return false
	}
	*parts = append(*parts, n)
	return true
}

func concatFunc(params ...any) (any, error) {
	size := 0
	for _, p := range params {
		s, ok := p.(string)
		if !ok {
			// Only strings pass the checker; a function that returned other
			// than it declared gets what + gives it (an error, mostly).
			acc := params[0]
			for _, p := range params[1:] {
				acc = runtime.Add(acc, p)
			}
			return acc, nil
		}
		size += len(s)
	}
	var b strings.Builder
	b.Grow(size)
	for _, p := range params {
		b.WriteString(p.(string))
	}
	return b.String(), nil
}
