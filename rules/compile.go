package rules

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/heraldhq/herald/parsers"
)

// maxNodes bounds the size of one expression. Rules are short; a huge one is
// a mistake, or a file that should not be trusted.
const maxNodes = 1000

// compileSet compiles every rule for every input it applies to and builds the
// per-input evaluation and prefilter state.
func compileSet(rules []*Rule, inputs map[string]InputInfo, opts []expr.Option) (*Set, []error) {
	s := &Set{rules: rules, inputs: map[string]*inputRules{}}
	names := make([]string, 0, len(inputs))
	for n := range inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		s.inputs[n] = &inputRules{name: n, index: i}
	}

	var errs []error
	for _, r := range rules {
		for _, in := range r.AppliesTo {
			c, err := compileRule(r, in, inputs[in], opts)
			if len(err) > 0 || c == nil {
				errs = append(errs, err...)
				continue
			}
			s.inputs[in].rules = append(s.inputs[in].rules, c)
		}
	}
	if len(errs) > 0 {
		return nil, dedupErrors(errs)
	}
	for _, n := range names {
		ir := s.inputs[n]
		ir.prepare(inputs[n])
		s.maxLits = max(s.maxLits, len(ir.lits))
	}
	return s, nil
}

// dedupErrors drops repeats: a syntax error in a rule for every input is
// reported once, without naming an input.
func dedupErrors(errs []error) []error {
	type k struct{ file, rule, key, msg string }
	count := map[k]int{}
	keyOf := func(err error) (k, *Error) {
		var e *Error
		if errors.As(err, &e) {
			return k{e.File, e.Rule, e.Key, e.Err.Error()}, e
		}
		return k{msg: err.Error()}, nil
	}
	for _, err := range errs {
		kk, _ := keyOf(err)
		count[kk]++
	}
	var out []error
	done := map[k]bool{}
	for _, err := range errs {
		kk, e := keyOf(err)
		if count[kk] > 1 && e != nil {
			if done[kk] {
				continue
			}
			done[kk] = true
			c := *e
			c.Input = ""
			err = &c
		}
		out = append(out, err)
	}
	return out
}

// envFor is the compile-time env of an input: every declared field as a
// string, and the names every record has. A map env makes an unknown
// identifier a compile error that names it.
func envFor(info InputInfo) map[string]any {
	env := make(map[string]any, len(info.Fields)+4)
	for _, f := range info.Fields {
		env[f] = ""
	}
	env[envRaw] = ""
	env[envInput] = ""
	env[envPath] = ""
	env[envTime] = time.Time{}
	return env
}

// compileRule compiles the expressions of one rule for one input.
func compileRule(r *Rule, input string, info InputInfo, opts []expr.Option) (*compiled, []error) {
	env := envFor(info)
	base := append(append([]expr.Option{expr.Env(env), expr.MaxNodes(maxNodes)}, opts...), concatOptions()...)
	c := &compiled{rule: r}
	var errs []error
	prog := func(key, src string, want expr.Option) *vm.Program {
		p, err := compileExpr(src, append(base[:len(base):len(base)], want))
		if err != nil {
			errs = append(errs, exprError(r, key, src, input, explain(err, env)))
		}
		return p
	}
	asString := expr.AsKind(reflect.String)
	if r.When == "" || (r.Key == "" && r.KeyFromRef == "") {
		return nil, nil // reported as missing already
	}
	c.when = prog("when", r.When, expr.AsBool())
	if r.Key != "" {
		c.key = prog("key", r.Key, asString)
	}
	if r.KeyFromRef != "" {
		c.keyFromRef = prog("key_from_ref", r.KeyFromRef, asString)
	}
	if r.By != "" {
		c.by = prog("by", r.By, asString)
	}
	if r.Dedup != "" {
		c.dedup = prog("dedup", r.Dedup, asString)
	}
	if r.Title != "" {
		c.title = prog("title", r.Title, asString)
	}
	if r.Message != "" {
		c.message = prog("message", r.Message, asString)
	}
	names := make([]string, 0, len(r.Fields))
	for n := range r.Fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if p := prog("fields."+n, r.Fields[n], asString); p != nil {
			c.fields = append(c.fields, compiledField{name: n, prog: p})
		}
	}
	return c, errs
}

// compileExpr compiles one expression and applies the rules expr itself does
// not enforce.
func compileExpr(src string, opts []expr.Option) (*vm.Program, error) {
	p, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, err
	}
	// A `matches` with a literal pattern is compiled once, here; any other
	// pattern would be compiled again for every record.
	var bad ast.Node
	node := p.Node()
	ast.Walk(&node, visitor(func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && b.Operator == "matches" && bad == nil {
			if _, lit := b.Right.(*ast.StringNode); !lit {
				bad = b
			}
		}
	}))
	if bad != nil {
		e := &file.Error{Location: bad.Location(), Message: "the pattern of matches must be a string literal"}
		return nil, e.Bind(file.NewSource(src))
	}
	return p, nil
}

// exprError places a compile error of the expression src, the value of key,
// at its line and column in the rule file. Expr counts from the start of the
// expression; once the position is the file's, its own (line:col) and source
// snippet would only mislead, so the message is left bare.
func exprError(r *Rule, key, src, input string, err error) *Error {
	e := &Error{File: r.File, Line: r.lineOf(key), Rule: r.ID, Key: key, Input: input, Err: err}
	var fe *file.Error
	if !errors.As(err, &fe) {
		return e
	}
	if line, col := r.keyPos(key, src, fe.From); col > 0 {
		bare := *fe
		bare.Snippet = ""
		e.Line, e.Column, e.Err = line, col, &bare
	}
	return e
}

// explain adds a hint to an unknown-name error: the declared field it most
// likely meant.
func explain(err error, env map[string]any) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err
	}
	name, ok := strings.CutPrefix(fe.Message, "unknown name ")
	if !ok {
		return err
	}
	names := make([]string, 0, len(env))
	for n := range env {
		names = append(names, n)
	}
	if hint := suggest(name, names); hint != "" {
		c := *fe
		c.Message += hint
		return &c
	}
	return err
}

// visitor adapts a func to ast.Visitor.
type visitor func(ast.Node)

func (v visitor) Visit(n *ast.Node) { v(*n) }

// identifiers returns the identifiers an expression reads.
func identifiers(p *vm.Program, into map[string]bool) {
	if p == nil {
		return
	}
	node := p.Node()
	ast.Walk(&node, visitor(func(n ast.Node) {
		if id, ok := n.(*ast.IdentifierNode); ok {
			into[id.Value] = true
		}
	}))
}

// programs lists every program of a compiled rule.
func (c *compiled) programs() []*vm.Program {
	ps := []*vm.Program{c.when, c.key, c.keyFromRef, c.by, c.dedup, c.title, c.message}
	for _, f := range c.fields {
		ps = append(ps, f.prog)
	}
	return ps
}

// prepare works out what the evaluator must put in the env for this input,
// and the prefilter.
func (ir *inputRules) prepare(info InputInfo) {
	used := map[string]bool{}
	for _, c := range ir.rules {
		for _, p := range c.programs() {
			identifiers(p, used)
		}
	}
	ir.raw, ir.input, ir.path, ir.time = used[envRaw], used[envInput], used[envPath], used[envTime]
	all := used["$env"] // $env["..."] can read any field
	seen := map[string]bool{}
	for _, f := range info.Fields {
		switch f {
		case envRaw, envInput, envPath, envTime:
			continue // shadowed
		}
		if (all || used[f]) && !seen[f] {
			seen[f] = true
			ir.fields = append(ir.fields, f)
		}
	}
	if all {
		ir.raw, ir.input, ir.path, ir.time = true, true, true, true
	}

	declared := map[string]bool{}
	for _, f := range info.Fields {
		declared[f] = true
	}
	verbatim := func(name string) bool {
		switch name {
		case envRaw:
			return true // Raw is the raw text
		case envInput, envPath, envTime:
			return false
		}
		return info.Verbatim && declared[name]
	}

	// Each rule's constraint. The compiled tree, not a fresh parse: patches
	// and operator overloads passed in as options have been applied to it,
	// and a rewritten `==` is then a call, which is safely unconstrained.
	cons := make([]constraint, len(ir.rules))
	unconstrained := len(ir.rules) == 0
	for i, c := range ir.rules {
		cons[i] = deriveConstraint(c.when.Node(), verbatim)
		if len(cons[i]) == 0 {
			unconstrained = true
		}
	}
	orderClauses(cons)

	// Number the literals across the input: first those of every rule's
	// first clause, which the matcher scans every record for, then the rest,
	// which are looked for only in records where a rule needs them.
	litIndex := map[string]int32{}
	var lits []string
	number := func(l string) int32 {
		i, ok := litIndex[l]
		if !ok {
			i = int32(len(lits))
			litIndex[l] = i
			lits = append(lits, l)
		}
		return i
	}
	for _, cn := range cons {
		if len(cn) > 0 {
			for _, l := range cn[0].lits {
				number(l)
			}
		}
	}
	scanned := len(lits)
	for i, c := range ir.rules {
		for _, cl := range cons[i] {
			idx := make([]int32, 0, len(cl.lits))
			for _, l := range cl.lits {
				idx = append(idx, number(l))
			}
			c.clauses = append(c.clauses, idx)
		}
	}
	ir.lits = lits
	ir.matcher = newLitMatcher(lits[:scanned], lits[scanned:])
	ir.scanned = newBitset(len(lits))
	for i := range scanned {
		ir.scanned.set(int32(i))
	}
	switch {
	case len(ir.rules) == 0:
		// No rule can match a record of this input.
		ir.filter = func(string) bool { return false }
	case unconstrained:
		ir.filter = nil
	default:
		ir.filter = ir.newFilter()
	}
}

// orderClauses puts each rule's clauses in the order the prefilter checks
// them, the one likely to hold on the fewest lines first (see rarer). The
// first clause's literals are scanned for in every record; the others are
// looked for only when the clauses before them hold, so the order decides the
// cost, never the outcome.
func orderClauses(cons []constraint) {
	// share is how many rules have a literal containing l: a literal many
	// rules need is text many lines hold.
	share := func(l string) int {
		n := 0
		for _, cn := range cons {
		rule:
			for _, cl := range cn {
				for _, k := range cl.lits {
					if strings.Contains(k, l) {
						n++
						break rule
					}
				}
			}
		}
		return n
	}
	for _, cn := range cons {
		type ranked struct {
			cl    clause
			share int
		}
		rs := make([]ranked, len(cn))
		for i, cl := range cn {
			rs[i].cl = cl
			for _, l := range cl.lits {
				rs[i].share = max(rs[i].share, share(l))
			}
		}
		sort.SliceStable(rs, func(a, b int) bool { return rarer(rs[a].cl, rs[b].cl, rs[a].share, rs[b].share) })
		for i := range cn {
			cn[i] = rs[i].cl
		}
	}
}

// stackWords is how many bitset words a filter keeps on the stack; inputs with
// more literals than 64*stackWords take buffers from a pool.
const stackWords = 4

// possible reports whether some rule of the input may match a record with
// the raw text. found and known must be zero, with room for every literal.
func (ir *inputRules) possible(raw string, found, known bitset) bool {
	if !ir.start(raw, found, known) {
		return false
	}
	for _, c := range ir.rules {
		if c.holds(raw, ir.lits, found, known) {
			return true
		}
	}
	return false
}

// start scans raw for the literals of the rules' first clauses: it sets
// their bits in found when they occur, and in known, which lists the
// literals whose presence found says. It reports whether it found any: if
// not, no constrained rule holds, and most lines end here.
func (ir *inputRules) start(raw string, found, known bitset) bool {
	ir.matcher.find(raw, found)
	copy(known, ir.scanned)
	return !found.empty()
}

// newFilter returns the prefilter of an input whose rules are all constrained.
func (ir *inputRules) newFilter() func(string) bool {
	words := bitsetWords(len(ir.lits))
	if words <= stackWords {
		return func(raw string) bool {
			var found, known [stackWords]uint64
			return ir.possible(raw, found[:words], known[:words])
		}
	}
	pool := sync.Pool{New: func() any { b := make(bitset, 2*words); return &b }}
	return func(raw string) bool {
		bp := pool.Get().(*bitset)
		defer pool.Put(bp)
		b := *bp
		b.clear()
		return ir.possible(raw, b[:words], b[words:2*words])
	}
}

// Filter returns the prefilter of an input for its parser: false means no
// rule can match a record with that raw text. It is nil when some rule of the
// input could match any record (its `when` yields no required literal), or
// when the input is unknown. For an input no rule applies to, it rejects
// every record. It is safe for concurrent use.
func (s *Set) Filter(input string) parsers.Filter {
	ir, ok := s.inputs[input]
	if !ok || ir.filter == nil {
		return nil
	}
	return ir.filter
}

// Literals returns, for documentation and `herald check`, the literal strings
// the prefilter of an input looks for, and whether the input has a prefilter
// at all. Those of each rule's first clause come first: they are scanned for
// in every record; the others only in records where a rule needs them.
func (s *Set) Literals(input string) ([]string, bool) {
	ir, ok := s.inputs[input]
	if !ok || ir.filter == nil {
		return nil, false
	}
	return append([]string(nil), ir.lits...), true
}
