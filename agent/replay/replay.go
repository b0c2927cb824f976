// Package replay runs log files through the parsers, the rules and the alert
// lifecycle the way the agent would, without sinks: it is the engine of
// `herald rules test`.
//
// Files are read once each, from start to end, in the order given. Alert
// state (open alerts, dedup ids, rate-limit windows) lives in a temporary
// state store that is removed afterwards, so a replay shows exactly which
// events the agent would have raised for those files, in that order, and
// touches nothing of a running agent.
package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/lifecycle"
	"github.com/heraldhq/herald/agent/scriptlog"
	"github.com/heraldhq/herald/parsers"
	parsersall "github.com/heraldhq/herald/parsers/all"
	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/rules"
)

// DefaultInput is the input name of a replay set up without a config.
const DefaultInput = "replay"

// InputSpec is an input files can be replayed as.
type InputSpec struct {
	Name          string
	Parser        string
	ParserOptions map[string]any
	// Paths and Exclude are the input's glob patterns. When there are several
	// inputs, a file is replayed as the one whose patterns match its name.
	Paths, Exclude []string
}

// Spec is what a replay is set up from: a config's inputs, rules and sinks,
// or the equivalent given on the command line.
type Spec struct {
	Inputs []InputSpec
	// RuleFiles are glob patterns of rule files, relative to BaseDir.
	RuleFiles []string
	BaseDir   string
	// Packs names embedded rule packs.
	Packs []string
	// Route is true when Sinks are the configured sinks: events then carry the
	// sinks they would be delivered to, and a rule naming a sink that does not
	// exist is an error, as it is for the agent. When false, the rules' sinks
	// are ignored and events carry none.
	Route bool
	Sinks []lifecycle.Sink
	// Host names this node in events.
	Host string
	// ScriptLogDir, when set, lets the script log functions read reload script
	// logs, as the agent does.
	ScriptLogDir string
	// ScriptLogDirs are more script log directories (other nodes', over UNC),
	// searched with ScriptLogDir.
	ScriptLogDirs []string
	// Logger receives warnings from the script log functions. Nil discards.
	Logger *slog.Logger
	// Now is the clock, used for records that carry no time. Default time.Now.
	Now func() time.Time
}

// FromConfig returns the Spec of a loaded config: its file inputs, rules,
// sinks, host and script log directory.
func FromConfig(cfg *config.Config) Spec {
	s := Spec{
		RuleFiles:     cfg.Rules.Files,
		BaseDir:       cfg.Dir(),
		Packs:         cfg.Rules.Packs,
		Route:         true,
		Sinks:         []lifecycle.Sink{},
		Host:          cfg.Agent.Host,
		ScriptLogDir:  cfg.Agent.ScriptLogDir,
		ScriptLogDirs: cfg.Agent.ScriptLogDirs,
	}
	for _, in := range cfg.Inputs {
		if in.Type != "file" {
			continue
		}
		s.Inputs = append(s.Inputs, InputSpec{
			Name: in.Name, Parser: in.Parser, ParserOptions: in.ParserOptions,
			Paths: in.Paths, Exclude: in.Exclude,
		})
	}
	for _, sk := range cfg.Sinks {
		s.Sinks = append(s.Sinks, lifecycle.Sink{Name: sk.Name, Kind: sinkKind(sk.Plugin)})
	}
	return s
}

// sinkKind is the kind `kind:<plugin>` routing matches a sink by: the
// built-in sink's name, or the plugin executable's base name without
// extension (as the agent derives it).
func sinkKind(plugin string) string {
	if !strings.ContainsAny(plugin, `/\`) {
		return plugin
	}
	base := plugin[strings.LastIndexAny(plugin, `/\`)+1:]
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// input is an input with its parser.
type input struct {
	spec   InputSpec
	parser parsers.Parser
}

// Engine is a loaded replay setup. It is not safe for concurrent use.
type Engine struct {
	spec   Spec
	inputs []*input
	rules  *rules.Set
	life   *lifecycle.Lifecycle
	now    func() time.Time
}

// New builds the parsers, loads and compiles the rules and prepares the
// lifecycle. Every error is a problem of the spec (a config, a rule file),
// reported all at once.
func New(spec Spec) (*Engine, error) {
	if spec.Logger == nil {
		spec.Logger = slog.New(slog.DiscardHandler)
	}
	if spec.Now == nil {
		spec.Now = time.Now
	}
	if len(spec.Inputs) == 0 {
		return nil, errors.New("no file input to replay the logs as")
	}
	e := &Engine{spec: spec, now: spec.Now}
	var errs []error
	infos := map[string]rules.InputInfo{}
	for _, in := range spec.Inputs {
		p, err := parsersall.New(in.Parser, in.ParserOptions)
		if err != nil {
			errs = append(errs, fmt.Errorf("input %q: parser %s: %w", in.Name, in.Parser, err))
			continue
		}
		e.inputs = append(e.inputs, &input{spec: in, parser: p})
		infos[in.Name] = rules.InputInfo{Fields: p.Fields(), Verbatim: p.Verbatim(), Parser: in.Parser}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	set, err := rules.Load(spec.RuleFiles, spec.BaseDir, spec.Packs, infos,
		rules.WithScriptLogs(&scriptlog.Finder{Dir: spec.ScriptLogDir, Dirs: spec.ScriptLogDirs, Now: spec.Now}, spec.Logger))
	if err != nil {
		return nil, err
	}
	if len(set.Rules()) == 0 {
		return nil, errors.New("no rules: give rule files or packs")
	}
	e.rules = set

	var infosL []*lifecycle.RuleInfo
	for _, r := range set.Rules() {
		ri := lifecycle.FromRule(r)
		if !spec.Route {
			ri.Sinks = nil
		}
		infosL = append(infosL, ri)
	}
	e.life, err = lifecycle.New(spec.Host, infosL, spec.Sinks, spec.Now)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Inputs returns the names of the inputs files can be replayed as.
func (e *Engine) Inputs() []string {
	names := make([]string, len(e.inputs))
	for i, in := range e.inputs {
		names[i] = in.spec.Name
	}
	return names
}

// InputFor picks the input a file is replayed as: the only one there is, or
// the one whose path patterns match the file's name. Archived logs are
// renamed (…_System_Scheduler_<stamp>Z.log), so with several inputs a file
// may match none, and the caller must name one.
func (e *Engine) InputFor(path string) (string, error) {
	if len(e.inputs) == 1 {
		return e.inputs[0].spec.Name, nil
	}
	base := filepath.Base(path)
	var found []string
	for _, in := range e.inputs {
		if matchesBase(in.spec.Paths, base) && !matchesBase(in.spec.Exclude, base) {
			found = append(found, in.spec.Name)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("%s: no input's paths match the file name; name the input to replay it as (one of %s)",
			path, strings.Join(e.Inputs(), ", "))
	}
	return "", fmt.Errorf("%s: the paths of several inputs match the file name (%s); name the input to replay it as",
		path, strings.Join(found, ", "))
}

// matchesBase reports whether the last element of any pattern matches base.
func matchesBase(patterns []string, base string) bool {
	for _, p := range patterns {
		last := p[strings.LastIndexAny(p, `/\`)+1:]
		if ok, _ := filepath.Match(last, base); ok {
			return true
		}
	}
	return false
}

func (e *Engine) input(name string) *input {
	for _, in := range e.inputs {
		if in.spec.Name == name {
			return in
		}
	}
	return nil
}

// Event is an event the agent would have raised, with the sinks it would have
// been delivered to.
type Event struct {
	sdk.Event
	// Sinks is nil when the replay does not know the configured sinks, and
	// empty (not nil) when the event would go to no sink.
	Sinks []string `json:"sinks,omitzero"`
}

// RuleStats is what one rule did over a replay.
type RuleStats struct {
	Rule string
	// Matches counts the records the rule matched.
	Matches int
	// Fired counts the alert events it raised (after dedup and rate limit).
	Fired int
	// Resolved counts the resolution events it raised (a rule with resolves).
	Resolved int
	// Duplicates counts matches dropped as the same outcome (same dedup value).
	Duplicates int
	// Suppressed counts firings held back by the rule's rate limit.
	Suppressed int
	// Unmatched counts resolving matches that found no open alert.
	Unmatched int
	// Open counts the rule's alerts still firing when the replay ended.
	Open int
}

// Summary is what a replay read and raised.
type Summary struct {
	Files int
	Lines int64
	Bytes int64
	// ParseErrors counts records that could not be parsed. As in the agent,
	// records the prefilter skips are not parsed, so not counted.
	ParseErrors int
	// RuleErrors counts expression failures at run time.
	RuleErrors int
	Events     int
	// Rules has one entry per loaded rule, in load order.
	Rules []RuleStats
	// Errors holds the first parse and rule errors, for the user to look at.
	Errors []string
}

// maxErrors caps Summary.Errors.
const maxErrors = 10

func (s *Summary) addError(err error) {
	if len(s.Errors) < maxErrors {
		s.Errors = append(s.Errors, err.Error())
	}
}

func (s *Summary) rule(id string) *RuleStats {
	i := slices.IndexFunc(s.Rules, func(r RuleStats) bool { return r.Rule == id })
	return &s.Rules[i]
}

// checkCtx is how often (in lines) a replay looks at its context.
const checkCtx = 4096

// errCanceled wraps a context error with how far the replay got.
func errCanceled(ctx context.Context, path string, line int64) error {
	return fmt.Errorf("replay stopped in %s at line %d: %w", path, line, context.Cause(ctx))
}
