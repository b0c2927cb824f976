package rules

import (
	"strings"

	"github.com/expr-lang/expr/ast"
)

// A clause holds when at least one of its literals occurs in a record's raw text.
type clause []string

// A constraint holds when every one of its clauses does. A rule's `when` can
// only be true for a record that satisfies the rule's constraint. An empty
// constraint says nothing: the rule may match any record.
type constraint []clause

// deriveConstraint reads the literal strings a `when` expression needs in the
// raw text. verbatim reports whether an identifier names a value that appears
// byte for byte in the raw text (a field of a Verbatim parser, or Raw itself).
//
// Only shapes whose meaning is certain are understood; anything else (not, !=,
// matches, function calls, let, conditionals, ...) is unconstrained, which is
// always sound: the prefilter then lets the record through.
func deriveConstraint(n ast.Node, verbatim func(name string) bool) constraint {
	switch n := n.(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and":
			return normalise(append(append(constraint(nil),
				deriveConstraint(n.Left, verbatim)...),
				deriveConstraint(n.Right, verbatim)...))
		case "||", "or":
			l := deriveConstraint(n.Left, verbatim)
			r := deriveConstraint(n.Right, verbatim)
			if len(l) == 0 || len(r) == 0 {
				return nil
			}
			// (l1 ∧ l2) ∨ (r1 ∧ r2) implies (best l ∨ best r).
			u := append(append(clause(nil), bestClause(l)...), bestClause(r)...)
			return normalise(constraint{u})
		case "==":
			if lit, ok := fieldVsLiteral(n.Left, n.Right, verbatim); ok {
				return normalise(constraint{{lit}})
			}
			if lit, ok := fieldVsLiteral(n.Right, n.Left, verbatim); ok {
				return normalise(constraint{{lit}})
			}
		case "contains", "startsWith", "endsWith":
			if lit, ok := fieldVsLiteral(n.Left, n.Right, verbatim); ok {
				return normalise(constraint{{lit}})
			}
		case "in":
			id, ok := n.Left.(*ast.IdentifierNode)
			if !ok || !verbatim(id.Value) {
				return nil
			}
			var c clause
			switch r := n.Right.(type) {
			case *ast.ArrayNode:
				for _, e := range r.Nodes {
					s, ok := e.(*ast.StringNode)
					if !ok {
						return nil
					}
					c = append(c, s.Value)
				}
			case *ast.ConstantNode:
				// The optimizer turns a list of string literals into a set.
				set, ok := r.Value.(map[string]struct{})
				if !ok {
					return nil
				}
				for s := range set {
					c = append(c, s)
				}
			}
			if len(c) == 0 {
				return nil
			}
			return normalise(constraint{c})
		}
	}
	return nil
}

// fieldVsLiteral matches `Field op "literal"`.
func fieldVsLiteral(field, lit ast.Node, verbatim func(string) bool) (string, bool) {
	id, ok := field.(*ast.IdentifierNode)
	if !ok || !verbatim(id.Value) {
		return "", false
	}
	s, ok := lit.(*ast.StringNode)
	if !ok {
		return "", false
	}
	return s.Value, true
}

// bestClause picks the clause to keep when only one can be: the one whose
// shortest literal is longest (longer literals are rarer and let the scan skip
// further), then the one with fewer literals.
func bestClause(c constraint) clause {
	best := c[0]
	for _, cl := range c[1:] {
		a, b := shortest(cl), shortest(best)
		if a > b || a == b && len(cl) < len(best) {
			best = cl
		}
	}
	return best
}

func shortest(c clause) int {
	n := -1
	for _, l := range c {
		if n < 0 || len(l) < n {
			n = len(l)
		}
	}
	return n
}

// normalise simplifies a constraint without changing its meaning: a clause
// with an empty literal always holds and is dropped; within a clause a literal
// containing another one is dropped (if the shorter is absent, so is the
// longer); duplicate clauses are dropped.
func normalise(c constraint) constraint {
	out := c[:0]
	seen := map[string]bool{}
next:
	for _, cl := range c {
		cl = sortedUnique(append(clause(nil), cl...))
		kept := cl[:0]
		for _, l := range byLength(cl) {
			if l == "" {
				continue next
			}
			redundant := false
			for _, k := range kept {
				if strings.Contains(l, k) {
					redundant = true
					break
				}
			}
			if !redundant {
				kept = append(kept, l)
			}
		}
		kept = sortedUnique(kept)
		key := strings.Join(kept, "\x00")
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, kept)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// byLength sorts literals shortest first, stably.
func byLength(c clause) clause {
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && len(c[j]) < len(c[j-1]); j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	return c
}
