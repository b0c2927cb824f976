// Package statuspage is the page an administrator opens in a browser at the
// address of [server] listen: the open alerts and what happened to them, the
// inputs, the sinks, the rules, the recent events and the self-watch
// conditions, and, behind the admin credential, a few actions (resolve an
// alert by hand, retry or drop dead letters, silences).
//
// The page is rendered on the server with html/template; its stylesheet and
// its bit of script are embedded. The script only refreshes the page, shows
// times in the browser's zone, and keeps the admin credential for the tab; the
// page works without it, except that times stay in UTC.
//
// Actions are POSTed forms that carry the credential in the body, never in a
// cookie, and cross-origin requests are refused, so another site cannot make
// a logged-in browser act.
package statuspage

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed page.html
var pageHTML string

//go:embed page.css
var pageCSS string

//go:embed page.js
var pageJS string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"ts":     ts,
	"ago":    ago,
	"bytes":  humanBytes,
	"dur":    humanDuration,
	"act":    actionValue,
	"join":   strings.Join,
	"sevcls": severityClass,
	"field":  func(a Alert, name string) string { return a.Fields[name] },
	"rfc":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"seq": func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	},
}).Parse(pageHTML))

// Config configures the page.
type Config struct {
	Source Source
	Logger *slog.Logger
	// AdminToken, or AdminUser with AdminPassword, unlock the actions; with
	// neither the page is read-only.
	AdminToken               string
	AdminUser, AdminPassword string
	// Refresh is how often the page reloads itself. Default 10s.
	Refresh time.Duration
	// MaxEvents bounds the recent events shown. Default 200.
	MaxEvents int
}

// Handler serves the page on GET and its actions on POST.
type Handler struct {
	cfg   Config
	log   *slog.Logger
	csrf  *http.CrossOriginProtection
	token [32]byte // hashes, compared in constant time
	user  [32]byte
	pass  [32]byte
}

// New returns the page's handler. Mount it at "/".
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 10 * time.Second
	}
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = 200
	}
	return &Handler{cfg: cfg, log: cfg.Logger, csrf: http.NewCrossOriginProtection(),
		token: sha256.Sum256([]byte(cfg.AdminToken)),
		user:  sha256.Sum256([]byte(cfg.AdminUser)),
		pass:  sha256.Sum256([]byte(cfg.AdminPassword))}
}

// adminMode is how the actions are unlocked: "" (read-only), "token" or "user".
func (h *Handler) adminMode() string {
	switch {
	case h.cfg.AdminUser != "":
		return "user"
	case h.cfg.AdminToken != "":
		return "token"
	}
	return ""
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.render(w, r, http.StatusOK, flash{})
	case http.MethodPost:
		h.post(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// flash is the outcome of an action, shown at the top of the page.
type flash struct {
	OK, Err string
}

// done maps the codes of a redirect after an action to what the page says:
// the query cannot make the page say anything else.
var done = map[string]string{
	"resolved": "The alert is resolved; the resolution is queued for its sinks.",
	"retried":  "The dead letters are back in the outbox.",
	"dropped":  "The dead letters are deleted.",
	"silenced": "The silence is added.",
	"expired":  "The silence is expired.",
}

// maxForm bounds an action's body.
const maxForm = 64 << 10

func (h *Handler) post(w http.ResponseWriter, r *http.Request) {
	if err := h.csrf.Check(r); err != nil {
		h.log.Warn("status page: refused a cross-origin action", "origin", r.Header.Get("Origin"), "host", r.Host, "remote", r.RemoteAddr)
		h.render(w, r, http.StatusForbidden, flash{Err: "Refused: the form was sent from another site."})
		return
	}
	if h.adminMode() == "" {
		h.render(w, r, http.StatusForbidden, flash{Err: "The status page is read-only: set [server] admin_token, or admin_user and admin_password, to act from it."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.render(w, r, http.StatusBadRequest, flash{Err: "Cannot read the form: " + err.Error()})
		return
	}
	who, ok := h.authenticate(r)
	if !ok {
		h.log.Warn("status page: action refused, wrong or missing admin credential", "remote", r.RemoteAddr)
		h.render(w, r, http.StatusUnauthorized, flash{Err: "Wrong or missing admin credential: fill in the Admin box at the top of the page."})
		return
	}
	act, err := url.ParseQuery(r.PostForm.Get("do"))
	if err != nil || act.Get("op") == "" {
		h.render(w, r, http.StatusBadRequest, flash{Err: "No action in the form."})
		return
	}
	code, err := h.act(r.Context(), act, r.PostForm, who)
	if err != nil {
		h.log.Warn("status page: action failed", "op", act.Get("op"), "by", who, "remote", r.RemoteAddr, "err", err)
		h.render(w, r, http.StatusUnprocessableEntity, flash{Err: err.Error()})
		return
	}
	q := url.Values{"done": {code}}
	for _, k := range []string{"token", "refresh"} {
		// The [server] alerts_token the page was opened with, and a refresh
		// period asked for, go on.
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	http.Redirect(w, r, "/?"+q.Encode(), http.StatusSeeOther)
}

// authenticate checks the credential in the POSTed form and returns who
// acts: the admin user, or the name typed with the token.
func (h *Handler) authenticate(r *http.Request) (string, bool) {
	f := r.PostForm
	name := strings.TrimSpace(f.Get("admin_name"))
	if len(name) > 64 {
		name = name[:64]
	}
	switch h.adminMode() {
	case "user":
		u := sha256.Sum256([]byte(f.Get("admin_user")))
		p := sha256.Sum256([]byte(f.Get("admin_password")))
		// Both compared, always: the time does not tell which was wrong.
		okU := subtle.ConstantTimeCompare(u[:], h.user[:])
		okP := subtle.ConstantTimeCompare(p[:], h.pass[:])
		if okU&okP == 1 {
			return h.cfg.AdminUser, true
		}
		// A token, if configured too, works as well.
		if h.cfg.AdminToken != "" {
			return h.tokenUser(f.Get("admin_token"), name)
		}
		return "", false
	case "token":
		return h.tokenUser(f.Get("admin_token"), name)
	}
	return "", false
}

func (h *Handler) tokenUser(tok, name string) (string, bool) {
	t := sha256.Sum256([]byte(tok))
	if tok == "" || subtle.ConstantTimeCompare(t[:], h.token[:]) != 1 {
		return "", false
	}
	if name == "" {
		name = "admin"
	}
	return name + " (status page)", true
}

// act runs one action and returns the code of its success message.
func (h *Handler) act(ctx context.Context, act, form url.Values, who string) (string, error) {
	src := h.cfg.Source
	switch op := act.Get("op"); op {
	case "resolve":
		rule, key := act.Get("rule"), act.Get("key")
		if err := src.Resolve(ctx, rule, key, who); err != nil {
			return "", fmt.Errorf("resolve %s %s: %w", rule, key, err)
		}
		h.log.Info("alert resolved by hand on the status page", "rule", rule, "key", key, "by", who)
		return "resolved", nil
	case "retry", "drop":
		sink := act.Get("sink")
		var seqs []uint64
		if s := act.Get("seq"); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return "", fmt.Errorf("dead letter %q: not a sequence number", s)
			}
			seqs = []uint64{n}
		}
		f, code, verb := src.RetryDead, "retried", "retried"
		if op == "drop" {
			f, code, verb = src.DropDead, "dropped", "dropped"
		}
		n, err := f(ctx, sink, seqs, who)
		if err != nil {
			return "", fmt.Errorf("%s dead letters of %s: %w", op, sink, err)
		}
		h.log.Info("dead letters "+verb+" on the status page", "sink", sink, "seqs", seqs, "count", n, "by", who)
		return code, nil
	case "silence":
		sil := src.Silences()
		if sil == nil {
			return "", errors.New("this agent has no silences")
		}
		ns, err := silenceOf(form, who, time.Now())
		if err != nil {
			return "", err
		}
		id, err := sil.Add(ctx, ns)
		if err != nil {
			return "", fmt.Errorf("add silence: %w", err)
		}
		h.log.Info("silence added on the status page", "id", id, "matchers", ns.Matchers, "ends", ns.EndsAt, "by", who)
		return "silenced", nil
	case "expire":
		sil := src.Silences()
		if sil == nil {
			return "", errors.New("this agent has no silences")
		}
		id := act.Get("id")
		if err := sil.Expire(ctx, id, who); err != nil {
			return "", fmt.Errorf("expire silence %s: %w", id, err)
		}
		h.log.Info("silence expired on the status page", "id", id, "by", who)
		return "expired", nil
	default:
		return "", fmt.Errorf("unknown action %q", op)
	}
}

// silenceOf reads the silence form: up to 3 matchers (name, op, value), a
// duration or an end, and a comment.
func silenceOf(f url.Values, who string, now time.Time) (NewSilence, error) {
	ns := NewSilence{CreatedBy: who, Source: "status page", Comment: strings.TrimSpace(f.Get("comment")), StartsAt: now}
	for i := range 3 {
		n := strings.TrimSpace(f.Get(fmt.Sprintf("m%d_name", i)))
		if n == "" {
			continue
		}
		op := f.Get(fmt.Sprintf("m%d_op", i))
		if !slices.Contains([]string{"=", "!=", "=~", "!~"}, op) {
			return ns, fmt.Errorf("matcher %s: operator %q is not one of = != =~ !~", n, op)
		}
		ns.Matchers = append(ns.Matchers, Matcher{Name: n, Op: op, Value: f.Get(fmt.Sprintf("m%d_value", i))})
	}
	if len(ns.Matchers) == 0 {
		return ns, errors.New("a silence needs at least one matcher (such as rule = qlik-reload-failed)")
	}
	if ns.Comment == "" {
		return ns, errors.New("a silence needs a comment: why it is silenced")
	}
	d, err := time.ParseDuration(strings.TrimSpace(f.Get("duration")))
	if err != nil || d <= 0 {
		return ns, fmt.Errorf("duration %q: give one such as 2h or 30m", f.Get("duration"))
	}
	ns.EndsAt = now.Add(d)
	return ns, nil
}

// actionValue is the value of an action button: the action and its
// arguments, URL-encoded, as the form's "do" field.
func actionValue(op string, kv ...string) string {
	v := url.Values{"op": {op}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

// view is what the template renders.
type view struct {
	Snapshot
	Open, Resolved []alertView
	Events         []Event
	EventRules     []string
	Statuses       []string
	FilterRule     string
	FilterStatus   string
	EventsTotal    int
	Admin          string // "", "token" or "user"
	Flash          flash
	Token          string // the alerts_token the page was opened with, kept in its links
	Refresh        int    // seconds
	RefreshQ       string // ?refresh= as asked, kept by the forms
	Nonce          string // of the page's inline style and script (CSP)
	CSS            template.CSS
	JS             template.JS
	Silences       []silenceView
	HasSilences    bool
	SilencesErr    string
}

type alertView struct {
	Alert
	History []historyEntry
	Admin   string // as in view: the template of an alert does not see the root
}

type historyEntry struct {
	At   time.Time
	What string
}

type silenceView struct {
	Silence
	State string // active, pending, expired
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, fl flash) {
	ctx := r.Context()
	snap, err := h.cfg.Source.Snapshot(ctx)
	if err != nil {
		h.log.Error("status page: cannot read the agent's state", "err", err)
		http.Error(w, "cannot read the agent's state: "+err.Error(), http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	if c := q.Get("done"); fl == (flash{}) && done[c] != "" {
		fl.OK = done[c]
	}
	v := view{Snapshot: snap, Admin: h.adminMode(), Flash: fl, Token: q.Get("token"),
		Refresh: int(h.cfg.Refresh / time.Second), CSS: template.CSS(pageCSS), JS: template.JS(pageJS),
		FilterRule: q.Get("rule"), FilterStatus: q.Get("status")}

	if n, err := strconv.Atoi(q.Get("refresh")); err == nil && n >= 0 {
		v.Refresh, v.RefreshQ = n, q.Get("refresh") // ?refresh=0 stops it
	}
	byAlert := map[[2]string][]Event{}
	for _, ev := range snap.Events {
		k := [2]string{ev.Rule, ev.Key}
		byAlert[k] = append(byAlert[k], ev)
	}
	for _, a := range snap.Alerts {
		av := alertView{Alert: a, History: history(a, byAlert[[2]string{a.Rule, a.Key}]), Admin: v.Admin}
		if a.Status == "resolved" {
			v.Resolved = append(v.Resolved, av)
		} else {
			v.Open = append(v.Open, av)
		}
	}
	newest := func(a, b alertView) int {
		return cmp.Or(b.FirstSeen.Compare(a.FirstSeen), strings.Compare(a.Rule, b.Rule), strings.Compare(a.Key, b.Key))
	}
	slices.SortFunc(v.Open, newest)
	slices.SortFunc(v.Resolved, func(a, b alertView) int { return b.ResolvedAt.Compare(a.ResolvedAt) })
	if len(v.Resolved) > 20 {
		v.Resolved = v.Resolved[:20]
	}

	rules, statuses := map[string]bool{}, map[string]bool{}
	for _, ev := range snap.Events {
		rules[ev.Rule], statuses[ev.Status] = true, true
		if (v.FilterRule == "" || ev.Rule == v.FilterRule) && (v.FilterStatus == "" || ev.Status == v.FilterStatus) {
			v.Events = append(v.Events, ev)
		}
	}
	for _, rl := range snap.Rules {
		rules[rl.ID] = true
	}
	v.EventRules = sortedKeys(rules)
	v.Statuses = sortedKeys(statuses)
	slices.SortStableFunc(v.Events, func(a, b Event) int { return b.Time.Compare(a.Time) })
	v.EventsTotal = len(v.Events)
	if len(v.Events) > h.cfg.MaxEvents {
		v.Events = v.Events[:h.cfg.MaxEvents]
	}
	slices.SortFunc(v.Rules, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })

	if sil := h.cfg.Source.Silences(); sil != nil {
		v.HasSilences = true
		list, err := sil.List(ctx)
		if err != nil {
			v.SilencesErr = err.Error()
		}
		for _, s := range list {
			st := "active"
			switch {
			case !s.EndsAt.After(snap.Now):
				st = "expired"
			case s.StartsAt.After(snap.Now):
				st = "pending"
			}
			v.Silences = append(v.Silences, silenceView{Silence: s, State: st})
		}
		slices.SortFunc(v.Silences, func(a, b silenceView) int { return b.EndsAt.Compare(a.EndsAt) })
	}

	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	v.Nonce = base64.RawStdEncoding.EncodeToString(nonce[:])
	var buf strings.Builder
	if err := page.Execute(&buf, v); err != nil {
		h.log.Error("status page: cannot render", "err", err)
		http.Error(w, "cannot render the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+v.Nonce+"'; script-src 'nonce-"+v.Nonce+"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(buf.String()))
	}
}

// history tells what happened to an alert, from what the state keeps of it
// and the recent events about it.
func history(a Alert, events []Event) []historyEntry {
	var out []historyEntry
	add := func(at time.Time, what string) { out = append(out, historyEntry{at, what}) }
	add(a.FirstSeen, "fired")
	if a.Count > 1 {
		add(a.LastSeen, fmt.Sprintf("fired %d times in all, the last at this time", a.Count))
	}
	if !a.LastFired.IsZero() && !a.LastFired.Equal(a.FirstSeen) {
		add(a.LastFired, "last notification sent")
	}
	if a.Suppressed > 0 {
		add(a.SuppressedSince, fmt.Sprintf("%d repeats held back by the rate limit since this time", a.Suppressed))
	}
	ackTimed := false
	for _, ev := range events {
		switch ev.Status {
		case "acknowledged":
			ackTimed = true
			add(ev.Time, "acknowledged"+by(ev.By))
		case "info":
			add(ev.Time, "note: "+ev.Title)
		}
	}
	if a.AckedBy != "" && !ackTimed {
		add(time.Time{}, "acknowledged by "+a.AckedBy)
	}
	if a.Status == "resolved" {
		add(a.ResolvedAt, "resolved"+by(a.ResolvedBy))
	}
	slices.SortStableFunc(out, func(x, y historyEntry) int {
		if x.At.IsZero() || y.At.IsZero() {
			return 0
		}
		return x.At.Compare(y.At)
	})
	return out
}

func by(who string) string {
	if who == "" {
		return ""
	}
	return " by " + who
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// ts formats t for a <time> element's text: UTC, which the page's script
// turns into the browser's zone.
func ts(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ago says how long before now t was, roughly.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return humanDuration(now.Sub(t)) + " ago"
}

func humanDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

func humanBytes(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

func severityClass(s string) string {
	switch strings.ToLower(s) {
	case "critical", "error", "high", "page":
		return "sev-high"
	case "warning", "warn", "medium":
		return "sev-mid"
	}
	return "sev-low"
}
