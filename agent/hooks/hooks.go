// Package hooks serves Herald's http inputs: the callbacks SIGNL4 sends when
// someone acknowledges, closes, escalates or annotates an alert, the outgoing
// webhook Rocket.Chat calls for a chat message, and any JSON webhook.
//
// A Handler checks the caller's token (in constant time) before it reads the
// body, limits the requests in flight and the body to MaxBody, decodes it into a parsers.Record with the format's declared fields
// and hands it to Config.Deliver, which runs it through the rules and commits
// what they did. The caller gets 200 only after that commit, so a crash before
// it makes SIGNL4 or Rocket.Chat deliver again; the notification's id (SIGNL4
// `id`, Rocket.Chat `message_id`) lets Deliver drop a second delivery.
package hooks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/heraldhq/herald/internal/httpauth"
	"github.com/heraldhq/herald/internal/warnlimit"
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

// Limits of a hook. A request is authenticated before its body is read, and
// at most MaxInFlight requests of one hook read and process bodies at once, so
// a flood of refused or excess requests costs little memory.
const (
	// MaxBody is the largest request body accepted; a larger one gets 413.
	MaxBody = 1 << 20
	// TokenWindow is how much of a Rocket.Chat body is read to find the
	// top-level "token" field when the request carries no token in the URL or
	// header. Rocket.Chat writes it first; a token further in is not found.
	TokenWindow = 4 << 10
	// DefaultMaxInFlight is Config.MaxInFlight when it is 0.
	DefaultMaxInFlight = 4
	// MaxIDLen is the longest notification id kept as it is; a longer one is
	// replaced by "sha256:" and the hex SHA-256 of it (see Delivery.ID).
	MaxIDLen = 256
	// retryAfter is what a request that found every slot taken is told.
	retryAfter = "1"
	// refusalLogInterval is how often refusals of one kind are logged.
	refusalLogInterval = time.Minute
)

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
	// request has none. An id longer than MaxIDLen bytes is "sha256:" and the
	// hex SHA-256 of it, so that any id fits a state key.
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
	// Token is the secret a request must carry: an `Authorization: Bearer`
	// header, else the query parameter `token`, else (Rocket.Chat only) the
	// `token` field within the first TokenWindow bytes of the body.
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
	// Answered, if set, is called once for every request with the status it
	// was answered with.
	Answered func(status int)
	// MaxInFlight is how many requests may read and process bodies at once;
	// a request beyond that is answered 503 with Retry-After. Default
	// DefaultMaxInFlight. Deliver is called by at most this many goroutines.
	MaxInFlight int
	// Now is the clock of the log limiter. Default time.Now.
	Now func() time.Time
}

// Handler is the http.Handler of one http input.
type Handler struct {
	cfg   Config
	log   *slog.Logger
	warn  *warnlimit.Limiter // refusals, at most once a minute each
	token httpauth.Secret
	slots chan struct{}  // one per request in flight
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
	if cfg.MaxInFlight < 0 {
		return nil, fmt.Errorf("hooks: MaxInFlight %d is negative", cfg.MaxInFlight)
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	log := cfg.Logger.With("input", cfg.Input)
	h := &Handler{
		cfg: cfg, log: log, warn: warnlimit.New(log, refusalLogInterval, cfg.Now),
		token: httpauth.NewSecret(cfg.Token), slots: make(chan struct{}, cfg.MaxInFlight),
	}
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

// ServeHTTP answers one callback. The token in the header or URL is checked
// before anything of the body is read; a Rocket.Chat body is read only up to
// TokenWindow to find its token. Only an authenticated request takes one of
// the MaxInFlight slots and reads its body, up to MaxBody.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, r, http.StatusMethodNotAllowed, "only POST is accepted")
		return
	}
	// r.Body itself stays as net/http made it: on a refusal, net/http sees
	// how much of a large body is unread and closes the connection instead
	// of reading the rest (it would read up to 256 KiB of any other reader).
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	var prefix []byte // what was read of the body to authenticate it
	switch tok, from := httpauth.RequestToken(r); {
	case tok != "":
		if !h.token.Matches(tok) {
			h.unauthorized(w, r, from)
			return
		}
	case h.cfg.Format == FormatRocketChat:
		if r.ContentLength > MaxBody {
			h.refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", MaxBody))
			return
		}
		var err error
		prefix, err = io.ReadAll(io.LimitReader(body, TokenWindow))
		if err != nil {
			h.readFailed(w, r, err)
			return
		}
		if tok, ok := bodyToken(prefix); !ok || !h.token.Matches(tok) {
			h.unauthorized(w, r, "body")
			return
		}
	default:
		h.unauthorized(w, r, "none")
		return
	}

	// Authenticated. A bounded number of requests go further, so that a
	// burst of large bodies cannot grow memory without bound.
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		w.Header().Set("Retry-After", retryAfter)
		h.refuse(w, r, http.StatusServiceUnavailable,
			fmt.Sprintf("%d callbacks are being processed; try again", cap(h.slots)))
		return
	}
	if r.ContentLength > MaxBody {
		h.refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", MaxBody))
		return
	}
	all, err := readBody(body, r.ContentLength, prefix)
	if err != nil {
		h.readFailed(w, r, err)
		return
	}
	obj, err := decodeObject(all)
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	d, test, err := h.delivery(r, obj)
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	d.ID = boundedID(d.ID)
	if test {
		h.log.Info("SIGNL4 test notification received; nothing to do", "id", d.ID)
		h.answer(w, http.StatusOK, struct{}{})
		return
	}
	dup, err := h.cfg.Deliver(r.Context(), d)
	if err != nil {
		h.log.Error("cannot record a callback; the sender should deliver it again", "id", d.ID, "err", err)
		h.refuse(w, r, http.StatusServiceUnavailable, "cannot record the callback now; try again")
		return
	}
	if dup {
		h.log.Debug("callback delivered again; processed before", "id", d.ID)
	}
	// Rocket.Chat counts an empty 200 as a failure and retries it: answer {}.
	h.answer(w, http.StatusOK, struct{}{})
}

// bodyToken returns the string value of the "token" key of the JSON object
// that prefix starts, looking only at top-level keys and only within prefix:
// it decodes tokens one at a time, never the whole body into values.
func bodyToken(prefix []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return "", false
		}
		if k == "token" {
			v, err := dec.Token()
			s, ok := v.(string)
			return s, err == nil && ok
		}
		if skipValue(dec) != nil {
			return "", false
		}
	}
	return "", false
}

// skipValue reads past the next JSON value.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// readBody returns the whole body: prefix, already read, and the rest of
// body, whose length is size if it is known (not -1).
func readBody(body io.Reader, size int64, prefix []byte) ([]byte, error) {
	n := int64(len(prefix)) + 512
	if size > 0 {
		n = size + 1 // +1: ReadFrom then needs no second buffer at EOF
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	buf.Write(prefix)
	_, err := buf.ReadFrom(body)
	return buf.Bytes(), err
}

// boundedID returns id, or for an id longer than MaxIDLen its SHA-256.
func boundedID(id string) string {
	if len(id) <= MaxIDLen {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
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

// unauthorized answers 401. The refusal is counted (Answered) and logged at
// most once a minute, with how many were held back, never with the token.
func (h *Handler) unauthorized(w http.ResponseWriter, r *http.Request, from string) {
	h.warn.Warn("refused callbacks with a missing or wrong token", "remote", r.RemoteAddr, "token_from", from)
	h.answer(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong token"})
}

func (h *Handler) readFailed(w http.ResponseWriter, r *http.Request, err error) {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		h.refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", MaxBody))
		return
	}
	h.refuse(w, r, http.StatusBadRequest, "cannot read body: "+err.Error())
}

// refuse answers status with the reason, and logs it at most once a minute
// per status.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	h.warn.Warn("refused a callback: "+http.StatusText(status), "remote", r.RemoteAddr, "reason", reason)
	h.answer(w, status, map[string]string{"error": reason})
}

func (h *Handler) answer(w http.ResponseWriter, status int, v any) {
	if h.cfg.Answered != nil {
		h.cfg.Answered(status)
	}
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
