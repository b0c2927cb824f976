// Package fakerocketchat is an in-memory Rocket.Chat server for tests and
// demos: incoming webhooks, the REST endpoints Herald uses, a message store
// with threads and edits, the per-IP rate limiter, and an outgoing-webhook
// emitter. Its answers follow the Rocket.Chat server source (apps/meteor,
// 2025-2026); README.md lists what is modelled, what is simplified and which
// answers are guesses.
//
// A Server is an http.Handler; wrap it in httptest.NewServer. It never sleeps:
// time comes from Options.Now, so a test moves the clock to drain the limiter.
package fakerocketchat

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxMessageSize is Rocket.Chat's default Message_MaxAllowedSize.
const DefaultMaxMessageSize = 5000

// Limit is a rate-limiter budget: Calls requests per Window.
type Limit struct {
	Calls  int
	Window time.Duration
}

// InvalidTokenAnswer is how the server answers a hook URL whose integration
// id or token is unknown; it changed across versions.
type InvalidTokenAnswer int

const (
	// InvalidToken500 is current servers: authenticatedRoute throws and the
	// HTTP layer answers 500 with a text/plain "Internal Server Error".
	InvalidToken500 InvalidTokenAnswer = iota
	// InvalidToken401 is servers whose authenticatedRoute returned no user:
	// 401 "You must be logged in to do this."
	InvalidToken401
	// InvalidToken404 is 0.x-6.x servers: 404 with
	// "Invalid integration id or token provided."
	InvalidToken404
)

// DuplicateIDAnswer is how chat.sendMessage answers an _id that exists. The
// real answer is not documented; both are read off the server source.
type DuplicateIDAnswer int

const (
	// DuplicateTypeError is current servers: sendMessage finds the _id
	// taken and returns nothing, and the endpoint then fails reading it:
	// 400 "Cannot read properties of undefined (reading 'starred')".
	DuplicateTypeError DuplicateIDAnswer = iota
	// DuplicateE11000 is older servers, which inserted blindly and surfaced
	// MongoDB's duplicate-key error as a 400.
	DuplicateE11000
)

// Options configure a Server. The zero value is a server with no rooms,
// users or hooks and the default limits.
type Options struct {
	Rooms []Room
	Users []User
	Hooks []Hook

	// MaxMessageSize is Message_MaxAllowedSize, in UTF-16 code units; zero
	// means DefaultMaxMessageSize.
	MaxMessageSize int
	// RateLimit is the default budget of each client IP on each route; each
	// hook URL is its own route. Zero means 10 per 60 s, Rocket.Chat's
	// API_Enable_Rate_Limiter_Limit_Calls_Default and _Time_Default.
	RateLimit Limit
	// SendMessageLimit is chat.sendMessage's own budget; zero means 5 per
	// second. Users with send-many-messages (BypassRateLimit) skip it.
	SendMessageLimit Limit
	// DisableRateLimiter turns API_Enable_Rate_Limiter off.
	DisableRateLimiter bool

	// Now is the server's clock; nil means time.Now.
	Now func() time.Time
	// NewID makes message ids; nil means a seeded Meteor-style generator,
	// so runs are repeatable.
	NewID func() string

	InvalidHookToken InvalidTokenAnswer
	DuplicateID      DuplicateIDAnswer

	// SiteURL is the server's Site_Url, sent in outgoing webhooks.
	SiteURL string
	// Outgoing, when set, is an outgoing-webhook integration fired by Post.
	Outgoing *Outgoing
}

// Room is a channel ("c") or private group ("p").
type Room struct {
	ID      string `json:"_id"`
	Name    string `json:"name"`
	Private bool   `json:"-"`
}

// User is an account that can call the REST API (ID and Token) or be the
// user an integration posts as.
type User struct {
	ID       string
	Username string
	Name     string
	// Token is the value of X-Auth-Token for this user.
	Token string
	// Impersonate is the message-impersonate permission: needed to set alias
	// or avatar, and by every incoming-webhook user.
	Impersonate bool
	// BypassRateLimit is api-bypass-rate-limit and send-many-messages.
	BypassRateLimit bool
	// EditAny is edit-message: editing other users' messages.
	EditAny bool
	// Forbidden makes every REST call answer 403, as the permission
	// middleware does for a user lacking a route's permission.
	Forbidden bool
}

// Hook is an incoming-webhook integration, reachable at
// /hooks/{ID}/{Token} and /hooks/{ID}/{any user id}/{Token}.
type Hook struct {
	ID     string
	Token  string
	UserID string // the user it posts as
	// Channel is where it posts: "#name", "@user" or a room id.
	Channel string
	// Disabled answers 503.
	Disabled bool
	// OverrideChannel is overrideDestinationChannelEnabled: without it a
	// payload naming channel or roomId is refused.
	OverrideChannel      bool
	Alias, Emoji, Avatar string
}

// Message is a stored message.
type Message struct {
	ID          string       `json:"_id"`
	RID         string       `json:"rid"`
	TMID        string       `json:"tmid,omitempty"`
	Msg         string       `json:"msg"`
	TS          time.Time    `json:"ts"`
	U           UserRef      `json:"u"`
	Alias       string       `json:"alias,omitempty"`
	Emoji       string       `json:"emoji,omitempty"`
	Avatar      string       `json:"avatar,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	Bot         *Bot         `json:"bot,omitempty"`
	Groupable   *bool        `json:"groupable,omitempty"`
	TCount      int          `json:"tcount,omitempty"`
	TLM         *time.Time   `json:"tlm,omitempty"`
	EditedAt    *time.Time   `json:"editedAt,omitempty"`
	EditedBy    *UserRef     `json:"editedBy,omitempty"`
	UpdatedAt   time.Time    `json:"_updatedAt"`
	// Edits is the message's edit history, oldest first.
	Edits []Edit `json:"-"`
}

// UserRef is a message's author.
type UserRef struct {
	ID       string `json:"_id"`
	Username string `json:"username"`
	Name     string `json:"name,omitempty"`
}

// Bot marks a message posted by an integration.
type Bot struct {
	I string `json:"i"`
}

// Edit is one chat.update of a message.
type Edit struct {
	At       time.Time
	By       UserRef
	Old, New string
}

// Attachment is a message attachment.
type Attachment struct {
	Title      string  `json:"title,omitempty"`
	TitleLink  string  `json:"title_link,omitempty"`
	Text       string  `json:"text,omitempty"`
	Pretext    string  `json:"pretext,omitempty"`
	Color      string  `json:"color,omitempty"`
	TS         any     `json:"ts,omitempty"`
	AuthorName string  `json:"author_name,omitempty"`
	AuthorLink string  `json:"author_link,omitempty"`
	AuthorIcon string  `json:"author_icon,omitempty"`
	ImageURL   string  `json:"image_url,omitempty"`
	ThumbURL   string  `json:"thumb_url,omitempty"`
	Collapsed  bool    `json:"collapsed,omitempty"`
	Footer     string  `json:"footer,omitempty"`
	Fields     []Field `json:"fields,omitempty"`
}

// Field is an attachment field.
type Field struct {
	Short bool   `json:"short"`
	Title string `json:"title"`
	Value any    `json:"value"`
}

// Request is a request the server received, as it arrived.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	// Status is the status code it was answered with.
	Status int
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	now  func() time.Time
	mux  *http.ServeMux

	mu       sync.Mutex
	rooms    map[string]*Room // by id
	users    map[string]*User // by id
	hooks    map[string]*Hook // by id
	messages map[string]*Message
	order    []string // message ids in insertion order
	requests []Request
	faults   map[string][]fault
	limits   limiter
	rng      *rand.ChaCha8

	outgoingDisabled bool
	deliveries       []Delivery
}

type fault struct {
	status int
	body   string
}

// New returns a Server holding opts' rooms, users and hooks.
func New(opts Options) *Server {
	if opts.MaxMessageSize == 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.RateLimit == (Limit{}) {
		opts.RateLimit = Limit{Calls: 10, Window: time.Minute}
	}
	if opts.SendMessageLimit == (Limit{}) {
		opts.SendMessageLimit = Limit{Calls: 5, Window: time.Second}
	}
	s := &Server{
		opts:     opts,
		now:      opts.Now,
		rooms:    map[string]*Room{},
		users:    map[string]*User{},
		hooks:    map[string]*Hook{},
		messages: map[string]*Message{},
		faults:   map[string][]fault{},
		limits:   limiter{buckets: map[string]*bucket{}},
		rng:      rand.NewChaCha8([32]byte{'r', 'o', 'c', 'k', 'e', 't'}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, r := range opts.Rooms {
		s.AddRoom(r)
	}
	for _, u := range opts.Users {
		s.AddUser(u)
	}
	for _, h := range opts.Hooks {
		s.SetHook(h)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/hooks/", s.serveHook)
	s.mux.HandleFunc("/api/v1/chat.postMessage", s.rest(http.MethodPost, s.postMessage))
	s.mux.HandleFunc("/api/v1/chat.sendMessage", s.rest(http.MethodPost, s.sendMessage))
	s.mux.HandleFunc("/api/v1/chat.update", s.rest(http.MethodPost, s.update))
	s.mux.HandleFunc("/api/v1/chat.getMessage", s.rest(http.MethodGet, s.getMessage))
	s.mux.HandleFunc("/api/v1/channels.info", s.rest(http.MethodGet, s.channelsInfo))
	s.mux.HandleFunc("/api/v1/rooms.info", s.rest(http.MethodGet, s.roomsInfo))
	return s
}

// AddRoom adds or replaces a room.
func (s *Server) AddRoom(r Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rooms[r.ID] = &r
}

// AddUser adds or replaces a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = &u
}

// SetHook adds or replaces an incoming-webhook integration, for instance to
// disable it.
func (s *Server) SetHook(h Hook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks[h.ID] = &h
}

// Fail makes the next n requests to path (such as "/api/v1/chat.update")
// answer status with body, before anything else happens to them.
func (s *Server) Fail(path string, n, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[path] = append(s.faults[path], fault{status, body})
	}
}

// Messages returns the messages of room rid, thread replies included, in
// the order they were posted.
func (s *Server) Messages(rid string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, id := range s.order {
		if m := s.messages[id]; m.RID == rid {
			out = append(out, m.clone())
		}
	}
	return out
}

// Message returns the message with id.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return Message{}, false
	}
	return m.clone(), true
}

// Thread returns the replies in the thread of root message tmid, oldest
// first.
func (s *Server) Thread(tmid string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, id := range s.order {
		if m := s.messages[id]; m.TMID == tmid {
			out = append(out, m.clone())
		}
	}
	return out
}

// Requests returns every request received, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (m *Message) clone() Message {
	c := *m
	c.Attachments = slices.Clone(m.Attachments)
	c.Edits = slices.Clone(m.Edits)
	return c
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
			Header: r.Header.Clone(), Body: body, Status: rec.status,
		})
		s.mu.Unlock()
	}()
	s.mu.Lock()
	var f *fault
	if q := s.faults[r.URL.Path]; len(q) > 0 {
		f, s.faults[r.URL.Path] = &q[0], q[1:]
	}
	s.mu.Unlock()
	if f != nil {
		ct := "text/plain; charset=utf-8"
		if json.Valid([]byte(f.body)) {
			ct = "application/json"
		}
		rec.Header().Set("Content-Type", ct)
		rec.WriteHeader(f.status)
		_, _ = io.WriteString(rec, f.body)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// writeJSON answers like Rocket.Chat's router: JSON, no caching.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// success is API.v1.success: the result object with success:true.
func success(fields map[string]any) map[string]any {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["success"] = true
	return fields
}

// clientIP is the rate limiter's key for the caller.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// idChars are Meteor's UNMISTAKABLE_CHARS, of which Random.id() is made.
const idChars = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"

// newID returns a fresh message id; s.mu is held.
func (s *Server) newID() string {
	if s.opts.NewID != nil {
		return s.opts.NewID()
	}
	b := make([]byte, 17)
	for i := range b {
		b[i] = idChars[s.rng.Uint64()%uint64(len(idChars))]
	}
	return string(b)
}

// insert stores m, stamping it, and counts a reply in its thread; s.mu is
// held.
func (s *Server) insert(m *Message) {
	now := s.stamp()
	m.TS, m.UpdatedAt = now, now
	s.messages[m.ID] = m
	s.order = append(s.order, m.ID)
	if m.TMID != "" {
		if root, ok := s.messages[m.TMID]; ok {
			root.TCount++
			root.TLM = &now
			root.UpdatedAt = now
		}
	}
}

// stamp is the current time as MongoDB keeps it: UTC, milliseconds.
func (s *Server) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// roomByNameOrID finds a room as getRoomByNameOrIdWithOptionToJoin does;
// s.mu is held.
func (s *Server) roomByNameOrID(v string) *Room {
	if r, ok := s.rooms[v]; ok {
		return r
	}
	for _, r := range s.rooms {
		if r.Name == v {
			return r
		}
	}
	return nil
}

// utf16Len is String.length in JavaScript, which is how the server measures
// Message_MaxAllowedSize.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// jsTrim is String.prototype.trim, near enough.
func jsTrim(s string) string { return strings.TrimSpace(s) }

// Clock is a manual clock for Options.Now: time moves only when a test says.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
