// Package butlerimport converts the alerting settings of a Butler config
// (github.com/ptarmiganlabs/butler) into a herald.toml: Butler's SIGNL4
// integration and its outgoing webhooks for failed and aborted reload tasks
// become SIGNL4 and webhook sinks, and their per-event routing and rate
// limits become rules. Everything else Butler does is listed as a Note, one
// per Butler key, so nothing is dropped silently.
//
// The result is deterministic: the same Butler file gives the same bytes.
package butlerimport

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// RulesFile is where the generated rules go, relative to herald.toml, which
// names it in [rules] files.
const RulesFile = "rules/butler.toml"

// Options tune Convert.
type Options struct {
	// Source names the Butler file in errors and in the generated files'
	// header comments. Default "butler.yaml".
	Source string
	// InlineSecrets writes secrets found in URLs (the SIGNL4 team secret,
	// passwords and credential-like query parameters of webhook URLs) into
	// the output as they are, instead of ${VAR} references.
	InlineSecrets bool
}

// Result is a converted Butler config.
type Result struct {
	// Config is the herald.toml.
	Config []byte
	// Rules is the rule file RulesFile, nil when the config needs none (it
	// then loads the qliksense pack).
	Rules []byte
	// Env lists the environment variables Config references, with what to
	// set each to. Their values are never part of the Result.
	Env []EnvVar
	// Notes say what was not carried over, or carried over with a difference.
	Notes []Note
}

// EnvVar is an environment variable the generated config references in
// place of a secret from the Butler file.
type EnvVar struct {
	Name string
	// Key is the Butler key path whose value holds the secret.
	Key string
	// What says which part of that value to set the variable to.
	What string
}

// String is the line the command prints: which variable to set to what.
func (e EnvVar) String() string {
	return fmt.Sprintf("set %s: %s, from %s", e.Name, e.What, e.Key)
}

// NoteKind classifies a Note.
type NoteKind int

const (
	// Changed: carried over, but Herald behaves differently, or the
	// generated config needs a look.
	Changed NoteKind = iota
	// NotCarried: Herald has no equivalent; the setting was left out.
	NotCarried
)

// String is the prefix of a note's line: "changed" or "not carried over".
func (k NoteKind) String() string {
	if k == NotCarried {
		return "not carried over"
	}
	return "changed"
}

// Note is one thing a user migrating from Butler should know.
type Note struct {
	Kind NoteKind
	// Key is the Butler key path the note is about.
	Key  string
	Text string
}

// String is the line the command prints, "kind: key: text".
func (n Note) String() string { return n.Kind.String() + ": " + n.Key + ": " + n.Text }

// Convert reads a Butler config (YAML) and returns the equivalent Herald
// config. An error is an *Error (or several, joined) naming the file, line
// and key: YAML that does not parse, a file that is not a Butler config, or a
// value of the wrong type under a key the conversion needs.
func Convert(data []byte, opts Options) (*Result, error) {
	if opts.Source == "" {
		opts.Source = "butler.yaml"
	}
	butler, err := parseYAML(opts.Source, data)
	if err != nil {
		return nil, err
	}
	pack, err := loadPack()
	if err != nil {
		return nil, err
	}
	c := &converter{opts: opts, pack: pack}
	c.signl4(butler)
	c.webhooks(butler)
	c.others(butler)
	if len(c.errs) > 0 {
		for _, e := range c.errs {
			var be *Error
			if errors.As(e, &be) && be.File == "" {
				be.File = opts.Source
			}
		}
		return nil, errors.Join(c.errs...)
	}
	res := &Result{Env: c.env}
	res.Config = c.renderConfig()
	if len(c.routes) > 0 {
		res.Rules = c.renderRules()
	}
	// Changed before not carried over; within a kind, in the order of the
	// Butler file's sections as the conversion walks them.
	res.Notes = slices.Clone(c.notes)
	slices.SortStableFunc(res.Notes, func(a, b Note) int { return int(a.Kind) - int(b.Kind) })
	return res, nil
}

// event is a reload outcome Butler alerts on, and what Herald calls it.
type event struct {
	name     string // failed | aborted: part of rule ids and sink names
	butler   string // Butler's key for it under each destination
	packRule string // the qliksense pack rule that detects it
}

var events = []event{
	{name: "failed", butler: "reloadTaskFailure", packRule: "qlik-reload-failed"},
	{name: "aborted", butler: "reloadTaskAborted", packRule: "qlik-reload-aborted"},
}

// successRule resolves the alerts of the pack's failed and aborted rules.
const successRule = "qlik-reload-succeeded"

// Butler's defaults when a key is missing (src/lib/incident_mgmt/signl4.js,
// src/lib/qseow/webhook_notification.js).
const (
	butlerRateLimit     = 300 * time.Second
	butlerSeverity      = "99"
	butlerSignl4Service = "Default service name"
)

// sink is a [[sink]] to write.
type sink struct {
	name     string
	plugin   string
	comments []string
	config   []kv
	tables   []table
}

// kv is key = value; value is TOML already. A commented kv is written as a
// suggestion behind "# ".
type kv struct {
	key, value, comment string
	commented           bool
}

type table struct {
	name string
	kvs  []kv
}

// route is one generated rule: a pack rule's detection sent to some sinks
// with Butler's rate limit.
type route struct {
	id        string
	ev        event
	from      string // Butler key path it carries over
	sinks     []string
	rateLimit time.Duration
	// butlerFields adds the log line's level and text as fields, which the
	// webhook sink's butler format sends as logLevel and logMessage.
	butlerFields bool
}

type converter struct {
	opts   Options
	pack   map[string]packRule
	sinks  []*sink
	routes []route
	env    []EnvVar
	notes  []Note
	errs   []error
	hooks  map[string]*sink // webhook sinks by what makes them the same
}

func (c *converter) note(kind NoteKind, key, format string, args ...any) {
	c.notes = append(c.notes, Note{Kind: kind, Key: key, Text: fmt.Sprintf(format, args...)})
}

// check records err (an *Error from a node) and reports whether there was none.
func (c *converter) check(err error) bool {
	if err != nil {
		c.errs = append(c.errs, err)
		return false
	}
	return true
}

// rateLimit reads an event's rateLimit, Butler's default when missing.
func (c *converter) rateLimit(parent node) (time.Duration, bool) {
	n, ok := parent.get("rateLimit")
	if !ok || n.isNull() {
		return butlerRateLimit, true
	}
	d, err := n.seconds()
	if !c.check(err) {
		return 0, false
	}
	if d == 0 {
		c.note(Changed, n.path, "0 made Butler alert once per task until it restarted; the Herald rule has no rate limit")
	}
	return d, true
}

func (c *converter) addEnv(name, key, what string) string {
	for _, e := range c.env {
		if e.Name == name {
			return "${" + name + "}"
		}
	}
	c.env = append(c.env, EnvVar{Name: name, Key: key, What: what})
	return "${" + name + "}"
}

func (c *converter) uniqueEnv(name string) string {
	taken := func(n string) bool {
		return slices.ContainsFunc(c.env, func(e EnvVar) bool { return e.Name == n })
	}
	if !taken(name) {
		return name
	}
	for i := 2; ; i++ {
		if n := fmt.Sprintf("%s_%d", name, i); !taken(n) {
			return n
		}
	}
}

// Separator introduces the rule file when Document prints both files as one
// stream. It is a TOML comment line.
const Separator = "# ---- " + RulesFile + " ----"

// Document returns what `herald import butler` prints: the herald.toml and,
// when there are rules, Separator and the rule file after it.
func (r *Result) Document() []byte {
	if r.Rules == nil {
		return r.Config
	}
	out := make([]byte, 0, len(r.Config)+len(Separator)+len(r.Rules)+2)
	out = append(out, r.Config...)
	out = append(out, '\n')
	out = append(out, Separator...)
	out = append(out, '\n')
	return append(out, r.Rules...)
}

// Messages returns the lines for the user, environment variables to set
// first, then the notes. None of them contains a secret or a URL.
func (r *Result) Messages() []string {
	out := make([]string, 0, len(r.Env)+len(r.Notes))
	for _, e := range r.Env {
		out = append(out, e.String())
	}
	for _, n := range r.Notes {
		out = append(out, n.String())
	}
	return out
}
