// Package rocketchat is Herald's Rocket.Chat sink. It posts alerts to a room,
// either through an incoming-webhook integration or through the REST API.
//
// In REST mode an alert is one thread: the firing event is the root message,
// posted with chat.sendMessage under an _id derived from the event (see
// MessageID), so a retry never posts twice. Later events of the alert arrive
// with the root's _id in Event.Ref and are posted as replies in its thread;
// on resolve the root's text is edited to say so.
//
// The sink classifies outcomes; it never retries, sleeps or persists.
package rocketchat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/internal/httpx"
)

// Name is the plugin name of this sink in herald.toml.
const Name = "rocketchat"

// Sink delivers events to Rocket.Chat. Create it with New.
type Sink struct {
	log    *slog.Logger
	set    settings
	client *httpx.Client
	now    func() time.Time

	mu  sync.Mutex
	rid string // REST mode: the room id, configured or looked up once
}

// New returns an unconfigured Sink.
func New() *Sink { return &Sink{now: time.Now} }

// Configure validates the config and prepares the HTTP client. It makes no
// network I/O: in REST mode a channel name is looked up at the first Send.
func (s *Sink) Configure(_ context.Context, cfg sdk.Config) error {
	c, set, err := parseConfig(cfg.Raw)
	if err != nil {
		return err
	}
	var urls []*url.URL
	if set.hook != nil {
		urls = append(urls, set.hook)
	}
	client, err := httpx.NewClient(httpx.ClientConfig{
		Timeout:            time.Duration(c.Timeout),
		CAFile:             c.CAFile,
		InsecureSkipVerify: c.InsecureSkipVerify,
		Redactor:           httpx.NewRedactor(urls, set.token),
	})
	if err != nil {
		return fmt.Errorf("config key %w", err)
	}
	s.log = cfg.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.set, s.client = set, client
	s.mu.Lock()
	s.rid = set.roomID
	s.mu.Unlock()
	s.log.Debug("rocketchat sink configured", "mode", set.mode.String(), "target", set.target())
	return nil
}

// Send posts each event and returns one Result per event, in order. After a
// retryable failure, or credentials the server refuses, the rest of the batch
// is not sent and gets the same outcome: it would fail the same way, and
// sending later events before an earlier one would break the alert's thread.
func (s *Sink) Send(ctx context.Context, events []sdk.Event) []sdk.Result {
	results := make([]sdk.Result, len(events))
	if s.client == nil {
		for i := range results {
			results[i] = sdk.Reject("rocketchat sink used before Configure")
		}
		return results
	}
	var halted *sdk.Result
	for i, ev := range events {
		switch {
		case halted != nil:
			results[i] = *halted
			continue
		case ctx.Err() != nil:
			r := sdk.Retry("not sent: "+ctx.Err().Error(), time.Time{})
			results[i], halted = r, &r
			continue
		}
		var (
			r    sdk.Result
			halt bool
		)
		if s.set.mode == modeREST {
			r, halt = s.sendREST(ctx, ev)
		} else {
			r, halt = s.sendWebhook(ctx, ev)
		}
		r.Reason = s.client.Redact(r.Reason)
		results[i] = r
		if halt {
			rest := r
			rest.Ref = ""
			rest.Reason = "not sent after an earlier event of the batch failed: " + r.Reason
			halted = &rest
		}
	}
	return results
}

// webhookPayload is the body of an incoming-webhook request.
type webhookPayload struct {
	Text        string       `json:"text"`
	Alias       string       `json:"alias,omitempty"`
	Emoji       string       `json:"emoji,omitempty"`
	Avatar      string       `json:"avatar,omitempty"`
	Channel     string       `json:"channel,omitempty"`
	TMID        string       `json:"tmid,omitempty"`
	Attachments []attachment `json:"attachments"`
	// SeparateResponse asks servers new enough (2025 on) to return the
	// posted message, whose _id becomes the alert's Ref; older servers
	// ignore it.
	SeparateResponse bool `json:"separateResponse"`
}

// apiResponse is the part of any Rocket.Chat answer the sink reads.
type apiResponse struct {
	Success   *bool  `json:"success"`
	Error     any    `json:"error"` // a string, or an object on some failures
	ErrorType string `json:"errorType"`
	// RawMessage is the posted message on success, and a string on some
	// failures (the 401 of servers before 9.0).
	RawMessage json.RawMessage `json:"message"`
	Room       *struct {
		ID string `json:"_id"`
	} `json:"room"`
	Responses []struct {
		Channel string         `json:"channel"`
		Error   string         `json:"error"`
		Message *postedMessage `json:"message"`
	} `json:"responses"`
}

type postedMessage struct {
	ID  string `json:"_id"`
	RID string `json:"rid"`
}

func decodeResponse(body []byte) (apiResponse, bool) {
	var r apiResponse
	return r, json.Unmarshal(body, &r) == nil
}

// message is the posted message in a successful answer, or nil.
func (r apiResponse) message() *postedMessage {
	var m postedMessage
	if json.Unmarshal(r.RawMessage, &m) != nil || m.ID == "" {
		return nil
	}
	return &m
}

// errorText is the server's own explanation in a failed answer.
func errorText(body []byte) string {
	r, ok := decodeResponse(body)
	if !ok {
		return httpx.BodyText(body)
	}
	var parts []string
	if e, ok := r.Error.(string); ok && e != "" {
		parts = append(parts, e)
	}
	for _, it := range r.Responses {
		if it.Error != "" {
			parts = append(parts, it.Channel+": "+it.Error)
		}
	}
	if len(parts) == 0 && r.ErrorType != "" {
		parts = append(parts, r.ErrorType)
	}
	if len(parts) == 0 {
		return httpx.BodyText(body)
	}
	return strings.Join(parts, "; ")
}

// invalidHook matches what servers say about an unknown integration id or
// token: 404 on 0.x-6.x servers; current ones answer 500 with a bare
// "Internal Server Error" body that says nothing (see classifyWebhook).
var invalidHook = regexp.MustCompile(`(?i)invalid integration id or token`)

func (s *Sink) sendWebhook(ctx context.Context, ev sdk.Event) (sdk.Result, bool) {
	m := compose(ev, s.set.maxText)
	payload := webhookPayload{
		Text:             m.Text,
		Alias:            s.set.alias,
		Emoji:            s.set.emoji,
		Avatar:           s.set.avatar,
		Channel:          s.set.channel,
		TMID:             ev.Ref,
		Attachments:      m.Attachments,
		SeparateResponse: true,
	}
	resp, err := s.do(ctx, http.MethodPost, s.set.hook.String(), nil, payload)
	if err != nil {
		return s.client.Failed(err), true
	}
	const what = "incoming webhook"
	if resp.OK() {
		r, ok := decodeResponse(resp.Body)
		if ok && r.Success != nil && !*r.Success {
			return sdk.Reject(what + ": " + resp.Status + " with success=false: " + errorText(resp.Body)), false
		}
		ref := ev.Ref
		if ref == "" {
			for _, it := range r.Responses {
				if it.Message != nil && it.Message.ID != "" {
					ref = it.Message.ID
					break
				}
			}
		}
		return sdk.Accept(ref), false
	}
	detail := errorText(resp.Body)
	switch {
	case invalidHook.MatchString(detail):
		return sdk.Reject(what + ": " + resp.Status + ": " + detail + " (check url)"), true
	case resp.StatusCode == http.StatusServiceUnavailable:
		r := s.refused(what, resp)
		r.Reason += " (the integration is disabled)"
		return r, true
	case resp.StatusCode == http.StatusInternalServerError:
		// A current server answers 500, with nothing to tell it apart, both
		// when it is broken and when the URL's integration id or token is
		// wrong. Retrying is right for the first and harmless for the second:
		// the events wait, and the reason says what to check.
		r := s.refused(what, resp)
		r.Reason += " (Rocket.Chat also answers 500 when the url's integration id or token is wrong: check url)"
		return r, true
	}
	r := s.refused(what, resp)
	return r, r.Outcome == sdk.Retryable || isAuthStatus(resp.StatusCode) || resp.StatusCode == http.StatusNotFound
}

// sendMessageRequest is the body of chat.sendMessage.
type sendMessageRequest struct {
	Message restMessage `json:"message"`
}

type restMessage struct {
	ID          string       `json:"_id"`
	RID         string       `json:"rid"`
	TMID        string       `json:"tmid,omitempty"`
	Msg         string       `json:"msg"`
	Alias       string       `json:"alias,omitempty"`
	Emoji       string       `json:"emoji,omitempty"`
	Avatar      string       `json:"avatar,omitempty"`
	Attachments []attachment `json:"attachments"`
}

// updateRequest is the body of chat.update. The server's schema admits no
// other keys: an edit can change the text, not the attachments.
type updateRequest struct {
	RoomID string `json:"roomId"`
	MsgID  string `json:"msgId"`
	Text   string `json:"text"`
}

func (s *Sink) sendREST(ctx context.Context, ev sdk.Event) (sdk.Result, bool) {
	rid, r, ok := s.room(ctx)
	if !ok {
		return r, true
	}
	id := MessageID(rid, ev.ID)
	m := compose(ev, s.set.maxText)
	req := sendMessageRequest{Message: restMessage{
		ID:          id,
		RID:         rid,
		TMID:        ev.Ref,
		Msg:         m.Text,
		Alias:       s.set.alias,
		Emoji:       s.set.emoji,
		Avatar:      s.set.avatar,
		Attachments: m.Attachments,
	}}
	const what = "chat.sendMessage"
	resp, err := s.call(ctx, http.MethodPost, what, nil, req)
	if err != nil {
		return s.client.Failed(err), true
	}
	var posted *postedMessage
	switch {
	case resp.OK():
		r, ok := decodeResponse(resp.Body)
		if ok && r.Success != nil && !*r.Success {
			return sdk.Reject(what + ": " + resp.Status + " with success=false: " + errorText(resp.Body)), false
		}
		posted = r.message()
	case resp.StatusCode == http.StatusBadRequest:
		// The server refuses an _id it already has, with an error that
		// differs between versions (a Mongo duplicate-key error, or worse)
		// but is never a coded Meteor error. Whether the message is there is
		// the question that matters: a retry of an event whose first attempt
		// got through must count as delivered. A coded error (too long,
		// invalid room, invalid params) is the event's own fault.
		if ar, ok := decodeResponse(resp.Body); ok && ar.ErrorType != "" {
			return s.refused(what, resp), false
		}
		found, r, ok := s.existing(ctx, id)
		switch {
		case !ok:
			return r, true
		case found == nil:
			return s.refused(what, resp), false
		}
		s.log.Debug("rocketchat message already posted", "msg_id", id)
		posted = found
	default:
		r := s.refused(what, resp)
		return r, r.Outcome == sdk.Retryable || isAuthStatus(resp.StatusCode)
	}

	ref := id
	if ev.Ref != "" {
		// A reply: the alert's reference stays its root message.
		ref = ev.Ref
		if ev.Status == sdk.StatusResolved {
			root := rid
			if posted != nil && posted.RID != "" {
				root = posted.RID // a reply lands in its root's room
			}
			if r, halt := s.markResolved(ctx, ev, root); r.Outcome != sdk.Accepted {
				return r, halt
			}
		}
	}
	return sdk.Accept(ref), false
}

// existing looks a message up by id. ok is false when the lookup itself
// failed in a way worth retrying; found is nil when there is no such message.
func (s *Sink) existing(ctx context.Context, id string) (found *postedMessage, r sdk.Result, ok bool) {
	const what = "chat.getMessage"
	resp, err := s.call(ctx, http.MethodGet, what, url.Values{"msgId": {id}}, nil)
	if err != nil {
		return nil, s.client.Failed(err), false
	}
	if !resp.OK() {
		if httpx.Classify(resp.StatusCode) == sdk.Retryable {
			return nil, s.refused(what, resp), false
		}
		return nil, sdk.Result{}, true
	}
	if ar, decoded := decodeResponse(resp.Body); decoded {
		if m := ar.message(); m != nil && m.ID == id {
			return m, sdk.Result{}, true
		}
	}
	return nil, sdk.Result{}, true
}

// markResolved edits the alert's root message to say it is resolved. Its
// attachment keeps its colour: chat.update cannot change attachments. A
// transient failure makes the event retryable (the reply is not posted twice:
// its _id is already taken); a permanent one is logged, and the event still
// counts as delivered, because the reply in the thread says it all.
func (s *Sink) markResolved(ctx context.Context, ev sdk.Event, rid string) (sdk.Result, bool) {
	const what = "chat.update"
	req := updateRequest{RoomID: rid, MsgID: ev.Ref, Text: resolvedRootText(ev, s.set.maxText)}
	resp, err := s.call(ctx, http.MethodPost, what, nil, req)
	if err != nil {
		return s.client.Failed(err), true
	}
	if resp.OK() {
		return sdk.Accept(ev.Ref), false
	}
	r := s.refused(what, resp)
	if r.Outcome == sdk.Retryable {
		return r, true
	}
	s.log.Warn("rocketchat could not mark the alert's root message resolved; the resolution is in its thread",
		"msg_id", ev.Ref, "reason", s.client.Redact(r.Reason))
	return sdk.Accept(ev.Ref), false
}

// room returns the REST-mode room id, looking a channel name up once.
func (s *Sink) room(ctx context.Context) (string, sdk.Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rid != "" {
		return s.rid, sdk.Result{}, true
	}
	const what = "rooms.info"
	resp, err := s.call(ctx, http.MethodGet, what, url.Values{"roomName": {s.set.roomName}}, nil)
	if err != nil {
		return "", s.client.Failed(err), false
	}
	if !resp.OK() {
		r := s.refused(what, resp)
		if r.Outcome == sdk.Rejected && !isAuthStatus(resp.StatusCode) {
			r.Reason = fmt.Sprintf("channel %q not found, or not visible to user_id %q: %s", "#"+s.set.roomName, s.set.userID, r.Reason)
		}
		return "", r, false
	}
	ar, ok := decodeResponse(resp.Body)
	if !ok || ar.Room == nil || ar.Room.ID == "" {
		return "", sdk.Reject(fmt.Sprintf("%s: no room id in the answer for channel %q", what, "#"+s.set.roomName)), false
	}
	s.rid = ar.Room.ID
	s.log.Debug("rocketchat channel resolved", "channel", "#"+s.set.roomName, "room_id", s.rid)
	return s.rid, sdk.Result{}, true
}

// call makes an authenticated REST call to /api/v1/<endpoint>.
func (s *Sink) call(ctx context.Context, method, endpoint string, query url.Values, body any) (*httpx.Response, error) {
	u := *s.set.server
	u.Path += "/api/v1/" + endpoint
	u.RawQuery = query.Encode()
	h := http.Header{}
	h.Set("X-User-Id", s.set.userID)
	h.Set("X-Auth-Token", s.set.token)
	return s.do(ctx, method, u.String(), h, body)
}

func (s *Sink) do(ctx context.Context, method, target string, h http.Header, body any) (*httpx.Response, error) {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequestWithContext(ctx, method, target, rd)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, target, nil)
	}
	if err != nil {
		// Not reachable with a validated config; never quote target.
		return nil, fmt.Errorf("building the %s request failed", method)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.client.Do(req)
}

// waitSeconds finds the delay in Rocket.Chat's rate-limit error text.
var waitSeconds = regexp.MustCompile(`wait (\d+) seconds`)

// refused classifies a non-2xx answer. A 429 without a usable
// X-RateLimit-Reset falls back to the "wait N seconds" in the error text.
func (s *Sink) refused(what string, resp *httpx.Response) sdk.Result {
	r := s.client.Refused(resp, errorText(resp.Body))
	if r.Outcome == sdk.Retryable && r.RetryAt.IsZero() && resp.StatusCode == http.StatusTooManyRequests {
		if m := waitSeconds.FindSubmatch(resp.Body); m != nil {
			if n, err := strconv.Atoi(string(m[1])); err == nil && n > 0 {
				r.RetryAt = s.now().Add(min(time.Duration(n)*time.Second, httpx.MaxRetryDelay))
			}
		}
	}
	if isAuthStatus(resp.StatusCode) && s.set.mode == modeREST {
		r.Reason += " (check user_id and token)"
	}
	r.Reason = what + ": " + r.Reason
	return r
}

func isAuthStatus(code int) bool {
	return code == http.StatusUnauthorized || code == http.StatusForbidden
}

var _ sdk.Sink = (*Sink)(nil)
