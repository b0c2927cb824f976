// Package fakesignl4 is a faithful fake of SIGNL4's inbound webhook
// (POST /webhook/{team or integration secret}) and of its outbound webhook
// callbacks, for tests and demos. It follows what SIGNL4 documents and what
// its own integrations rely on:
//
//   - only POST /webhook/{secret}, anything else 405; an unknown secret 404
//     with SIGNL4's error body (code 3004); a body that does not parse 400;
//   - JSON, form, multipart (file parts become attachments, at most 4 MB
//     each), plain-text and XML bodies; X-S4-* control parameters matched
//     case-insensitively; title and text detected from SIGNL4's key lists;
//   - 201 {"eventId":"<digits>_<uuid>"} for every accepted event;
//   - X-RateLimit-Limit/-Remaining/-Reset on every answer, 429 once the
//     budget of a window is spent, blocking for a window's length, and a
//     separate budget for erroneous requests;
//   - alert state: X-S4-Status new creates an alert (statusCode 1) keyed by
//     X-S4-ExternalID, acknowledged moves open ones 1→2, resolved moves them
//     to 4; a status for an unknown id is accepted with no effect; an
//     unknown status is discarded; the ExtIDParam/ExtStatusParam/
//     ResolvedStatus/AckStatus query mapping;
//   - outbound callbacks (eventType 201 for ack/close, 203 for annotations),
//     each with a fresh id, to a configured URL.
//
// Time comes from Options.Now, so tests move through rate-limit windows
// without sleeping. Wrap a Server in httptest.NewServer.
package fakesignl4

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Status codes of an alert, as SIGNL4's outbound webhook reports them.
const (
	StatusNew          = 1
	StatusAcknowledged = 2
	StatusClosed       = 4
)

// Options configure a Server. The zero value is usable: it accepts the
// secret "team-secret" with the Commercial plan's rate limits.
type Options struct {
	// Secrets are the team and integration secrets the fake knows.
	// Default: "team-secret".
	Secrets []string
	// RateLimit is how many requests a window accepts; 0 means 150, the
	// Commercial plan's budget per 15 seconds.
	RateLimit int
	// RateWindow is the rate-limit window; 0 means 15 seconds.
	RateWindow time.Duration
	// ErrorLimit is how many erroneous requests (unknown secret, bad body) an
	// ErrorWindow accepts before answering 429; 0 means 10.
	ErrorLimit int
	// ErrorWindow is the window of ErrorLimit; 0 means a minute.
	ErrorWindow time.Duration
	// Now is the fake's clock; nil means time.Now.
	Now func() time.Time
	// CallbackURL receives outbound webhook notifications; "" sends none.
	CallbackURL string
	// Client delivers callbacks; nil means a client with a 10 s timeout.
	Client *http.Client
}

// Server is the fake. It is an http.Handler and safe for concurrent use.
type Server struct {
	opts    Options
	secrets map[string]bool
	teamID  string
	subID   string

	mu        sync.Mutex
	rate      window
	errs      window
	alerts    []*Alert
	requests  []Request
	callbacks []Callback
	failN     int
	failCode  int
	dupN      int
}

// Alert is an alert the fake raised.
type Alert struct {
	ID               string         `json:"id"`
	EventID          string         `json:"eventId"` // of the event that created it
	ExternalID       string         `json:"externalId"`
	StatusCode       int            `json:"statusCode"`
	Title            string         `json:"title"`
	Text             string         `json:"text"`
	Params           map[string]any `json:"params"` // every parameter that is not an X-S4 control
	Service          string         `json:"service,omitempty"`
	AlertingScenario string         `json:"alertingScenario,omitempty"`
	Filtering        bool           `json:"filtering,omitempty"`
	Location         string         `json:"location,omitempty"`
	SourceSystem     string         `json:"sourceSystem,omitempty"`
	Attachments      []Attachment   `json:"attachments,omitempty"`
	Created          time.Time      `json:"created"`
	History          []Change       `json:"history"`
}

// Change is one step in an alert's history.
type Change struct {
	Time       time.Time `json:"time"`
	StatusCode int       `json:"statusCode"` // after the change
	// By is "webhook" for a change by an inbound event, else the user.
	By         string `json:"by"`
	EventID    string `json:"eventId,omitempty"`    // the inbound event, if any
	Annotation string `json:"annotation,omitempty"` // for an annotation
}

// Attachment is a file part of a multipart event.
type Attachment struct {
	Field       string `json:"field"`
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	Size        int    `json:"size"`
}

// Request is a raw record of one inbound request and what the fake did.
type Request struct {
	Time   time.Time   `json:"time"`
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  url.Values  `json:"query,omitempty"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
	// Status is the HTTP status answered.
	Status int `json:"status"`
	// EventID is the eventId answered with a 201.
	EventID string `json:"eventId,omitempty"`
	// Params are the parsed parameters of an accepted event.
	Params map[string]any `json:"params,omitempty"`
	// Effect says what the event did: "created", "acknowledged N",
	// "resolved N" (N alerts), "no alert", "discarded", or why it was refused.
	Effect string `json:"effect"`
}

// Callback is one outbound notification the fake delivered (or tried to).
type Callback struct {
	Body   []byte `json:"body"`
	Status int    `json:"status"` // 0 if no answer
	Err    string `json:"err,omitempty"`
}

// New returns a fake SIGNL4.
func New(opts Options) *Server {
	if len(opts.Secrets) == 0 {
		opts.Secrets = []string{"team-secret"}
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = 150
	}
	if opts.RateWindow == 0 {
		opts.RateWindow = 15 * time.Second
	}
	if opts.ErrorLimit == 0 {
		opts.ErrorLimit = 10
	}
	if opts.ErrorWindow == 0 {
		opts.ErrorWindow = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Server{
		opts:    opts,
		secrets: map[string]bool{},
		teamID:  newUUID(),
		subID:   newUUID(),
		rate:    window{limit: opts.RateLimit, length: opts.RateWindow},
		errs:    window{limit: opts.ErrorLimit, length: opts.ErrorWindow},
	}
	for _, sec := range opts.Secrets {
		s.secrets[sec] = true
	}
	return s
}

// FailNext makes the next n webhook requests fail with status (a 5xx, say)
// before anything else is looked at.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, status
}

// Alerts returns every alert raised so far, oldest first.
func (s *Server) Alerts() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Alert, len(s.alerts))
	for i, a := range s.alerts {
		out[i] = a.clone()
	}
	return out
}

// Alert returns the newest alert with the external id.
func (s *Server) Alert(externalID string) (Alert, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.alerts) - 1; i >= 0; i-- {
		if s.alerts[i].ExternalID == externalID {
			return s.alerts[i].clone(), true
		}
	}
	return Alert{}, false
}

// Requests returns every inbound request so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Callbacks returns every outbound notification so far, oldest first.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.callbacks)
}

func (a *Alert) clone() Alert {
	c := *a
	c.Params = make(map[string]any, len(a.Params))
	for k, v := range a.Params {
		c.Params[k] = v
	}
	c.History = slices.Clone(a.History)
	c.Attachments = slices.Clone(a.Attachments)
	return c
}

// ServeHTTP answers like connect.signl4.com/webhook/{secret}.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, readErr := readBody(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	rec := Request{
		Time: now, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: body,
	}
	status, answer := s.handle(r, body, readErr, now, &rec)
	rec.Status = status
	s.requests = append(s.requests, rec)

	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.rate.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.rate.remaining(now)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(unixCeil(s.rate.reset(now)), 10))
	if status == http.StatusMethodNotAllowed {
		h.Set("Allow", http.MethodPost)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(answer)
}

// handle decides the answer to one request; s.mu is held.
func (s *Server) handle(r *http.Request, body []byte, readErr error, now time.Time, rec *Request) (int, any) {
	if s.failN > 0 {
		s.failN--
		rec.Effect = "injected failure"
		return s.failCode, errorBody(0, "", "Internal server error.")
	}
	if r.Method != http.MethodPost {
		rec.Effect = "method not allowed"
		return http.StatusMethodNotAllowed, errorBody(0, "", "The requested resource does not support http method '"+r.Method+"'.")
	}
	secret, ok := strings.CutPrefix(r.URL.Path, "/webhook/")
	if !ok || secret == "" || strings.Contains(strings.TrimSuffix(secret, "/"), "/") {
		rec.Effect = "no such path"
		return http.StatusNotFound, errorBody(0, "", "No HTTP resource was found that matches the request URI.")
	}
	secret = strings.TrimSuffix(secret, "/")
	if !s.rate.allow(now) {
		rec.Effect = "rate limited"
		return http.StatusTooManyRequests, errorBody(0, "", "Too many requests. The rate limit of your subscription was exceeded.")
	}
	if !s.secrets[secret] {
		return s.erroneous(now, rec, "unknown secret", http.StatusNotFound,
			errorBody(3004, "An event source with ID "+secret+" was not found.", "Error raising event."))
	}
	if readErr != nil {
		return s.erroneous(now, rec, "bad body", http.StatusBadRequest, errorBody(0, readErr.Error(), "Error raising event."))
	}
	ev, err := parseEvent(r.Header.Get("Content-Type"), body)
	if err != nil {
		return s.erroneous(now, rec, "bad body", http.StatusBadRequest, errorBody(0, err.Error(), "Error raising event."))
	}
	rec.Params = ev.params
	rec.EventID = newEventID()
	rec.Effect = s.apply(ev, r.URL.Query(), rec.EventID, now)
	return http.StatusCreated, map[string]string{"eventId": rec.EventID}
}

// erroneous answers a bad request, or 429 once too many were bad.
func (s *Server) erroneous(now time.Time, rec *Request, effect string, status int, body any) (int, any) {
	rec.Effect = effect
	if !s.errs.allow(now) {
		rec.Effect += ", throttled"
		return http.StatusTooManyRequests, errorBody(0, "", "Too many erroneous requests. Your requests are being throttled.")
	}
	return status, body
}

// apply changes alert state for an accepted event; s.mu is held.
func (s *Server) apply(ev *event, q url.Values, eventID string, now time.Time) string {
	extID, status := ev.control("X-S4-ExternalID"), ev.control("X-S4-Status")
	// The query mapping lets senders whose body cannot be shaped (legacy
	// Alertmanager, Grafana) name the keys that hold the id and the status.
	if p := queryGet(q, "ExtIDParam"); p != "" {
		extID = ev.param(p)
	}
	if p := queryGet(q, "ExtStatusParam"); p != "" {
		v := ev.param(p)
		switch {
		case v != "" && strings.EqualFold(v, queryGet(q, "ResolvedStatus")):
			status = "resolved"
		case v != "" && strings.EqualFold(v, queryGet(q, "AckStatus")):
			status = "acknowledged"
		default:
			status = "new"
		}
	}

	switch strings.ToLower(status) {
	case "", "new":
		a := &Alert{
			ID: newEventID(), EventID: eventID, ExternalID: extID, StatusCode: StatusNew,
			Title: ev.title(), Text: ev.text(), Params: ev.plainParams(),
			Service: ev.control("X-S4-Service"), AlertingScenario: ev.control("X-S4-AlertingScenario"),
			Filtering: strings.EqualFold(ev.control("X-S4-Filtering"), "true"), Location: ev.control("X-S4-Location"),
			SourceSystem: ev.control("X-S4-SourceSystem"), Attachments: ev.attachments, Created: now,
			History: []Change{{Time: now, StatusCode: StatusNew, By: "webhook", EventID: eventID}},
		}
		s.alerts = append(s.alerts, a)
		return "created"
	case "acknowledged":
		return s.transition(extID, StatusAcknowledged, now, "webhook", eventID, "acknowledged")
	case "resolved":
		return s.transition(extID, StatusClosed, now, "webhook", eventID, "resolved")
	default:
		return "discarded"
	}
}

// transition moves every alert with the external id that can move to code
// (open→acknowledged; open or acknowledged→closed); s.mu is held.
func (s *Server) transition(extID string, code int, now time.Time, by, eventID, verb string) string {
	n := 0
	for _, a := range s.matching(extID) {
		if a.StatusCode >= code {
			continue
		}
		a.StatusCode = code
		a.History = append(a.History, Change{Time: now, StatusCode: code, By: by, EventID: eventID})
		n++
	}
	if n == 0 {
		return "no alert"
	}
	return fmt.Sprintf("%s %d", verb, n)
}

func (s *Server) matching(extID string) []*Alert {
	if extID == "" {
		return nil
	}
	var out []*Alert
	for _, a := range s.alerts {
		if a.ExternalID == extID {
			out = append(out, a)
		}
	}
	return out
}

func queryGet(q url.Values, key string) string {
	for k, vs := range q {
		if strings.EqualFold(k, key) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// errorBody is SIGNL4's error shape.
func errorBody(code int, details, message string) map[string]any {
	b := map[string]any{"requestId": newUUID(), "message": message}
	if code != 0 {
		b["code"] = code
	}
	if details != "" {
		b["details"] = details
	}
	return b
}

// window is a fixed-window budget. Spending more than the budget blocks
// intake for a whole window from that moment, as SIGNL4 documents.
type window struct {
	limit   int
	length  time.Duration
	start   time.Time
	count   int
	blocked time.Time // until
}

func (w *window) roll(now time.Time) {
	if w.start.IsZero() || !now.Before(w.start.Add(w.length)) {
		w.start, w.count = now, 0
	}
}

func (w *window) allow(now time.Time) bool {
	if now.Before(w.blocked) {
		return false
	}
	w.roll(now)
	if w.count >= w.limit {
		w.blocked = now.Add(w.length)
		return false
	}
	w.count++
	return true
}

func (w *window) remaining(now time.Time) int {
	if now.Before(w.blocked) {
		return 0
	}
	w.roll(now)
	return max(w.limit-w.count, 0)
}

func (w *window) reset(now time.Time) time.Time {
	if now.Before(w.blocked) {
		return w.blocked
	}
	w.roll(now)
	return w.start.Add(w.length)
}

func unixCeil(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newEventID returns an id shaped like SIGNL4's: 19 digits, "_", a UUID.
func newEventID() string {
	// 19 digits: [1e18, 9e18), which stays below the int64 limit (~9.22e18).
	n, _ := rand.Int(rand.Reader, big.NewInt(8e18))
	return fmt.Sprintf("%d_%s", n.Int64()+1e18, newUUID())
}
