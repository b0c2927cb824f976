// Package silence holds maintenance windows: silences that keep matching
// alert events from reaching the sinks while they are active, without losing
// them. A silence has matchers in the style of Prometheus Alertmanager
// (rule="qlik-reload-failed", task_name=~"Finance.*"), a start and an end.
// The agent (agent/silences.go) consults the active silences where routed
// events are queued, records what they hold in the alert state, and delivers
// every alert still firing once when the silence ends.
//
// This package is pure: matching, validation, parsing and the occurrences of
// recurring windows. The state store keeps silences (agent/state).
package silence

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// The matcher operators, as in Alertmanager.
const (
	OpEqual    = "="
	OpNotEqual = "!="
	OpRegex    = "=~"
	OpNotRegex = "!~"
)

// Sources of a silence.
const (
	SourceAPI = "api"
	SourceCLI = "cli"
	// SourcePage: made on the status page.
	SourcePage = "status page"
	// SourceConfigPrefix starts the source of a silence materialised from a
	// [[maintenance]] window: "config:<name>".
	SourceConfigPrefix = "config:"
)

// Matcher tests one name of an event. Names are "rule", "key", "severity",
// "host", "status", "title" and any field of the event (ev.Fields); a name the
// event lacks has the value "" (so task_name!="x" matches an event without
// task_name, as in Alertmanager). Regular expressions are anchored at both
// ends: task_name=~"Finance.*" matches "Finance daily", not "Old Finance".
type Matcher struct {
	Name  string `json:"name"`
	Op    string `json:"op"`
	Value string `json:"value"`

	re *regexp.Regexp // compiled Value of =~ and !~; nil until compiled
}

// String is the matcher as ParseMatcher reads it: name, operator, quoted value.
func (m Matcher) String() string { return m.Name + m.Op + strconv.Quote(m.Value) }

// compile checks m and compiles its regular expression.
func (m *Matcher) compile() error {
	if !validName(m.Name) {
		if m.Name == "" {
			return errors.New("matcher has no name")
		}
		return fmt.Errorf("matcher name %q: use letters, digits, _, - and .", m.Name)
	}
	switch m.Op {
	case OpEqual, OpNotEqual:
		m.re = nil
	case OpRegex, OpNotRegex:
		if _, err := regexp.Compile(m.Value); err != nil { // the error quotes the value as written
			return fmt.Errorf("matcher %s: bad regular expression: %w", m.Name, err)
		}
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			return fmt.Errorf("matcher %s: bad regular expression: %w", m.Name, err)
		}
		m.re = re
	default:
		return fmt.Errorf("matcher %s: operator %q: use =, !=, =~ or !~", m.Name, m.Op)
	}
	return nil
}

// match reports whether value satisfies m.
func (m *Matcher) match(value string) bool {
	switch m.Op {
	case OpEqual:
		return value == m.Value
	case OpNotEqual:
		return value != m.Value
	}
	re := m.re
	if re == nil { // not compiled (built by hand): compile now, once per call
		c := *m
		if c.compile() != nil {
			return false
		}
		re = c.re
	}
	return re.MatchString(value) == (m.Op == OpRegex)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// ParseMatcher reads a matcher written as name, operator, value:
// rule="qlik-reload-failed", task_name=~"Finance.*", severity!=info. The
// value is a double-quoted string (Go escapes: \" \\ \n) or, without spaces
// or quotes, bare.
func ParseMatcher(s string) (Matcher, error) {
	in := strings.TrimSpace(s)
	i := strings.IndexAny(in, "=!")
	if i < 0 {
		return Matcher{}, fmt.Errorf("matcher %q has no operator: write name=\"value\" (or !=, =~, !~)", s)
	}
	m := Matcher{Name: strings.TrimSpace(in[:i])}
	rest := in[i:]
	switch {
	case strings.HasPrefix(rest, OpRegex), strings.HasPrefix(rest, OpNotRegex), strings.HasPrefix(rest, OpNotEqual):
		m.Op = rest[:2]
	case strings.HasPrefix(rest, OpEqual):
		m.Op = OpEqual
	default:
		return Matcher{}, fmt.Errorf("matcher %q: %q is not an operator: use =, !=, =~ or !~", s, rest[:1])
	}
	if m.Name == "" {
		return Matcher{}, fmt.Errorf("matcher %q has no name before %s", s, m.Op)
	}
	raw := strings.TrimSpace(rest[len(m.Op):])
	switch {
	case strings.HasPrefix(raw, `"`):
		v, err := strconv.Unquote(raw)
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %q: the value %s is not a well-quoted string (a missing closing \" or a bad escape)", s, raw)
		}
		m.Value = v
	case strings.ContainsAny(raw, "\"' \t"):
		return Matcher{}, fmt.Errorf("matcher %q: quote the value: %s%s\"...\"", s, m.Name, m.Op)
	default:
		m.Value = raw
	}
	if err := m.compile(); err != nil {
		return Matcher{}, fmt.Errorf("matcher %q: %w", s, err)
	}
	return m, nil
}

// ParseMatchers parses each of ss.
func ParseMatchers(ss []string) ([]Matcher, error) {
	out := make([]Matcher, 0, len(ss))
	for _, s := range ss {
		m, err := ParseMatcher(s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Silence holds back the events its matchers all match from StartsAt until
// EndsAt.
type Silence struct {
	ID       string    `json:"id"`
	Matchers []Matcher `json:"matchers"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	Comment  string    `json:"comment"`
	// CreatedBy is who made it: a user name, or "config".
	CreatedBy string `json:"created_by,omitempty"`
	// Source is "api", "cli" or "config:<name>".
	Source string `json:"source,omitempty"`
	// Suppressed counts the events it held back.
	Suppressed int `json:"suppressed,omitempty"`
	// ExpiredBy is who ended it early (EndsAt is then when).
	ExpiredBy string `json:"expired_by,omitempty"`
	// Released is set once the agent has handled its end: every alert it held
	// that was still firing has been queued for delivery.
	Released bool `json:"released,omitempty"`
}

// Active reports whether s holds events at now: from StartsAt (inclusive)
// until EndsAt (exclusive).
func (s Silence) Active(now time.Time) bool {
	return !now.Before(s.StartsAt) && now.Before(s.EndsAt)
}

// Ended reports whether s is over at now.
func (s Silence) Ended(now time.Time) bool { return !now.Before(s.EndsAt) }

// Matches reports whether every matcher of s matches ev. A silence without
// matchers matches nothing.
func (s Silence) Matches(ev sdk.Event) bool {
	if len(s.Matchers) == 0 {
		return false
	}
	for i := range s.Matchers {
		m := &s.Matchers[i]
		if !m.match(valueOf(ev, m.Name)) {
			return false
		}
	}
	return true
}

// valueOf is the value of name in ev; "" when ev has none.
func valueOf(ev sdk.Event, name string) string {
	switch name {
	case "rule":
		return ev.Rule
	case "key":
		return ev.Key
	case "severity":
		return ev.Severity
	case "host":
		return ev.Host
	case "status":
		return string(ev.Status)
	case "title":
		return ev.Title
	}
	return ev.Fields[name]
}

// Compile checks s's matchers and prepares their regular expressions, so
// that Matches does not compile them for each event. Silences read from the
// store are not compiled.
func (s *Silence) Compile() error {
	s.Matchers = slices.Clone(s.Matchers)
	for i := range s.Matchers {
		if err := s.Matchers[i].compile(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks s as a new silence at now: it needs a matcher, a comment,
// and an end after its start and in the future. It compiles the matchers.
func (s *Silence) Validate(now time.Time) error {
	var errs []error
	if len(s.Matchers) == 0 {
		errs = append(errs, errors.New("at least one matcher is required, such as rule=\"qlik-reload-failed\""))
	}
	if err := s.Compile(); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(s.Comment) == "" {
		errs = append(errs, errors.New("a comment is required: say why (it is shown when the held alerts are delivered)"))
	}
	switch {
	case s.EndsAt.IsZero():
		errs = append(errs, errors.New("an end is required"))
	case !s.EndsAt.After(s.StartsAt):
		errs = append(errs, fmt.Errorf("the end (%s) must be after the start (%s)", s.EndsAt.Format(time.RFC3339), s.StartsAt.Format(time.RFC3339)))
	case !s.EndsAt.After(now):
		errs = append(errs, fmt.Errorf("the end (%s) is in the past", s.EndsAt.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

// New validates s as a new silence at now and returns it ready to store: a
// zero StartsAt becomes now, a new random ID is set, Suppressed, ExpiredBy and
// Released are cleared.
func New(s Silence, now time.Time) (Silence, error) {
	if s.StartsAt.IsZero() {
		s.StartsAt = now
	}
	if err := s.Validate(now); err != nil {
		return Silence{}, err
	}
	s.ID = NewID()
	s.Suppressed, s.ExpiredBy, s.Released = 0, "", false
	return s, nil
}

// NewID returns a random silence id.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Expire ends s at now, by who. A silence that has not started yet ends
// before it starts (EndsAt = StartsAt). It fails on a silence that is over.
func (s *Silence) Expire(by string, now time.Time) error {
	if s.Ended(now) {
		return fmt.Errorf("silence %s is already over (ended %s)", s.ID, s.EndsAt.Format(time.RFC3339))
	}
	if now.Before(s.StartsAt) {
		now = s.StartsAt
	}
	s.EndsAt = now
	if by == "" {
		by = "unknown"
	}
	s.ExpiredBy = by
	return nil
}

// Describe is a one-line summary for logs: matchers, comment.
func (s Silence) Describe() string {
	ms := make([]string, len(s.Matchers))
	for i, m := range s.Matchers {
		ms[i] = m.String()
	}
	return "{" + strings.Join(ms, ", ") + "} " + strconv.Quote(s.Comment)
}
