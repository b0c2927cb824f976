package config

import (
	"net/url"
	"time"
)

// Heartbeat is [heartbeat]: a URL Herald pings while it is healthy, so that an
// external dead-man's switch (healthchecks.io, Better Stack, Uptime Kuma) pages
// when the agent or its node dies. agent/heartbeat sends the pings.
type Heartbeat struct {
	// URL is the ping URL; empty turns the heartbeat off. It is a secret: it
	// is never quoted in a message.
	URL string `toml:"url"`
	// Interval between pings. Default 1m, at least 10s.
	Interval Duration `toml:"interval"`
	// Timeout of one ping. Default 10s.
	Timeout Duration `toml:"timeout"`
	// Method is GET or POST. Default GET.
	Method string `toml:"method"`
	// OnFailure is what is sent while the agent is unhealthy: "fail" (the
	// service's failure form, with the reason) or "stop" (nothing). Default fail.
	OnFailure string `toml:"on_failure"`
	// Style is the service's URL convention: auto (from the URL),
	// healthchecks, betterstack, uptimekuma or plain. Default auto.
	Style string `toml:"style"`
}

// Defaults and limits of [heartbeat].
const (
	DefaultHeartbeatInterval  = time.Minute
	DefaultHeartbeatTimeout   = 10 * time.Second
	DefaultHeartbeatMethod    = "GET"
	DefaultHeartbeatOnFailure = "fail"
	DefaultHeartbeatStyle     = "auto"
	// MinHeartbeatInterval keeps a typo ("1s" for "1m") from pinging a
	// hosted service every second.
	MinHeartbeatInterval = 10 * time.Second
)

// Allowed values of the enumerated [heartbeat] keys; agent/heartbeat accepts
// the same (a test there holds them together).
var (
	heartbeatMethods    = []string{"GET", "POST"}
	heartbeatOnFailures = []string{"fail", "stop"}
	heartbeatStyles     = []string{"auto", "healthchecks", "betterstack", "uptimekuma", "plain"}
)

// heartbeatDefaults fills in what [heartbeat] left out. A heartbeat that is
// off (no url) stays all zero, so that Heartbeat{} means off.
func (d *decoder) heartbeatDefaults(h *Heartbeat) {
	if h.URL == "" {
		return
	}
	if !d.present["heartbeat.interval"] {
		h.Interval.Duration = DefaultHeartbeatInterval
	}
	if !d.present["heartbeat.timeout"] {
		h.Timeout.Duration = DefaultHeartbeatTimeout
	}
	if h.Method == "" {
		h.Method = DefaultHeartbeatMethod
	}
	if h.OnFailure == "" {
		h.OnFailure = DefaultHeartbeatOnFailure
	}
	if h.Style == "" {
		h.Style = DefaultHeartbeatStyle
	}
}

// heartbeat checks [heartbeat]. Every key written is checked even when the url
// is empty (off), so a mistake shows before the heartbeat is turned on.
func (d *decoder) heartbeat(h *Heartbeat) {
	p := keyPath{"heartbeat"}
	if h.URL != "" {
		u, err := url.Parse(h.URL)
		switch {
		case err != nil || u.Opaque != "":
			d.addUnlessBad(p.key("url"), "not a valid URL (the value is a secret and is not shown)")
		case u.Scheme != "http" && u.Scheme != "https":
			d.addUnlessBad(p.key("url"), "must start with https:// or http://")
		case u.Host == "":
			d.addUnlessBad(p.key("url"), "has no host")
		}
	}
	if d.present["heartbeat.interval"] && h.Interval.Duration < MinHeartbeatInterval {
		d.addUnlessBad(p.key("interval"), "must be at least %s, got %s", MinHeartbeatInterval, h.Interval.Duration)
	}
	if d.present["heartbeat.timeout"] {
		switch {
		case h.Timeout.Duration <= 0:
			d.addUnlessBad(p.key("timeout"), "must be positive, got %s", h.Timeout.Duration)
		case h.Interval.Duration > 0 && h.Timeout.Duration > h.Interval.Duration:
			d.addUnlessBad(p.key("timeout"), "must not be longer than interval (%s), got %s", h.Interval.Duration, h.Timeout.Duration)
		}
	}
	for _, k := range []struct {
		key     string
		v       string
		allowed []string
	}{
		{"method", h.Method, heartbeatMethods},
		{"on_failure", h.OnFailure, heartbeatOnFailures},
		{"style", h.Style, heartbeatStyles},
	} {
		if d.present["heartbeat."+k.key] {
			d.oneOf(p.key(k.key), k.v, k.allowed)
		}
	}
}
