package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/replay"
)

// progressMinBytes is the input size from which `herald rules test` shows a
// progress bar (on a terminal): below it, a replay takes about a second.
const progressMinBytes = 64 << 20

type rulesTestFlags struct {
	config        string
	packs         []string
	rules         []string
	parser        string
	parserOptions []string
	input         string
	host          string
	scriptLogDir  string
}

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Work with rules: replay logs through them",
	}
	cmd.AddCommand(newRulesTestCmd())
	return cmd
}

func newRulesTestCmd() *cobra.Command {
	f := &rulesTestFlags{}
	cmd := &cobra.Command{
		Use:   "test [flags] LOGFILE...",
		Short: "Replay log files through the rules and show the alerts they would raise",
		Long: `Test reads log files from start to end, in the order given, through the parser,
the rules and the alert lifecycle (dedup, rate limits, resolutions) exactly as the
agent would, but sends nothing: it prints each event the agent would have raised
as a JSON line on standard output, and a summary per rule on standard error.

With --config, the inputs, parsers, rules, packs, sinks and host come from that
config, and each event says which sinks it would go to. A file is read as the
config's only file input; with several, as the input whose paths match its name
(or the one named with --input). Without --config, the rules come from --rules
and --pack (default: the qliksense pack) and files are read with --parser.

A LOGFILE may be a glob pattern (quote it): its files are replayed sorted by name,
so Qlik's archived logs (..._System_Scheduler_<UTC time>Z.log) replay in the
order they were written. Alert state carries over from one file to the next and
is thrown away at the end: a running agent's state is never touched.

The summary columns are: matches (records the rule matched), fired (alerts it
raised, after dedup and rate limit), resolved (alerts it resolved), duplicates
(matches dropped as the same outcome), suppressed (held back by the rate
limit), unmatched (resolutions with nothing open) and open (its alerts still
firing at the end). Exit status: 0 when the replay ran, 2 for a problem with
the flags, config or rules, 1 when a file cannot be read.`,
		Example: `  # What would last week's archived scheduler logs have raised with my config?
  herald rules test --config 'C:\ProgramData\Herald\herald.toml' '\\qlikshare\ArchivedLogs\QS-NODE1\Scheduler\*_System_Scheduler_*Z.log'

  # The quickstart sample, events only (the summary goes to stderr)
  herald rules test --config examples/quickstart/herald.toml examples/quickstart/QS-NODE1_System_Scheduler.txt 2>/dev/null

  # Own rules beside the pack, without a config
  herald rules test --rules 'rules/*.toml' --pack qliksense QS-NODE1_System_Scheduler.txt

  # A JSON log with the fields the rules read
  herald rules test --rules app.toml --parser json --parser-option 'fields=["task_id"]' app.log`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return rulesTest(cmd, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "take inputs, parsers, rules, sinks and host from this config")
	fl.StringArrayVar(&f.packs, "pack", nil, "embedded rule pack (repeatable; default qliksense when neither --rules nor --pack is given)")
	fl.StringArrayVar(&f.rules, "rules", nil, "rule files, a glob pattern (repeatable)")
	fl.StringVar(&f.parser, "parser", "qlik", "parser of the log files: qlik, json, logfmt, regex or line")
	fl.StringArrayVar(&f.parserOptions, "parser-option", nil, "parser option key=value (repeatable); a value that looks like TOML (an array, a quoted string, true, false, an integer) is read as TOML, anything else is a string")
	fl.StringVar(&f.input, "input", "", "input name the files are read as (with --config: one of its file inputs; default \""+replay.DefaultInput+"\")")
	fl.StringVar(&f.host, "host", "", "host name in events (default: the config's, or this machine's)")
	fl.StringVar(&f.scriptLogDir, "script-log-dir", "", "Qlik script log directory for scriptLogTail/scriptLogErrors (default: the config's, or none)")
	return cmd
}

func rulesTest(cmd *cobra.Command, f *rulesTestFlags, args []string) error {
	spec, err := rulesTestSpec(cmd, f)
	if err != nil {
		return err
	}
	engine, err := replay.New(spec)
	if err != nil {
		where := f.config
		if where == "" {
			where = "rules"
		}
		return usageError(listProblems(where, err))
	}
	if f.input != "" && !slices.Contains(engine.Inputs(), f.input) {
		return usageError(fmt.Errorf("--input %s: no such file input (have: %s)", f.input, strings.Join(engine.Inputs(), ", ")))
	}
	paths, err := replay.Expand(args)
	if err != nil {
		return usageError(err)
	}
	files := make([]replay.File, len(paths))
	var total int64
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		total += fi.Size()
		files[i] = replay.File{Path: p, Input: f.input}
		if f.input == "" {
			if files[i].Input, err = engine.InputFor(p); err != nil {
				return usageError(err)
			}
		}
	}

	stdout := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	opts := replay.Options{Emit: func(ev replay.Event) error { return enc.Encode(ev) }}
	stderr := cmd.ErrOrStderr()
	var bar *progressbar.ProgressBar
	if fh, ok := stderr.(*os.File); ok && total >= progressMinBytes && term.IsTerminal(int(fh.Fd())) {
		bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("replaying"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		opts.Progress = bar
	}

	start := time.Now()
	sum, runErr := engine.Run(cmd.Context(), files, opts)
	if bar != nil {
		_ = bar.Finish()
	}
	if err := stdout.Flush(); err != nil && runErr == nil {
		runErr = fmt.Errorf("writing events: %w", err)
	}
	if err := sum.Write(stderr); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "replayed in %s\n", time.Since(start).Round(time.Millisecond))
	return runErr
}

// rulesTestSpec builds the replay's setup from the config or from the flags.
func rulesTestSpec(cmd *cobra.Command, f *rulesTestFlags) (replay.Spec, error) {
	if f.config != "" {
		for _, name := range []string{"pack", "rules", "parser", "parser-option"} {
			if cmd.Flags().Changed(name) {
				return replay.Spec{}, usageError(fmt.Errorf("--%s cannot be used with --config: the config says which %s to use", name, strings.TrimPrefix(name, "parser-")))
			}
		}
		cfg, _, err := loadConfig(f.config, stateOnly, nil)
		if err == nil {
			// The replay reads the inputs and rules, never a sink.
			err = cfg.Require("agent", "input", "rules")
		}
		if err != nil {
			if ce := (*config.Error)(nil); errors.As(err, &ce) {
				err = listProblems(f.config, err)
			}
			return replay.Spec{}, usageError(err)
		}
		spec := replay.FromConfig(cfg)
		if f.host != "" {
			spec.Host = f.host
		}
		if f.scriptLogDir != "" {
			spec.ScriptLogDir = f.scriptLogDir
		}
		spec.Logger = newLogger(cmd.ErrOrStderr(), "warn", cfg.Agent.LogFormat)
		return spec, nil
	}

	opts, err := parseParserOptions(f.parserOptions)
	if err != nil {
		return replay.Spec{}, usageError(err)
	}
	host := f.host
	if host == "" {
		if host, err = os.Hostname(); err != nil {
			return replay.Spec{}, usageError(fmt.Errorf("the machine's host name is unknown (%v): give --host", err))
		}
	}
	name := f.input
	if name == "" {
		name = replay.DefaultInput
	}
	packs := f.packs
	if len(packs) == 0 && len(f.rules) == 0 {
		packs = []string{"qliksense"}
	}
	wd, err := os.Getwd()
	if err != nil {
		return replay.Spec{}, err
	}
	return replay.Spec{
		Inputs:       []replay.InputSpec{{Name: name, Parser: f.parser, ParserOptions: opts}},
		RuleFiles:    f.rules,
		BaseDir:      wd,
		Packs:        packs,
		Host:         host,
		ScriptLogDir: f.scriptLogDir,
		Logger:       newLogger(cmd.ErrOrStderr(), "warn", "text"),
	}, nil
}

// parseParserOptions turns key=value flags into a parser_options table. A
// value that looks like a TOML array, table or quoted string, true, false or
// an integer is read as TOML; anything else is the string it is, so patterns
// and time layouts (2006-01-02 15:04:05 is a TOML date!) need no quoting.
func parseParserOptions(kvs []string) (map[string]any, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	opts := map[string]any{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--parser-option %q: want key=value", kv)
		}
		opts[k] = v
		if !looksTOML(strings.TrimSpace(v)) {
			continue
		}
		var doc struct{ V any }
		if _, err := toml.Decode("V = "+v, &doc); err != nil {
			return nil, fmt.Errorf("--parser-option %s: %w", k, err)
		}
		opts[k] = doc.V
	}
	return opts, nil
}

func looksTOML(v string) bool {
	if v == "true" || v == "false" {
		return true
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return true
	}
	return v != "" && strings.ContainsRune(`["{'`, rune(v[0]))
}
