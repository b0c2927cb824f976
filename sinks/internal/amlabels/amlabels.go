// Package amlabels turns a Herald event into Prometheus Alertmanager labels
// and annotations. The alertmanager sink (which posts to Alertmanager's API)
// and the webhook sink's alertmanager format (which speaks Alertmanager's
// webhook to receivers built for it) share it, so an alert has the same
// labels whichever way it travels.
//
// Labels identify an alert in Alertmanager: they are what it groups,
// deduplicates, silences and inhibits by, so they must stay the same for
// every event of one alert. They are:
//
//   - alertname: the rule id;
//   - severity and host: the event's;
//   - the key label (default task_id): the event key, which ties a firing
//     to its resolution;
//   - one label per entry of the mapping, label name to event field (default
//     task_name = TaskName, app_id = AppId, app_name = AppName: the qliksense
//     pack's fields).
//
// Labels with an empty value are left out, as Prometheus does. Everything
// else an event carries goes in annotations, which may change between events:
// summary (the title), description (the message) and every field not used
// as a label, under its name made a valid label name (ScriptLogErrors,
// ScriptLogTail: the reload's script log lines).
package amlabels

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"

	"github.com/heraldhq/herald/plugins/sdk"
)

// Fixed label names.
const (
	AlertName = "alertname"
	Severity  = "severity"
	Host      = "host"
)

// Annotation names set from the event itself.
const (
	Summary     = "summary"
	Description = "description"
)

// DefaultKeyLabel carries the event key unless the config says otherwise.
// For the qliksense pack the key is the TaskId.
const DefaultKeyLabel = "task_id"

// DefaultLabels maps label names to the qliksense pack's event fields.
func DefaultLabels() map[string]string {
	return map[string]string{"task_name": "TaskName", "app_id": "AppId", "app_name": "AppName"}
}

// Config is the part of a sink's [sink.config] that shapes labels. A sink
// embeds it, so the keys are the same wherever labels are made.
type Config struct {
	// Labels maps a label name to the event field whose value it takes.
	// Nil takes DefaultLabels; an empty table sends no field as a label.
	Labels map[string]string `json:"labels"`
	// KeyLabel names the label that carries the event key; nil takes
	// DefaultKeyLabel, "" sends no key label.
	KeyLabel *string `json:"key_label"`
}

// Mapper makes labels and annotations. It is immutable and safe for
// concurrent use.
type Mapper struct {
	keyLabel string
	labels   []pair // label, field; sorted by label
	used     map[string]bool
}

type pair struct{ label, field string }

// New validates c and returns its Mapper. Errors name the config key.
func New(c Config) (*Mapper, error) {
	m := &Mapper{keyLabel: DefaultKeyLabel, used: map[string]bool{}}
	if c.KeyLabel != nil {
		m.keyLabel = *c.KeyLabel
	}
	labels := c.Labels
	if labels == nil {
		labels = DefaultLabels()
	}
	var errs []error
	fixed := map[string]bool{AlertName: true, Severity: true, Host: true}
	if m.keyLabel != "" {
		switch {
		case !ValidName(m.keyLabel):
			errs = append(errs, fmt.Errorf("key_label: %q is not a valid label name (letters, digits and _, not starting with a digit)", m.keyLabel))
		case fixed[m.keyLabel]:
			errs = append(errs, fmt.Errorf("key_label: %q is set by the sink", m.keyLabel))
		}
	}
	for _, label := range slices.Sorted(maps.Keys(labels)) {
		field := labels[label]
		switch {
		case !ValidName(label):
			errs = append(errs, fmt.Errorf("labels: %q is not a valid label name (letters, digits and _, not starting with a digit); try %q", label, Sanitize(label)))
		case fixed[label] || strings.HasPrefix(label, "__"):
			errs = append(errs, fmt.Errorf("labels: %q is set by the sink or reserved", label))
		case label == m.keyLabel:
			errs = append(errs, fmt.Errorf("labels: %q is the key_label, which carries the event key", label))
		case strings.TrimSpace(field) == "":
			errs = append(errs, fmt.Errorf("labels: %q names no event field", label))
		default:
			m.labels = append(m.labels, pair{label, field})
			m.used[strings.ToLower(field)] = true
		}
	}
	return m, errors.Join(errs...)
}

// Labels returns the alert's labels for ev.
func (m *Mapper) Labels(ev sdk.Event) map[string]string {
	l := make(map[string]string, 4+len(m.labels))
	set := func(name, value string) {
		if value != "" {
			l[name] = value
		}
	}
	set(AlertName, ev.Rule)
	set(Severity, ev.Severity)
	set(Host, ev.Host)
	if m.keyLabel != "" {
		set(m.keyLabel, ev.Key)
	}
	for _, p := range m.labels {
		set(p.label, field(ev.Fields, p.field))
	}
	return l
}

// Annotations returns the alert's annotations for ev: summary, description
// and the fields not used as labels, under sanitised names. A field whose
// name sanitises to summary or description, or to the name of another
// field, does not replace it.
func (m *Mapper) Annotations(ev sdk.Event) map[string]string {
	a := make(map[string]string, 2+len(ev.Fields))
	for _, k := range slices.Sorted(maps.Keys(ev.Fields)) {
		v := ev.Fields[k]
		if v == "" || m.used[strings.ToLower(k)] {
			continue
		}
		name := Sanitize(k)
		if _, taken := a[name]; !taken {
			a[name] = v
		}
	}
	a[Summary] = ev.Title
	if ev.Message != "" {
		a[Description] = ev.Message
	} else {
		delete(a, Description)
	}
	return a
}

// ValidName reports whether s is a Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0) {
			return false
		}
	}
	return true
}

// Sanitize makes s a valid label name: every character outside
// [a-zA-Z0-9_] becomes _, and a name starting with a digit (or empty) gets
// a leading _.
func Sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] >= '0' && b[0] <= '9' {
		b = append([]byte{'_'}, b...)
	}
	// A multi-byte rune became several _; that is still a valid name.
	return string(b)
}

// Fingerprint is the fingerprint Alertmanager gives an alert with these
// labels (prometheus/common model.LabelSet.Fingerprint): FNV-1a 64 over the
// sorted names and values, each followed by the byte 0xff, as 16 hex digits.
func Fingerprint(labels map[string]string) string {
	h := fnv.New64a()
	sep := []byte{0xff}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte(k))
		h.Write(sep)
		h.Write([]byte(labels[k]))
		h.Write(sep)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// field returns the value of the field called name, matched exactly and then
// case-insensitively (TaskId or TaskID), or "".
func field(fields map[string]string, name string) string {
	if v, ok := fields[name]; ok {
		return v
	}
	for k, v := range fields {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
