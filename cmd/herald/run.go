package main

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
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
		return nil, nil, nil, usageError(placeProblems(path, cfg, err))
	}
	// A warning does not stop the agent; it is logged on every (re)load.
	for _, p := range placeProblems(path, cfg, errors.Join(a.Warnings()...)) {
		log.Warn("config problem", "problem", p.String())
	}
	return a, cfg, log, nil
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
	return slog.New(slog.NewTextHandler(bareBackslashes{w}, opts))
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
			a, cfg, log, err := loadAgent(cfgPath, os.Stderr)
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
			err = a.Run(cmd.Context(), agent.RunOptions{
				Once:   once,
				Reload: reloadSignal(cmd.Context()),
				Load: func() (*agent.Agent, error) {
					a, _, _, err := loadAgent(cfgPath, os.Stderr)
					return a, err
				},
			})
			if once && err == nil {
				log.Info("read the inputs to their end; the next run starts where this one stopped",
					"state", agent.StatePath(cfg.Agent.DataDir), "replay", replayCommand(cfgPath, cfg))
			}
			return err
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

// replayCommand is the command that reads the config's log files through
// its rules again without touching the state (herald rules test), for the
// line --once ends with.
func replayCommand(cfgPath string, cfg *config.Config) string {
	var files []config.Input
	for _, in := range cfg.Inputs {
		if in.Type == "file" {
			files = append(files, in)
		}
	}
	var cmds []string
	for _, in := range files {
		c := "herald rules test --config " + shellQuote(cfgPath)
		if len(files) > 1 {
			c += " --input " + shellQuote(in.Name)
		}
		for _, p := range in.Paths {
			c += " " + shellQuote(p)
		}
		cmds = append(cmds, c)
	}
	return strings.Join(cmds, "; ")
}

// shellQuote quotes s for a POSIX shell and PowerShell alike when it holds
// anything a shell would act on.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"$*?[]{}()&;|<>`~#!") {
		return s
	}
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	return strconv.Quote(s)
}
