package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/internal/fileerr"
	"github.com/heraldhq/herald/plugins/host"
	"github.com/heraldhq/herald/rules"
)

// Severities of a problem. An error stops `herald run` from starting; a
// warning is reported (and logged by the agent) but does not.
const (
	severityError   = "error"
	severityWarning = "warning"
)

// problem is one thing wrong with a config or a rule file, placed in the file
// that holds it. Its fields are the JSON of `herald check --format json`,
// documented in docs/configuration.md (JSON output for tools): keep them stable.
type problem struct {
	Severity string `json:"severity"` // error or warning
	File     string `json:"file"`     // the config as given to --config, or a rule file
	Line     int    `json:"line"`     // 1-based; 0 when the problem has no single place
	Col      int    `json:"col"`      // 1-based, in characters (a tab is one); 0 when unknown
	// Key is the config key path (sink[1].plugin) or, with Rule set, the
	// rule's key (when, sinks, fields.TaskName).
	Key   string `json:"key"`
	Rule  string `json:"rule"`  // the rule id, for a problem in a rule
	Input string `json:"input"` // the input an expression was compiled for, when it matters
	// Message says what is wrong, without the place (the fields above) or
	// the hint.
	Message string `json:"message"`
	Hint    string `json:"hint"` // such as `did you mean "console"?`; "" when there is none

	text string // the line printed for it: the place, then what is wrong
}

func (p problem) String() string { return p.text }

// problems is what is wrong with a config, one located problem per line, as
// `herald run` and `herald check` print it: every line starts with the file it
// is about (and the line and column where known), so each can be read, and
// jumped to, on its own.
type problems []problem

func (ps problems) Error() string {
	if len(ps) == 1 {
		return ps[0].text
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.text
	}
	head := fmt.Sprintf("%d problems", len(ps))
	if e, w := ps.count(); w > 0 {
		head += fmt.Sprintf(" (%s, %s)", plural(e, "error"), plural(w, "warning"))
	}
	return head + ":\n" + strings.Join(lines, "\n")
}

// count returns the number of errors and of warnings.
func (ps problems) count() (errs, warnings int) {
	for _, p := range ps {
		if p.Severity == severityWarning {
			warnings++
		} else {
			errs++
		}
	}
	return errs, warnings
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// listProblems flattens err, an errors.Join tree of what config.Load,
// agent.Load and agent.Check found, into problems. See placeProblems.
func listProblems(cfgPath string, err error) problems {
	return placeProblems(cfgPath, nil, err)
}

// placeProblems flattens err, an errors.Join tree of what config.Load,
// agent.Load and agent.Check found, into problems, each placed in its file:
// a rule file's problems in the rule file; a problem that names a config key
// but no line (one the agent found) at that key in cfgPath; each line of a
// sink's multi-line config error at that sink's [sink.config] (cfg, which may
// be nil, tells its index); anything else in cfgPath. A *rules.Error marked
// Warning is a warning, everything else an error.
func placeProblems(cfgPath string, cfg *config.Config, err error) problems {
	pl := placer{cfgPath: cfgPath, cfg: cfg}
	if abs, err := filepath.Abs(cfgPath); err == nil {
		pl.cfgAbs = abs
	}
	var out problems
	for _, e := range leaves(err) {
		out = append(out, pl.place(e)...)
	}
	// Reading order: the config first, then each rule file as first met;
	// within a file by line and column, those with no place first.
	rank := map[string]int{cfgPath: 0}
	for _, p := range out {
		if _, ok := rank[p.File]; !ok {
			rank[p.File] = len(rank)
		}
	}
	slices.SortStableFunc(out, func(a, b problem) int {
		return cmp.Or(cmp.Compare(rank[a.File], rank[b.File]), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return out
}

// placer places problems in files.
type placer struct {
	cfgPath, cfgAbs string
	cfg             *config.Config
	src             []byte // the config's text, read on first need
	read            bool
}

// locate returns the line and column of key in the config file.
func (pl *placer) locate(key string) (line, col int) {
	if !pl.read {
		pl.read = true
		pl.src, _ = os.ReadFile(pl.cfgPath) // without it, no line numbers
	}
	return config.Locate(pl.src, key)
}

func (pl *placer) place(err error) []problem {
	var ce *config.Error
	var re *rules.Error
	var he *host.ConfigError
	switch {
	case errors.As(err, &ce):
		p := problem{Severity: severityError, File: ce.File, Line: ce.Line, Col: ce.Col, Key: ce.Key}
		if p.File == "" || p.File == pl.cfgAbs {
			p.File = pl.cfgPath
		}
		if p.Line == 0 && p.Key != "" && p.File == pl.cfgPath {
			p.Line, p.Col = pl.locate(p.Key)
		}
		p.Message, p.Hint = splitHint(ce.Msg)
		rest := ce.Msg
		if ce.Key != "" {
			rest = ce.Key + ": " + ce.Msg
		}
		return []problem{p.withText(rest)}
	case errors.As(err, &re) && re.File != "":
		p := problem{Severity: severityError, File: re.File, Line: re.Line, Col: re.Column, Key: re.Key, Rule: re.Rule, Input: re.Input}
		if re.Warning {
			p.Severity = severityWarning
		}
		p.Message, p.Hint = splitHint(re.Err.Error())
		bare := *re
		bare.File = "" // the place is written by withText
		return []problem{p.withText(bare.Error())}
	case errors.As(err, &he):
		var out []problem
		for line := range strings.Lines(he.Message) {
			if line = strings.TrimRight(line, "\r\n"); line == "" {
				continue
			}
			p := problem{Severity: severityError, File: pl.cfgPath, Key: pl.sinkConfigKey(he.Sink, line)}
			if p.Key != "" {
				p.Line, p.Col = pl.locate(p.Key)
			}
			p.Message, p.Hint = splitHint(line)
			out = append(out, p.withText((&host.ConfigError{Sink: he.Sink, Message: line}).Error()))
		}
		return out
	default:
		p := problem{Severity: severityError, File: pl.cfgPath}
		p.Message, p.Hint = splitHint(err.Error())
		return []problem{p.withText(err.Error())}
	}
}

// configKeyName finds the plugin config key a sink's message is about:
// `url: required`, `config key "url": ...`, `unknown config key "bogus"`.
var configKeyName = regexp.MustCompile(`^(?:([A-Za-z0-9_-]+):|.*config key "([A-Za-z0-9_-]+)")`)

// sinkConfigKey returns the key path of the sink's config key that msg is
// about, or of its [sink.config] when msg names none; "" when the sink is not
// known.
func (pl *placer) sinkConfigKey(sink, msg string) string {
	if pl.cfg == nil {
		return ""
	}
	for i, s := range pl.cfg.Sinks {
		if s.Name != sink {
			continue
		}
		key := fmt.Sprintf("sink[%d].config", i)
		if m := configKeyName.FindStringSubmatch(msg); m != nil {
			if k := m[1] + m[2]; s.Config[k] != nil {
				key += "." + k
			}
		}
		return key
	}
	return ""
}

// withText sets the printed line: "file:line:col: ", "warning: " for a
// warning, then rest (what is wrong, with its key or rule).
func (p problem) withText(rest string) problem {
	if p.Severity == severityWarning {
		rest = "warning: " + rest
	}
	p.text = fileerr.Format(p.File, p.Line, p.Col, "", rest)
	return p
}

// didYouMean is the hint every "did you mean" of Herald's messages is
// written as, at the end or before a list of the names there are.
var didYouMean = regexp.MustCompile(` \(((?:keys are case-sensitive: )?did you mean "[^"]*"\?)\)`)

// splitHint returns msg without its "did you mean" hint, and the hint.
func splitHint(msg string) (message, hint string) {
	m := didYouMean.FindStringSubmatchIndex(msg)
	if m == nil {
		return msg, ""
	}
	return msg[:m[0]] + msg[m[1]:], msg[m[2]:m[3]]
}

// withoutFlagged returns err, an errors.Join tree, without the problems at a
// config key that flagged says already has one: when the config has
// problems, the agent is loaded from what could be decoded, and a value the
// config already rejected would otherwise be reported twice.
func withoutFlagged(err error, flagged func(string) bool) error {
	if err == nil || flagged == nil {
		return err
	}
	var keep []error
	for _, e := range leaves(err) {
		if ce := (*config.Error)(nil); !errors.As(e, &ce) || ce.Key == "" || !flagged(ce.Key) {
			keep = append(keep, e)
		}
	}
	return errors.Join(keep...)
}

// leaves returns the errors an errors.Join tree is made of, in order; none
// for nil.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, leaves(e)...)
	}
	return out
}
