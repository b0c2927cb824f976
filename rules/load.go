package rules

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/heraldhq/herald/internal/editdist"
	"github.com/heraldhq/herald/internal/fileerr"
)

//go:embed packs/*.toml
var packFS embed.FS

// Packs returns the names of the embedded rule packs, sorted.
func Packs() []string {
	entries, err := packFS.ReadDir("packs")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".toml"); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// PackSource returns the TOML source of the named embedded pack.
func PackSource(name string) ([]byte, bool) {
	if !slices.Contains(Packs(), name) {
		return nil, false
	}
	b, err := packFS.ReadFile("packs/" + name + ".toml")
	return b, err == nil
}

// fileSpec is one rule file as written.
type fileSpec struct {
	Rules []ruleSpec `toml:"rule"`
}

// ruleSpec is one [[rule]] as written.
type ruleSpec struct {
	ID          string            `toml:"id"`
	Description string            `toml:"description"`
	Inputs      []string          `toml:"inputs"`
	Parsers     []string          `toml:"parsers"`
	When        string            `toml:"when"`
	Action      string            `toml:"action"`
	Key         string            `toml:"key"`
	KeyFromRef  string            `toml:"key_from_ref"`
	By          string            `toml:"by"`
	Dedup       string            `toml:"dedup"`
	Severity    string            `toml:"severity"`
	Title       string            `toml:"title"`
	Message     string            `toml:"message"`
	Fields      map[string]string `toml:"fields"`
	RateLimit   string            `toml:"rate_limit"`
	Sinks       []string          `toml:"sinks"`
	Resolves    []string          `toml:"resolves"`
}

// ruleKeys are the keys of a [[rule]] table, exactly as they must be spelled
// (the TOML decoder alone would also accept other capitalisations).
var ruleKeys = map[string]bool{
	"id": true, "description": true, "inputs": true, "parsers": true, "when": true,
	"action": true, "key": true, "key_from_ref": true, "by": true, "dedup": true, "severity": true, "title": true, "message": true,
	"fields": true, "rate_limit": true, "sinks": true, "resolves": true,
}

var validID = regexp.MustCompile(`^[a-z0-9._-]+$`)

// ReservedPrefix starts the ids of the rules under which Herald raises alerts
// about itself (agent/selfwatch); no rule file may use it.
const ReservedPrefix = "herald."

// source is one rule file or pack to load.
type source struct {
	name string // file path, or "pack:<name>"
	text string
}

// Load reads the rule files matching globs and the named embedded packs, and
// compiles every rule for each input it applies to. Relative globs are
// resolved against baseDir; a glob that matches no file is an error naming
// it. All problems found are returned together (errors.Join of *Error values),
// each naming the file, rule, key and, for expressions, the input and the
// line:column within the expression.
func Load(globs []string, baseDir string, packs []string, inputs map[string]InputInfo, opts ...Option) (*Set, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var errs []error
	srcs, err := readSources(globs, baseDir, packs)
	errs = append(errs, err...)

	var rules []*Rule
	for _, src := range srcs {
		rs, err := decodeSource(src)
		errs = append(errs, err...)
		rules = append(rules, rs...)
	}
	errs = append(errs, checkIDs(rules)...)
	errs = append(errs, selectInputs(rules, inputs)...)

	fnOpts, err2 := functionOptions(&o)
	if err2 != nil {
		errs = append(errs, err2)
		return nil, errors.Join(errs...)
	}
	if o.sinks != nil {
		errs = append(errs, checkSinks(rules, o.sinks)...)
	}
	set, err := compileSet(rules, inputs, append(fnOpts, o.exprOpts...))
	errs = append(errs, err...)
	var warnings []*Error
	failed := false
	for _, err := range errs {
		if e, ok := err.(*Error); ok && e.Warning {
			warnings = append(warnings, e)
		} else {
			failed = true
		}
	}
	if failed {
		return nil, errors.Join(errs...)
	}
	set.warnings = warnings
	return set, nil
}

// checkSinks checks that the sinks a rule names by name exist.
func checkSinks(rules []*Rule, names []string) []error {
	var errs []error
	for _, r := range rules {
		for _, want := range r.Sinks {
			if strings.HasPrefix(want, "kind:") || slices.Contains(names, want) || strings.TrimSpace(want) == "" {
				continue
			}
			line, col := r.elemPos("sinks", want)
			errs = append(errs, &Error{File: r.File, Line: line, Column: col, Rule: r.ID, Key: "sinks",
				Err: fmt.Errorf("no [[sink]] is named %q%s (sinks: %s)", want, suggest(want, names), strings.Join(names, ", "))})
		}
	}
	return errs
}

// readSources reads the files the globs match, each once, in glob order, then the packs.
func readSources(globs []string, baseDir string, packs []string) ([]source, []error) {
	var (
		srcs []source
		errs []error
		seen = map[string]bool{}
	)
	for i, g := range globs {
		pattern := g
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(baseDir, pattern)
		}
		matches, err := filepath.Glob(pattern)
		if err != nil {
			errs = append(errs, &ListError{Key: fmt.Sprintf("files[%d]", i), Err: fmt.Errorf("rule files %q: %w", g, err)})
			continue
		}
		if len(matches) == 0 {
			errs = append(errs, &ListError{Key: fmt.Sprintf("files[%d]", i), Err: fmt.Errorf("rule files %q: no file matches %s", g, pattern)})
			continue
		}
		for _, path := range matches {
			if seen[path] {
				continue
			}
			seen[path] = true
			b, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule file: %w", err))
				continue
			}
			srcs = append(srcs, source{name: path, text: string(b)})
		}
	}
	for i, p := range packs {
		if seen["pack:"+p] {
			continue
		}
		seen["pack:"+p] = true
		b, ok := PackSource(p)
		if !ok {
			errs = append(errs, &ListError{Key: fmt.Sprintf("packs[%d]", i),
				Err: fmt.Errorf("rule pack %q does not exist%s (packs: %s)", p, suggest(p, Packs()), strings.Join(Packs(), ", "))})
			continue
		}
		srcs = append(srcs, source{name: "pack:" + p, text: string(b)})
	}
	return srcs, errs
}

var tomlLine = regexp.MustCompile(`^toml: line (\d+)(?: \(last key "([^"]*)"\))?: `)

// decodeSource decodes and validates the rules of one file. Rules with
// problems are reported and left out.
func decodeSource(src source) ([]*Rule, []error) {
	var spec fileSpec
	md, err := toml.Decode(src.text, &spec)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// The library's line is one short for a string cut by "\r\n"
			// (0 on the first line); its byte offset is right.
			line, col := pe.Position.Line, pe.Position.Col
			if l, c := fileerr.Position(src.text, pe.Position.Start); l != line {
				line, col = l, c
			}
			return nil, []error{&Error{File: src.name, Line: line, Column: col, Err: errors.New(pe.Message)}}
		}
		// Type mismatches are plain errors of the form "toml: line N (last key K): ...".
		e := &Error{File: src.name, Err: err}
		if m := tomlLine.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Err = errors.New(strings.TrimPrefix(err.Error(), m[0]))
			if m[2] != "" {
				e.Key = m[2]
			}
		}
		return nil, []error{e}
	}
	pos := newPositions(src.text)
	var errs []error

	// Keys come in file order, each [[rule]] header as key "rule"; undecoded
	// keys have no index, so the headers tell which rule a key belongs to.
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
	}
	idx := -1
	var skip toml.Key
	for _, k := range md.Keys() {
		if skip != nil && hasPrefix(k, skip) {
			continue
		}
		skip = nil
		if len(k) == 1 && k[0] == "rule" && md.Type(k...) == "ArrayHash" {
			idx++
			continue
		}
		if len(k) == 2 && k[0] == "rule" && idx >= 0 && !ruleKeys[k[1]] {
			errs = append(errs, &Error{File: src.name, Line: cmp.Or(pos.key(idx, k[1]), pos.rule(idx)), Rule: idOf(spec.Rules, idx),
				Err: fmt.Errorf("unknown key %q%s", k[1], suggest(k[1], keysOf(ruleKeys)))})
			skip = k
			continue
		}
		if undecoded[k.String()] {
			e := &Error{File: src.name, Err: fmt.Errorf("unknown key %q", k.String())}
			if k[0] == "rule" && idx >= 0 && len(k) > 1 {
				e.Line, e.Rule = cmp.Or(pos.key(idx, k[1]), pos.rule(idx)), idOf(spec.Rules, idx)
			}
			errs = append(errs, e)
			skip = k
		}
	}

	// A rule with problems is still checked further (ids, expressions), so
	// that one run reports everything; Load fails in any case.
	var rules []*Rule
	for i, rs := range spec.Rules {
		keyLines := map[string]int{}
		for k := range ruleKeys {
			keyLines[k] = pos.key(i, k)
		}
		r, err := newRule(rs, src.name, pos.rule(i), keyLines, pos.lines)
		errs = append(errs, err...)
		if r != nil {
			rules = append(rules, r)
		}
	}
	return rules, errs
}

func hasPrefix(k, prefix toml.Key) bool {
	return len(k) >= len(prefix) && slices.Equal(k[:len(prefix)], prefix)
}

func idOf(rs []ruleSpec, i int) string {
	if i < len(rs) {
		return rs[i].ID
	}
	return ""
}

func keysOf(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// newRule validates a rule as written and applies defaults. Expressions are
// checked later, when they are compiled.
func newRule(rs ruleSpec, file string, line int, keyLines map[string]int, lines []string) (*Rule, []error) {
	r := &Rule{
		keyLines: keyLines, lines: lines,
		ID: rs.ID, Description: rs.Description, File: file, Line: line,
		Inputs: rs.Inputs, Parsers: rs.Parsers,
		Severity: cmp.Or(rs.Severity, DefaultSeverity), Sinks: rs.Sinks, Resolves: rs.Resolves,
		When: rs.When, Key: rs.Key, Dedup: rs.Dedup, Title: rs.Title, Message: rs.Message,
		Fields: rs.Fields,
	}
	var errs []error
	fail := func(key string, format string, args ...any) {
		l := keyLines[key]
		if l == 0 {
			l = line
		}
		errs = append(errs, &Error{File: file, Line: l, Rule: rs.ID, Key: key, Err: fmt.Errorf(format, args...)})
	}
	switch {
	case rs.ID == "":
		fail("id", "is required")
		r = nil // nothing else can name it
	case !validID.MatchString(rs.ID):
		fail("id", "%q may only contain a-z, 0-9, '.', '_' and '-'", rs.ID)
	case strings.HasPrefix(rs.ID, ReservedPrefix):
		fail("id", "%q starts with %q, which is reserved for Herald's alerts about itself", rs.ID, ReservedPrefix)
	}
	action := Action(rs.Action)
	switch {
	case action == "" && len(rs.Resolves) > 0:
		action = ActionResolve
	case action == "":
		action = ActionFire
	case !slices.Contains(actions, action):
		fail("action", "%q is not one of %s", rs.Action, joinActions())
		action = ActionFire // check the rest as a firing rule
	}
	if r != nil {
		r.Action, r.KeyFromRef, r.By = action, rs.KeyFromRef, rs.By
	}
	required := []struct{ key, val string }{{"when", rs.When}}
	if action == ActionFire {
		// A rule that does not fire may leave title and message to the alert
		// it acts on.
		required = append(required, struct{ key, val string }{"key", rs.Key},
			struct{ key, val string }{"title", rs.Title}, struct{ key, val string }{"message", rs.Message})
		for _, k := range []struct{ key, val string }{{"key_from_ref", rs.KeyFromRef}, {"by", rs.By}} {
			if strings.TrimSpace(k.val) != "" {
				fail(k.key, "only for rules that act on existing alerts (action = resolve, acknowledge or annotate)")
			}
		}
	} else {
		hasKey, hasRef := strings.TrimSpace(rs.Key) != "", strings.TrimSpace(rs.KeyFromRef) != ""
		switch {
		case hasKey && hasRef:
			fail("key_from_ref", "set key or key_from_ref, not both")
		case !hasKey && !hasRef:
			fail("key", "is required (or key_from_ref, to find the alert by a sink's reference)")
		}
	}
	if len(rs.Resolves) > 0 && action != ActionResolve {
		fail("resolves", "only for action = \"resolve\" (this rule's action is %q)", action)
	}
	if len(rs.Resolves) > 0 && strings.TrimSpace(rs.KeyFromRef) != "" {
		fail("key_from_ref", "cannot be combined with resolves, which matches alerts by key")
	}
	for _, k := range required {
		if strings.TrimSpace(k.val) == "" {
			fail(k.key, "is required")
		}
	}
	if rs.Severity != "" && !slices.Contains(Severities, rs.Severity) {
		e := &Error{File: file, Line: cmp.Or(keyLines["severity"], line), Rule: rs.ID, Key: "severity"}
		if l, c, ok := valuePosition(lines, keyLines["severity"], rs.Severity, 0); ok {
			e.Line, e.Column = l, c
		}
		if hint := suggest(rs.Severity, Severities); hint != "" {
			e.Err = fmt.Errorf("%q is not a severity%s", rs.Severity, hint)
		} else {
			e.Warning = true
			e.Err = fmt.Errorf("%q is not one of the documented severities (%s): sinks and silences that look for those will not recognise it", rs.Severity, strings.Join(Severities, ", "))
		}
		errs = append(errs, e)
	}
	var rateLimit time.Duration
	if rs.RateLimit != "" {
		d, err := time.ParseDuration(rs.RateLimit)
		switch {
		case err != nil:
			fail("rate_limit", "%q is not a duration such as \"5m\" or \"1h30m\"", rs.RateLimit)
		case d < 0:
			fail("rate_limit", "%q is negative", rs.RateLimit)
		default:
			rateLimit = d
		}
	}
	for _, list := range []struct {
		key  string
		vals []string
	}{{"inputs", rs.Inputs}, {"parsers", rs.Parsers}, {"sinks", rs.Sinks}, {"resolves", rs.Resolves}} {
		seen := map[string]bool{}
		for _, v := range list.vals {
			switch {
			case strings.TrimSpace(v) == "":
				fail(list.key, "has an empty entry")
			case seen[v]:
				fail(list.key, "names %q twice", v)
			}
			seen[v] = true
		}
	}
	for name := range rs.Fields {
		if strings.TrimSpace(name) == "" {
			fail("fields", "has a field with an empty name")
		}
	}
	if r != nil {
		r.RateLimit = rateLimit
	}
	return r, errs
}

// joinActions lists the actions for messages: fire, resolve, ....
func joinActions() string {
	names := make([]string, len(actions))
	for i, a := range actions {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// checkIDs checks that ids are unique and that resolves names rules that fire.
func checkIDs(rules []*Rule) []error {
	var errs []error
	byID := map[string]*Rule{}
	for _, r := range rules {
		if prev, ok := byID[r.ID]; ok {
			errs = append(errs, &Error{File: r.File, Line: r.lineOf("id"), Rule: r.ID, Key: "id",
				Err: fmt.Errorf("already used by the rule at %s", prev.where())})
			continue
		}
		byID[r.ID] = r
	}
	for _, r := range rules {
		for _, id := range r.Resolves {
			target, ok := byID[id]
			switch {
			case !ok:
				errs = append(errs, &Error{File: r.File, Line: r.lineOf("resolves"), Rule: r.ID, Key: "resolves",
					Err: fmt.Errorf("no rule has id %q%s", id, suggest(id, keysOfRules(byID)))})
			case target == r:
				errs = append(errs, &Error{File: r.File, Line: r.lineOf("resolves"), Rule: r.ID, Key: "resolves",
					Err: errors.New("a rule cannot resolve itself")})
			case !target.Fires():
				errs = append(errs, &Error{File: r.File, Line: r.lineOf("resolves"), Rule: r.ID, Key: "resolves",
					Err: fmt.Errorf("rule %q only %ss and never fires, so there is nothing to resolve", id, target.Action)})
			default:
				target.ResolvedBy = append(target.ResolvedBy, r.ID)
			}
		}
	}
	for _, r := range rules {
		sort.Strings(r.ResolvedBy)
	}
	return errs
}

func keysOfRules(m map[string]*Rule) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// selectInputs sets each rule's AppliesTo from its inputs and parsers selectors.
func selectInputs(rules []*Rule, inputs map[string]InputInfo) []error {
	names := make([]string, 0, len(inputs))
	for n := range inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, r := range rules {
		ok := true
		for _, in := range r.Inputs {
			if _, found := inputs[in]; !found {
				errs = append(errs, &Error{File: r.File, Line: r.lineOf("inputs"), Rule: r.ID, Key: "inputs",
					Err: fmt.Errorf("no input is named %q (inputs: %s)", in, strings.Join(names, ", "))})
				ok = false
			}
		}
		if !ok {
			continue
		}
		for _, n := range names {
			if len(r.Inputs) > 0 && !slices.Contains(r.Inputs, n) {
				continue
			}
			if len(r.Parsers) > 0 && !slices.Contains(r.Parsers, inputs[n].Parser) {
				continue
			}
			r.AppliesTo = append(r.AppliesTo, n)
		}
		if len(r.AppliesTo) == 0 {
			why := "there are no inputs"
			if len(r.Parsers) > 0 {
				why = fmt.Sprintf("no selected input uses parser %s", strings.Join(r.Parsers, " or "))
			}
			errs = append(errs, &Error{File: r.File, Line: r.Line, Rule: r.ID,
				Err: fmt.Errorf("applies to no input: %s", why)})
		}
	}
	return errs
}

// positions finds lines in a rule file. The TOML decoder reports no positions
// for decoded keys, so this scans the text: good enough for messages, and it
// says 0 (unknown) rather than guess when a table is written inline.
type positions struct {
	lines   []string
	headers []int // 0-based line index of each [[rule]] header
}

var ruleHeader = regexp.MustCompile(`^\s*\[\[\s*(?:rule|"rule"|'rule')\s*\]\]`)

func newPositions(text string) *positions {
	p := &positions{lines: strings.Split(text, "\n")}
	inMulti := "" // the delimiter of the multi-line string we are in
	for i, l := range p.lines {
		if inMulti == "" && ruleHeader.MatchString(l) {
			p.headers = append(p.headers, i)
			continue
		}
		for _, d := range []string{`"""`, `'''`} {
			if inMulti != "" && inMulti != d {
				continue
			}
			if strings.Count(l, d)%2 == 1 {
				if inMulti == "" {
					inMulti = d
				} else {
					inMulti = ""
				}
			}
		}
	}
	return p
}

// rule returns the 1-based line of the i-th rule's header, 0 if unknown.
func (p *positions) rule(i int) int {
	if i < len(p.headers) {
		return p.headers[i] + 1
	}
	return 0
}

// key returns the 1-based line of key in the i-th rule, 0 if not found.
func (p *positions) key(i int, key string) int {
	if i >= len(p.headers) {
		return 0
	}
	end := len(p.lines)
	if i+1 < len(p.headers) {
		end = p.headers[i+1]
	}
	for l := p.headers[i] + 1; l < end; l++ {
		if definesKey(p.lines[l], key) {
			return l + 1
		}
	}
	return 0
}

// definesKey reports whether a line sets key (`key =`, `"key" =`,
// `key.sub =`) or opens its table (`[rule.key]`).
func definesKey(line, key string) bool {
	s := strings.TrimLeft(line, " \t")
	if t, ok := strings.CutPrefix(s, "["); ok {
		t = strings.TrimLeft(t, " \t")
		t, ok = strings.CutPrefix(t, "rule.")
		return ok && strings.HasPrefix(t, key) && strings.HasPrefix(strings.TrimLeft(t[len(key):], " \t"), "]")
	}
	for _, q := range []string{"", `"`, "'"} {
		if rest, ok := strings.CutPrefix(s, q+key+q); ok {
			rest = strings.TrimLeft(rest, " \t")
			if strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, ".") {
				return true
			}
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to name,
// or "" when none is close.
func suggest(name string, candidates []string) string {
	best := editdist.Closest(name, candidates)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
