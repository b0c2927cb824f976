package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/config"
)

func newCheckCmd() *cobra.Command {
	var cfgPath, format string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the config, the rules and each sink's config, then exit",
		Long: `Check reports every problem with the config and its rule files in one run:
unknown or misspelt keys, values of the wrong type or out of range, unset
environment variables, plugin names, each sink's config (validated by its plugin,
started once), paths patterns that match no readable file, rule files and packs,
rule keys, sinks a rule names that do not exist, severities, and expressions that
do not compile. Each problem names the file that holds it (the config or a rule
file) with its line and column.

A problem is an error or a warning. Errors stop 'herald run' from starting; a
warning (a rule severity other than critical, warning or info) does not.

Exit status: 0 when there is no problem, 1 when there are only warnings, 2 when
there is an error (or the config file cannot be read).

With --format json the report is one JSON document on standard output:
  {"config": "herald.toml", "problems": [{"severity": "error", "file": "herald.toml",
   "line": 12, "col": 10, "key": "sink[1].plugin", "rule": "", "input": "",
   "message": "...", "hint": "did you mean \"console\"?"}], "errors": 1, "warnings": 0}
line and col are 0 when unknown; key, rule, input and hint are "" when they do
not apply.`,
		Example: `  herald check --config herald.toml
  herald check --config herald.toml --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageError(fmt.Errorf("--format %q: use text or json", format))
			}
			_, ps, sum := checkConfig(cmd.Context(), cfgPath)
			errs, warnings := ps.count()
			code := 0
			switch {
			case errs > 0:
				code = 2
			case warnings > 0:
				code = 1
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				if err := writeCheckJSON(out, cfgPath, ps); err != nil {
					return err
				}
				if code != 0 {
					return &exitError{code: code, err: ps, reported: true}
				}
				return nil
			}
			if errs > 0 {
				return usageError(ps)
			}
			head := "OK"
			if warnings > 0 {
				head = "OK with " + plural(warnings, "warning")
			}
			fmt.Fprintf(out, "%s: %s\n", cfgPath, head)
			fmt.Fprintf(out, "  inputs: %s\n", strings.Join(sum.Inputs, ", "))
			fmt.Fprintf(out, "  sinks:  %s\n", strings.Join(sum.Sinks, ", "))
			fmt.Fprintf(out, "  rules:  %d (%s)\n", len(sum.Rules), strings.Join(sum.Rules, ", "))
			if warnings > 0 {
				return &exitError{code: 1, err: ps}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "herald.toml", "config file")
	cmd.Flags().StringVar(&format, "format", "text", "report as text (one problem per line, on standard error) or json (on standard output)")
	return cmd
}

// checkConfig finds every problem with the config at cfgPath and its rule
// files. The config's own problems do not stop it: the agent is loaded from
// what could be decoded, so that plugins, parsers, rules and paths are checked
// too, leaving out what sits at a key the config already rejected. sum is
// what was loaded, when it all loaded.
//
// The config's secrets come from the same sources as for every command;
// warnings about those sources (an env file others can read) go to standard
// error. herald service install runs it too, so that it never installs a
// config check rejects.
func checkConfig(ctx context.Context, cfgPath string) (*config.Config, problems, agent.Summary) {
	src, err := findSecretSources(cfgPath)
	if err != nil {
		return nil, placeProblems(cfgPath, nil, err), agent.Summary{}
	}
	for _, w := range src.warnings {
		fmt.Fprintln(os.Stderr, "herald: warning:", w)
	}
	cfg, flagged, cfgErr := config.LoadPartial(cfgPath, config.Options{Sources: src.sources})
	if cfg == nil { // unreadable, or not TOML: nothing more can be checked
		return nil, placeProblems(cfgPath, nil, cfgErr), agent.Summary{}
	}
	level := "warn" // the verdict, not the plugins' start-up chatter
	if strings.EqualFold(cfg.Agent.LogLevel, "debug") || strings.EqualFold(cfg.Agent.LogLevel, "error") {
		level = cfg.Agent.LogLevel
	}
	v, c, _ := buildInfo()
	opts := agent.Options{Logger: newLogger(os.Stderr, level, cfg.Agent.LogFormat), Version: v, Commit: c, Stdout: os.Stdout}

	a, loadErr := agent.Load(cfg, opts)
	pathErr := pathProblems(cfgPath, cfg)

	// Each sink's plugin validates its config, unless the config already
	// says its plugin or config is wrong.
	var sum agent.Summary
	var sinkErr, warnings error
	if a != nil {
		warnings = errors.Join(a.Warnings()...)
	}
	if a != nil && cfgErr == nil {
		sum, sinkErr = a.Check(ctx)
	} else {
		sinks := *cfg
		sinks.Sinks = nil
		for i, s := range cfg.Sinks {
			if !flagged(fmt.Sprintf("sink[%d].plugin", i)) && !flagged(fmt.Sprintf("sink[%d].config", i)) {
				sinks.Sinks = append(sinks.Sinks, s)
			}
		}
		sinkErr = agent.CheckSinks(ctx, &sinks, opts)
	}
	err = errors.Join(cfgErr, withoutFlagged(errors.Join(loadErr, pathErr), flagged), sinkErr, warnings)
	return cfg, placeProblems(cfgPath, cfg, err), sum
}

// checkReport is the JSON document of herald check --format json.
type checkReport struct {
	Config   string    `json:"config"`
	Problems []problem `json:"problems"`
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
}

func writeCheckJSON(w io.Writer, cfgPath string, ps problems) error {
	r := checkReport{Config: cfgPath, Problems: ps}
	if r.Problems == nil {
		r.Problems = problems{} // [] rather than null: no problem is a list of none
	}
	r.Errors, r.Warnings = ps.count()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // messages quote <, > and & as they are
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
