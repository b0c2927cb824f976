package webhook

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/internal/jsonenc"
	"github.com/heraldhq/herald/plugins/sdk"
)

// herald is the default payload: the event, as Herald sees it.
type herald struct {
	ID       string            `json:"id"`
	Rule     string            `json:"rule"`
	Status   sdk.Status        `json:"status"`
	Key      string            `json:"key"`
	Severity string            `json:"severity"`
	Title    string            `json:"title"`
	Message  string            `json:"message"`
	Time     time.Time         `json:"time"`
	Host     string            `json:"host"`
	Fields   map[string]string `json:"fields"`
}

func heraldPayload(ev sdk.Event) herald {
	fields := ev.Fields
	if fields == nil {
		fields = map[string]string{} // always an object, never null
	}
	return herald{
		ID: ev.ID, Rule: ev.Rule, Status: ev.Status, Key: ev.Key, Severity: ev.Severity,
		Title: ev.Title, Message: ev.Message, Time: ev.Time, Host: ev.Host, Fields: fields,
	}
}

// appendHerald appends ev in the herald format: byte for byte what
// encoding/json makes of heraldPayload(ev) (FuzzJSON holds it to that), but
// without reflection, whose per-key allocations for the fields map made up a
// quarter of a request's allocations.
func appendHerald(b []byte, ev sdk.Event) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = jsonenc.AppendString(b, ev.ID)
	b = append(b, `,"rule":`...)
	b = jsonenc.AppendString(b, ev.Rule)
	b = append(b, `,"status":`...)
	b = jsonenc.AppendString(b, string(ev.Status))
	b = append(b, `,"key":`...)
	b = jsonenc.AppendString(b, ev.Key)
	b = append(b, `,"severity":`...)
	b = jsonenc.AppendString(b, ev.Severity)
	b = append(b, `,"title":`...)
	b = jsonenc.AppendString(b, ev.Title)
	b = append(b, `,"message":`...)
	b = jsonenc.AppendString(b, ev.Message)
	b = append(b, `,"time":"`...)
	b, err := ev.Time.AppendText(b) // RFC 3339 with nanoseconds, as MarshalJSON
	if err != nil {
		return nil, fmt.Errorf("time: %w", err)
	}
	b = append(b, `","host":`...)
	b = jsonenc.AppendString(b, ev.Host)
	b = append(b, `,"fields":{`...)
	keys := make([]string, 0, 16)
	for k := range ev.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys) // as encoding/json orders a map
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendString(b, k)
		b = append(b, ':')
		b = jsonenc.AppendString(b, ev.Fields[k])
	}
	return append(b, "}}"...), nil
}

// heraldSize is a generous guess of the length of ev in the herald format,
// so that its body is allocated once.
func heraldSize(ev sdk.Event) int {
	n := 192 + len(ev.ID) + len(ev.Rule) + len(ev.Status) + len(ev.Key) + len(ev.Severity) +
		len(ev.Title) + len(ev.Message) + len(ev.Host)
	for k, v := range ev.Fields {
		n += len(k) + len(v) + 6
	}
	return n + n/8 // room for escapes
}

func (h herald) query() url.Values {
	q := url.Values{
		"id": {h.ID}, "rule": {h.Rule}, "status": {string(h.Status)}, "key": {h.Key},
		"severity": {h.Severity}, "title": {h.Title}, "message": {h.Message},
		"time": {h.Time.Format(time.RFC3339Nano)}, "host": {h.Host},
	}
	for k, v := range h.Fields {
		q.Set("fields."+k, v)
	}
	return q
}

// butler is the body Butler (ptarmiganlabs/butler) posts for a failed or
// aborted reload, key for key, so that receivers written for Butler keep
// working. The app owner keys come from QRS in Butler; here they are filled
// only when a rule sets the matching fields.
type butler struct {
	Event                 string `json:"event"`
	HostName              string `json:"hostName"`
	User                  string `json:"user"`
	TaskName              string `json:"taskName"`
	TaskID                string `json:"taskId"`
	AppName               string `json:"appName"`
	AppID                 string `json:"appId"`
	AppOwnerName          string `json:"appOwnerName"`
	AppOwnerUserDirectory string `json:"appOwnerUserDirectory"`
	AppOwnerUserID        string `json:"appOwnerUserId"`
	AppOwnerEmail         string `json:"appOwnerEmail"`
	LogTimeStamp          string `json:"logTimeStamp"`
	LogLevel              string `json:"logLevel"`
	ExecutionID           string `json:"executionId"`
	LogMessage            string `json:"logMessage"`
}

const (
	butlerFailed  = "Qlik Sense reload failed"
	butlerAborted = "Qlik Sense reload aborted"
	// butlerTime is log4net's %date, which Butler forwards as logTimeStamp.
	butlerTime = "2006-01-02 15:04:05.000"
)

// butlerPayload maps a firing event to Butler's body. Butler only ever sends
// failures and aborts, so other events have no Butler form (ok is false).
func butlerPayload(ev sdk.Event) (b butler, ok bool) {
	if ev.Status != sdk.StatusFiring {
		return butler{}, false
	}
	f := func(names ...string) string { return field(ev.Fields, names...) }
	b = butler{
		Event:                 butlerFailed,
		HostName:              f("Hostname", "HostName", "Host"),
		User:                  f("User"),
		TaskName:              f("TaskName"),
		TaskID:                f("TaskId"),
		AppName:               f("AppName"),
		AppID:                 f("AppId"),
		AppOwnerName:          f("AppOwnerName"),
		AppOwnerUserDirectory: f("AppOwnerUserDirectory"),
		AppOwnerUserID:        f("AppOwnerUserId"),
		AppOwnerEmail:         f("AppOwnerEmail"),
		LogTimeStamp:          ev.Time.Format(butlerTime),
		LogLevel:              f("Level"),
		ExecutionID:           f("ExecutionId"),
		LogMessage:            f("Message"),
	}
	if strings.Contains(strings.ToLower(ev.Rule), "abort") {
		b.Event = butlerAborted
	}
	if b.HostName == "" {
		b.HostName = ev.Host
	}
	if b.User == "" {
		if dir, id := f("UserDirectory"), f("UserId"); dir != "" && id != "" {
			b.User = dir + `\` + id
		}
	}
	if b.TaskID == "" {
		b.TaskID = ev.Key
	}
	// A receiver shows the task name; an event not about a task (a
	// self-alert, a rule of the admin's) is named by its title instead.
	if b.TaskName == "" {
		b.TaskName = ev.Title
	}
	if b.LogMessage == "" {
		b.LogMessage = ev.Message
	}
	if ev.Time.IsZero() {
		b.LogTimeStamp = ""
	}
	return b, true
}

// appendButler appends b as JSON: byte for byte what encoding/json makes of
// it (FuzzJSON holds it to that).
func appendButler(dst []byte, b butler) []byte {
	for _, m := range b.members() {
		dst = append(dst, m.key...)
		dst = jsonenc.AppendString(dst, m.value)
	}
	return append(dst, '}')
}

// butlerSize is a generous guess of the length of b as JSON.
func butlerSize(b butler) int {
	n := 16
	for _, m := range b.members() {
		n += len(m.key) + len(m.value) + 2
	}
	return n + n/8 // room for escapes
}

// members are b's JSON keys, each with its lead-in, and values, in order.
func (b butler) members() [15]struct{ key, value string } {
	return [...]struct{ key, value string }{
		{`{"event":`, b.Event}, {`,"hostName":`, b.HostName}, {`,"user":`, b.User},
		{`,"taskName":`, b.TaskName}, {`,"taskId":`, b.TaskID}, {`,"appName":`, b.AppName},
		{`,"appId":`, b.AppID}, {`,"appOwnerName":`, b.AppOwnerName},
		{`,"appOwnerUserDirectory":`, b.AppOwnerUserDirectory}, {`,"appOwnerUserId":`, b.AppOwnerUserID},
		{`,"appOwnerEmail":`, b.AppOwnerEmail}, {`,"logTimeStamp":`, b.LogTimeStamp},
		{`,"logLevel":`, b.LogLevel}, {`,"executionId":`, b.ExecutionID}, {`,"logMessage":`, b.LogMessage},
	}
}

func (b butler) query() url.Values {
	return url.Values{
		"event": {b.Event}, "hostName": {b.HostName}, "user": {b.User}, "taskName": {b.TaskName},
		"taskId": {b.TaskID}, "appName": {b.AppName}, "appId": {b.AppID}, "appOwnerName": {b.AppOwnerName},
		"appOwnerUserDirectory": {b.AppOwnerUserDirectory}, "appOwnerUserId": {b.AppOwnerUserID},
		"appOwnerEmail": {b.AppOwnerEmail}, "logTimeStamp": {b.LogTimeStamp}, "logLevel": {b.LogLevel},
		"executionId": {b.ExecutionID}, "logMessage": {b.LogMessage},
	}
}

// field returns the first of names present in fields, matched exactly and
// then case-insensitively (TaskId or TaskID), or "".
func field(fields map[string]string, names ...string) string {
	for _, n := range names {
		if v, ok := fields[n]; ok {
			return v
		}
	}
	for _, n := range names {
		for k, v := range fields {
			if strings.EqualFold(k, n) {
				return v
			}
		}
	}
	return ""
}
