package config

import (
	"path/filepath"
	"strings"
	"time"
)

// Defaults of keys that are not platform-specific.
const (
	DefaultLogLevel   = "info"
	DefaultLogFormat  = "text"
	DefaultInputType  = "file"
	DefaultParser     = "qlik"
	DefaultStartAt    = "end"
	DefaultBatchSize  = 100
	DefaultMaxPending = 100000

	// Self-watch defaults: a condition shows on /healthz at once, and becomes
	// an alert once it has lasted this long.
	DefaultSelfSeverity         = "critical"
	DefaultCheckInterval        = 10 * time.Second
	DefaultInputBlindAfter      = 3 * time.Minute
	DefaultFileUnreadableAfter  = 3 * time.Minute
	DefaultStateFailingAfter    = time.Minute
	DefaultTraceLevelWindow     = 2 * time.Hour
	DefaultSinkPendingAfter     = 5 * time.Minute
	DefaultDeadLettersFor       = time.Hour
	DefaultPluginRestarts       = 3
	DefaultPluginRestartsWindow = 10 * time.Minute
)

// applyDefaults fills in every key the file left out.
func (d *decoder) applyDefaults(c *Config, hostname func() (string, error)) {
	dataDir, scriptLogDir := platformDefaults(d.refs.env)
	a := &c.Agent
	if a.DataDir == "" {
		a.DataDir = dataDir
	}
	if a.ScriptLogDir == "" && len(a.ScriptLogDirs) == 0 {
		a.ScriptLogDir = scriptLogDir
	}
	if a.Host == "" {
		h, err := hostname()
		switch {
		case err != nil:
			d.addUnlessBad(keyPath{"agent", "host"}, "not set, and the machine's host name is unknown: %v", err)
		case h == "":
			d.addUnlessBad(keyPath{"agent", "host"}, "not set, and the machine's host name is empty")
		}
		a.Host = h
	}
	if a.LogLevel == "" {
		a.LogLevel = DefaultLogLevel
	}
	if a.LogFormat == "" {
		a.LogFormat = DefaultLogFormat
	}

	for i := range c.Inputs {
		in := &c.Inputs[i]
		if in.Type == "" {
			in.Type = DefaultInputType
		}
		if in.Type != "file" {
			continue
		}
		if in.Parser == "" {
			in.Parser = DefaultParser
		}
		if in.StartAt == "" {
			in.StartAt = DefaultStartAt
		}
	}
	sw := &c.SelfWatch
	if !d.present[keyPath{"self_watch", "alerts"}.String()] {
		sw.Alerts = true
	}
	if sw.Severity == "" {
		sw.Severity = DefaultSelfSeverity
	}
	// A key set to "0s" means no grace period: only absent keys default.
	for _, dd := range []struct {
		key string
		v   *Duration
		def time.Duration
	}{
		{"check_interval", &sw.CheckInterval, DefaultCheckInterval},
		{"input_blind_after", &sw.InputBlindAfter, DefaultInputBlindAfter},
		{"file_unreadable_after", &sw.FileUnreadableAfter, DefaultFileUnreadableAfter},
		{"state_failing_after", &sw.StateFailingAfter, DefaultStateFailingAfter},
		{"trace_level_window", &sw.TraceLevelWindow, DefaultTraceLevelWindow},
		{"sink_pending_after", &sw.SinkPendingAfter, DefaultSinkPendingAfter},
		{"dead_letters_for", &sw.DeadLettersFor, DefaultDeadLettersFor},
		{"plugin_restarts_window", &sw.PluginRestartsWindow, DefaultPluginRestartsWindow},
	} {
		if !d.present[keyPath{"self_watch", dd.key}.String()] {
			dd.v.Duration = dd.def
		}
	}
	if !d.present[keyPath{"self_watch", "plugin_restarts"}.String()] {
		sw.PluginRestarts = DefaultPluginRestarts
	}
	for i := range c.Sinks {
		if !d.present[keyPath{"sink"}.index(i).key("batch_size").String()] {
			c.Sinks[i].BatchSize = DefaultBatchSize
		}
		if !d.present[keyPath{"sink"}.index(i).key("max_pending").String()] {
			c.Sinks[i].MaxPending = DefaultMaxPending
		}
	}
	d.heartbeatDefaults(&c.Heartbeat)
}

// resolvePaths makes every relative path and glob absolute, relative to the
// directory of the config file, so no consumer depends on the working
// directory (a Windows service starts in C:\Windows\System32).
func resolvePaths(c *Config) {
	dir := c.Dir()
	abs := func(p string) string { return resolve(dir, p) }
	all := func(ps []string) {
		for i := range ps {
			ps[i] = abs(ps[i])
		}
	}
	c.Agent.DataDir = abs(c.Agent.DataDir)
	c.Agent.ScriptLogDir = abs(c.Agent.ScriptLogDir)
	c.Server.TLSCertFile = abs(c.Server.TLSCertFile)
	c.Server.TLSKeyFile = abs(c.Server.TLSKeyFile)
	all(c.Agent.ScriptLogDirs)
	for i := range c.Inputs {
		all(c.Inputs[i].Paths)
		all(c.Inputs[i].Exclude)
	}
	all(c.Rules.Files)
	for i := range c.Sinks {
		// A plugin is a built-in name or a path; only a path has a separator.
		if p := c.Sinks[i].Plugin; strings.ContainsAny(p, `/\`) {
			c.Sinks[i].Plugin = abs(p)
		}
	}
}

// resolve returns p relative to dir, unless p is empty or absolute.
func resolve(dir, p string) string {
	if p == "" || isAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// isAbs reports whether p is absolute on this system or written in a Windows
// absolute form: C:\x, C:/x, \\server\share, //server/share, or rooted (\x,
// /x). A config written for Windows thus validates and resolves the same on
// Linux, where filepath.IsAbs knows none of these. A drive-relative path (C:x)
// also counts: it cannot be joined to a directory either.
func isAbs(p string) bool {
	// Not filepath.IsAbs: on Windows it takes any character before a colon
	// for a drive (1:\x), and the forms below cover every absolute path.
	if strings.HasPrefix(p, `\`) || strings.HasPrefix(p, "/") {
		return true
	}
	return len(p) >= 2 && p[1] == ':' && (p[0] >= 'A' && p[0] <= 'Z' || p[0] >= 'a' && p[0] <= 'z')
}

// programData returns %ProgramData%, normally C:\ProgramData.
func programData(env func(string) (string, bool)) string {
	if v, ok := env("ProgramData"); ok && v != "" {
		return strings.TrimRight(v, `\/`)
	}
	return `C:\ProgramData`
}

// windowsDataDir is the default agent.data_dir on Windows. Defined for every
// platform so that tests on any OS cover it.
func windowsDataDir(env func(string) (string, bool)) string {
	return programData(env) + `\Herald`
}

// windowsScriptLogDir is where Qlik Sense writes reload script logs.
func windowsScriptLogDir(env func(string) (string, bool)) string {
	return programData(env) + `\Qlik\Sense\Log\Script`
}

// Dir returns the directory of the config file, against which relative paths
// were resolved.
func (c *Config) Dir() string { return filepath.Dir(c.Path) }
