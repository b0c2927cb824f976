// Package heartbeat pings a dead-man's-switch URL while Herald is healthy, so
// that an external monitor pages when the agent, its service or its node dies:
// Herald can alert on everything except its own silence.
//
// It pings once at start and then every Config.Interval. While the agent is
// healthy it sends the service's success ping. While it is not, it sends the
// service's failure form with the reason (OnFailure "fail") or nothing at all
// (OnFailure "stop"), and the monitor pages when its grace period runs out.
//
// The conventions of the services it knows (checked against their
// documentation):
//
//   - Healthchecks.io (https://healthchecks.io/docs/http_api/,
//     /docs/signaling_failures/, /docs/attaching_logs/): ping URLs such as
//     https://hc-ping.com/<uuid> accept HEAD, GET and POST; "you can actively
//     signal a failure ... append /fail ... to your normal ping URL"; a POST
//     body is logged (the first 100 kB), so Herald posts the reason there.
//   - Better Stack, formerly Better Uptime
//     (https://betterstack.com/docs/uptime/cron-and-heartbeat-monitor/): the
//     heartbeat "expects a GET or POST request" to its secret URL,
//     https://uptime.betterstack.com/api/v1/heartbeat/<token> (older URLs are
//     on betteruptime.com); "explicitly report a failure by appending /fail";
//     output sent as the request body is kept with the failure.
//   - Uptime Kuma (push monitors; server/routers/api-router.js answers
//     /api/push/:pushToken for any method): the push URL takes
//     ?status=up|down&msg=...&ping=; status defaults to up and anything else
//     is down, msg defaults to "OK", an empty ping is allowed. The body is
//     ignored, so the reason goes in msg.
//
// A URL of none of these ("plain") has no failure form: while unhealthy
// nothing is sent, whatever OnFailure says.
//
// The URL is the credential for all of them (the check's UUID, the heartbeat
// token, the push token), so it never appears in a log line or an error: only
// its scheme and host do (internal/redact).
package heartbeat

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/internal/redact"
)

// Styles, the failure forms Herald knows.
const (
	StyleAuto         = "auto"
	StyleHealthchecks = "healthchecks"
	StyleBetterStack  = "betterstack"
	StyleUptimeKuma   = "uptimekuma"
	StylePlain        = "plain"
)

// What to do while the agent is unhealthy.
const (
	OnFailureFail = "fail" // send the service's failure form with the reason
	OnFailureStop = "stop" // send nothing; the monitor pages after its grace period
)

// Results of one ping, as counted by Config.Observe.
const (
	ResultUp    = "up"    // a success ping was accepted
	ResultDown  = "down"  // a failure ping was accepted
	ResultError = "error" // the ping failed: no answer, a timeout, or not 2xx
)

// Styles and OnFailures list the accepted values (agent/config validates against them).
var (
	Styles     = []string{StyleAuto, StyleHealthchecks, StyleBetterStack, StyleUptimeKuma, StylePlain}
	OnFailures = []string{OnFailureFail, OnFailureStop}
	Methods    = []string{http.MethodGet, http.MethodPost}
)

// Defaults of the zero values in Config.
const (
	DefaultInterval = time.Minute
	DefaultTimeout  = 10 * time.Second
)

// maxReason bounds the reason sent in a failure ping; Uptime Kuma carries it
// in the query string.
const maxReason = 1000

// Config configures a Heartbeat.
type Config struct {
	// URL is the ping URL. It is a secret.
	URL string
	// Interval between pings. Default DefaultInterval.
	Interval time.Duration
	// Timeout of one ping. Default DefaultTimeout.
	Timeout time.Duration
	// Method is GET or POST. Default GET.
	Method string
	// OnFailure is "fail" (default) or "stop".
	OnFailure string
	// Style is "auto" (default: from the URL), "healthchecks", "betterstack",
	// "uptimekuma" or "plain".
	Style string
	// Observe, if set, is told the result of every ping (ResultUp, ResultDown
	// or ResultError), for metrics.
	Observe func(result string)
}

// Heartbeat pings a URL while the agent is healthy. Create it with New and
// call Run.
type Heartbeat struct {
	cfg    Config
	url    *url.URL
	style  string
	health func() (ok bool, reason string)
	log    *slog.Logger
	client *http.Client
	redact *redact.Redactor
	where  string // the URL as it may be shown

	// newTicker makes the interval ticker; tests replace it to drive the
	// pings by hand.
	newTicker func(time.Duration) (<-chan time.Time, func())

	// Run's state, for logging each change once.
	lastErr   string
	unhealthy string // the reason last logged; empty while healthy
}

// New returns a Heartbeat for cfg. health reports whether the agent is healthy
// and, if not, why; it is called before every ping. log receives the
// heartbeat's log lines (nil: discard). client sends the pings (nil: a client
// with no timeout of its own: cfg.Timeout bounds each ping). The error is about
// cfg, and never quotes the URL.
func New(cfg Config, health func() (ok bool, reason string), log *slog.Logger, client *http.Client) (*Heartbeat, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if client == nil {
		client = &http.Client{}
	}
	if health == nil {
		health = func() (bool, string) { return true, "" }
	}
	cfg.Method = strings.ToUpper(cmp.Or(cfg.Method, http.MethodGet))
	cfg.OnFailure = cmp.Or(cfg.OnFailure, OnFailureFail)
	cfg.Style = cmp.Or(cfg.Style, StyleAuto)
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("heartbeat url: not an http(s) URL with a host")
	}
	switch {
	case cfg.Interval < 0:
		return nil, fmt.Errorf("heartbeat interval: must be positive, got %s", cfg.Interval)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("heartbeat timeout: must be positive, got %s", cfg.Timeout)
	case !slices.Contains(Methods, cfg.Method):
		return nil, fmt.Errorf("heartbeat method: %q is not one of %s", cfg.Method, strings.Join(Methods, ", "))
	case !slices.Contains(OnFailures, cfg.OnFailure):
		return nil, fmt.Errorf("heartbeat on_failure: %q is not one of %s", cfg.OnFailure, strings.Join(OnFailures, ", "))
	case !slices.Contains(Styles, cfg.Style):
		return nil, fmt.Errorf("heartbeat style: %q is not one of %s", cfg.Style, strings.Join(Styles, ", "))
	}
	style := cfg.Style
	if style == StyleAuto {
		style = Detect(u)
	}
	return &Heartbeat{
		cfg:    cfg,
		url:    u,
		style:  style,
		health: health,
		log:    log,
		client: client,
		redact: redact.New([]*url.URL{u}),
		where:  redact.URL(u),
		newTicker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
	}, nil
}

// Detect returns the style of a ping URL: healthchecks for hc-ping.com and
// healthchecks.io, betterstack for betterstack.com and betteruptime.com, uptimekuma
// for a path with /api/push/ in it, plain otherwise. A self-hosted
// Healthchecks or Better Stack URL needs its style set.
func Detect(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	under := func(domain string) bool { return host == domain || strings.HasSuffix(host, "."+domain) }
	switch {
	case under("hc-ping.com") || under("healthchecks.io"):
		return StyleHealthchecks
	case under("betterstack.com") || under("betteruptime.com"):
		return StyleBetterStack
	case strings.Contains(u.EscapedPath(), "/api/push/"):
		return StyleUptimeKuma
	}
	return StylePlain
}

// Style is the style in use: Config.Style, or what auto detected.
func (h *Heartbeat) Style() string { return h.style }

// Run pings once at once, then every Interval, until ctx is done. It wakes
// only for the interval ticker and returns promptly when ctx ends, abandoning a
// ping in flight.
func (h *Heartbeat) Run(ctx context.Context) {
	h.log.Info("heartbeat started", "url", h.where, "style", h.style, "interval", h.cfg.Interval, "on_failure", h.cfg.OnFailure)
	tick, stop := h.newTicker(h.cfg.Interval)
	defer stop()
	for {
		h.beat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// beat checks the health and sends what it calls for, logging changes once.
func (h *Heartbeat) beat(ctx context.Context) {
	ok, reason := h.health()
	if ok {
		if h.unhealthy != "" {
			h.log.Info("herald is healthy again; heartbeat pings resume")
			h.unhealthy = ""
		}
		h.send(ctx, false, "")
		return
	}
	reason = cmp.Or(reason, "unhealthy")
	withhold := h.cfg.OnFailure == OnFailureStop || h.style == StylePlain
	if reason != h.unhealthy {
		if withhold {
			h.log.Warn("herald is unhealthy; heartbeat pings stop until it recovers", "reason", reason)
		} else {
			h.log.Warn("herald is unhealthy; sending failure pings", "reason", reason)
		}
		h.unhealthy = reason
	}
	if !withhold {
		h.send(ctx, true, reason)
	}
}

// send pings and logs a failure once per distinct error, and the recovery
// once.
func (h *Heartbeat) send(ctx context.Context, fail bool, reason string) {
	err := h.Ping(ctx, fail, reason)
	if ctx.Err() != nil {
		return // shutting down: the abandoned ping is no news
	}
	switch {
	case err != nil:
		h.observe(ResultError)
		if msg := err.Error(); msg != h.lastErr {
			h.log.Warn("heartbeat ping failed", "err", msg)
			h.lastErr = msg
		}
	default:
		h.observe(map[bool]string{false: ResultUp, true: ResultDown}[fail])
		if h.lastErr != "" {
			h.log.Info("heartbeat pings succeed again", "url", h.where)
			h.lastErr = ""
		}
	}
}

func (h *Heartbeat) observe(result string) {
	if h.cfg.Observe != nil {
		h.cfg.Observe(result)
	}
}

// Ping sends one ping: the success form, or with fail the failure form
// carrying reason. It gives up after Timeout. A 2xx answer is success. The
// error never contains the URL's secret parts.
func (h *Heartbeat) Ping(ctx context.Context, fail bool, reason string) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := h.request(ctx, fail, reason)
	if err != nil {
		return errors.New(h.redact.Redact("heartbeat: building the request: " + err.Error()))
	}
	where := h.cfg.Method + " " + h.where
	resp, err := h.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return fmt.Errorf("heartbeat %s: no answer within %s", where, h.cfg.Timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text quotes the whole URL
		}
		return errors.New(h.redact.Redact("heartbeat " + where + ": " + err.Error()))
	}
	defer resp.Body.Close()
	// Read a little so the connection can be reused; the answer says nothing.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("heartbeat %s: %s", where, h.redact.Redact(resp.Status))
	}
	return nil
}

// request builds the ping in the URL's style.
func (h *Heartbeat) request(ctx context.Context, fail bool, reason string) (*http.Request, error) {
	u := *h.url
	var body string
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	switch h.style {
	case StyleHealthchecks, StyleBetterStack:
		if fail {
			u = *u.JoinPath("fail")
			body = reason
		}
	case StyleUptimeKuma:
		q := u.Query()
		if fail {
			q.Set("status", "down")
			q.Set("msg", reason)
		} else {
			q.Set("status", "up")
			q.Set("msg", "OK")
		}
		u.RawQuery = q.Encode()
	}
	var rd io.Reader
	if h.cfg.Method == http.MethodPost {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, h.cfg.Method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "herald-heartbeat")
	if rd != nil {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	return req, nil
}
