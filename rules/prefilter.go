package rules

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
)

// A clause holds when at least one of its literals occurs in a record's raw text.
type clause struct {
	lits []string
	// exact is true when every literal is a field's whole value (==, in).
	// It is a hint for ordering: such values tend to name a category that
	// many lines share (a logger, a level), while the phrases of contains,
	// startsWith and matches tend to name the event.
	exact bool
}

// A constraint holds when every one of its clauses does. A rule's `when` can
// only be true for a record that satisfies the rule's constraint. An empty
// constraint says nothing: the rule may match any record.
type constraint []clause

// deriveConstraint reads the literal strings a `when` expression needs in the
// raw text. verbatim reports whether an identifier names a value that appears
// byte for byte in the raw text (a field of a Verbatim parser, or Raw itself).
//
// Only shapes whose meaning is certain are understood; anything else (not, !=,
// function calls, let, conditionals, ...) is unconstrained, which is always
// sound: the prefilter then lets the record through.
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
			return normalise(constraint{union(bestClause(l), bestClause(r))})
		case "==":
			if lit, ok := fieldVsLiteral(n.Left, n.Right, verbatim); ok {
				return normalise(constraint{{lits: []string{lit}, exact: true}})
			}
			if lit, ok := fieldVsLiteral(n.Right, n.Left, verbatim); ok {
				return normalise(constraint{{lits: []string{lit}, exact: true}})
			}
		case "contains", "startsWith", "endsWith":
			if lit, ok := fieldVsLiteral(n.Left, n.Right, verbatim); ok {
				return normalise(constraint{{lits: []string{lit}}})
			}
		case "matches":
			// A match of the pattern in the field is a substring of the field,
			// so the literal text every match holds is in the raw text.
			if pattern, ok := fieldVsLiteral(n.Left, n.Right, verbatim); ok {
				re, err := syntax.Parse(pattern, syntax.Perl)
				if err != nil {
					return nil
				}
				return normalise(regexpConstraint(re))
			}
		case "in":
			id, ok := n.Left.(*ast.IdentifierNode)
			if !ok || !verbatim(id.Value) {
				return nil
			}
			c := clause{exact: true}
			switch r := n.Right.(type) {
			case *ast.ArrayNode:
				for _, e := range r.Nodes {
					s, ok := e.(*ast.StringNode)
					if !ok {
						return nil
					}
					c.lits = append(c.lits, s.Value)
				}
			case *ast.ConstantNode:
				// The optimizer turns a list of string literals into a set.
				set, ok := r.Value.(map[string]struct{})
				if !ok {
					return nil
				}
				for s := range set {
					c.lits = append(c.lits, s)
				}
			}
			if len(c.lits) == 0 {
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

// regexpConstraint returns what every match of a parsed pattern contains:
// the literal text of a concatenation's parts, of a group, and of what
// repeats at least once; for an alternation, one clause of each branch.
// Case-folded literals give nothing, and so does a literal holding U+FFFD,
// which the regexp package also matches against an invalid byte.
func regexpConstraint(re *syntax.Regexp) constraint {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 || strings.ContainsRune(s, utf8.RuneError) {
			return nil
		}
		return constraint{{lits: []string{s}}}
	case syntax.OpConcat:
		var c constraint
		for _, sub := range re.Sub {
			c = append(c, regexpConstraint(sub)...)
		}
		return c
	case syntax.OpCapture, syntax.OpPlus:
		return regexpConstraint(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return regexpConstraint(re.Sub[0])
		}
	case syntax.OpAlternate:
		var u clause
		for i, sub := range re.Sub {
			c := regexpConstraint(sub)
			if len(c) == 0 {
				return nil
			}
			if i == 0 {
				u = bestClause(c)
			} else {
				u = union(u, bestClause(c))
			}
		}
		return constraint{u}
	}
	return nil
}

// union is the clause that holds when a or b does.
func union(a, b clause) clause {
	return clause{lits: append(append([]string(nil), a.lits...), b.lits...), exact: a.exact && b.exact}
}

// bestClause picks the clause to keep when only one can be: the one likely
// to hold on the fewest lines (see rarer), without knowing the other rules.
func bestClause(c constraint) clause {
	best := c[0]
	for _, cl := range c[1:] {
		if rarer(cl, best, 0, 0) {
			best = cl
		}
	}
	return best
}

// rarer reports whether clause a is likely to hold on fewer lines than b,
// from what the rules say, since the lines are not known: a holds less often
// when fewer rules share its literals (shareA, shareB, see
// inputRules.prepare; a literal many rules need, such as a logger name, is one
// many lines hold), when it is not an exact field value (a level or a logger
// name is a category; a phrase names an event), when its shortest literal is
// longer, and when it has fewer literals.
func rarer(a, b clause, shareA, shareB int) bool {
	if shareA != shareB {
		return shareA < shareB
	}
	if a.exact != b.exact {
		return !a.exact
	}
	if la, lb := shortest(a), shortest(b); la != lb {
		return la > lb
	}
	return len(a.lits) < len(b.lits)
}

func shortest(c clause) int {
	n := -1
	for _, l := range c.lits {
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
	seen := map[string]int{} // index in out
next:
	for _, cl := range c {
		lits := sortedUnique(append([]string(nil), cl.lits...))
		kept := lits[:0]
		for _, l := range byLength(lits) {
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
		if i, ok := seen[key]; ok {
			out[i].exact = out[i].exact && cl.exact
			continue
		}
		seen[key] = len(out)
		out = append(out, clause{lits: kept, exact: cl.exact})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// byLength sorts literals shortest first, stably.
func byLength(c []string) []string {
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && len(c[j]) < len(c[j-1]); j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	return c
}
