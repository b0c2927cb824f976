package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/heraldhq/herald/agent/silence"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/heraldhq/herald/agent/lifecycle"
	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/agent/statuspage"
	"github.com/heraldhq/herald/plugins/sdk"
)

// recentEvents is how many of the last events the status page can show.
const recentEvents = 500

// eventRing keeps the last events produced, newest last. It is safe for
// concurrent use.
type eventRing struct {
	mu   sync.Mutex
	buf  []statuspage.Event
	next int // where the next event goes once buf is full
}

func newEventRing(n int) *eventRing { return &eventRing{buf: make([]statuspage.Event, 0, n)} }

// add records ev, queued for sinks, caused by by (empty: a log line or a
// callback). It keeps what the page shows, not the fields or message. sinks
// is kept as it is: the lifecycle's routes are shared and never changed, so
// the commit path pays no copy per event. The key and title are copied: a
// key is cut from the tailer's read buffer, and keeping it would keep the
// whole 4 KiB chunk of the log it came from (2 MiB for the 500 events).
func (r *eventRing) add(ev *sdk.Event, sinks []string, by string) {
	e := statuspage.Event{Time: ev.Time, Rule: ev.Rule, Key: strings.Clone(ev.Key), Status: string(ev.Status),
		Title: strings.Clone(ev.Title), Sinks: sinks, By: by}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) < cap(r.buf) {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
}

// list returns the events kept, oldest first.
func (r *eventRing) list() []statuspage.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(slices.Clone(r.buf[r.next:]), r.buf[:r.next]...)
}

// statusPage returns the handler of the status page at "/" of [server].
func (a *Agent) statusPage(store *state.Store, m *metrics.Metrics, notify func(string)) http.Handler {
	return statuspage.New(statuspage.Config{
		Source: &statusSource{a: a, store: store, m: m, notify: notify},
		Logger: a.log,

		AdminToken: a.cfg.Server.AdminToken,
		AdminUser:  a.cfg.Server.AdminUser, AdminPassword: a.cfg.Server.AdminPassword,
	})
}

// statusSource is the agent as the status page sees it.
type statusSource struct {
	a      *Agent
	store  *state.Store
	m      *metrics.Metrics
	notify func(string)
}

// Silences returns the agent's silences as the page sees them.
func (s *statusSource) Silences() statuspage.Silences { return pageSilences{s.a} }

// pageSilences adapts the agent's silences to the status page's types.
type pageSilences struct{ a *Agent }

func (p pageSilences) List(context.Context) ([]statuspage.Silence, error) {
	all, err := p.a.Silences(true)
	if err != nil {
		return nil, err
	}
	out := make([]statuspage.Silence, 0, len(all))
	for _, s := range all {
		v := statuspage.Silence{ID: s.ID, StartsAt: s.StartsAt, EndsAt: s.EndsAt, Comment: s.Comment,
			CreatedBy: s.CreatedBy, Source: s.Source, Suppressed: s.Suppressed, ExpiredBy: s.ExpiredBy}
		for _, m := range s.Matchers {
			v.Matchers = append(v.Matchers, statuspage.Matcher{Name: m.Name, Value: m.Value, Op: m.Op})
		}
		out = append(out, v)
	}
	return out, nil
}

func (p pageSilences) Add(ctx context.Context, n statuspage.NewSilence) (string, error) {
	s := silence.Silence{StartsAt: n.StartsAt, EndsAt: n.EndsAt, Comment: n.Comment, CreatedBy: n.CreatedBy, Source: silence.SourcePage}
	for _, m := range n.Matchers {
		s.Matchers = append(s.Matchers, silence.Matcher{Name: m.Name, Value: m.Value, Op: m.Op})
	}
	added, err := p.a.AddSilence(ctx, s)
	return added.ID, err
}

func (p pageSilences) Expire(ctx context.Context, id, by string) error {
	return p.a.ExpireSilence(ctx, id, by)
}

// Snapshot implements statuspage.Source.
func (s *statusSource) Snapshot(context.Context) (statuspage.Snapshot, error) {
	a := s.a
	now := a.opts.Now()
	snap := statuspage.Snapshot{Now: now, Host: a.cfg.Agent.Host, Version: a.opts.Version, Events: a.self.recent.list()}
	for _, c := range a.self.watch.Active() {
		snap.Conditions = append(snap.Conditions, statuspage.Condition{Kind: string(c.Kind), Subject: c.Subject, Since: c.Since, Summary: c.Summary, Fix: c.Fix})
	}
	kinds := map[string]string{}
	for _, sk := range a.sinks {
		kinds[sk.cfg.Name] = sk.kind
	}
	var alerts []state.Alert
	if err := s.store.View(func(tx *state.Tx) error {
		alerts = tx.Alerts(nil)
		return nil
	}); err != nil {
		return snap, err
	}
	for _, al := range alerts {
		v := statuspage.Alert{
			Rule: al.Rule, Key: al.Key, Status: string(al.Status), Title: al.Title, Severity: al.Severity, Fields: al.Fields,
			FirstSeen: al.FirstSeen, LastSeen: al.LastSeen, LastFired: al.LastFired, Count: al.Count,
			Suppressed: al.Suppressed, SuppressedSince: al.SuppressedSince,
			AckedBy: al.AckedBy, ResolvedBy: al.ResolvedBy, ResolvedAt: al.ResolvedAt,
			Sinks: a.life.Route(al.Rule),
		}
		for sink, ref := range al.Refs {
			v.Refs = append(v.Refs, statuspage.Ref{Sink: sink, Kind: kinds[sink], ID: ref, URL: a.refURL(sink, ref)})
		}
		slices.SortFunc(v.Refs, func(x, y statuspage.Ref) int { return strings.Compare(x.Sink, y.Sink) })
		snap.Alerts = append(snap.Alerts, v)
	}

	inputsUp, pluginsUp := s.m.Up()
	files := s.m.Files()
	for _, in := range a.cfg.Inputs {
		im := s.m.Input(in.Name)
		v := statuspage.Input{Name: in.Name, Type: in.Type, Up: inputsUp[in.Name],
			LinesRead: count(im.LinesRead), ParseErrors: count(im.ParseErrors)}
		if v.Type == "" {
			v.Type = "file"
		}
		if n := a.self.input(in.Name).lastLine.Load(); n > 0 {
			v.LastLine = time.Unix(0, n)
		}
		for _, f := range files {
			if f.Input != in.Name {
				continue
			}
			fv := statuspage.File{Path: f.Path, Offset: f.Offset}
			if fi, err := os.Stat(f.Path); err == nil {
				fv.Size, fv.Modified = fi.Size(), fi.ModTime()
				fv.LagBytes = max(fv.Size-f.Offset, 0)
				if fv.LagBytes > 0 && !v.LastLine.IsZero() {
					fv.LagTime = max(fv.Modified.Sub(v.LastLine), 0)
				}
			}
			v.Files = append(v.Files, fv)
		}
		snap.Inputs = append(snap.Inputs, v)
	}

	for _, sk := range a.sinks {
		name := sk.cfg.Name
		sm := s.m.Sink(name)
		v := statuspage.Sink{Name: name, Kind: sk.kind, Up: pluginsUp[name],
			Restarts: count(sm.Restarts), Accepted: count(sm.Accepted), Rejected: count(sm.Rejected)}
		v.Pending, _ = s.store.Depth(name)
		dead, err := s.store.Dead(name)
		if err != nil {
			return snap, err
		}
		for _, d := range dead {
			v.Dead = append(v.Dead, statuspage.DeadLetter{Seq: d.Seq, Rule: d.Event.Rule, Key: d.Event.Key, Status: string(d.Event.Status),
				Title: d.Event.Title, Reason: d.Reason, Died: d.Died})
		}
		a.self.mu.Lock()
		v.LastSuccess, v.LastErrorAt = a.self.lastOK[name], a.self.lastFail[name]
		a.self.mu.Unlock()
		if p, err := s.store.Pending(name, 1); err == nil && len(p) > 0 && p[0].LastError != "" {
			v.LastError = p[0].LastError
		} else if len(dead) > 0 {
			last := slices.MaxFunc(dead, func(x, y state.DeadEntry) int { return x.Died.Compare(y.Died) })
			v.LastError = "rejected: " + last.Reason
			if v.LastErrorAt.IsZero() {
				v.LastErrorAt = last.Died
			}
		}
		snap.Sinks = append(snap.Sinks, v)
	}

	for _, r := range a.rules.Rules() {
		rm := s.m.Rule(r.ID)
		snap.Rules = append(snap.Rules, statuspage.Rule{ID: r.ID, Matches: count(rm.Matches), Fired: count(rm.Firing),
			Resolved: count(rm.Resolved), Suppressed: count(rm.Suppressed), Duplicates: count(rm.Duplicates)})
	}
	return snap, nil
}

// count reads a counter's value.
func count(c prometheus.Counter) int64 {
	var d dto.Metric
	if c.Write(&d) != nil {
		return 0
	}
	return int64(d.GetCounter().GetValue())
}

// refURL links a sink's reference to the alert at its destination, when that
// can be done without a secret: a Rocket.Chat message of a REST-mode sink
// with a channel. Webhook URLs carry secrets and are never shown.
func (a *Agent) refURL(sink, ref string) string {
	for _, sk := range a.sinks {
		if sk.cfg.Name != sink || sk.kind != "rocketchat" {
			continue
		}
		var c struct {
			Server  string `json:"server"`
			Channel string `json:"channel"`
		}
		if json.Unmarshal(sk.raw, &c) != nil || c.Server == "" || c.Channel == "" {
			return ""
		}
		u, err := url.Parse(c.Server)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
			return ""
		}
		u.RawQuery, u.Fragment = "", ""
		u = u.JoinPath("channel", strings.TrimPrefix(c.Channel, "#"))
		u.RawQuery = url.Values{"msg": {ref}}.Encode()
		return u.String()
	}
	return ""
}

// statusPageRule is the rule a resolution by hand goes through: it resolves
// the one rule of the alert, so only that alert is resolved.
const statusPageRule = "herald.status_page"

// Resolve implements statuspage.Source: it resolves the open alert of rule
// and key in a state transaction, through the lifecycle, and queues the
// resolution for the alert's sinks like any other.
func (s *statusSource) Resolve(_ context.Context, rule, key, by string) error {
	a := s.a
	now := a.opts.Now()
	var routed []lifecycle.Routed
	err := s.store.Update(func(tx *state.Tx) error {
		routed = routed[:0]
		al, ok := tx.Alert(rule, key)
		if !ok || al.Status == sdk.StatusResolved {
			return errors.New("no open alert with this rule and key")
		}
		if a.life.Rule(rule) == nil {
			return fmt.Errorf("rule %s is not in the running configuration", rule)
		}
		m := lifecycle.Match{
			Rule: &lifecycle.RuleInfo{ID: statusPageRule, Resolves: []string{rule}},
			Key:  key, By: by, Title: al.Title, Time: now,
			Message: "Resolved by hand by " + by + " on the Herald status page.",
			Origin:  "statuspage:" + by + ":" + now.UTC().Format(time.RFC3339Nano),
		}
		var st lifecycle.Stats
		var err error
		if routed, err = a.life.Apply(tx, m, &st); err != nil {
			return err
		}
		for _, r := range routed {
			for _, sink := range r.Sinks {
				if _, err := tx.Enqueue(sink, r.Event); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	touched := map[string]bool{}
	for _, r := range routed {
		s.m.Rule(r.Event.Rule).Events(r.Event.Status).Inc()
		a.self.recent.add(&r.Event, r.Sinks, by)
		for _, sink := range r.Sinks {
			touched[sink] = true
		}
	}
	for sink := range touched {
		s.notify(sink)
	}
	a.log.Info("alert resolved by hand", "rule", rule, "key", key, "by", by, "sinks", len(touched))
	return nil
}

// RetryDead implements statuspage.Source.
func (s *statusSource) RetryDead(_ context.Context, sink string, seqs []uint64, by string) (int, error) {
	if err := s.knownSink(sink); err != nil {
		return 0, err
	}
	n, err := s.store.RetryDead(sink, selection(seqs))
	if err == nil && n > 0 {
		s.notify(sink)
	}
	return n, err
}

// DropDead implements statuspage.Source.
func (s *statusSource) DropDead(_ context.Context, sink string, seqs []uint64, by string) (int, error) {
	if err := s.knownSink(sink); err != nil {
		return 0, err
	}
	return s.store.DropDead(sink, selection(seqs))
}

func (s *statusSource) knownSink(name string) error {
	for _, sk := range s.a.sinks {
		if sk.cfg.Name == name {
			return nil
		}
	}
	return fmt.Errorf("no sink named %q", name)
}

func selection(seqs []uint64) state.Selection {
	if len(seqs) == 0 {
		return state.All
	}
	return state.Seqs(seqs...)
}
