package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/heraldhq/herald/agent"
)

const (
	serviceDisplayName = "Herald alerting agent"
	serviceDescription = "Tails Qlik Sense logs, matches alert rules and delivers alerts through sinks (SIGNL4, webhook, Rocket.Chat)."
	// serviceStopTimeout bounds how long the agent may take to stop when the
	// service manager asks; Windows gives a service about 20 seconds.
	serviceStopTimeout = 15 * time.Second
	// serviceLogName is the log file of the agent run as a Windows service,
	// in [agent] data_dir; serviceLogMaxBytes is where it is rotated.
	serviceLogName     = "herald.log"
	serviceLogMaxBytes = 10 << 20
)

var serviceActions = []string{"install", "uninstall", "start", "stop", "status"}

func newServiceCmd() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:       "service install|uninstall|start|stop|status",
		Short:     "Install, remove, start, stop or query Herald as a system service",
		ValidArgs: serviceActions,
		Long: `Service manages Herald as a Windows service or a systemd unit, named
` + "`" + serviceName + "`" + `.

  install    registers "herald run --config <absolute path of --config>", started
             automatically at boot and restarted when it fails; the config is
             checked first (as herald check does, without starting plugins)
  uninstall  removes the service (stop it first)
  start      starts the installed service
  stop       stops it; the agent finishes what it is doing and saves its state
  status     prints running, stopped or not installed

Managing services needs an elevated (Administrator) prompt on Windows and root
elsewhere. Run as a Windows service, Herald logs to herald.log in [agent] data_dir
(rotated at 10 MiB to herald.log.1) and writes start, stop and failure notes to
the Windows event log (source "Herald"). Under systemd it logs to the journal:
journalctl -u herald.`,
		Example: `  herald service install --config 'C:\ProgramData\Herald\herald.toml'
  herald service start
  herald service status
  herald service stop
  herald service uninstall`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			action := args[0]
			if !slices.Contains(serviceActions, action) {
				return usageError(fmt.Errorf("unknown action %q: want one of %s", action, strings.Join(serviceActions, ", ")))
			}
			return serviceControl(cmd, action, cfgPath)
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "config file the service runs with (install only)")
	return cmd
}

// serviceControl carries out one action on the installed service.
func serviceControl(cmd *cobra.Command, action, cfgPath string) error {
	out := cmd.OutOrStdout()
	conf := &service.Config{Name: serviceName, DisplayName: serviceDisplayName, Description: serviceDescription}
	var dataDir, cfgDir string
	if action == "install" {
		if cfgPath == "" {
			return usageError(errors.New("install needs --config: the config file the service runs with"))
		}
		abs, err := filepath.Abs(cfgPath)
		if err != nil {
			return usageError(fmt.Errorf("config %s: %w", cfgPath, err))
		}
		// A service that cannot start is found out at boot: refuse a
		// config herald check rejects, with the same problems listed.
		cfg, ps, _ := checkConfig(cmd.Context(), abs)
		if errs, _ := ps.count(); errs > 0 {
			return usageError(ps)
		}
		src, err := findSecretSources(abs)
		if err != nil {
			return usageError(err)
		}
		dataDir, cfgDir = cfg.Agent.DataDir, filepath.Dir(abs)
		conf.Arguments = serviceArguments(abs, src.envFile)
		conf.Option = serviceOptions(cfg, conf.Arguments)
	} else if cfgPath != "" {
		return usageError(fmt.Errorf("--config is for install only; %s acts on the installed service", action))
	}
	if err := checkServiceSystem(); err != nil {
		return err
	}
	if dataDir != "" {
		// The unit makes data_dir the one writable path, which must exist.
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return fmt.Errorf("data_dir: %w", err)
		}
	}
	s, err := service.New(&agentProgram{}, conf)
	if err != nil {
		return fmt.Errorf("service %s: %w", serviceName, err)
	}

	if action == "status" {
		st, err := s.Status()
		switch {
		case errors.Is(err, service.ErrNotInstalled):
			fmt.Fprintln(out, "not installed")
		case err != nil:
			return fmt.Errorf("service %s (%s): status: %w", serviceName, s.Platform(), err)
		case st == service.StatusRunning:
			fmt.Fprintln(out, "running")
		case st == service.StatusStopped:
			fmt.Fprintln(out, "stopped")
		default:
			fmt.Fprintln(out, "unknown")
		}
		return nil
	}

	var actErr error
	switch action {
	case "install":
		actErr = s.Install()
	case "uninstall":
		actErr = s.Uninstall()
	case "start":
		actErr = s.Start()
	case "stop":
		actErr = s.Stop()
	}
	if actErr != nil {
		hint := ""
		if errors.Is(actErr, fs.ErrPermission) {
			hint = " (managing services needs an elevated prompt on Windows, root elsewhere)"
		}
		return fmt.Errorf("service %s (%s): %s: %w%s", serviceName, s.Platform(), action, actErr, hint)
	}
	switch action {
	case "install":
		// The service exists from here on: a setting that cannot be
		// applied is a warning, not a failed install.
		for _, w := range append(configureService(), protectFolders(dataDir, cfgDir)...) {
			fmt.Fprintf(cmd.ErrOrStderr(), "herald: warning: service %s: %s\n", serviceName, w)
		}
		fmt.Fprintf(out, "installed service %s: %s %s\nstart it with: herald service start\n",
			serviceName, executable(), strings.Join(conf.Arguments, " "))
	default:
		fmt.Fprintf(out, "service %s: %s done\n", serviceName, action)
	}
	return nil
}

// serviceArguments is the installed service's herald run command line: the
// config, and the env file in use when there is one, both absolute (a
// service starts in another directory). The env file's location is written,
// never the secrets in it.
func serviceArguments(cfgPath, envFile string) []string {
	args := []string{"run", "--config", cfgPath}
	if envFile != "" {
		args = append(args, "--env-file", envFile)
	}
	return append(args, serviceRunArgs...)
}

func executable() string {
	exe, err := os.Executable()
	if err != nil {
		return "herald"
	}
	return exe
}

// agentRunner is what the service runs: an *agent.Agent.
type agentRunner interface {
	Run(ctx context.Context, ro agent.RunOptions) error
}

// eventLogger is the part of kardianos's service.Logger the agent program
// writes its start, stop and failure notes to.
type eventLogger interface {
	Error(v ...any) error
	Info(v ...any) error
}

// agentProgram runs the agent under a service manager, as its
// service.Interface: Start loads the config and runs the agent in a goroutine,
// Stop cancels it and waits for it to finish.
type agentProgram struct {
	cfgPath string
	// openLog returns where the agent logs, given the config's data_dir.
	openLog func(dataDir string) (io.WriteCloser, error)
	// load builds the agent, logging to logOut. Default loadAgent.
	load func(cfgPath string, logOut io.Writer) (agentRunner, error)
	// events receives start, stop and failure notes (the Windows event log).
	events eventLogger
	// stopTimeout bounds Stop. Default serviceStopTimeout.
	stopTimeout time.Duration
	// exit ends the process when the agent stops without being asked to, so
	// that the service manager sees a failure and restarts it. Default os.Exit.
	exit func(code int)

	cancel   context.CancelFunc
	done     chan struct{}
	err      error // of agent.Run, set before done is closed
	stopping atomic.Bool
	logOut   io.WriteCloser
}

func (p *agentProgram) note(err error, format string, args ...any) {
	if p.events == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if err != nil {
		_ = p.events.Error(msg + ": " + err.Error())
		return
	}
	_ = p.events.Info(msg)
}

// Start loads the config and the agent and starts it. Loading takes
// milliseconds; what takes longer (starting sink plugins, catching up on the
// logs) happens in agent.Run, after Start has returned to the service manager.
func (p *agentProgram) Start(service.Service) error {
	if err := p.start(); err != nil {
		p.note(err, "Herald did not start (config %s)", p.cfgPath)
		return err
	}
	return nil
}

func (p *agentProgram) start() error {
	if p.load == nil {
		p.load = func(path string, w io.Writer) (agentRunner, error) {
			a, _, _, err := loadAgentWith(path, w, w, false)
			return a, err
		}
	}
	if p.stopTimeout == 0 {
		p.stopTimeout = serviceStopTimeout
	}
	if p.exit == nil {
		p.exit = os.Exit
	}
	// The config is read once first only to find data_dir, where the log goes.
	cfg, _, err := loadConfig(p.cfgPath, stateOnly, nil)
	if err != nil {
		return err
	}
	logOut, err := p.openLog(cfg.Agent.DataDir)
	if err != nil {
		return err
	}
	a, err := p.load(p.cfgPath, logOut)
	if err != nil {
		fmt.Fprintf(logOut, "herald did not start: %v\n", err)
		logOut.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done, p.logOut = cancel, make(chan struct{}), logOut
	go func() {
		defer close(p.done)
		p.err = a.Run(ctx, agent.RunOptions{Load: func() (*agent.Agent, error) {
			// A change to the config or rule files reloads the service too.
			a, _, _, err := loadAgentWith(p.cfgPath, logOut, logOut, false)
			return a, err
		}})
		if p.stopping.Load() {
			return
		}
		// The agent ended on its own: a sink that cannot start, a state file
		// that cannot be opened. Exit with a failure so that the service
		// manager's recovery (restart after a minute) applies.
		p.note(p.err, "Herald stopped unexpectedly")
		p.logOut.Close()
		p.exit(1)
	}()
	p.note(nil, "Herald started with config %s", p.cfgPath)
	return nil
}

// Stop cancels the agent and waits, at most stopTimeout, for it to finish.
func (p *agentProgram) Stop(service.Service) error {
	if p.cancel == nil {
		return nil
	}
	p.stopping.Store(true)
	p.cancel()
	timer := time.NewTimer(p.stopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		err := fmt.Errorf("the agent did not stop within %s", p.stopTimeout)
		p.note(err, "Herald stopped uncleanly")
		return err
	}
	defer p.logOut.Close()
	if p.err != nil && !errors.Is(p.err, context.Canceled) {
		p.note(p.err, "Herald stopped with an error")
		return p.err
	}
	p.note(nil, "Herald stopped")
	return nil
}

// rotatingFile is an append-only log file that is moved aside to path.1 when
// it reaches maxBytes, so a service that runs for months keeps at most about
// twice that on disk.
type rotatingFile struct {
	path     string
	maxBytes int64
	mu       sync.Mutex
	limit    int64 // size past which the next write rotates
	f        *os.File
	size     int64
}

func openRotatingFile(path string, maxBytes int64) (*rotatingFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	r := &rotatingFile{path: path, maxBytes: maxBytes, limit: maxBytes}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log file: %w", err)
	}
	r.f, r.size = f, fi.Size()
	return nil
}

// Write appends p, first rotating the file if p would take it past maxBytes.
// A log line is one Write, so lines are never split across files.
func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	if r.size > 0 && r.size+int64(len(p)) > r.limit {
		r.f.Close()
		renameErr := os.Rename(r.path, r.path+".1")
		if err := r.open(); err != nil {
			r.f = nil
			return 0, err
		}
		// Should the rotation fail (a reader holding the file open on
		// Windows), keep appending and try again one size later rather than
		// lose lines.
		r.limit = r.maxBytes
		if renameErr != nil {
			r.limit = r.size + r.maxBytes
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// Close closes the file; later writes fail.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// systemdUnit renders Herald's systemd unit: exe run with args, restarted on
// failure, with the file system read-only except for dataDir. Secrets come
// from the env file args name (--env-file), which herald reads itself: the
// unit has no EnvironmentFile=, whose quoting rules differ from herald.env's.
func systemdUnit(exe string, args []string, dataDir string) string {
	cmdline := systemdWord(exe, true)
	for _, a := range args {
		cmdline += " " + systemdWord(a, true)
	}
	return `# Herald alerting agent. Written by "herald service install"; the same unit is
# examples/service/herald.service in Herald's source.
[Unit]
Description=` + serviceDisplayName + `
Documentation=https://github.com/heraldhq/herald
Wants=network-online.target
After=network-online.target
ConditionFileIsExecutable=` + systemdWord(exe, false) + `

[Service]
Type=simple
ExecStart=` + cmdline + `
Restart=on-failure
RestartSec=30s
# Herald saves its state and stops within seconds of SIGTERM.
TimeoutStopSec=30s
# Secrets the config reads as ${VAR} are in the --env-file (NAME=value lines,
# chmod 600), which herald reads itself; the unit holds none.
# Logs go to the journal: journalctl -u herald
# To run as a dedicated user, set User= and give it read access to the logs
# and ownership of the data directory.

# Hardening: the file system is read-only except for the data directory
# ([agent] data_dir, which must exist) and a private /tmp, where plugin
# processes open their sockets.
ReadWritePaths=` + systemdWord(dataDir, false) + `
# Root, but only able to read any file (the logs), not to bypass other checks.
CapabilityBoundingSet=CAP_DAC_READ_SEARCH
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
NoNewPrivileges=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
ProtectProc=invisible
UMask=0027

[Install]
WantedBy=multi-user.target
`
}

// systemdWord makes s one word of a unit file setting: specifiers (%) are
// escaped, and variables ($) too in a command line (exec), and a word with
// blanks, quotes or backslashes is double-quoted with C escapes.
func systemdWord(s string, exec bool) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if exec {
		s = strings.ReplaceAll(s, "$", "$$")
	}
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
