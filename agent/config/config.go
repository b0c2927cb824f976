// Package config loads herald.toml: strict decoding (an unknown key is an error
// naming it), ${VAR} expansion from the environment, defaults, and validation
// with messages that name the file, the key and the line where known.
package config

import (
	"errors"
	"slices"
	"time"
)

// Config is a whole herald.toml.
type Config struct {
	// Path is the file the config was loaded from; rule globs and relative paths
	// are resolved against its directory.
	Path string `toml:"-"`
	// Unresolved are the values whose secret could not be found, when the
	// config was loaded with Options.Partial: one *Error per value, naming
	// its key and what was missing. See Require.
	Unresolved []*Error `toml:"-"`

	Agent  Agent   `toml:"agent"`
	Inputs []Input `toml:"input"`
	Sinks  []Sink  `toml:"sink"`
	Rules  Rules   `toml:"rules"`
	Server Server  `toml:"server"`
	// SelfWatch says when Herald alerts about its own blindness.
	SelfWatch SelfWatch `toml:"self_watch"`

	Heartbeat Heartbeat `toml:"heartbeat"`

	// Maintenance are recurring maintenance windows (maintenance.go).
	Maintenance []Maintenance `toml:"maintenance"`
}

// Agent holds agent-wide settings.
type Agent struct {
	// DataDir holds the bbolt state. Default: %ProgramData%\Herald on Windows,
	// /var/lib/herald elsewhere; relative paths are relative to the config file.
	DataDir string `toml:"data_dir"`
	// Host names this node in events. Default: the machine's host name.
	Host string `toml:"host"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `toml:"log_level"`
	// LogFormat is text or json. Default text.
	LogFormat string `toml:"log_format"`
	// ScriptLogDir is where Qlik writes reload script logs (for alert context).
	ScriptLogDir string `toml:"script_log_dir"`
	// ScriptLogDirs are more script log directories, such as the other
	// scheduler nodes' over UNC paths. Searched with ScriptLogDir (see
	// ScriptLogDirList).
	ScriptLogDirs []string `toml:"script_log_dirs"`
}

// ScriptLogDirList returns script_log_dir and script_log_dirs together,
// without empty and repeated entries.
func (a Agent) ScriptLogDirList() []string {
	var out []string
	for _, d := range append([]string{a.ScriptLogDir}, a.ScriptLogDirs...) {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// Input is one [[input]].
type Input struct {
	Name string `toml:"name"`
	// Type is "file" (tail files) or "http" (receive callbacks).
	Type string `toml:"type"`
	// Paths are glob patterns of files to tail (type file).
	Paths []string `toml:"paths"`
	// Exclude are glob patterns of matching files to skip (type file).
	Exclude []string `toml:"exclude"`
	// Parser names the parser: qlik, json, logfmt, regex or line.
	Parser string `toml:"parser"`
	// ParserOptions are handed to the parser, which rejects unknown keys.
	ParserOptions map[string]any `toml:"parser_options"`
	// StartAt is where a file with no saved position starts: "end" or "beginning".
	StartAt string `toml:"start_at"`
	// PollInterval is how often paths are re-globbed for new files. Zero (not
	// set) lets the tailer choose: 10s where file notifications watch every
	// pattern's folder, 1s otherwise (agent/tail).
	PollInterval Duration `toml:"poll_interval"`
	// MaxSilence raises a self-alert when the input has produced no new line
	// for this long (type file). Zero (not set) turns the check off.
	MaxSilence Duration `toml:"max_silence"`

	// Path is the URL path served on [server].listen (type http).
	Path string `toml:"path"`
	// Format of the request body (type http): signl4, rocketchat or json.
	Format string `toml:"format"`
	// Token a request must carry (type http).
	Token string `toml:"token"`
}

// Sink is one [[sink]].
type Sink struct {
	Name string `toml:"name"`
	// Plugin is a built-in sink name (console, webhook, signl4, rocketchat, alertmanager) or a
	// path to a plugin executable.
	Plugin string `toml:"plugin"`
	// Config is handed to the plugin as JSON; the plugin validates it.
	Config map[string]any `toml:"config"`
	// BatchSize caps the events sent in one call. Default 100.
	BatchSize int `toml:"batch_size"`
	// MaxPending caps the events waiting in the sink's outbox. When it is
	// reached, tailing pauses until the sink catches up: nothing is dropped.
	// Default 100000.
	MaxPending int `toml:"max_pending"`
	// ResolveUnknown sends the sink resolutions of keys with no open alert on
	// this node (raised by another node's agent before a failover). Nil: the
	// plugin kind's default (true for signl4 and alertmanager, which close by
	// key idempotently; false otherwise).
	ResolveUnknown *bool `toml:"resolve_unknown"`
	// ResendInterval, when set, makes the agent queue a fresh copy of the
	// firing event of every open alert routed to the sink this often, for
	// destinations that forget an alert not repeated (Alertmanager's
	// resolve_timeout). Zero (not set): off.
	ResendInterval Duration `toml:"resend_interval"`
}

// Rules says where rules come from.
type Rules struct {
	// Files are glob patterns of rule files, relative to the config file.
	Files []string `toml:"files"`
	// Packs name embedded rule packs, such as "qliksense".
	Packs []string `toml:"packs"`
}

// Server configures the HTTP listener for metrics, health and inbound hooks.
type Server struct {
	// Listen is host:port; empty disables the server.
	Listen string `toml:"listen"`
	// TLSCertFile and TLSKeyFile (both or neither) make the server speak
	// HTTPS with that PEM certificate (chain) and key, reloaded when the
	// files change. Relative to the config file.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// AlertsToken, if set, must be presented to read /alerts (Authorization:
	// Bearer, or ?token=). /metrics and /healthz stay open.
	AlertsToken string `toml:"alerts_token"`
	// AdminToken, or AdminUser with AdminPassword, unlock the actions of the
	// status page at / (resolve by hand, dead letters, silences); without
	// them the page is read-only.
	AdminToken    string `toml:"admin_token"`
	AdminUser     string `toml:"admin_user"`
	AdminPassword string `toml:"admin_password"`
}

// SelfWatch configures the conditions under which Herald cannot see or
// deliver, which it reports on /healthz and in metrics at once, and raises as
// alerts of its own once they last (see agent/selfwatch). Zero values take
// the defaults in defaults.go.
type SelfWatch struct {
	// Alerts turns self-alerts on or off. Default true. Off, the conditions
	// still show on /healthz, in metrics and in the log.
	Alerts bool `toml:"alerts"`
	// Sinks are the sinks self-alerts go to (names or kind:<plugin>). Default:
	// every sink. An alert about a sink never goes to that sink.
	Sinks []string `toml:"sinks"`
	// Severity of self-alerts. Default "critical".
	Severity string `toml:"severity"`
	// CheckInterval is how often conditions that depend on time are checked.
	CheckInterval Duration `toml:"check_interval"`
	// Each *After is how long a condition lasts before it is raised as an alert.
	InputBlindAfter     Duration `toml:"input_blind_after"`
	FileUnreadableAfter Duration `toml:"file_unreadable_after"`
	StateFailingAfter   Duration `toml:"state_failing_after"`
	// TraceLevelWindow is how long a qlik input's rows may show no INFO level
	// before Herald says the Scheduler trace level was lowered.
	TraceLevelWindow Duration `toml:"trace_level_window"`
	// SinkPendingAfter is how old a sink's oldest undelivered event may grow.
	SinkPendingAfter Duration `toml:"sink_pending_after"`
	// DeadLettersFor is how long a sink's dead-letter condition lasts after
	// its last event was rejected for good.
	DeadLettersFor Duration `toml:"dead_letters_for"`
	// PluginRestarts within PluginRestartsWindow make a crashing plugin.
	PluginRestarts       int      `toml:"plugin_restarts"`
	PluginRestartsWindow Duration `toml:"plugin_restarts_window"`
}

// Duration is a time.Duration written as a string such as "500ms" or "2s".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Require returns an error for each unresolved value (see Unresolved) at one
// of keys or inside it ("server" covers server.alerts_token), or nil: a
// command that only reads state asks for the secrets it is about to use.
func (c *Config) Require(keys ...string) error {
	var errs []error
	for _, u := range c.Unresolved {
		if slices.ContainsFunc(keys, func(k string) bool { return u.Key == k || within(u.Key, k) }) {
			errs = append(errs, u)
		}
	}
	return errors.Join(errs...)
}
