// Package rules turns rule files into compiled expr programs and evaluates them
// against parsed records.
//
// A rule file is TOML with one [[rule]] table per rule (see README.md). Load
// decodes rule files and embedded packs strictly, validates them and compiles
// every expression once, against the fields of each input the rule applies to,
// so a typo in a field name fails at load with the file, rule, key and the
// position inside the expression. A Set is immutable and safe to share; an
// Evaluator holds the per-goroutine state (an expr VM, env maps, buffers).
//
// Set.Filter gives the parsers a prefilter: the literal strings a record's raw
// text must contain for any rule to match, derived from the rules' `when`
// expressions, so that most lines are skipped before they are split.
package rules

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// InputInfo describes an input as its parser sees it.
type InputInfo struct {
	// Fields are the field names the input's parser declares.
	Fields []string
	// Verbatim is true when every field value appears byte for byte in the
	// record's raw text, which makes the prefilter possible.
	Verbatim bool
	// Parser names the input's parser (qlik, json, ...). Rules select inputs by
	// parser with `parsers = [...]`, which is how packs apply to the inputs of
	// the parser they are written for whatever the inputs are called.
	Parser string
}

// Names every record offers to expressions besides its parser's fields. They
// shadow declared fields of the same name.
const (
	envRaw   = "Raw"
	envInput = "Input"
	envPath  = "Path"
	envTime  = "Time"
)

// DefaultSeverity is the severity of a rule that names none.
const DefaultSeverity = "warning"

// Severities are the documented severities, most urgent first. Sinks map
// them (SIGNL4 and Alertmanager labels, Rocket.Chat colours, the status
// page), and a user routes and silences on them. A rule may use another
// word, which is a warning; a near miss of one of these is an error, since
// `critcal` would quietly be treated as something less than critical.
var Severities = []string{"critical", "warning", "info"}

// Action is what a match of a rule does to alerts.
type Action string

// The actions a rule can take. A rule fires unless it says otherwise; a rule
// with `resolves` resolves.
const (
	// ActionFire opens the alert of the rule and key, or repeats it.
	ActionFire Action = "fire"
	// ActionResolve resolves open alerts: those of the rules in Resolves with
	// the match's key or, without Resolves, every alert with the key (or the
	// remote reference, see KeyFromRef).
	ActionResolve Action = "resolve"
	// ActionAcknowledge marks the open alerts with the key (or reference) as
	// acknowledged, by the match's By.
	ActionAcknowledge Action = "acknowledge"
	// ActionAnnotate sends a note about the alerts with the key (or
	// reference) and changes nothing.
	ActionAnnotate Action = "annotate"
)

// actions lists the valid actions, in the order messages name them.
var actions = []Action{ActionFire, ActionResolve, ActionAcknowledge, ActionAnnotate}

// Rule is one loaded rule. Its exported fields are what the rule file said,
// after defaults; a Rule is shared and must not be modified.
type Rule struct {
	// ID is unique across all rule files and packs.
	ID string
	// Description is free text for people reading the rule.
	Description string
	// File is the rule file the rule came from, or "pack:<name>" for a rule
	// of an embedded pack. Line is the line of its [[rule]] header, 0 if unknown.
	File string
	Line int

	// Inputs and Parsers are the selectors as written; AppliesTo is the sorted
	// list of inputs they selected, for each of which the rule was compiled.
	Inputs    []string
	Parsers   []string
	AppliesTo []string

	// Severity is free text, conventionally critical, warning or info.
	Severity string
	// RateLimit is the minimum time between two firings of the rule for one
	// key, 0 for none. The agent enforces it.
	RateLimit time.Duration
	// Sinks name the sinks (or "kind:<plugin>") the rule's events go to; empty
	// means every sink. The agent resolves and validates them.
	Sinks []string
	// Action is what a match does: fire (the default), resolve, acknowledge or
	// annotate. A rule with Resolves has ActionResolve.
	Action Action
	// Resolves names the rules whose open alerts a match of this rule resolves.
	// A rule with Resolves never fires.
	Resolves []string
	// ResolvedBy lists the rules that resolve this one, sorted.
	ResolvedBy []string

	// The expression sources, as written. KeyFromRef (instead of Key) finds
	// the alert by a sink's remote reference, such as the Rocket.Chat thread
	// a reply is in; By names who acted. Both are for actions other than fire.
	When, Key, KeyFromRef, By, Dedup, Title, Message string
	Fields                                           map[string]string

	keyLines map[string]int // line of each key in File, for messages
	lines    []string       // File's lines, to place a problem inside a value
}

// keyPos returns the line and column in File of the character at rune offset
// off of the string value val of key (when, fields.X, ...), or the key's line
// and 0 when the value cannot be found as written.
func (r *Rule) keyPos(key, val string, off int) (line, col int) {
	if top, _, _ := strings.Cut(key, "."); r.keyLines[top] > 0 && top == key {
		if l, c, ok := valuePosition(r.lines, r.keyLines[top], val, off); ok {
			return l, c
		}
	}
	return r.lineOf(key), 0
}

// elemPos returns the line and column in File of the first character of the
// array element elem of key (the p of "pagr" in sinks = ["pager", "pagr"]),
// or the key's line and 0.
func (r *Rule) elemPos(key, elem string) (line, col int) {
	line = r.lineOf(key)
	if r.keyLines[key] == 0 || line > len(r.lines) {
		return line, 0
	}
	// The array may span lines: look from the key's line to the closing bracket.
	for l := line; l <= len(r.lines); l++ {
		text := r.lines[l-1]
		for _, q := range []string{`"` + elem + `"`, `'` + elem + `'`} {
			if i := strings.Index(text, q); i >= 0 {
				return l, utf8.RuneCountInString(text[:i]) + 2 // the first character inside the quote
			}
		}
		if strings.Contains(text, "]") {
			break
		}
	}
	return line, 0
}

// lineOf returns the line of a key of the rule (fields.X: the fields key),
// or the rule's line.
func (r *Rule) lineOf(key string) int {
	key, _, _ = strings.Cut(key, ".")
	if l := r.keyLines[key]; l > 0 {
		return l
	}
	return r.Line
}

// Resolving reports whether the rule resolves alerts instead of firing its own.
func (r *Rule) Resolving() bool { return r.Action == ActionResolve }

// Fires reports whether the rule opens alerts of its own; the other actions
// change (or comment on) alerts that exist.
func (r *Rule) Fires() bool { return r.Action == ActionFire }

// where is the rule's position for messages: file or file:line.
func (r *Rule) where() string { return position(r.File, r.Line) }

// Match is what a rule made of a record.
type Match struct {
	Rule *Rule
	// Key correlates a firing with its resolution (for Qlik reloads: the
	// TaskId). It may be empty; it is empty for a rule with KeyFromRef.
	Key string
	// Ref is the value of the rule's key_from_ref: a remote reference a sink
	// returned for an alert (a Rocket.Chat message id) that the alerts to act
	// on are looked up by. Empty for rules without key_from_ref.
	Ref string
	// By is who acted (the rule's `by`), for acknowledgements and resolutions.
	By string
	// Dedup is the rule's dedup value, "" when the rule has none or it was
	// empty: matches of one rule with the same non-empty Dedup are one alert.
	Dedup string
	// Title and Message are empty for a rule that does not fire and does not
	// set them.
	Title, Message string
	// Fields holds the rule's fields whose values were not empty; nil if none.
	Fields map[string]string
}

// Error is one problem found in the rules, at load or at evaluation.
type Error struct {
	File   string // rule file, or "pack:<name>"
	Line   int    // line in File, 0 when unknown
	Column int    // column in File, in characters, 0 when unknown
	Rule   string // rule id; "" for a problem of the file as a whole
	Key    string // the rule key at fault: when, key, title, fields.TaskName, ...
	Input  string // the input an expression was compiled for, when it matters
	Err    error  // what is wrong; an *file.Error from expr when an expression does not compile
	// Warning marks a problem that does not stop the rules from loading
	// (a severity outside Severities); it is reported by Set.Warnings.
	Warning bool
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		if e.Input != "" {
			fmt.Fprintf(&b, " (input %q)", e.Input)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ListError is a problem with an entry of the lists that name the rule files
// and packs (a glob that matches nothing, a pack that does not exist), which
// are written in the agent's config, not in a rule file.
type ListError struct {
	Key string // files[i] or packs[i]: the entry's index in the list given to Load
	Err error
}

func (e *ListError) Error() string { return e.Err.Error() }
func (e *ListError) Unwrap() error { return e.Err }

func position(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// Set is a loaded, compiled set of rules. It is immutable and safe for
// concurrent use; evaluate with an Evaluator per goroutine.
type Set struct {
	warnings []*Error
	rules    []*Rule
	inputs   map[string]*inputRules
	maxLits  int // most literals of any input: sizes an Evaluator's buffer
}

// inputRules is everything compiled for one input.
type inputRules struct {
	name  string
	index int // into Evaluator.envs
	rules []*compiled

	// The env an Evaluator builds holds only what some program reads.
	fields                 []string // declared record fields read by some expression
	raw, input, path, time bool

	// Prefilter: every literal of every rule's constraint, those of the rules'
	// first clauses first; the matcher of those (nil if there are none), and
	// the set of them.
	lits    []string
	matcher *litMatcher
	scanned bitset
	// filter is the parsers.Filter for the input, nil if some rule is unconstrained.
	filter func(string) bool
}

// compiled is one rule compiled for one input.
type compiled struct {
	rule                                             *Rule
	when, key, keyFromRef, by, dedup, title, message *vm.Program
	fields                                           []compiledField
	// clauses is the rule's prefilter: each clause lists indexes into the
	// input's literals, at least one of which must occur in the raw text.
	// The first is the one likely to hold on the fewest lines (see
	// orderClauses). Empty: the rule may match any record.
	clauses [][]int32
}

type compiledField struct {
	name string
	prog *vm.Program
}

// holds reports whether the rule's constraint holds in raw, the record's raw
// text, and so whether the rule may match the record. known says which of the
// input's literals lits have been looked for in raw, and found which of those
// occur. A literal not looked for yet is looked for when a clause needs it,
// and the answer recorded, so that the other rules of the record reuse it.
func (c *compiled) holds(raw string, lits []string, found, known bitset) bool {
next:
	for _, cl := range c.clauses {
		for _, i := range cl {
			if found.has(i) {
				continue next
			}
		}
		for _, i := range cl {
			if known.has(i) {
				continue
			}
			known.set(i)
			if strings.Contains(raw, lits[i]) {
				found.set(i)
				continue next
			}
		}
		return false
	}
	return true
}

// Rules returns the rules in load order: files in glob order, then packs.
func (s *Set) Rules() []*Rule { return s.rules }

// Warnings returns the problems found at load that did not stop it, in the
// order found.
func (s *Set) Warnings() []*Error { return s.warnings }

// Rule returns the rule with the given id.
func (s *Set) Rule(id string) (*Rule, bool) {
	for _, r := range s.rules {
		if r.ID == id {
			return r, true
		}
	}
	return nil, false
}

// Option configures Load.
type Option func(*options)

type options struct {
	funcs      []function
	exprOpts   []expr.Option
	scriptLogs *scriptLogs // nil: the script log functions return ""
	sinks      []string    // nil: a rule's sinks are not checked
}

// WithSinks makes Load check that every name in a rule's sinks is one of the
// configured sinks' names, reporting a missing one at its place in the rule
// file. A "kind:" entry is not checked: packs route by kind, and a kind with
// no sink is fine.
func WithSinks(names []string) Option {
	return func(o *options) { o.sinks = append([]string{}, names...) }
}

// WithFunction makes a Go function callable from every rule expression.
// types are the signatures the checker accepts, as for expr.Function (for
// example new(func(string, int) string)); without them the call is unchecked
// and returns any, which a string expression such as a title then rejects at
// run time. A name already taken by another function is a Load error.
//
// The function runs on the evaluating goroutine for each record a rule reads
// it in: keep it fast, and use it in title, message or fields rather than in
// `when` if it does I/O.
func WithFunction(name string, fn func(params ...any) (any, error), types ...any) Option {
	return func(o *options) {
		o.funcs = append(o.funcs, function{name: name, fn: fn, types: types})
	}
}

// WithExprOptions passes options through to every expr.Compile.
func WithExprOptions(opts ...expr.Option) Option {
	return func(o *options) { o.exprOpts = append(o.exprOpts, opts...) }
}
