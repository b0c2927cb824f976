package fakesignl4

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Outbound webhook event types (SIGNL4 → subscriber).
const (
	EventStatusChanged = 201
	EventAnnotated     = 203
)

// Ack acknowledges the newest alert with the external id as user, and sends
// the outbound notification (eventType 201, statusCode 2).
func (s *Server) Ack(ctx context.Context, externalID, user string) error {
	return s.act(ctx, externalID, user, StatusAcknowledged, "")
}

// Close closes the newest alert with the external id as user, and sends the
// outbound notification (eventType 201, statusCode 4).
func (s *Server) Close(ctx context.Context, externalID, user string) error {
	return s.act(ctx, externalID, user, StatusClosed, "")
}

// Annotate adds a note by user to the newest alert with the external id, and
// sends the outbound notification (eventType 203).
func (s *Server) Annotate(ctx context.Context, externalID, user, text string) error {
	return s.act(ctx, externalID, user, 0, text)
}

// DuplicateNext makes the next n callbacks arrive twice, with the same id,
// as SIGNL4's at-least-once delivery may.
func (s *Server) DuplicateNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dupN = n
}

func (s *Server) act(ctx context.Context, externalID, user string, code int, note string) error {
	s.mu.Lock()
	var a *Alert
	for i := len(s.alerts) - 1; i >= 0 && a == nil; i-- {
		if s.alerts[i].ExternalID == externalID {
			a = s.alerts[i]
		}
	}
	if a == nil {
		s.mu.Unlock()
		return fmt.Errorf("fakesignl4: no alert with external id %q", externalID)
	}
	now := s.opts.Now()
	eventType, statusCode := EventStatusChanged, code
	switch {
	case code == 0:
		// Annotation samples carry statusCode 0, whatever the alert's state.
		eventType = EventAnnotated
		a.History = append(a.History, Change{Time: now, StatusCode: a.StatusCode, By: user, Annotation: note})
	case a.StatusCode >= code:
		s.mu.Unlock()
		return fmt.Errorf("fakesignl4: alert %q already has status %d", externalID, a.StatusCode)
	default:
		a.StatusCode = code
		a.History = append(a.History, Change{Time: now, StatusCode: code, By: user})
	}
	body := s.notification(eventType, statusCode, a, user, note, now)
	copies := 1
	if s.dupN > 0 {
		s.dupN--
		copies = 2
	}
	s.mu.Unlock()

	if s.opts.CallbackURL == "" {
		return nil
	}
	var errs []error
	for range copies {
		errs = append(errs, s.deliver(ctx, body))
	}
	return errors.Join(errs...)
}

// notification builds an outbound webhook body as SIGNL4 sends it.
func (s *Server) notification(eventType, statusCode int, a *Alert, user, note string, now time.Time) []byte {
	u := map[string]any{"username": strings.ToLower(user), "mailaddress": mailOf(user), "id": stableUUID(user)}
	alert := map[string]any{
		"statusCode": statusCode, "eventId": a.EventID, "externalEventId": a.ExternalID, "id": a.ID,
	}
	if statusCode == StatusAcknowledged || statusCode == StatusClosed {
		alert["acknowledgedUserIds"] = []string{stableUUID(user)}
	}
	var annotation any
	if eventType == EventAnnotated {
		annotation = map[string]any{"message": note, "id": newEventID()}
	}
	b, _ := json.Marshal(map[string]any{
		"eventType":      eventType,
		"eventRaisedUtc": now.UTC().Format(time.RFC3339Nano),
		"subscription":   map[string]any{"id": s.subID},
		"team":           map[string]any{"id": s.teamID},
		"user":           u,
		"alert":          alert,
		"annotation":     annotation,
		"id":             newUUID(),
	})
	return b
}

func (s *Server) deliver(ctx context.Context, body []byte) error {
	cb := Callback{Body: body}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.CallbackURL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		if resp, err = s.opts.Client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			cb.Status = resp.StatusCode
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				err = fmt.Errorf("fakesignl4: callback answered %s", resp.Status)
			}
		}
	}
	if err != nil {
		cb.Err = err.Error()
	}
	s.mu.Lock()
	s.callbacks = append(s.callbacks, cb)
	s.mu.Unlock()
	return err
}

func mailOf(user string) string {
	if strings.Contains(user, "@") {
		return strings.ToLower(user)
	}
	return strings.ToLower(user) + "@example.com"
}

// stableUUID derives a UUID from a name, so a user keeps one id.
func stableUUID(name string) string {
	b := sha1.Sum([]byte(strings.ToLower(name)))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
