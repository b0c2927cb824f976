package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/config"
	"github.com/spf13/cobra"
)

// loadAgent reads the config and builds the agent; every failure is a config
// problem (exit status 2).
func loadAgent(path string, logOut io.Writer) (*agent.Agent, *config.Config, *slog.Logger, error) {
	return loadAgentWith(path, logOut, os.Stdout, false)
}

// loadAgentQuiet is loadAgent; with quiet the log shows only warnings and
// errors unless the config asks for debug, so that `herald check` prints its
// verdict rather than the plugins' start-up chatter.
func loadAgentQuiet(path string, logOut io.Writer, quiet bool) (*agent.Agent, *config.Config, *slog.Logger, error) {
	return loadAgentWith(path, logOut, os.Stdout, quiet)
}

// loadAgentWith is loadAgentQuiet with the writer that receives what plugins
// print (the console sink): a Windows service has no standard output.
func loadAgentWith(path string, logOut, stdout io.Writer, quiet bool) (*agent.Agent, *config.Config, *slog.Logger, error) {
	cfg, _, err := loadConfig(path, allSecrets, logOut)
	if err != nil {
		if ce := (*config.Error)(nil); errors.As(err, &ce) {
			err = listProblems(path, err)
		}
		return nil, nil, nil, usageError(err)
	}
	level := cfg.Agent.LogLevel
	if quiet && !strings.EqualFold(level, "debug") && !strings.EqualFold(level, "error") {
		level = "warn"
	}
	log := newLogger(logOut, level, cfg.Agent.LogFormat)
	v, c, _ := buildInfo()
	a, err := agent.Load(cfg, agent.Options{Logger: log, Version: v, Commit: c, Stdout: stdout})
	if err != nil {
		return nil, nil, nil, usageError(listProblems(path, err))
	}
	return a, cfg, log, nil
}

// checkConfig is herald check without the report: it loads the config and
// the agent, checks the input paths and has each sink validate its config.
// Every problem found is returned (a usage error). herald service install
// runs it too, so that it never installs a config check rejects.
func checkConfig(ctx context.Context, cfgPath string) (*config.Config, agent.Summary, error) {
	a, cfg, _, err := loadAgentQuiet(cfgPath, os.Stderr, true)
	if err != nil {
		return nil, agent.Summary{}, err
	}
	pathErr := pathProblems(cfgPath, cfg)
	sum, err := a.Check(ctx)
	if err := errors.Join(pathErr, err); err != nil {
		return nil, sum, usageError(listProblems(cfgPath, err))
	}
	return cfg, sum, nil
}

// newLogger builds the agent's structured logger.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func newRunCmd() *cobra.Command {
	var cfgPath, cpuProfile string
	var once, asService bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent: tail the inputs and deliver alerts",
		Example: `  herald run --config 'C:\ProgramData\Herald\herald.toml'
  herald run --config examples/quickstart/herald.toml --once`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Started by the Windows service manager: run as its service (service.go).
			if ran, err := runAsService(cfgPath, once, asService); ran {
				return err
			}
			a, _, _, err := loadAgent(cfgPath, os.Stderr)
			if err != nil {
				return err
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			return a.Run(cmd.Context(), agent.RunOptions{
				Once:   once,
				Reload: reloadSignal(cmd.Context()),
				Load: func() (*agent.Agent, error) {
					a, _, _, err := loadAgent(cfgPath, os.Stderr)
					return a, err
				},
			})
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "herald.toml", "config file")
	cmd.Flags().BoolVar(&once, "once", false, "read the inputs to their end, deliver, and exit instead of following them")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the agent to this file (for `go tool pprof`)")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	// Put on the Windows service's command line by herald service install.
	cmd.Flags().BoolVar(&asService, "service", false, "run under the Windows service manager (set by herald service install)")
	_ = cmd.Flags().MarkHidden("service")
	return cmd
}

func newCheckCmd() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the config, the rules and each sink's config, then exit",
		Long: `Check loads the config strictly, compiles every rule against the fields of its
inputs, checks that every paths pattern of a file input matches a file it can read
(naming the deepest folder that exists when one does not), and starts each sink
plugin once so it validates its own config. It exits 0 when all is well and 2 with
every problem listed (file, key, rule, line) when not.`,
		Example: `  herald check --config herald.toml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, sum, err := checkConfig(cmd.Context(), cfgPath)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: OK\n", cfgPath)
			fmt.Fprintf(out, "  inputs: %s\n", strings.Join(sum.Inputs, ", "))
			fmt.Fprintf(out, "  sinks:  %s\n", strings.Join(sum.Sinks, ", "))
			fmt.Fprintf(out, "  rules:  %d (%s)\n", len(sum.Rules), strings.Join(sum.Rules, ", "))
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "herald.toml", "config file")
	return cmd
}
