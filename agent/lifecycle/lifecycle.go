// Package lifecycle turns rule matches into alert events: it opens alerts, resolves
// and acknowledges them, sends notes about them, drops duplicate outcomes,
// rate-limits repeats per rule and key (counting what it holds back) and
// decides which sinks each event goes to.
//
// It works inside the caller's state transaction, so the alert changes it makes
// are committed together with the file position and the enqueued events: a crash
// can neither lose an alert nor raise it twice.
package lifecycle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/rules"
)

// Sink is a configured sink as routing sees it.
type Sink struct {
	Name string
	Kind string // the plugin: a built-in name, or the executable's base name
	// ResolveUnknown: a resolution of a key with no open alert here (raised
	// by another node's agent before a failover) is still sent to this sink.
	// For sinks that close by key and idempotently (SIGNL4's
	// X-S4-ExternalID, Alertmanager), not for chat.
	ResolveUnknown bool
}

// ResolveUnknownDefault is [[sink]] resolve_unknown's default for a plugin
// kind: true for the kinds that close alerts by key, idempotently.
func ResolveUnknownDefault(kind string) bool {
	return kind == "signl4" || kind == "alertmanager"
}

// Action is what a rule's match does (the rules package's Action, as text).
type Action string

// The actions. The zero Action fires, or resolves for a rule with Resolves.
const (
	Fire        Action = "fire"
	Resolve     Action = "resolve"
	Acknowledge Action = "acknowledge"
	Annotate    Action = "annotate"
)

// RuleInfo is what the lifecycle needs to know of a rule.
type RuleInfo struct {
	ID        string
	Severity  string
	RateLimit time.Duration
	Sinks     []string // sink names or "kind:<plugin>"; empty routes to every sink
	Resolves  []string
	// Action is what a match does; "" is Fire, or Resolve with Resolves.
	Action Action
	// KeyFromRef: the rule finds the alerts it acts on by Match.Ref, a remote
	// reference, instead of by Match.Key.
	KeyFromRef bool
}

// MatchOf turns a rule's match on a record into what Apply takes. at is when
// the record was logged; origin identifies the record, so event ids are stable.
func (l *Lifecycle) MatchOf(m rules.Match, at time.Time, origin string) Match {
	return Match{
		Rule: l.Rule(m.Rule.ID), Key: m.Key, Ref: m.Ref, By: m.By, Dedup: m.Dedup,
		Title: m.Title, Message: m.Message, Fields: m.Fields, Time: at, Origin: origin,
	}
}

// FromRule returns what the lifecycle needs of a loaded rule. Use it rather
// than copying fields, so that every rule key that matters here is carried.
func FromRule(r *rules.Rule) *RuleInfo {
	return &RuleInfo{
		ID: r.ID, Severity: r.Severity, RateLimit: r.RateLimit, Sinks: r.Sinks, Resolves: r.Resolves,
		Action: Action(r.Action), KeyFromRef: r.KeyFromRef != "",
	}
}

// action returns the rule's action with the default applied.
func (r *RuleInfo) action() Action {
	switch {
	case r.Action != "":
		return r.Action
	case len(r.Resolves) > 0:
		return Resolve
	}
	return Fire
}

// Match is one rule match on one record.
type Match struct {
	Rule *RuleInfo
	Key  string
	// Ref addresses the alerts a rule with KeyFromRef acts on: a remote
	// reference a sink returned for them (a Rocket.Chat thread's root message
	// id).
	Ref string
	// By is who acted (acknowledged, resolved); stored with the alert.
	By      string
	Dedup   string
	Title   string
	Message string
	Fields  map[string]string
	// Time is when the record was logged; zero means unknown (Now is used).
	Time time.Time
	// Origin identifies the record (file identity, offset) so event ids are
	// stable: re-reading the same record yields the same ids.
	Origin string
}

// Routed is an event and the sinks it must be delivered to.
type Routed struct {
	Event sdk.Event
	// Sinks may be shared with other events: do not change it.
	Sinks []string
}

// Stats counts what Apply held back.
type Stats struct {
	Duplicates int // outcomes already seen (same rule and dedup value)
	Suppressed int // firings held back by a rate limit
	Unmatched  int // resolutions, acknowledgements and notes with no alert to act on
}

// Lifecycle applies matches to alert state.
type Lifecycle struct {
	host  string
	rules map[string]*RuleInfo
	// routes holds the sinks of each rule in rules, worked out once: every
	// event needs them.
	routes map[*RuleInfo][]string
	sinks  []Sink
	now    func() time.Time
}

// New returns a Lifecycle for the given rules and sinks. host names this node in events.
func New(host string, rules []*RuleInfo, sinks []Sink, now func() time.Time) (*Lifecycle, error) {
	if now == nil {
		now = time.Now
	}
	l := &Lifecycle{host: host, rules: make(map[string]*RuleInfo, len(rules)), routes: make(map[*RuleInfo][]string, len(rules)),
		sinks: sinks, now: now}
	for _, r := range rules {
		l.rules[r.ID] = r
	}
	for _, r := range rules {
		to, err := l.route(r)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.ID, err)
		}
		l.routes[r] = to
	}
	return l, nil
}

// sinksOf returns the sink names r's events go to. The slice may be shared:
// it must not be changed.
func (l *Lifecycle) sinksOf(r *RuleInfo) ([]string, error) {
	if to, ok := l.routes[r]; ok {
		return to, nil
	}
	return l.route(r)
}

// Route returns the sink names a rule's events go to.
func (l *Lifecycle) route(r *RuleInfo) ([]string, error) {
	if len(r.Sinks) == 0 {
		all := make([]string, len(l.sinks))
		for i, s := range l.sinks {
			all[i] = s.Name
		}
		return all, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, want := range r.Sinks {
		found := false
		for _, s := range l.sinks {
			if s.Name == want || (strings.HasPrefix(want, "kind:") && s.Kind == strings.TrimPrefix(want, "kind:")) {
				found = true
				if !seen[s.Name] {
					seen[s.Name] = true
					out = append(out, s.Name)
				}
			}
		}
		// A kind with no configured sink is fine (packs route by kind); a name is not.
		if !found && !strings.HasPrefix(want, "kind:") {
			return nil, fmt.Errorf("sinks: no sink named %q", want)
		}
	}
	return out, nil
}

// Apply records one match in tx and returns the events it produces (none, one,
// or one per alert it acts on).
func (l *Lifecycle) Apply(tx *state.Tx, m Match, st *Stats) ([]Routed, error) {
	at := m.Time
	if at.IsZero() {
		at = l.now()
	}
	if m.Dedup != "" {
		id := "dedup\x00" + m.Rule.ID + "\x00" + m.Dedup
		if tx.Seen(id) {
			st.Duplicates++
			return nil, nil
		}
		if err := tx.MarkSeen(id, l.now()); err != nil {
			return nil, err
		}
	}
	switch act := m.Rule.action(); {
	case act == Fire:
		return l.fire(tx, m, at, st)
	case act == Resolve && len(m.Rule.Resolves) > 0:
		return l.resolve(tx, m, at, st)
	default:
		return l.act(tx, m, act, at, st)
	}
}

func (l *Lifecycle) fire(tx *state.Tx, m Match, at time.Time, st *Stats) ([]Routed, error) {
	r := m.Rule
	a, open := tx.Alert(r.ID, m.Key)
	if open && a.Status == sdk.StatusResolved {
		open = false
	}
	if !open {
		// A new alert, or a new instance of one that was resolved: old remote
		// references point at closed alerts and must not be reused.
		a = state.Alert{Rule: r.ID, Key: m.Key, FirstSeen: at, Instance: a.Instance + 1}
	}
	a.Status = sdk.StatusFiring
	a.Title, a.Severity, a.Fields = m.Title, r.Severity, m.Fields
	a.LastSeen = at
	a.Count++

	if open && r.RateLimit > 0 && !a.LastFired.IsZero() && at.Sub(a.LastFired) < r.RateLimit {
		if a.Suppressed == 0 {
			a.SuppressedSince = at
		}
		a.Suppressed++
		st.Suppressed++
		return nil, tx.PutAlert(a)
	}

	msg := m.Message
	if a.Suppressed > 0 {
		msg += fmt.Sprintf("\n(%d more since %s)", a.Suppressed, a.SuppressedSince.Format("2006-01-02 15:04:05 -0700"))
	}
	a.Suppressed, a.SuppressedSince, a.LastFired = 0, time.Time{}, at
	a.Message = msg
	if err := tx.PutAlert(a); err != nil {
		return nil, err
	}
	sinks, err := l.sinksOf(r)
	if err != nil {
		return nil, err
	}
	ev := sdk.Event{
		ID: eventID(m.Origin, r.ID, string(sdk.StatusFiring), m.Key, at), Rule: r.ID, Status: sdk.StatusFiring,
		Key: m.Key, Severity: r.Severity, Title: m.Title, Message: msg, Fields: m.Fields, Time: at, Host: l.host,
	}
	return []Routed{{Event: ev, Sinks: sinks}}, nil
}

func (l *Lifecycle) resolve(tx *state.Tx, m Match, at time.Time, st *Stats) ([]Routed, error) {
	var out []Routed
	for _, target := range m.Rule.Resolves {
		a, ok := tx.Alert(target, m.Key)
		if !ok || a.Status == sdk.StatusResolved {
			continue
		}
		a.Status = sdk.StatusResolved
		a.ResolvedAt = at
		a.LastSeen = at
		if m.By != "" {
			a.ResolvedBy = m.By
		}
		suppressed := a.Suppressed
		a.Suppressed, a.SuppressedSince = 0, time.Time{}
		if err := tx.PutAlert(a); err != nil {
			return nil, err
		}
		rule, ok := l.rules[target]
		if !ok {
			return nil, fmt.Errorf("rule %s resolves unknown rule %s", m.Rule.ID, target)
		}
		sinks, err := l.sinksOf(rule)
		if err != nil {
			return nil, err
		}
		msg := m.Message
		if suppressed > 0 {
			msg += fmt.Sprintf("\n(%d more failures were held back by the rate limit before this)", suppressed)
		}
		ev := sdk.Event{
			ID: eventID(m.Origin, target, string(sdk.StatusResolved), m.Key, at), Rule: target, Status: sdk.StatusResolved,
			Key: m.Key, Severity: a.Severity, Title: m.Title, Message: msg, Fields: mergeFields(a.Fields, m.Fields),
			Time: at, Host: l.host,
		}
		out = append(out, Routed{Event: ev, Sinks: sinks})
	}
	if len(out) == 0 {
		st.Unmatched++
		return l.resolveUnknown(tx, m, at)
	}
	return out, nil
}

// resolveUnknown sends the resolution of a key with no open alert here to the
// sinks with ResolveUnknown, once per match: another node's agent may have
// raised the alert (the master scheduler moved), and such a sink closes it
// by key. The alert is named by the first rule resolved.
func (l *Lifecycle) resolveUnknown(tx *state.Tx, m Match, at time.Time) ([]Routed, error) {
	if m.Key == "" {
		return nil, nil
	}
	var sinks []string
	for _, target := range m.Rule.Resolves {
		if a, ok := tx.Alert(target, m.Key); ok && a.Status != sdk.StatusResolved {
			return nil, nil // open here after all (cannot happen after resolve)
		}
		rule, ok := l.rules[target]
		if !ok {
			continue
		}
		to, err := l.sinksOf(rule)
		if err != nil {
			return nil, err
		}
		for _, name := range to {
			if l.resolvesUnknown(name) && !slices.Contains(sinks, name) {
				sinks = append(sinks, name)
			}
		}
	}
	if len(sinks) == 0 {
		return nil, nil
	}
	target := m.Rule.Resolves[0]
	severity := ""
	if r, ok := l.rules[target]; ok {
		severity = r.Severity
	}
	ev := sdk.Event{
		ID: eventID(m.Origin, target, "resolved-unknown", m.Key, at), Rule: target, Status: sdk.StatusResolved,
		Key: m.Key, Severity: severity, Title: m.Title, Message: m.Message, Fields: m.Fields, Time: at, Host: l.host,
	}
	return []Routed{{Event: ev, Sinks: sinks}}, nil
}

// resolvesUnknown reports whether the named sink takes resolutions of keys
// with no alert here.
func (l *Lifecycle) resolvesUnknown(name string) bool {
	for _, s := range l.sinks {
		if s.Name == name {
			return s.ResolveUnknown
		}
	}
	return false
}

// act applies a resolution, acknowledgement or note to the alerts that exist
// with the match's key, of any rule, or with its remote reference. Each
// event names the alert's rule, so a sink gets back the reference it returned
// for the alert (a Rocket.Chat sink replies in the alert's thread). It goes to
// the sinks of the acting rule that the alert's own rule routes to: a note
// about an alert never reaches a sink that was not told of the alert.
func (l *Lifecycle) act(tx *state.Tx, m Match, act Action, at time.Time, st *Stats) ([]Routed, error) {
	// An empty key or reference addresses nothing: a callback about an alert
	// Herald did not raise (no external id, a message outside any thread)
	// must not touch the alerts that happen to have an empty key.
	var targets []state.Alert
	switch {
	case m.Rule.KeyFromRef:
		if m.Ref != "" {
			targets = alertsByRef(tx, m.Ref)
		}
	case m.Key != "":
		targets = tx.AlertsByKey(m.Key)
	}
	sinks, err := l.sinksOf(m.Rule)
	if err != nil {
		return nil, err
	}
	var out []Routed
	for _, a := range targets {
		status := sdk.StatusInfo
		switch act {
		case Resolve:
			if a.Status == sdk.StatusResolved {
				continue
			}
			status = sdk.StatusResolved
			a.Status, a.ResolvedAt = status, at
			if m.By != "" {
				a.ResolvedBy = m.By
			}
			a.Suppressed, a.SuppressedSince = 0, time.Time{}
		case Acknowledge:
			// Acknowledging twice is news only when someone else does it
			// (SIGNL4's multi_ack): an echo of an acknowledgement, say from
			// SIGNL4 confirming one sent from chat, is not repeated.
			if a.Status == sdk.StatusResolved || (a.Status == sdk.StatusAcknowledged && (m.By == "" || hasName(a.AckedBy, m.By))) {
				continue
			}
			status = sdk.StatusAcknowledged
			a.Status = status
			a.AckedBy = addName(a.AckedBy, m.By)
		}
		a.LastSeen = later(a.LastSeen, at)
		if err := tx.PutAlert(a); err != nil {
			return nil, err
		}
		title := m.Title
		if title == "" {
			title = a.Title
		}
		ev := sdk.Event{
			ID: eventID(m.Origin, a.Rule, string(status), a.Key, at), Rule: a.Rule, Status: status,
			Key: a.Key, Severity: a.Severity, Title: title, Message: m.Message, Fields: m.Fields, Time: at, Host: l.host,
		}
		to := sinks
		if own, ok := l.rules[a.Rule]; ok {
			ownSinks, err := l.sinksOf(own)
			if err != nil {
				return nil, err
			}
			to = intersect(sinks, ownSinks)
		}
		out = append(out, Routed{Event: ev, Sinks: to})
	}
	if len(out) == 0 {
		st.Unmatched++
	}
	return out, nil
}

// Follow makes the alerts with key take a status that a remote system reports
// (a SIGNL4 callback: acknowledged or closed by someone), without sending
// anything: the state stays true to what happened even when no rule tells
// other sinks. It returns how many alerts changed. Resolved alerts stay
// resolved; other statuses are ignored.
func (l *Lifecycle) Follow(tx *state.Tx, key string, status sdk.Status, by string, at time.Time) (int, error) {
	if at.IsZero() {
		at = l.now()
	}
	n := 0
	for _, a := range tx.AlertsByKey(key) {
		switch {
		case a.Status == sdk.StatusResolved:
			continue
		case status == sdk.StatusResolved:
			a.Status, a.ResolvedAt = sdk.StatusResolved, at
			if by != "" {
				a.ResolvedBy = by
			}
			a.Suppressed, a.SuppressedSince = 0, time.Time{}
		case status == sdk.StatusAcknowledged && (a.Status == sdk.StatusFiring || (by != "" && !hasName(a.AckedBy, by))):
			a.Status = sdk.StatusAcknowledged
			a.AckedBy = addName(a.AckedBy, by)
		default:
			continue
		}
		a.LastSeen = later(a.LastSeen, at)
		if err := tx.PutAlert(a); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// alertsByRef returns the alerts for which some sink returned ref. It reads
// every alert: references are looked up only for callbacks (a chat reply),
// and resolved alerts are pruned after a week, so the set stays small.
func alertsByRef(tx *state.Tx, ref string) []state.Alert {
	return tx.Alerts(func(a state.Alert) bool {
		for _, r := range a.Refs {
			if r == ref {
				return true
			}
		}
		return false
	})
}

// hasName reports whether the comma-separated list names name.
func hasName(list, name string) bool {
	for n := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(n) == name {
			return true
		}
	}
	return false
}

// addName appends name to the comma-separated list unless it is there or empty.
func addName(list, name string) string {
	switch {
	case name == "" || hasName(list, name):
		return list
	case list == "":
		return name
	}
	return list + ", " + name
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// intersect returns the names in a that are also in b, in a's order.
func intersect(a, b []string) []string {
	out := make([]string, 0, len(a))
	for _, n := range a {
		if slices.Contains(b, n) {
			out = append(out, n)
		}
	}
	return out
}

// mergeFields returns the alert's fields updated with the resolution's.
func mergeFields(base, over map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// eventID derives a stable id: the same record processed twice gives the same id,
// which sinks use for idempotency (Rocket.Chat message ids, webhook-id headers).
// The hash covers each part followed by a zero byte; ids must not change
// between releases (TestEventIDStable), or a sink would not recognise a
// re-sent event.
func eventID(origin, rule, status, key string, at time.Time) string {
	// One buffer on the stack instead of a hash.Hash, a formatted time and a
	// sum on the heap: the commit path makes an id per event.
	var stack [256]byte
	b := stack[:0]
	for _, s := range [...]string{origin, rule, status, key} {
		b = append(b, s...)
		b = append(b, 0)
	}
	b = at.UTC().AppendFormat(b, time.RFC3339Nano)
	sum := sha256.Sum256(append(b, 0))
	return hex.EncodeToString(sum[:12])
}

// Route returns the names of the sinks the events of the rule with this id go
// to; nil for an unknown rule. The slice is shared: do not change it.
func (l *Lifecycle) Route(id string) []string {
	r := l.rules[id]
	if r == nil {
		return nil
	}
	to, _ := l.sinksOf(r)
	return to
}

// Rule returns the rule with the given id, or nil.
func (l *Lifecycle) Rule(id string) *RuleInfo { return l.rules[id] }
