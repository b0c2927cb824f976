// Package hooks serves Herald's http inputs: the callbacks SIGNL4 sends when
// someone acknowledges, closes, escalates or annotates an alert, the outgoing
// webhook Rocket.Chat calls for a chat message, and any JSON webhook.
//
// A Handler checks the caller's token (in constant time), limits the body to
// MaxBody, decodes it into a parsers.Record with the format's declared fields
// and hands it to Config.Deliver, which runs it through the rules and commits
// what they did. The caller gets 200 only after that commit, so a crash before
// it makes SIGNL4 or Rocket.Chat deliver again; the notification's id (SIGNL4
// `id`, Rocket.Chat `message_id`) lets Deliver drop a second delivery.
package hooks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/jsonparser"
	"github.com/heraldhq/herald/plugins/sdk"
)

// The body formats of an http input (its `format`). Rules select an http
// input's records by format with `parsers = [...]`.
const (
	FormatSIGNL4     = "signl4"
	FormatRocketChat = "rocketchat"
	FormatJSON       = "json"
)

// MaxBody is the largest request body accepted; a larger one gets 413.
const MaxBody = 1 << 20

// SIGNL4Fields are the fields of a SIGNL4 callback record.
var SIGNL4Fields = []string{
	"EventType", "StatusCode", "ExternalEventId", "AlertId", "EventId", "User", "UserMail", "UserId",
	"Annotation", "TeamId", "Id", "EventRaisedUtc",
}

// RocketChatFields are the fields of a Rocket.Chat outgoing-webhook record. The
// integration's token is checked and never becomes a field.
var RocketChatFields = []string{
	"Bot", "TriggerWord", "ChannelId", "ChannelName", "MessageId", "Timestamp", "UserId", "UserName",
	"Text", "Tmid", "SiteUrl", "Alias",
}

// SIGNL4 event types (eventType) and alert status codes (alert.statusCode).
const (
	signl4Test          = "1"
	signl4StatusChanged = "201"
	signl4Acknowledged  = "2"
	signl4Closed        = "4"
)

// Delivery is one accepted request, for Config.Deliver.
type Delivery struct {
	// Record is the request body as a record of the input.
	Record *parsers.Record
	// ID identifies the notification so that a second delivery of it is
	// processed once: SIGNL4's `id`, Rocket.Chat's `message_id`, or a JSON
	// webhook's `Webhook-Id` or `Idempotency-Key` header. Empty when the
	// request has none.
	ID string
	// Follow is the alert status change a SIGNL4 callback reports
	// (acknowledged or closed, by whom, for which external id), nil otherwise.
	Follow *Follow
}

// Follow is a change of an alert's status that the remote system reports.
type Follow struct {
	Key    string     // the alert's key: SIGNL4's externalEventId
	Status sdk.Status // acknowledged or resolved
	By     string     // who did it
}

// Config configures a Handler.
type Config struct {
	// Input is the [[input]]'s name; records carry it.
	Input string
	// Format is signl4, rocketchat or json.
	Format string
	// Token is the secret a request must carry: the query parameter `token`,
	// an `Authorization: Bearer` header, or (Rocket.Chat) the body's `token`.
	Token string
	// ParserOptions configure a json input like the json parser's
	// parser_options (fields, time_field, time_format); other formats take none.
	ParserOptions map[string]any
	// Logger receives the handler's log lines. Default: discard.
	Logger *slog.Logger
	// Deliver processes an accepted request and returns once what it did is
	// committed. duplicate reports a notification processed before. An error
	// answers 503, so the sender tries again.
	Deliver func(ctx context.Context, d Delivery) (duplicate bool, err error)
	// Rejected, if set, is called for every refused request with its status.
	Rejected func(status int)
}

// Handler is the http.Handler of one http input.
type Handler struct {
	cfg   Config
	log   *slog.Logger
	token [sha256.Size]byte
	json  parsers.Parser // format json only
}

// New returns the handler of an http input. It fails, naming the problem, for
// an unknown format, options a format does not take, or an empty token.
func New(cfg Config) (*Handler, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Token == "" {
		return nil, errors.New("empty token: every http input needs one")
	}
	if cfg.Deliver == nil {
		return nil, errors.New("hooks: Config.Deliver is nil")
	}
	h := &Handler{cfg: cfg, log: cfg.Logger.With("input", cfg.Input), token: sha256.Sum256([]byte(cfg.Token))}
	switch cfg.Format {
	case FormatSIGNL4, FormatRocketChat:
		if len(cfg.ParserOptions) > 0 {
			return nil, fmt.Errorf("parser_options: format %s takes none (only json does)", cfg.Format)
		}
	case FormatJSON:
		p, err := jsonparser.New(cfg.ParserOptions)
		if err != nil {
			return nil, err
		}
		h.json = p
	default:
		return nil, fmt.Errorf("unknown format %q (signl4, rocketchat or json)", cfg.Format)
	}
	return h, nil
}

// Fields returns the field names of the input's records, for compiling rules.
func (h *Handler) Fields() []string {
	switch h.cfg.Format {
	case FormatSIGNL4:
		return slices.Clone(SIGNL4Fields)
	case FormatRocketChat:
		return slices.Clone(RocketChatFields)
	}
	return h.json.Fields()
}

// ServeHTTP answers one callback.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, http.StatusMethodNotAllowed, "only POST is accepted")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			h.refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", MaxBody))
			return
		}
		h.refuse(w, http.StatusBadRequest, "cannot read body: "+err.Error())
		return
	}

	// The token may sit in the body (Rocket.Chat), so the body is decoded
	// first; a body that cannot be read is not trusted with details either.
	obj, decodeErr := decodeObject(body)
	if !h.authorized(r, obj) {
		h.log.Warn("refused a callback with a missing or wrong token", "remote", r.RemoteAddr)
		h.refuse(w, http.StatusUnauthorized, "missing or wrong token")
		return
	}
	if decodeErr != nil {
		h.refuse(w, http.StatusBadRequest, decodeErr.Error())
		return
	}

	d, test, err := h.delivery(r, obj)
	if err != nil {
		h.refuse(w, http.StatusBadRequest, err.Error())
		return
	}
	if test {
		h.log.Info("SIGNL4 test notification received; nothing to do", "id", d.ID)
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	dup, err := h.cfg.Deliver(r.Context(), d)
	if err != nil {
		h.log.Error("cannot record a callback; the sender should deliver it again", "id", d.ID, "err", err)
		h.refuse(w, http.StatusServiceUnavailable, "cannot record the callback now; try again")
		return
	}
	if dup {
		h.log.Debug("callback delivered again; processed before", "id", d.ID)
	}
	// Rocket.Chat counts an empty 200 as a failure and retries it: answer {}.
	writeJSON(w, http.StatusOK, struct{}{})
}

// authorized checks the request's token in constant time: the query
// parameter, else a bearer token, else (Rocket.Chat) the body's token.
func (h *Handler) authorized(r *http.Request, obj map[string]any) bool {
	got, ok := r.URL.Query()["token"]
	tok := ""
	switch {
	case ok && len(got) > 0:
		tok = got[0]
	case strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "):
		tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	case h.cfg.Format == FormatRocketChat && obj != nil:
		tok, _ = obj["token"].(string)
	}
	if tok == "" {
		return false
	}
	// Hashing first makes the comparison independent of the lengths too.
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], h.token[:]) == 1
}

// delivery turns a decoded body into a record. test reports a SIGNL4 test
// notification, which is only logged.
func (h *Handler) delivery(r *http.Request, obj map[string]any) (d Delivery, test bool, err error) {
	switch h.cfg.Format {
	case FormatSIGNL4:
		return h.signl4(obj)
	case FormatRocketChat:
		return h.rocketChat(obj), false, nil
	}
	return h.jsonRecord(r, obj)
}

func (h *Handler) signl4(obj map[string]any) (Delivery, bool, error) {
	eventType := text(lookup(obj, "eventType"))
	if eventType == "" {
		return Delivery{}, false, errors.New("not a SIGNL4 notification: no eventType")
	}
	raised := text(lookup(obj, "eventRaisedUtc"))
	rec := h.record(obj, parseTime(raised), []parsers.Field{
		{Name: "EventType", Value: eventType},
		{Name: "StatusCode", Value: text(lookup(obj, "alert", "statusCode"))},
		{Name: "ExternalEventId", Value: text(lookup(obj, "alert", "externalEventId"))},
		{Name: "AlertId", Value: text(lookup(obj, "alert", "id"))},
		{Name: "EventId", Value: text(lookup(obj, "alert", "eventId"))},
		{Name: "User", Value: text(lookup(obj, "user", "username"))},
		{Name: "UserMail", Value: text(lookup(obj, "user", "mailaddress"))},
		{Name: "UserId", Value: text(lookup(obj, "user", "id"))},
		{Name: "Annotation", Value: text(lookup(obj, "annotation", "message"))},
		{Name: "TeamId", Value: text(lookup(obj, "team", "id"))},
		{Name: "Id", Value: text(lookup(obj, "id"))},
		{Name: "EventRaisedUtc", Value: raised},
	})
	d := Delivery{Record: rec, ID: rec.Get("Id")}
	if key := rec.Get("ExternalEventId"); eventType == signl4StatusChanged && key != "" {
		switch rec.Get("StatusCode") {
		case signl4Acknowledged:
			d.Follow = &Follow{Key: key, Status: sdk.StatusAcknowledged, By: rec.Get("User")}
		case signl4Closed:
			d.Follow = &Follow{Key: key, Status: sdk.StatusResolved, By: rec.Get("User")}
		}
	}
	return d, eventType == signl4Test, nil
}

func (h *Handler) rocketChat(obj map[string]any) Delivery {
	// The token authenticated the request; it must not reach rules, events
	// or logs through Raw.
	delete(obj, "token")
	bot := "false"
	if b := obj["bot"]; b != nil && b != false {
		bot = "true" // a bot message carries {"i": integration id}
	}
	ts := text(obj["timestamp"])
	rec := h.record(obj, parseTime(ts), []parsers.Field{
		{Name: "Bot", Value: bot},
		{Name: "TriggerWord", Value: text(obj["trigger_word"])},
		{Name: "ChannelId", Value: text(obj["channel_id"])},
		{Name: "ChannelName", Value: text(obj["channel_name"])},
		{Name: "MessageId", Value: text(obj["message_id"])},
		{Name: "Timestamp", Value: ts},
		{Name: "UserId", Value: text(obj["user_id"])},
		{Name: "UserName", Value: text(obj["user_name"])},
		{Name: "Text", Value: text(obj["text"])},
		{Name: "Tmid", Value: text(obj["tmid"])},
		{Name: "SiteUrl", Value: text(obj["siteUrl"])},
		{Name: "Alias", Value: text(obj["alias"])},
	})
	return Delivery{Record: rec, ID: rec.Get("MessageId")}
}

// jsonRecord decodes a body like one line of the json parser.
func (h *Handler) jsonRecord(r *http.Request, obj map[string]any) (Delivery, bool, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return Delivery{}, false, err
	}
	var (
		rec    *parsers.Record
		recErr error
	)
	h.json.NewDecoder(h.cfg.Input, "", nil).Decode(parsers.Line{Text: string(raw), Offset: int64(len(raw))},
		func(got *parsers.Record, err error) {
			if got != nil {
				rec = got.Clone()
			}
			recErr = err
		})
	if recErr != nil {
		return Delivery{}, false, recErr
	}
	if rec == nil {
		return Delivery{}, false, errors.New("empty body")
	}
	rec.Offset = 0
	id := r.Header.Get("Webhook-Id")
	if id == "" {
		id = r.Header.Get("Idempotency-Key")
	}
	return Delivery{Record: rec, ID: id}, false, nil
}

// record builds a record of the input; Raw is the body as compact JSON.
func (h *Handler) record(obj map[string]any, t time.Time, fields []parsers.Field) *parsers.Record {
	raw, _ := json.Marshal(obj) // a decoded object always encodes
	return &parsers.Record{Time: t, Fields: fields, Raw: string(raw), Input: h.cfg.Input}
}

func (h *Handler) refuse(w http.ResponseWriter, status int, reason string) {
	if h.cfg.Rejected != nil {
		h.cfg.Rejected(status)
	}
	if status != http.StatusUnauthorized {
		h.log.Warn("refused a callback", "status", status, "reason", reason)
	}
	writeJSON(w, status, map[string]string{"error": reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// decodeObject decodes a body that must be exactly one JSON object.
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("body is not JSON: data after the object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("body is JSON but not an object")
	}
	return obj, nil
}

// lookup returns the value at a path of object keys, or nil.
func lookup(obj map[string]any, path ...string) any {
	var v any = obj
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// text renders a JSON value as a field: strings as they are, numbers and
// booleans as their JSON text, null as "", objects and arrays as compact JSON.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// parseTime reads an ISO 8601 time as SIGNL4 (.NET, up to 7 fractional
// digits, sometimes without a zone: UTC) and Rocket.Chat write it; zero if
// it is not one.
func parseTime(s string) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil {
		return t
	}
	return time.Time{}
}
