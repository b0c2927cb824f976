package fakerocketchat

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// call is one authenticated REST request.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	user  *User
	body  map[string]any // the JSON body; empty when absent or not an object
	route string         // "chat.sendMessage"
}

// rest wraps a REST action as the API class does: method routing, header
// authentication (401), the permission middleware (403), then the action,
// which validates its input and enforces the rate limit itself.
func (s *Server) rest(method string, action func(c *call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		uid, token := r.Header.Get("X-User-Id"), r.Header.Get("X-Auth-Token")
		user := s.users[uid]
		if uid == "" || token == "" || user == nil || user.Token != token {
			unauthorized(w)
			return
		}
		if user.Forbidden {
			writeJSON(w, http.StatusForbidden, map[string]any{
				"success": false,
				"error":   "User does not have the permissions required for this action [error-unauthorized]",
			})
			return
		}
		c := &call{w: w, r: r, user: user, body: map[string]any{}, route: strings.TrimPrefix(r.URL.Path, "/api/v1/")}
		if method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			var m map[string]any
			if json.Unmarshal(b, &m) == nil && m != nil {
				c.body = m
			}
		}
		action(c)
	}
}

// limit enforces the route's budget; false means 429 was sent.
func (s *Server) limit(c *call, lim Limit) bool {
	return s.enforce(c.w, c.r, "/api/v1/"+c.route+strings.ToLower(c.r.Method), lim, c.user.BypassRateLimit)
}

// invalidParams is the router's answer to a body that fails its schema.
func invalidParams(w http.ResponseWriter, msgs ...string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"success": false, "errorType": "invalid-params", "error": strings.Join(msgs, "\n "),
	})
}

// checkKeys validates a body against an ajv schema with
// additionalProperties false: it reports the first problem.
func checkKeys(w http.ResponseWriter, body map[string]any, required []string, optional ...string) bool {
	for k := range body {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			invalidParams(w, "must NOT have additional properties")
			return false
		}
	}
	for _, k := range required {
		if _, ok := body[k]; !ok {
			invalidParams(w, fmt.Sprintf("must have required property '%s'", k))
			return false
		}
	}
	return true
}

func fail(w http.ResponseWriter, e *apiError) { writeJSON(w, http.StatusBadRequest, e.restBody()) }

// postMessage is POST /api/v1/chat.postMessage.
func (s *Server) postMessage(c *call) {
	optional := []string{"text", "alias", "emoji", "avatar", "attachments", "customFields", "parseUrls"}
	dest := "channel"
	if _, ok := c.body["roomId"]; ok {
		dest = "roomId"
		optional = append(optional, "tmid")
	}
	if !checkKeys(c.w, c.body, []string{dest}, optional...) || !s.limit(c, s.opts.RateLimit) {
		return
	}
	if utf16Len(str(c.body["text"])) > s.opts.MaxMessageSize {
		fail(c.w, plainErr("error-message-size-exceeded"))
		return
	}
	atts, _ := c.body["attachments"].([]any)
	for _, a := range atts {
		if o, ok := a.(map[string]any); ok && utf16Len(str(o["text"])) > s.opts.MaxMessageSize {
			fail(c.w, plainErr("error-message-size-exceeded"))
			return
		}
	}
	items, err := s.processWebhookMessage(c.body, c.user, defaults{}, false)
	if err != nil {
		fail(c.w, err)
		return
	}
	if len(items) == 0 || items[0].Message == nil {
		fail(c.w, plainErr("unknown-error"))
		return
	}
	writeJSON(c.w, http.StatusOK, success(map[string]any{
		"ts": s.now().UnixMilli(), "channel": items[0].Channel, "message": items[0].Message,
	}))
}

// sendMessage is POST /api/v1/chat.sendMessage: one room, caller-chosen _id.
func (s *Server) sendMessage(c *call) {
	if !checkKeys(c.w, c.body, []string{"message"}, "previewUrls") {
		return
	}
	p, ok := c.body["message"].(map[string]any)
	if !ok {
		invalidParams(c.w, "must be object")
		return
	}
	if !s.limit(c, s.opts.SendMessageLimit) {
		return
	}
	m := &Message{
		ID:    str(p["_id"]),
		RID:   str(p["rid"]),
		TMID:  str(p["tmid"]),
		Msg:   strings.ReplaceAll(str(p["msg"]), "\x00", ""),
		Alias: str(p["alias"]),
		Emoji: str(p["emoji"]),
		U:     UserRef{ID: c.user.ID, Username: c.user.Username, Name: c.user.Name},
	}
	m.Avatar = str(p["avatar"])
	raw, _ := p["attachments"].([]any)
	switch {
	case p["tshow"] == true && m.TMID == "":
		fail(c.w, meteorErr("invalid-params", "tshow provided but missing tmid"))
		return
	case jsTrim(m.Msg) == "" && len(raw) == 0:
		fail(c.w, meteorErr("error-invalid-message", "Message cannot be empty"))
		return
	case utf16Len(m.Msg) > s.opts.MaxMessageSize:
		fail(c.w, meteorErr("error-message-size-exceeded", "Message size exceeds Message_MaxAllowedSize"))
		return
	}
	s.thread(m)
	if m.RID == "" {
		fail(c.w, plainErr("The 'rid' property on the message object is missing."))
		return
	}
	if s.rooms[m.RID] == nil {
		fail(c.w, meteorErr("error-invalid-room", "Invalid room"))
		return
	}
	if (m.Alias != "" || m.Avatar != "") && !c.user.Impersonate {
		fail(c.w, plainErr("Not enough permission"))
		return
	}
	atts, err := parseAttachments(raw)
	if err != nil {
		fail(c.w, err)
		return
	}
	m.Attachments = atts
	if m.ID != "" && s.messages[m.ID] != nil {
		if s.opts.DuplicateID == DuplicateE11000 {
			fail(c.w, plainErr(fmt.Sprintf(`E11000 duplicate key error collection: rocketchat.rocketchat_message index: _id_ dup key: { _id: "%s" }`, m.ID)))
		} else {
			fail(c.w, plainErr("Cannot read properties of undefined (reading 'starred')"))
		}
		return
	}
	if m.ID == "" {
		m.ID = s.newID()
	}
	s.insert(m)
	writeJSON(c.w, http.StatusOK, success(map[string]any{"message": m}))
}

// update is POST /api/v1/chat.update. Its schema admits roomId, msgId, text,
// previewUrls and customFields only: attachments cannot be edited.
func (s *Server) update(c *call) {
	if !checkKeys(c.w, c.body, []string{"roomId", "msgId", "text"}, "previewUrls", "customFields") {
		return
	}
	for _, k := range []string{"roomId", "msgId", "text"} {
		if _, ok := c.body[k].(string); !ok {
			invalidParams(c.w, "must be string")
			return
		}
	}
	if !s.limit(c, s.opts.RateLimit) {
		return
	}
	msgID, text := str(c.body["msgId"]), str(c.body["text"])
	m := s.messages[msgID]
	switch {
	case m == nil:
		fail(c.w, plainErr(fmt.Sprintf("No message found with the id of %q.", msgID)))
		return
	case str(c.body["roomId"]) != m.RID:
		fail(c.w, plainErr("The room id provided does not match where the message is from."))
		return
	case m.U.ID != c.user.ID && !c.user.EditAny:
		fail(c.w, meteorErr("error-action-not-allowed", "Message editing not allowed"))
		return
	case jsTrim(text) == "" && len(m.Attachments) == 0:
		fail(c.w, meteorErr("error-invalid-message", "Message cannot be empty"))
		return
	}
	if text != m.Msg {
		now := s.stamp()
		by := UserRef{ID: c.user.ID, Username: c.user.Username}
		m.Edits = append(m.Edits, Edit{At: now, By: by, Old: m.Msg, New: text})
		m.Msg, m.EditedAt, m.EditedBy, m.UpdatedAt = text, &now, &by, now
	}
	writeJSON(c.w, http.StatusOK, success(map[string]any{"message": m}))
}

// getMessage is GET /api/v1/chat.getMessage?msgId=.
func (s *Server) getMessage(c *call) {
	if !s.limit(c, s.opts.RateLimit) {
		return
	}
	id := c.r.URL.Query().Get("msgId")
	if id == "" {
		fail(c.w, plainErr(`The "msgId" query parameter must be provided.`))
		return
	}
	m := s.messages[id]
	if m == nil {
		writeJSON(c.w, http.StatusBadRequest, map[string]any{"success": false})
		return
	}
	writeJSON(c.w, http.StatusOK, success(map[string]any{"message": m}))
}

// roomByQuery finds the room named by roomId or roomName. s.mu is held.
func (s *Server) roomByQuery(c *call) *Room {
	q := c.r.URL.Query()
	if id := q.Get("roomId"); id != "" {
		return s.rooms[id]
	}
	if name := q.Get("roomName"); name != "" {
		for _, r := range s.rooms {
			if r.Name == name {
				return r
			}
		}
	}
	return nil
}

func roomJSON(r *Room) map[string]any {
	t := "c"
	if r.Private {
		t = "p"
	}
	return map[string]any{"_id": r.ID, "name": r.Name, "fname": r.Name, "t": t}
}

// channelsInfo is GET /api/v1/channels.info: public channels only.
func (s *Server) channelsInfo(c *call) {
	if !s.limit(c, s.opts.RateLimit) {
		return
	}
	r := s.roomByQuery(c)
	if r == nil || r.Private {
		fail(c.w, meteorErr("error-room-not-found", `The required "roomId" or "roomName" param provided does not match any channel`))
		return
	}
	writeJSON(c.w, http.StatusOK, success(map[string]any{"channel": roomJSON(r)}))
}

// roomsInfo is GET /api/v1/rooms.info: any room the caller can see.
func (s *Server) roomsInfo(c *call) {
	if !s.limit(c, s.opts.RateLimit) {
		return
	}
	r := s.roomByQuery(c)
	if r == nil {
		writeJSON(c.w, http.StatusBadRequest, map[string]any{"success": false, "error": "not-allowed", "errorType": "Not Allowed"})
		return
	}
	writeJSON(c.w, http.StatusOK, success(map[string]any{"room": roomJSON(r)}))
}
