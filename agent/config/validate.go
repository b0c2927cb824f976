package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Allowed values of the enumerated keys.
var (
	logLevels   = []string{"debug", "info", "warn", "error"}
	logFormats  = []string{"text", "json"}
	inputTypes  = []string{"file", "http"}
	startAts    = []string{"end", "beginning"}
	httpFormats = []string{"signl4", "rocketchat", "json"}
	// reservedPaths are served by Herald itself on [server].listen.
	reservedPaths = []string{"/", "/metrics", "/healthz", "/alerts", "/api/silences"}
	// fileOnlyKeys and httpOnlyKeys may only be set on inputs of that type.
	fileOnlyKeys = []string{"paths", "exclude", "start_at", "poll_interval", "max_silence"}
	httpOnlyKeys = []string{"path", "format", "token"}
)

// validate checks a decoded config with its defaults applied. It does not
// check what other packages own: parser names and options, sink plugin
// configs, and whether rules exist.
func (d *decoder) validate(c *Config) {
	d.oneOf(keyPath{"agent", "log_level"}, c.Agent.LogLevel, logLevels)
	d.oneOf(keyPath{"agent", "log_format"}, c.Agent.LogFormat, logFormats)

	if len(c.Inputs) == 0 {
		d.addUnlessBad(keyPath{"input"}, "no [[input]]: at least one is required")
	}
	names := map[string]keyPath{}
	paths := map[string]keyPath{}
	var firstHTTP keyPath
	for i := range c.Inputs {
		in := &c.Inputs[i]
		p := keyPath{"input"}.index(i)
		d.name(p, in.Name, "[[input]]", names)
		if !d.oneOf(p.key("type"), in.Type, inputTypes) {
			continue
		}
		switch in.Type {
		case "file":
			d.onlyFor(p, httpOnlyKeys, "http")
			d.fileInput(p, in)
		case "http":
			d.onlyFor(p, fileOnlyKeys, "file")
			d.httpInput(p, in, paths)
			if firstHTTP == nil {
				firstHTTP = p
			}
		}
	}

	if len(c.Sinks) == 0 {
		d.addUnlessBad(keyPath{"sink"}, "no [[sink]]: at least one is required")
	}
	names = map[string]keyPath{}
	for i := range c.Sinks {
		s := &c.Sinks[i]
		p := keyPath{"sink"}.index(i)
		d.name(p, s.Name, "[[sink]]", names)
		if s.Plugin == "" {
			d.addUnlessBad(p.key("plugin"), "required: a built-in sink (console, webhook, signl4, rocketchat, alertmanager) or the path of a plugin executable")
		}
		if s.BatchSize < 1 {
			d.addUnlessBad(p.key("batch_size"), "must be at least 1, got %d", s.BatchSize)
		}
		if s.MaxPending < 1 {
			d.addUnlessBad(p.key("max_pending"), "must be at least 1, got %d", s.MaxPending)
		}
		if d.present[p.key("resend_interval").String()] && s.ResendInterval.Duration < time.Second {
			d.addUnlessBad(p.key("resend_interval"), "must be at least 1s (for Alertmanager: below its resolve_timeout, such as \"1m\"), got %s", s.ResendInterval.Duration)
		}
	}

	d.selfWatch(c)

	listen := keyPath{"server", "listen"}
	if c.Server.Listen != "" {
		d.hostPort(listen, c.Server.Listen)
	} else if firstHTTP != nil {
		d.addUnlessBad(listen, "required by %s: http inputs are served on this address", d.where(firstHTTP))
	}
	d.heartbeat(&c.Heartbeat)
	d.serverTLS(c)
	d.maintenance(c)
	d.serverAdmin(c)
}

// Minimum lengths of the status page's admin secrets: they unlock actions
// that close alerts and drop events.
const (
	minAdminToken    = 16
	minAdminPassword = 12
)

// serverAdmin checks the status page's admin credential: admin_user and
// admin_password together, secrets long enough, and a listen address.
func (d *decoder) serverAdmin(c *Config) {
	s := c.Server
	p := keyPath{"server"}
	token, user, pass := p.key("admin_token"), p.key("admin_user"), p.key("admin_password")
	switch {
	case s.AdminUser != "" && s.AdminPassword == "":
		d.addUnlessBad(user, "requires %s", pass)
	case s.AdminUser == "" && s.AdminPassword != "":
		d.addUnlessBad(pass, "requires %s", user)
	case s.AdminPassword != "" && len(s.AdminPassword) < minAdminPassword:
		d.addUnlessBad(pass, "is too short: use at least %d characters", minAdminPassword)
	}
	if s.AdminToken != "" && len(s.AdminToken) < minAdminToken {
		d.addUnlessBad(token, "is too short: use at least %d characters (a random string, from ${VAR})", minAdminToken)
	}
	if s.AdminUser != "" && strings.ContainsAny(s.AdminUser, "\x00\r\n") {
		d.addUnlessBad(user, "must not contain control characters")
	}
	if (s.AdminToken != "" || s.AdminUser != "") && s.Listen == "" {
		first := token
		if s.AdminToken == "" {
			first = user
		}
		d.addUnlessBad(first, "has no effect without server.listen")
	}
}

// serverTLS checks tls_cert_file and tls_key_file: both or neither, and a
// pair that loads, so a typo fails at load and not when the agent starts.
func (d *decoder) serverTLS(c *Config) {
	cert, key := keyPath{"server", "tls_cert_file"}, keyPath{"server", "tls_key_file"}
	s := c.Server
	switch {
	case s.TLSCertFile == "" && s.TLSKeyFile == "":
		return
	case s.TLSKeyFile == "":
		d.addUnlessBad(key, "required with %s: the PEM file of the certificate's private key", cert)
		return
	case s.TLSCertFile == "":
		d.addUnlessBad(cert, "required with %s: the PEM file of the certificate (chain)", key)
		return
	}
	if s.Listen == "" {
		d.addUnlessBad(cert, "has no effect without server.listen")
		return
	}
	var pem [2][]byte
	for i, f := range []struct {
		p    keyPath
		name string
	}{{cert, s.TLSCertFile}, {key, s.TLSKeyFile}} {
		var err error
		if pem[i], err = os.ReadFile(resolve(c.Dir(), f.name)); err != nil {
			// The path as written is shown, and the same words on every system.
			if errors.Is(err, fs.ErrNotExist) {
				err = errors.New("no such file")
			} else if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
				err = pe.Err
			}
			d.addUnlessBad(f.p, "cannot read %s: %v", d.show(f.p, f.name), err)
			return
		}
	}
	if _, err := tls.X509KeyPair(pem[0], pem[1]); err != nil {
		d.addUnlessBad(cert, "cannot use the certificate with %s: %v", key, err)
	}
}

func (d *decoder) fileInput(p keyPath, in *Input) {
	if len(in.Paths) == 0 {
		d.addUnlessBad(p.key("paths"), "required for a file input: at least one path or glob")
	}
	for j, path := range in.Paths {
		if strings.TrimSpace(path) == "" {
			d.addUnlessBad(p.key("paths").index(j), "empty path")
		}
	}
	for j, path := range in.Exclude {
		if strings.TrimSpace(path) == "" {
			d.addUnlessBad(p.key("exclude").index(j), "empty pattern")
		}
	}
	d.oneOf(p.key("start_at"), in.StartAt, startAts)
	if d.present[p.key("poll_interval").String()] && in.PollInterval.Duration <= 0 {
		d.addUnlessBad(p.key("poll_interval"), "must be positive, got %s", in.PollInterval.Duration)
	}
	if d.present[p.key("max_silence").String()] && in.MaxSilence.Duration < time.Minute {
		d.addUnlessBad(p.key("max_silence"), "must be at least 1m (a scheduler that writes nothing for that long is normal only at night; try \"2h\"), got %s", in.MaxSilence.Duration)
	}
}

// selfWatch checks [self_watch].
func (d *decoder) selfWatch(c *Config) {
	p := keyPath{"self_watch"}
	sw := &c.SelfWatch
	for _, k := range []struct {
		key string
		v   time.Duration
		min time.Duration
	}{
		{"check_interval", sw.CheckInterval.Duration, time.Second},
		{"input_blind_after", sw.InputBlindAfter.Duration, 0},
		{"file_unreadable_after", sw.FileUnreadableAfter.Duration, 0},
		{"state_failing_after", sw.StateFailingAfter.Duration, 0},
		{"trace_level_window", sw.TraceLevelWindow.Duration, time.Minute},
		{"sink_pending_after", sw.SinkPendingAfter.Duration, time.Second},
		{"dead_letters_for", sw.DeadLettersFor.Duration, time.Second},
		{"plugin_restarts_window", sw.PluginRestartsWindow.Duration, time.Second},
	} {
		if k.v < k.min || (k.min == 0 && k.v < 0) {
			d.addUnlessBad(p.key(k.key), "must be at least %s, got %s", max(k.min, 0), k.v)
		}
	}
	if sw.PluginRestarts < 1 {
		d.addUnlessBad(p.key("plugin_restarts"), "must be at least 1, got %d", sw.PluginRestarts)
	}
	for j, s := range sw.Sinks {
		if strings.HasPrefix(s, "kind:") {
			continue
		}
		if !slices.ContainsFunc(c.Sinks, func(k Sink) bool { return k.Name == s }) {
			d.addUnlessBad(p.key("sinks").index(j), "no [[sink]] named %q", s)
		}
	}
}

func (d *decoder) httpInput(p keyPath, in *Input, seen map[string]keyPath) {
	pp := p.key("path")
	switch {
	case in.Path == "":
		d.addUnlessBad(pp, `required for an http input: the URL path to serve, such as "/hooks/signl4"`)
	case !strings.HasPrefix(in.Path, "/"):
		d.addUnlessBad(pp, `%s must start with "/"`, d.show(pp, in.Path))
	case slices.Contains(reservedPaths, in.Path):
		d.addUnlessBad(pp, "%s is reserved for Herald's own endpoint", d.show(pp, in.Path))
	default:
		if first, dup := seen[in.Path]; dup {
			d.addUnlessBad(pp, "%s is already served by %s", d.show(pp, in.Path), d.where(first))
		} else {
			seen[in.Path] = pp.parent()
		}
	}
	if in.Format == "" {
		d.addUnlessBad(p.key("format"), "required for an http input: one of %s", strings.Join(httpFormats, ", "))
	} else {
		d.oneOf(p.key("format"), in.Format, httpFormats)
	}
	if in.Token == "" {
		d.addUnlessBad(p.key("token"), "required for an http input: the secret a caller must present (use ${VAR} to keep it out of the file)")
	}
}

// name checks the name of the table at p: present, well-formed, unique among
// the names in seen.
func (d *decoder) name(p keyPath, name, table string, seen map[string]keyPath) {
	np := p.key("name")
	switch {
	case name == "":
		d.addUnlessBad(np, "required: every %s needs a unique name", table)
	case !validName(name):
		d.addUnlessBad(np, "%s is not a valid name: use letters, digits, _ and -", d.show(np, name))
	default:
		if first, dup := seen[name]; dup {
			d.addUnlessBad(np, "%s is already the name of %s", d.show(np, name), d.where(first))
		} else {
			seen[name] = p
		}
	}
}

// onlyFor reports each of keys set on the input at p, which are valid only for
// inputs of type typ.
func (d *decoder) onlyFor(p keyPath, keys []string, typ string) {
	for _, k := range keys {
		if d.present[p.key(k).String()] {
			d.addUnlessBad(p.key(k), "only valid for an input with type = %q", typ)
		}
	}
}

// oneOf reports v unless it is one of allowed, and says whether it was.
func (d *decoder) oneOf(p keyPath, v string, allowed []string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	d.addUnlessBad(p, "%s is not one of %s", d.show(p, v), strings.Join(allowed, ", "))
	return false
}

func (d *decoder) hostPort(p keyPath, v string) {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		d.addUnlessBad(p, `%s is not host:port, such as "127.0.0.1:9308" or ":9308"`, d.show(p, v))
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		d.addUnlessBad(p, "%s has no port number from 0 to 65535", d.show(p, v))
	}
}

// where names the table at p with its line, for "already used by" messages.
func (d *decoder) where(p keyPath) string {
	if pos := d.pos.lookup(p); pos.line > 0 {
		return fmt.Sprintf("%s (line %d)", p, pos.line)
	}
	return p.String()
}

func validName(s string) bool {
	for _, r := range s {
		if !isBareKeyChar(r) {
			return false
		}
	}
	return s != ""
}
