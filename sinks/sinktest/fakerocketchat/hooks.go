package fakerocketchat

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// apiError is a server-side failure. Meteor errors carry a code and a reason
// and render as "reason [code]"; plain Errors carry only a message.
type apiError struct {
	code   string // Meteor.Error's error
	reason string // its reason, or a plain Error's message
	meteor bool
}

func meteorErr(code, reason string) *apiError {
	return &apiError{code: code, reason: reason, meteor: true}
}
func plainErr(msg string) *apiError { return &apiError{reason: msg} }

func (e *apiError) Error() string { return e.message() }

// message is err.message.
func (e *apiError) message() string {
	if !e.meteor {
		return e.reason
	}
	if e.reason != "" {
		return e.reason + " [" + e.code + "]"
	}
	return "[" + e.code + "]"
}

// hookText is what the webhook route reports: err.error || err.message.
func (e *apiError) hookText() string {
	if e.code != "" {
		return e.code
	}
	return e.reason
}

// restBody is API.v1.failure(e.message, e.error).
func (e *apiError) restBody() map[string]any {
	b := map[string]any{"success": false, "error": e.message()}
	if e.code != "" {
		b["errorType"] = e.code
	}
	return b
}

const loginRequired = "You must be logged in to do this."

// unauthorized is the 401 of authentication, with the status and message
// keys servers before 9.0 add.
func unauthorized(w http.ResponseWriter) {
	writeJSON(w, http.StatusUnauthorized, map[string]any{
		"success": false, "error": loginRequired, "status": "error", "message": loginRequired,
	})
}

// serveHook is apps/meteor/server/api/webhooks.ts: /hooks/{id}/{token} and
// /hooks/{id}/{user id}/{token}, GET or POST.
func (s *Server) serveHook(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/hooks/")
	segs := strings.Split(rest, "/")
	if (len(segs) != 2 && len(segs) != 3) || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
		http.NotFound(w, r)
		return
	}
	for _, seg := range segs {
		if seg == "" {
			http.NotFound(w, r)
			return
		}
	}
	id, _ := url.PathUnescape(segs[0])
	// The router decodes the path parameter, and the route decodes the
	// token once more (decodeURIComponent).
	token, _ := url.PathUnescape(segs[len(segs)-1])
	if t, err := url.PathUnescape(token); err == nil {
		token = t
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	hook := s.hooks[id]
	if hook == nil || hook.Token != token {
		switch s.opts.InvalidHookToken {
		case InvalidToken401:
			unauthorized(w)
		case InvalidToken404:
			writeJSON(w, http.StatusNotFound, map[string]any{"success": false, "error": "Invalid integration id or token provided."})
		default:
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("Internal Server Error"))
		}
		return
	}
	user := s.users[hook.UserID]
	if user == nil {
		unauthorized(w)
		return
	}
	if !s.enforce(w, r, "/hooks/"+rest+strings.ToLower(r.Method), s.opts.RateLimit, false) {
		return
	}
	if hook.Disabled {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"success": false, "error": "Service Unavailable"})
		return
	}
	if !user.Impersonate {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "error": "error-user-lacks-message-impersonate-permission"})
		return
	}
	params, perr := hookParams(r)
	if perr != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "error": perr.Error()})
		return
	}
	if len(params) == 0 {
		writeJSON(w, http.StatusOK, success(nil))
		return
	}
	if (truthy(params["channel"]) || truthy(params["roomId"])) && !hook.OverrideChannel {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "error": "overriding destination channel is disabled for this integration"})
		return
	}
	params["bot"] = map[string]any{"i": hook.ID}
	separate := params["separateResponse"] == true
	items, err := s.processWebhookMessage(params, user, defaults{channel: hook.Channel, alias: hook.Alias, avatar: hook.Avatar, emoji: hook.Emoji}, separate)
	switch {
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "error": err.hookText()})
	case len(items) == 0:
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "error": "unknown-error"})
	case separate:
		status := http.StatusBadRequest
		for _, it := range items {
			if it.Error == "" {
				status = http.StatusOK
			}
		}
		writeJSON(w, status, map[string]any{"success": status == http.StatusOK, "responses": items})
	default:
		writeJSON(w, http.StatusOK, success(nil))
	}
}

// hookParams parses a hook's body as the router and getBodyParams do. JSON
// that does not parse, a JSON array and any other content type all come out
// as an empty object: the server posts nothing for them.
func hookParams(r *http.Request) (map[string]any, error) {
	if r.Method == http.MethodGet {
		return map[string]any{}, nil
	}
	body, _ := io.ReadAll(r.Body)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || m == nil {
			return map[string]any{}, nil
		}
		return m, nil
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return map[string]any{}, nil
		}
		m := map[string]any{}
		for k, vs := range vals {
			m[k] = vs[len(vs)-1]
		}
		p, ok := m["payload"].(string)
		if len(m) != 1 || !ok {
			return m, nil
		}
		var parsed any
		if err := json.Unmarshal([]byte(p), &parsed); err != nil {
			if _, syntax := err.(*json.SyntaxError); syntax {
				return m, nil // backward compatibility: keep the form
			}
		}
		obj, isObj := parsed.(map[string]any)
		if !isObj {
			return nil, errors.New("Integration payload must be a JSON object, not an array or primitive")
		}
		return obj, nil
	}
	return map[string]any{}, nil
}

// defaults are an integration's own destination and looks.
type defaults struct {
	channel, alias, avatar, emoji string
}

// responseItem is one channel's outcome with separateResponse.
type responseItem struct {
	Channel string   `json:"channel"`
	Error   string   `json:"error,omitempty"`
	Message *Message `json:"message,omitempty"`
}

// processWebhookMessage is server/lib/messages/processWebhookMessage.ts,
// shared by incoming hooks and chat.postMessage. s.mu is held.
func (s *Server) processWebhookMessage(p map[string]any, user *User, def defaults, separate bool) ([]responseItem, *apiError) {
	var channels []string
	dest := p["channel"]
	if !truthy(dest) {
		dest = p["roomId"]
	}
	if !truthy(dest) {
		dest = def.channel
	}
	for _, c := range ensureArray(dest) {
		if c != "" && !slices.Contains(channels, c) {
			channels = append(channels, c)
		}
	}

	m := &Message{
		Alias: firstString(p["username"], p["alias"], def.alias),
		Msg:   jsTrim(firstString(p["text"], p["msg"])),
		TMID:  str(p["tmid"]),
		U:     UserRef{ID: user.ID, Username: user.Username, Name: user.Name},
	}
	if b, ok := p["bot"].(map[string]any); ok {
		m.Bot = &Bot{I: str(b["i"])}
	}
	groupable := false
	if g, ok := p["groupable"].(bool); ok {
		groupable = g
	}
	m.Groupable = &groupable
	switch {
	case str(p["icon_url"]) != "" || str(p["avatar"]) != "":
		m.Avatar = firstString(p["icon_url"], p["avatar"])
	case str(p["icon_emoji"]) != "" || str(p["emoji"]) != "":
		m.Emoji = firstString(p["icon_emoji"], p["emoji"])
	case def.avatar != "":
		m.Avatar = def.avatar
	case def.emoji != "":
		m.Emoji = def.emoji
	}
	raw, _ := p["attachments"].([]any) // not an array: ignored, as the server does
	atts, aerr := parseAttachments(raw)

	type target struct {
		channel string
		room    *Room
		err     *apiError
	}
	var targets []target
	for _, c := range channels {
		room := s.resolveChannel(c)
		err := aerr
		switch {
		case room == nil:
			err = meteorErr("invalid-channel", "")
		case utf16Len(m.Msg) > s.opts.MaxMessageSize:
			err = plainErr("error-message-size-exceeded")
		case err == nil && (m.Alias != "" || m.Avatar != "") && !user.Impersonate:
			err = plainErr("Not enough permission")
		}
		if err != nil && !separate {
			return nil, err
		}
		targets = append(targets, target{c, room, err})
	}
	var items []responseItem
	for _, t := range targets {
		if t.err != nil {
			items = append(items, responseItem{Channel: t.channel, Error: t.err.hookText()})
			continue
		}
		msg := *m
		msg.ID = s.newID()
		msg.RID = t.room.ID
		msg.Attachments = atts
		s.thread(&msg)
		s.insert(&msg)
		c := msg.clone()
		items = append(items, responseItem{Channel: t.channel, Message: &c})
	}
	return items, nil
}

// thread applies sendMessage's rules for a reply: no nested threads, and a
// reply lives in its root's room. s.mu is held.
func (s *Server) thread(m *Message) {
	if m.TMID == "" {
		return
	}
	if parent, ok := s.messages[m.TMID]; ok {
		if parent.TMID != "" {
			m.TMID = parent.TMID
		}
		m.RID = parent.RID
	}
}

// resolveChannel finds "#name", a room id or a bare name. Direct messages
// ("@user") are not modelled. s.mu is held.
func (s *Server) resolveChannel(c string) *Room {
	switch {
	case strings.HasPrefix(c, "#"):
		return s.roomByNameOrID(c[1:])
	case strings.HasPrefix(c, "@"):
		return nil
	}
	return s.roomByNameOrID(c)
}

// parseAttachments validates attachments as sendMessage's validateMessage
// does and converts them.
func parseAttachments(raw []any) ([]Attachment, *apiError) {
	var out []Attachment
	for _, a := range raw {
		obj, ok := a.(map[string]any)
		if !ok {
			return nil, plainErr("Match error: Expected object")
		}
		if m, ok := obj["msg"].(string); ok && m != "" { // buildMessage: msg becomes text
			obj["text"] = jsTrim(m)
			delete(obj, "msg")
		}
		for _, k := range []string{"title", "text", "color", "pretext", "author_name", "footer"} {
			if v, ok := obj[k]; ok && v != nil {
				if _, isStr := v.(string); !isStr {
					return nil, plainErr("Match error: Expected string, got " + jsType(v) + " in field " + k)
				}
			}
		}
		if v, ok := obj["ts"]; ok && v != nil {
			switch v.(type) {
			case string, float64:
			default:
				return nil, plainErr("Match error: Failed Match.OneOf, Match.Maybe or Match.Optional validation in field ts")
			}
		}
		if fs, ok := obj["fields"].([]any); ok {
			for _, f := range fs {
				fo, _ := f.(map[string]any)
				if !truthy(fo["title"]) || !truthy(fo["value"]) {
					return nil, plainErr("Invalid attachment field, title and value is required")
				}
			}
		}
		b, _ := json.Marshal(obj)
		var att Attachment
		_ = json.Unmarshal(b, &att)
		out = append(out, att)
	}
	return out, nil
}

func jsType(v any) string {
	switch v.(type) {
	case float64:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "null"
}

// truthy is JavaScript truthiness for decoded JSON.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case float64:
		return x != 0
	}
	return true
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func firstString(vs ...any) string {
	for _, v := range vs {
		if s := str(v); s != "" {
			return s
		}
	}
	return ""
}

func ensureArray(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, str(e))
		}
		return out
	}
	return nil
}
