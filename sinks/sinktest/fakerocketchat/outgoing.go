package fakerocketchat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// Outgoing is an outgoing-webhook integration on the sendMessage event, as
// the server's triggerHandler runs it.
type Outgoing struct {
	// ID is the integration's id, used as the bot marker of the replies it
	// posts.
	ID string
	// URL receives the POSTs.
	URL string
	// Token is sent in the body for the receiver to check.
	Token string
	// TriggerWords: a message fires the hook when its text starts with one
	// of them. Empty fires on every message.
	TriggerWords []string
	// Channel limits the hook to one room ("#name" or a room id); empty is
	// every room.
	Channel string
	// Username is the user replies are posted as; empty means rocket.cat.
	Username string
	// Retries is how many times a failed call is tried again
	// (retryFailedCalls with retryCount); zero tries once.
	Retries int
	// Delay is the wait before retry n (1-based); nil is Rocket.Chat's
	// default "powers-of-ten": 0.1 s, 1 s, 10 s, ...
	Delay func(n int) time.Duration
	// Wait waits between retries; nil means time.Sleep. Tests pass a
	// function that records the delay and returns at once.
	Wait func(time.Duration)
	// Client sends the calls; nil means a client with a 10 s timeout.
	Client *http.Client
}

// OutgoingPayload is the JSON body of an outgoing-webhook call for a
// message.
type OutgoingPayload struct {
	Token       string `json:"token"`
	Bot         bool   `json:"bot"`
	TriggerWord string `json:"trigger_word"`
	ChannelID   string `json:"channel_id"`
	ChannelName string `json:"channel_name"`
	MessageID   string `json:"message_id"`
	Timestamp   string `json:"timestamp"`
	UserID      string `json:"user_id"`
	UserName    string `json:"user_name"`
	Text        string `json:"text"`
	TMID        string `json:"tmid,omitempty"`
	SiteURL     string `json:"siteUrl"`
}

// Delivery is the outcome of firing the outgoing webhook for one message.
type Delivery struct {
	Payload OutgoingPayload
	// Attempts made, and the status of the last (0 when it got no answer).
	Attempts int
	Status   int
	Err      string
	// OK is a 200, 201 or 202 with a non-empty body.
	OK bool
	// Reply is the message posted from the answer's text or attachments.
	Reply *Message
	// Disabled: the receiver answered 410 and the integration was turned off.
	Disabled bool
}

// userAgent is the browser string Rocket.Chat's outgoing calls carry.
const userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2227.0 Safari/537.36"

// Post has user write text in channel ("#name", a name or a room id), as a
// reply in thread tmid when it is not empty, and fires the outgoing webhook
// when the message matches it. It returns the message posted.
func (s *Server) Post(channel, user, text, tmid string) (Message, error) {
	s.mu.Lock()
	room := s.resolveChannel(channel)
	var u *User
	for _, cand := range s.users {
		if cand.Username == user || cand.ID == user {
			u = cand
			break
		}
	}
	switch {
	case room == nil:
		s.mu.Unlock()
		return Message{}, fmt.Errorf("no room %q", channel)
	case u == nil:
		s.mu.Unlock()
		return Message{}, fmt.Errorf("no user %q", user)
	case tmid != "" && s.messages[tmid] == nil:
		s.mu.Unlock()
		return Message{}, fmt.Errorf("no message %q to reply to", tmid)
	}
	m := &Message{ID: s.newID(), RID: room.ID, TMID: tmid, Msg: text, U: UserRef{ID: u.ID, Username: u.Username, Name: u.Name}}
	s.thread(m)
	s.insert(m)
	posted := m.clone()
	if r := s.rooms[posted.RID]; r != nil {
		room = r
	}
	og, fire, word := s.opts.Outgoing, false, ""
	if og != nil && !s.outgoingDisabled && (og.Channel == "" || s.resolveChannel(og.Channel) == room) {
		fire, word = matchTrigger(og.TriggerWords, text)
	}
	var payload OutgoingPayload
	if fire {
		payload = OutgoingPayload{
			Token: og.Token, TriggerWord: word, ChannelID: room.ID, ChannelName: room.Name,
			MessageID: posted.ID, Timestamp: posted.TS.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
			UserID: u.ID, UserName: u.Username, Text: text, TMID: posted.TMID, SiteURL: s.opts.SiteURL,
		}
	}
	s.mu.Unlock()
	if fire {
		s.deliver(og, payload, posted)
	}
	return posted, nil
}

// Deliveries returns the outgoing-webhook calls made so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// matchTrigger reports whether text fires a hook with these trigger words,
// and which word did.
func matchTrigger(words []string, text string) (bool, string) {
	if len(words) == 0 {
		return true, ""
	}
	for _, w := range words {
		if w != "" && strings.HasPrefix(text, w) {
			return true, w
		}
	}
	return false, ""
}

// deliver calls the outgoing webhook, with retries, and posts its answer.
func (s *Server) deliver(og *Outgoing, p OutgoingPayload, trigger Message) {
	client := og.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	delay := og.Delay
	if delay == nil {
		delay = func(n int) time.Duration { return time.Duration(math.Pow10(n-1) * float64(100*time.Millisecond)) }
	}
	wait := og.Wait
	if wait == nil {
		wait = time.Sleep
	}
	body, _ := json.Marshal(p)
	d := Delivery{Payload: p}
	var answer []byte
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			wait(delay(attempt))
		}
		d.Attempts++
		status, resp, err := post(client, og.URL, body)
		d.Status, d.Err = status, ""
		if err != nil {
			d.Err = err.Error()
		}
		switch {
		case status == http.StatusGone:
			d.Disabled = true
		case (status == http.StatusOK || status == http.StatusCreated || status == http.StatusAccepted) && len(bytes.TrimSpace(resp)) > 0:
			d.OK, answer = true, resp
		case status == http.StatusInternalServerError:
			// Logged and not retried.
		default:
			if attempt < og.Retries {
				continue
			}
		}
		break
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.Disabled {
		s.outgoingDisabled = true
	}
	if d.OK {
		d.Reply = s.postAnswer(og, answer, trigger)
	}
	s.deliveries = append(s.deliveries, d)
}

func post(client *http.Client, target string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && !errors.Is(err, io.EOF) {
		return resp.StatusCode, b, err
	}
	return resp.StatusCode, b, nil
}

// postAnswer posts the text or attachments of an outgoing webhook's JSON
// answer into the trigger's room and thread. s.mu is held.
func (s *Server) postAnswer(og *Outgoing, answer []byte, trigger Message) *Message {
	var a struct {
		Text        string `json:"text"`
		Attachments []any  `json:"attachments"`
	}
	if json.Unmarshal(answer, &a) != nil || (a.Text == "" && len(a.Attachments) == 0) {
		return nil
	}
	atts, err := parseAttachments(a.Attachments)
	if err != nil {
		return nil
	}
	name := og.Username
	if name == "" {
		name = "rocket.cat"
	}
	u := UserRef{ID: name, Username: name}
	for _, cand := range s.users {
		if cand.Username == name {
			u = UserRef{ID: cand.ID, Username: cand.Username, Name: cand.Name}
		}
	}
	m := &Message{ID: s.newID(), RID: trigger.RID, TMID: trigger.TMID, Msg: a.Text, U: u, Attachments: atts, Bot: &Bot{I: og.ID}}
	s.insert(m)
	c := m.clone()
	return &c
}
