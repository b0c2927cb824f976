package state

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/heraldhq/herald/internal/jsonenc"
	"github.com/heraldhq/herald/plugins/sdk"
)

// Alerts and outbox entries are written for every alert the agent raises, and
// encoding/json spent most of the commit path's CPU on them: its map encoder
// copies every key and value of Fields into a fresh allocation and sorts them
// by reflection (BenchmarkApplyFire in agent/lifecycle). The appenders below
// write the bytes json.Marshal writes for these types, field by field in the
// declared order with the same omitempty and omitzero rules and the same
// string escaping, so the file format is unchanged and values are still read
// with encoding/json. TestAppendJSONMatchesMarshal holds them to json.Marshal,
// with every field set, so a field added to one of these types without a line
// here fails it.

// jsonObject appends the members of one JSON object.
type jsonObject struct {
	b     []byte
	n     int   // members written
	err   error // the first time that cannot be encoded
	field string
}

func (o *jsonObject) key(name string) {
	if o.n == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = append(o.b, '"')
	o.b = append(o.b, name...) // field names need no escaping
	o.b = append(o.b, '"', ':')
}

func (o *jsonObject) str(name, v string) {
	o.key(name)
	o.b = jsonenc.AppendString(o.b, v)
}

// strOmit is a string field tagged omitempty.
func (o *jsonObject) strOmit(name, v string) {
	if v != "" {
		o.str(name, v)
	}
}

// intOmit is an int field tagged omitempty.
func (o *jsonObject) intOmit(name string, v int) {
	if v != 0 {
		o.key(name)
		o.b = strconv.AppendInt(o.b, int64(v), 10)
	}
}

// time writes t as time.Time's MarshalJSON does.
func (o *jsonObject) time(name string, t time.Time) {
	o.key(name)
	o.b = append(o.b, '"')
	var err error
	// AppendText is MarshalJSON without the quotes and the allocation: both
	// write strict RFC 3339 and refuse the same times.
	if o.b, err = t.AppendText(o.b); err != nil && o.err == nil {
		o.err, o.field = err, name
	}
	o.b = append(o.b, '"')
}

// timeOmit is a time.Time field tagged omitzero.
func (o *jsonObject) timeOmit(name string, t time.Time) {
	if !t.IsZero() {
		o.time(name, t)
	}
}

// mapOmit is a map[string]string field tagged omitempty: keys sorted, as
// encoding/json sorts them.
func (o *jsonObject) mapOmit(name string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	o.key(name)
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	o.b = append(o.b, '{')
	for i, k := range keys {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = jsonenc.AppendString(o.b, k)
		o.b = append(o.b, ':')
		o.b = jsonenc.AppendString(o.b, m[k])
	}
	o.b = append(o.b, '}')
}

// end closes the object and returns what was appended, or an error naming
// the field that could not be encoded.
func (o *jsonObject) end() ([]byte, error) {
	if o.err != nil {
		return nil, fmt.Errorf("%s: %w", o.field, o.err)
	}
	if o.n == 0 {
		o.b = append(o.b, '{')
	}
	return append(o.b, '}'), nil
}

// appendAlertJSON appends json.Marshal(a).
func appendAlertJSON(b []byte, a *Alert) ([]byte, error) {
	o := jsonObject{b: b}
	o.str("rule", a.Rule)
	o.str("key", a.Key)
	o.str("status", string(a.Status))
	o.strOmit("title", a.Title)
	o.strOmit("severity", a.Severity)
	o.mapOmit("fields", a.Fields)
	o.strOmit("message", a.Message)
	o.timeOmit("first_seen", a.FirstSeen)
	o.timeOmit("last_seen", a.LastSeen)
	o.intOmit("count", a.Count)
	o.intOmit("instance", a.Instance)
	o.mapOmit("refs", a.Refs)
	o.strOmit("acked_by", a.AckedBy)
	o.strOmit("resolved_by", a.ResolvedBy)
	o.timeOmit("resolved_at", a.ResolvedAt)
	o.timeOmit("last_fired", a.LastFired)
	o.intOmit("suppressed", a.Suppressed)
	o.timeOmit("suppressed_since", a.SuppressedSince)
	o.strOmit("held_by", a.HeldBy)
	o.timeOmit("held_since", a.HeldSince)
	o.intOmit("held_count", a.HeldCount)
	if a.HeldUnsent {
		o.key("held_unsent")
		o.b = append(o.b, "true"...)
	}
	if a.HeldEvent != nil {
		o.key("held_event")
		ev, err := appendEventJSON(o.b, a.HeldEvent)
		if err != nil {
			return nil, fmt.Errorf("held_event: %w", err)
		}
		o.b = ev
	}
	if len(a.HeldSinks) > 0 {
		o.key("held_sinks")
		o.b = append(o.b, '[')
		for i, s := range a.HeldSinks {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = jsonenc.AppendString(o.b, s)
		}
		o.b = append(o.b, ']')
	}
	return o.end()
}

// appendEntryJSON appends json.Marshal(e).
func appendEntryJSON(b []byte, e *entryValue) ([]byte, error) {
	o := jsonObject{b: b}
	o.key("event")
	ev, err := appendEventJSON(o.b, &e.Event)
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	o.b = ev
	o.intOmit("attempts", e.Attempts)
	o.strOmit("last_error", e.LastError)
	o.time("enqueued", e.Enqueued)
	o.intOmit("instance", e.Instance)
	o.strOmit("reason", e.Reason)
	o.timeOmit("died", e.Died)
	return o.end()
}

// appendEventJSON appends json.Marshal(ev).
func appendEventJSON(b []byte, ev *sdk.Event) ([]byte, error) {
	o := jsonObject{b: b}
	o.str("id", ev.ID)
	o.str("rule", ev.Rule)
	o.str("status", string(ev.Status))
	o.str("key", ev.Key)
	o.str("severity", ev.Severity)
	o.str("title", ev.Title)
	o.str("message", ev.Message)
	o.mapOmit("fields", ev.Fields)
	o.time("time", ev.Time)
	o.str("host", ev.Host)
	o.strOmit("ref", ev.Ref)
	return o.end()
}
