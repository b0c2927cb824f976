// Package agent is Herald's runtime: it builds parsers, rules and sink plugins from
// a config, tails the inputs, turns matches into alert events and hands them to
// one dispatcher per sink.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/lifecycle"
	"github.com/heraldhq/herald/agent/scriptlog"
	"github.com/heraldhq/herald/agent/silence"
	"github.com/heraldhq/herald/internal/editdist"
	"github.com/heraldhq/herald/parsers"
	parsersall "github.com/heraldhq/herald/parsers/all"
	"github.com/heraldhq/herald/plugins/host"
	"github.com/heraldhq/herald/rules"
	sinksall "github.com/heraldhq/herald/sinks/all"
)

// Options are the runtime choices that are not part of herald.toml.
type Options struct {
	Logger *slog.Logger
	// Executable is the herald binary, re-executed as `herald plugin serve NAME`
	// for built-in sinks. Default: os.Executable().
	Executable string
	// Stdout receives what plugins print (the console sink). Default os.Stdout.
	Stdout io.Writer
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Version and Commit label herald_build_info.
	Version, Commit string
}

// input is a configured input with its parser.
type input struct {
	cfg    config.Input
	parser parsers.Parser
}

// sinkSpec is a configured sink: how to start its plugin and the config it gets.
type sinkSpec struct {
	cfg  config.Sink
	kind string
	spec host.Spec
	raw  json.RawMessage
}

// Agent is a loaded config, ready to check or run.
type Agent struct {
	cfg    *config.Config
	opts   Options
	log    *slog.Logger
	inputs []*input
	hooks  []*httpInput
	rules  *rules.Set
	sinks  []*sinkSpec
	life   *lifecycle.Lifecycle
	// scriptLogs finds reload script logs for the rules, and knows which of
	// its directories answer (ScriptLogDirsDown).
	scriptLogs *scriptlog.Finder
	// self is the self-watch; a reload hands the running one to the next agent.
	self *selfState
	// sil are the silences, handed over on reload like self; windows are
	// the [[maintenance]] windows of this config (silences.go).
	sil     *silenceState
	windows []silence.Window
}

// Load builds parsers, compiles rules and prepares sink plugins from cfg. It does
// not start anything: every error here is a config problem, reported all at once.
func Load(cfg *config.Config, opts Options) (*Agent, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, opts: opts, log: opts.Logger, self: newSelfState(opts.Logger, opts.Now),
		sil: newSilenceState(opts.Logger, opts.Now)}
	var errs []error
	for i, m := range cfg.Maintenance {
		w, err := m.Window()
		if err != nil {
			errs = append(errs, &config.Error{File: cfg.Path, Key: fmt.Sprintf("maintenance[%d]", i),
				Msg: fmt.Sprintf("maintenance %q: %v", m.Name, err)})
			continue
		}
		a.windows = append(a.windows, w)
	}

	infos := map[string]rules.InputInfo{}
	inputsOK := true
	for i, in := range cfg.Inputs {
		if in.Type != "http" && in.Type != "file" {
			// Only in a config with problems (herald check goes on past
			// them), which has reported the type already.
			inputsOK = false
			continue
		}
		if in.Type == "http" {
			h, err := a.newHTTPInput(in)
			if err != nil {
				errs = append(errs, &config.Error{File: cfg.Path, Key: fmt.Sprintf("input[%d]", i),
					Msg: fmt.Sprintf("input %q: %v", in.Name, err)})
				continue
			}
			a.hooks = append(a.hooks, h)
			infos[in.Name] = rules.InputInfo{Fields: h.handler.Fields(), Parser: in.Format}
			continue
		}
		p, err := parsersall.New(in.Parser, in.ParserOptions)
		if err != nil {
			errs = append(errs, &config.Error{File: cfg.Path, Key: fmt.Sprintf("input[%d].parser", i),
				Msg: fmt.Sprintf("input %q: parser %s: %v", in.Name, in.Parser, err)})
			continue
		}
		a.inputs = append(a.inputs, &input{cfg: in, parser: p})
		infos[in.Name] = rules.InputInfo{Fields: p.Fields(), Verbatim: p.Verbatim(), Parser: in.Parser}
	}

	// Rules are compiled against the inputs' fields: without every input
	// they would report rules that name a broken one. A broken sink does not
	// get in their way, so its problems and theirs come out together.
	inputsOK = inputsOK && len(errs) == 0
	var sinkNames []string
	for i, s := range cfg.Sinks {
		sinkNames = append(sinkNames, s.Name)
		spec, kind, err := a.pluginSpec(s)
		if err != nil {
			errs = append(errs, &config.Error{File: cfg.Path, Key: fmt.Sprintf("sink[%d].plugin", i), Msg: err.Error()})
			continue
		}
		raw, err := json.Marshal(s.Config)
		if err != nil {
			errs = append(errs, &config.Error{File: cfg.Path, Key: fmt.Sprintf("sink[%d].config", i),
				Msg: fmt.Sprintf("sink %q: %v", s.Name, err)})
			continue
		}
		a.sinks = append(a.sinks, &sinkSpec{cfg: s, kind: kind, spec: spec, raw: raw})
	}
	if !inputsOK {
		return nil, errors.Join(errs...)
	}

	a.scriptLogs = newScriptLogFinder(cfg.Agent, opts.Now, a.log)
	set, err := rules.Load(cfg.Rules.Files, cfg.Dir(), cfg.Rules.Packs, infos,
		rules.WithScriptLogs(a.scriptLogs, a.log), rules.WithSinks(sinkNames))
	if err != nil {
		return nil, errors.Join(append(errs, placeRuleLists(cfg, err)...)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(set.Rules()) == 0 {
		return nil, &config.Error{File: cfg.Path, Key: "rules",
			Msg: "no rules: set [rules] files or packs (for example packs = [\"qliksense\"])"}
	}
	a.rules = set

	var lsinks []lifecycle.Sink
	for _, s := range a.sinks {
		ru := lifecycle.ResolveUnknownDefault(s.kind)
		if s.cfg.ResolveUnknown != nil {
			ru = *s.cfg.ResolveUnknown
		}
		lsinks = append(lsinks, lifecycle.Sink{Name: s.cfg.Name, Kind: s.kind, ResolveUnknown: ru})
	}
	a.life, err = lifecycle.New(cfg.Agent.Host, append(ruleInfos(set), selfRules(cfg.SelfWatch)...), lsinks, opts.Now)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// placeRuleLists returns the problems in err, an errors.Join from rules.Load,
// with each one about an entry of [rules] files or packs made a problem at
// that key of the config.
func placeRuleLists(cfg *config.Config, err error) []error {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		if le := (*rules.ListError)(nil); errors.As(e, &le) {
			e = &config.Error{File: cfg.Path, Key: "rules." + le.Key, Msg: le.Err.Error()}
		}
		out = append(out, e)
	}
	return out
}

// setDefaults fills in what the caller left out.
func (opts *Options) setDefaults() error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("locate the herald executable for built-in sinks: %w", err)
		}
		opts.Executable = exe
	}
	return nil
}

// ruleInfos converts compiled rules to what the lifecycle needs.
func ruleInfos(set *rules.Set) []*lifecycle.RuleInfo {
	var out []*lifecycle.RuleInfo
	for _, r := range set.Rules() {
		out = append(out, lifecycle.FromRule(r))
	}
	return out
}

// pluginSpec resolves a sink's plugin: a built-in name re-executes this binary,
// anything else is a path to a plugin executable.
func (a *Agent) pluginSpec(s config.Sink) (host.Spec, string, error) {
	spec := host.Spec{Name: s.Name, Logger: a.log.With("sink", s.Name), Stdout: a.opts.Stdout}
	if _, ok := sinksall.Lookup(s.Plugin); ok {
		spec.Command = []string{a.opts.Executable, "plugin", "serve", s.Plugin}
		return spec, s.Plugin, nil
	}
	if !strings.ContainsAny(s.Plugin, `/\`) {
		hint := ""
		if meant := editdist.Closest(s.Plugin, sinksall.Names()); meant != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", meant)
		}
		return spec, "", fmt.Errorf("sink %q: plugin %q is neither a built-in sink (%s) nor a path to an executable%s",
			s.Name, s.Plugin, strings.Join(sinksall.Names(), ", "), hint)
	}
	path := s.Plugin
	if !filepath.IsAbs(path) {
		path = filepath.Join(a.cfg.Dir(), path)
	}
	if _, err := os.Stat(path); err != nil {
		return spec, "", fmt.Errorf("sink %q: plugin executable: %w", s.Name, err)
	}
	spec.Command = []string{path}
	kind := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return spec, kind, nil
}

// startSink launches a sink's plugin and configures it.
func (a *Agent) startSink(ctx context.Context, s *sinkSpec) (*host.Plugin, error) {
	p, err := host.Start(ctx, s.spec)
	if err != nil {
		return nil, err
	}
	if err := p.Configure(ctx, s.raw); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Summary describes what was loaded, for `herald check`.
type Summary struct {
	Inputs []string
	Rules  []string
	Sinks  []string
}

// Check starts every sink plugin once so it validates its config, then stops
// it, and summarises what was loaded. Errors name the sink.
func (a *Agent) Check(ctx context.Context) (Summary, error) {
	err := a.checkSinks(ctx)
	var sum Summary
	for _, in := range a.cfg.Inputs {
		sum.Inputs = append(sum.Inputs, in.Name)
	}
	for _, r := range a.rules.Rules() {
		sum.Rules = append(sum.Rules, r.ID)
	}
	for _, s := range a.sinks {
		sum.Sinks = append(sum.Sinks, s.cfg.Name+" ("+s.kind+")")
	}
	sort.Strings(sum.Rules)
	return sum, err
}

// Warnings returns the problems found at load that do not stop the agent (a
// rule's severity outside the documented ones), each a *rules.Error, for
// the caller to report.
func (a *Agent) Warnings() []error {
	var out []error
	for _, w := range a.rules.Warnings() {
		out = append(out, w)
	}
	return out
}

// CheckSinks is the sink half of Check for a config that does not Load (herald
// check reports every problem in one run): it starts the plugin of each sink
// of cfg once, so that it validates its config, and stops it. A sink whose
// plugin cannot be found is skipped: that is Load's problem to report.
func CheckSinks(ctx context.Context, cfg *config.Config, opts Options) error {
	if err := opts.setDefaults(); err != nil {
		return err
	}
	a := &Agent{cfg: cfg, opts: opts, log: opts.Logger}
	for _, s := range cfg.Sinks {
		spec, kind, err := a.pluginSpec(s)
		if err != nil {
			continue
		}
		raw, err := json.Marshal(s.Config)
		if err != nil {
			continue
		}
		a.sinks = append(a.sinks, &sinkSpec{cfg: s, kind: kind, spec: spec, raw: raw})
	}
	return a.checkSinks(ctx)
}

// checkSinks starts every sink plugin once so it validates its config, then
// stops it.
func (a *Agent) checkSinks(ctx context.Context) error {
	var errs []error
	for _, s := range a.sinks {
		p, err := a.startSink(ctx, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Close()
	}
	return errors.Join(errs...)
}
