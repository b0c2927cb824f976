package rules

import (
	"errors"
	"fmt"

	"github.com/expr-lang/expr/vm"

	"github.com/heraldhq/herald/parsers"
)

// Evaluator evaluates a Set's rules against records. It owns an expr VM, one
// env map per input and scratch buffers, so it is not safe for concurrent use:
// make one per goroutine with Set.NewEvaluator.
type Evaluator struct {
	set   *Set
	vm    vm.VM
	envs  []map[string]any // by inputRules.index
	found bitset           // literals found in the record, see compiled.holds
	known bitset           // literals looked for
	out   []Match
}

// NewEvaluator returns an evaluator of the set's rules.
func (s *Set) NewEvaluator() *Evaluator {
	return &Evaluator{
		set:   s,
		envs:  make([]map[string]any, len(s.inputs)),
		found: newBitset(s.maxLits),
		known: newBitset(s.maxLits),
	}
}

// Eval runs every rule that applies to rec.Input and returns the matches, in
// rule load order. The returned slice is reused by the next call: copy the
// Matches (not their Fields maps, which are new each time) to keep them.
//
// A rule whose expression fails at run time is reported in the returned error
// (errors.Join of *Error, one per failure) and never stops the other rules. A
// failing `when`, `key`, `key_from_ref` or `dedup` drops that rule's match; a
// failing `by`, title, message or field still yields the match, with no By,
// the rule id as the title, an empty message, or without that field, because
// a lost alert is worse than a plain one.
func (e *Evaluator) Eval(rec *parsers.Record) ([]Match, error) {
	e.out = e.out[:0]
	ir := e.set.inputs[rec.Input]
	if ir == nil || len(ir.rules) == 0 {
		return e.out, nil
	}
	var found, known bitset
	someFirst := false // whether some rule's first clause holds
	if ir.matcher != nil {
		words := bitsetWords(len(ir.lits))
		found, known = e.found[:words], e.known[:words]
		found.clear()
		someFirst = ir.start(rec.Raw, found, known)
	}
	var (
		env  map[string]any
		errs []error
	)
	for _, c := range ir.rules {
		if len(c.clauses) > 0 && (!someFirst || !c.holds(rec.Raw, ir.lits, found, known)) {
			continue
		}
		if env == nil {
			env = e.fill(ir, rec)
		}
		v, err := e.vm.Run(c.when, env)
		if err != nil {
			errs = append(errs, e.fail(c, ir, "when", err))
			continue
		}
		if b, _ := v.(bool); !b { // AsBool makes expr cast: nil is false, other types an error
			continue
		}
		m := Match{Rule: c.rule}
		if c.key != nil {
			if m.Key, err = e.str(c.key, env); err != nil {
				errs = append(errs, e.fail(c, ir, "key", err))
				continue
			}
		}
		if c.keyFromRef != nil {
			if m.Ref, err = e.str(c.keyFromRef, env); err != nil {
				errs = append(errs, e.fail(c, ir, "key_from_ref", err))
				continue
			}
		}
		if c.dedup != nil {
			if m.Dedup, err = e.str(c.dedup, env); err != nil {
				errs = append(errs, e.fail(c, ir, "dedup", err))
				continue
			}
		}
		if c.by != nil {
			if m.By, err = e.str(c.by, env); err != nil {
				errs = append(errs, e.fail(c, ir, "by", err))
			}
		}
		if c.title != nil {
			if m.Title, err = e.str(c.title, env); err != nil {
				errs = append(errs, e.fail(c, ir, "title", err))
				m.Title = c.rule.ID
			}
		}
		if c.message != nil {
			if m.Message, err = e.str(c.message, env); err != nil {
				errs = append(errs, e.fail(c, ir, "message", err))
			}
		}
		for _, f := range c.fields {
			val, err := e.str(f.prog, env)
			if err != nil {
				errs = append(errs, e.fail(c, ir, "fields."+f.name, err))
				continue
			}
			if val == "" {
				continue
			}
			if m.Fields == nil {
				m.Fields = make(map[string]string, len(c.fields))
			}
			m.Fields[f.name] = val
		}
		e.out = append(e.out, m)
	}
	return e.out, errors.Join(errs...)
}

// fill puts into the input's env map every value some program of the input
// reads. Keys are the same for every record of an input, so the map is
// overwritten in place rather than cleared.
func (e *Evaluator) fill(ir *inputRules, rec *parsers.Record) map[string]any {
	env := e.envs[ir.index]
	if env == nil {
		env = make(map[string]any, len(ir.fields)+4)
		e.envs[ir.index] = env
	}
	for _, f := range ir.fields {
		env[f] = rec.Get(f)
	}
	if ir.raw {
		env[envRaw] = rec.Raw
	}
	if ir.input {
		env[envInput] = rec.Input
	}
	if ir.path {
		env[envPath] = rec.Path
	}
	if ir.time {
		env[envTime] = rec.Time
	}
	return env
}

// str runs a program that must yield a string.
func (e *Evaluator) str(p *vm.Program, env map[string]any) (string, error) {
	v, err := e.vm.Run(p, env)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("evaluates to %T, want a string", v)
	}
	return s, nil
}

func (e *Evaluator) fail(c *compiled, ir *inputRules, key string, err error) error {
	return &Error{File: c.rule.File, Line: c.rule.lineOf(key), Rule: c.rule.ID, Key: key, Input: ir.name, Err: err}
}
