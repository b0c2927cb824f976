package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// ParseURL validates a sink's http(s) destination URL taken from config key
// key. Its errors name the key and never quote the URL, which is a secret.
func ParseURL(key, raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("%s: required", key)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL; its cause may quote a piece of it (a bad
		// port, a bad escape), so that is scrubbed too.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		r := NewRedactor(nil, strings.FieldsFunc(raw, func(c rune) bool { return strings.ContainsRune("/:@?&=#", c) })...)
		return nil, fmt.Errorf("%s: not a valid URL: %s", key, redactQuoted(r, err.Error()))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s: must start with https:// or http://", key)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s: has no host", key)
	}
	return u, nil
}

// redactQuoted redacts the quoted parts of a url.Parse error message, which
// are the pieces of the URL it quotes (`invalid port ":…" after host`). The
// words around them are the library's: redacting those too would turn
// "invalid port" into "invalid …" whenever a piece of the URL is "port".
func redactQuoted(r *Redactor, msg string) string {
	var b strings.Builder
	for {
		start := strings.IndexByte(msg, '"')
		if start < 0 {
			break
		}
		end := strings.IndexByte(msg[start+1:], '"')
		if end < 0 {
			break
		}
		end += start + 1
		b.WriteString(msg[:start+1])
		b.WriteString(r.Redact(msg[start+1 : end]))
		b.WriteByte('"')
		msg = msg[end+1:]
	}
	if strings.IndexByte(msg, '"') >= 0 {
		msg = r.Redact(msg) // an unbalanced quote: redact the rest whole
	}
	b.WriteString(msg)
	return b.String()
}

// ParseTimeout parses a duration from config key key ("10s", "1m30s"); ""
// gives DefaultTimeout. It must be positive.
func ParseTimeout(key, s string) (time.Duration, error) {
	if s == "" {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration such as \"10s\"", key, s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s: must be positive, got %q", key, s)
	}
	return d, nil
}

// SendEach delivers events one request at a time, in order, and returns one
// result per event. Once ctx is done it stops sending and reports every event
// not yet delivered as retryable, so a stopping agent is never held up.
func SendEach(ctx context.Context, events []sdk.Event, send func(context.Context, sdk.Event) sdk.Result) []sdk.Result {
	results := make([]sdk.Result, len(events))
	for i, ev := range events {
		results[i] = sendOne(ctx, ev, send)
	}
	return results
}

// SendConcurrently is SendEach with up to limit requests in flight: events
// are taken in order, but their requests overlap, so they may arrive in any
// order. It is for sinks whose events need no order among themselves: the
// agent puts at most one event of an alert in a batch. Results are still one
// per event, in the events' order. It returns once every request has ended;
// a done ctx ends those in flight (with retryable results) and starts no
// others. A limit of 1 or less is SendEach.
func SendConcurrently(ctx context.Context, events []sdk.Event, limit int, send func(context.Context, sdk.Event) sdk.Result) []sdk.Result {
	if limit <= 1 || len(events) <= 1 {
		return SendEach(ctx, events, send)
	}
	results := make([]sdk.Result, len(events))
	var next atomic.Int64 // index of the next event to send
	var wg sync.WaitGroup
	for range min(limit, len(events)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(events); i = int(next.Add(1) - 1) {
				results[i] = sendOne(ctx, events[i], send)
			}
		})
	}
	wg.Wait()
	return results
}

// sendOne sends ev unless ctx is already done.
func sendOne(ctx context.Context, ev sdk.Event, send func(context.Context, sdk.Event) sdk.Result) sdk.Result {
	if err := ctx.Err(); err != nil {
		return sdk.Retry("not sent: "+err.Error(), time.Time{})
	}
	return send(ctx, ev)
}
