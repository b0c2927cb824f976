package rocketchat

import (
	"crypto/sha256"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/heraldhq/herald/plugins/sdk"
)

// Colours of the attachment bar.
const (
	colourCritical = "#d00000"
	colourWarning  = "#f0a000"
	colourInfo     = "#439fe0"
	colourResolved = "#2eb886"
	colourNeutral  = "#9e9e9e"
)

// TruncationMark ends a text that was cut to fit the server's limit.
const TruncationMark = "… (truncated)"

// maxFieldValue and maxTitle keep one runaway value from swamping a message.
const (
	maxFieldValue = 1000
	maxTitle      = 500
)

// attachment is a Rocket.Chat message attachment (the Slack-compatible subset
// this sink uses).
type attachment struct {
	Title  string  `json:"title,omitempty"`
	Color  string  `json:"color,omitempty"`
	Text   string  `json:"text,omitempty"`
	TS     string  `json:"ts,omitempty"`
	Fields []field `json:"fields,omitempty"`
}

type field struct {
	Short bool   `json:"short"`
	Title string `json:"title"`
	Value string `json:"value"`
}

// message is what one event becomes, in either mode.
type message struct {
	Text        string
	Attachments []attachment
}

// level is a severity bucket.
type level int

const (
	levelInfo level = iota
	levelWarning
	levelCritical
)

// severityLevel buckets the free-text severity of a rule.
func severityLevel(sev string) level {
	switch strings.ToLower(strings.TrimSpace(sev)) {
	case "critical", "crit", "fatal", "emergency", "alert", "error", "high":
		return levelCritical
	case "warning", "warn", "medium":
		return levelWarning
	}
	return levelInfo
}

// look returns the emoji, the status word and the attachment colour of ev.
func look(ev sdk.Event) (emoji, word, colour string) {
	switch ev.Status {
	case sdk.StatusResolved:
		return ":white_check_mark:", "RESOLVED", colourResolved
	case sdk.StatusAcknowledged:
		return ":eyes:", "ACKNOWLEDGED", colourNeutral
	case sdk.StatusInfo:
		return ":speech_balloon:", "INFO", colourNeutral
	}
	switch severityLevel(ev.Severity) {
	case levelCritical:
		return ":red_circle:", "FIRING", colourCritical
	case levelWarning:
		return ":warning:", "FIRING", colourWarning
	}
	return ":information_source:", "FIRING", colourInfo
}

// title is the event's title on one line, or a stand-in when it has none.
func title(ev sdk.Event) string {
	t := oneLine(ev.Title)
	switch {
	case t != "":
		return t
	case ev.Rule != "":
		return ev.Rule
	case ev.Key != "":
		return "alert " + ev.Key
	}
	return "alert"
}

// summary is the one-line message text: emoji, status word, title.
func summary(ev sdk.Event, maxText int) string {
	emoji, word, _ := look(ev)
	return truncate(emoji+" *"+word+"* "+title(ev), maxText)
}

// resolvedRootText is what the root message of an alert says once resolved.
func resolvedRootText(ev sdk.Event, maxText int) string {
	return truncate(":white_check_mark: *RESOLVED* "+title(ev), maxText)
}

// compose turns an event into a message whose texts fit maxText.
func compose(ev sdk.Event, maxText int) message {
	_, _, colour := look(ev)
	a := attachment{
		Title:  truncate(title(ev), min(maxTitle, maxText)),
		Color:  colour,
		Text:   truncate(strings.TrimSpace(ev.Message), maxText),
		Fields: fields(ev),
	}
	if !ev.Time.IsZero() {
		a.TS = isoTime(ev.Time)
	}
	return message{Text: summary(ev, maxText), Attachments: []attachment{a}}
}

// wellKnown are event fields shown first, under friendlier titles.
var wellKnown = []struct{ key, title string }{
	{"TaskName", "Task"},
	{"AppName", "App"},
}

// fields lists Severity, Task, App, Host, Execution, the remaining event
// fields by name, and the rule. Empty values are left out: Rocket.Chat refuses
// a field without a title and a value.
func fields(ev sdk.Event) []field {
	var fs []field
	add := func(t, v string) {
		if v = strings.TrimSpace(v); v != "" {
			fs = append(fs, field{Short: true, Title: t, Value: truncate(v, maxFieldValue)})
		}
	}
	used := map[string]bool{"ExecutionId": true}
	add("Severity", ev.Severity)
	for _, w := range wellKnown {
		add(w.title, ev.Fields[w.key])
		used[w.key] = true
	}
	add("Host", ev.Host)
	add("Execution", ev.Fields["ExecutionId"])
	rest := make([]string, 0, len(ev.Fields))
	for k := range ev.Fields {
		if !used[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		add(k, ev.Fields[k])
	}
	add("Rule", ev.Rule)
	return fs
}

// oneLine collapses runs of whitespace, newlines included, to one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// utf16Len is the length of s as JavaScript counts it (String.length), which
// is how Rocket.Chat measures Message_MaxAllowedSize.
func utf16Len(s string) int {
	// Ranging over a string yields U+FFFD for invalid bytes, never a
	// surrogate, so RuneLen is 1 or 2 here.
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// truncate shortens s to at most max UTF-16 code units, cutting between runes
// and ending with TruncationMark, so the reader sees that text is missing.
func truncate(s string, max int) string {
	if utf16Len(s) <= max {
		return s
	}
	budget := max - utf16Len(TruncationMark)
	if budget <= 0 {
		return TruncationMark
	}
	n := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if n+w > budget {
			return strings.TrimRight(s[:i], " \t\r\n") + TruncationMark
		}
		n += w
	}
	return s
}

// idAlphabet is base62, the characters of a Meteor-style message id.
const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// idLen matches the 17 characters of Meteor's Random.id().
const idLen = 17

// MessageID derives the Rocket.Chat message _id the sink uses for an event in
// a room: the first 17 base62 digits of SHA-256(room id, event id). The same
// event sent to the same room again gets the same _id, which is what makes a
// retried chat.sendMessage safe; the same event sent to two rooms gets two.
func MessageID(roomID, eventID string) string {
	sum := sha256.Sum256([]byte(roomID + "\x00" + eventID))
	n := new(big.Int).SetBytes(sum[:])
	base := big.NewInt(int64(len(idAlphabet)))
	var mod big.Int
	id := make([]byte, idLen)
	for i := range id {
		n.DivMod(n, base, &mod)
		id[i] = idAlphabet[mod.Int64()]
	}
	return string(id)
}

// isoTime formats t as Rocket.Chat's JSON dates look.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
