// Package receiver is the benchmark's HTTP endpoint: it accepts the alert
// events an agent POSTs, counts them, records when each arrived, and lets the
// benchmark wait for the n-th event or for the event of a given key.
//
// A request body may hold one JSON object (Herald's webhook sink sends one
// event per request), a JSON array of objects, or several objects one after
// another (NDJSON, as syslog-ng's http() destination batches them). Each
// object is one event, except an Alertmanager webhook message (the webhook
// sink's alertmanager format), an object with an "alerts" array: each of its
// alerts is one event.
package receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Event is one received event.
type Event struct {
	// At is when the request carrying it had been read in full.
	At time.Time
	// Key is the event's "key" member (Herald's correlation key, the TaskId
	// for Qlik reloads) or, when it has none, its "TaskId" member.
	Key string
	// Status and Rule are the members of the same name; empty when absent.
	Status string
	Rule   string
}

// Receiver is a running HTTP server on a loopback port.
type Receiver struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve returns

	mu       sync.Mutex
	events   []Event
	byKey    map[string]int // key -> index of its first event
	dups     int            // events whose key was already seen
	requests int
	bad      []string      // why requests were refused, first few
	badN     int           // requests refused
	changed  chan struct{} // closed and replaced at every arrival
	now      func() time.Time
}

// AlertmanagerKeyLabel is the label whose value is an Alertmanager alert's
// key: the webhook sink's default key_label.
const AlertmanagerKeyLabel = "task_id"

// maxBody caps one request body; a benchmark event is well under 4 KiB.
const maxBody = 16 << 20

// Start listens on 127.0.0.1 on a free port and serves until Close.
func Start() (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("receiver: listen on 127.0.0.1: %w", err)
	}
	r := &Receiver{
		ln:      ln,
		done:    make(chan struct{}),
		byKey:   make(map[string]int),
		changed: make(chan struct{}),
		now:     time.Now,
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(r.done)
		_ = r.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return r, nil
}

// URL returns the address of path on the receiver, e.g. URL("/herald").
// Every path is served the same way.
func (r *Receiver) URL(path string) string {
	return "http://" + r.ln.Addr().String() + path
}

// Close stops the server and drops open connections.
func (r *Receiver) Close() error {
	err := r.srv.Close()
	<-r.done
	return err
}

// ServeHTTP counts the events of one request. It answers 204 when the body is
// made of JSON objects and 400 otherwise (which the benchmark reports as a
// harness failure).
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	at := r.now()
	if err == nil && req.Method != http.MethodPost && req.Method != http.MethodPut {
		err = fmt.Errorf("method %s, want POST or PUT", req.Method)
	}
	var evs []Event
	if err == nil {
		evs, err = decode(body, at)
	}
	r.mu.Lock()
	r.requests++
	if err != nil {
		r.badN++
		if len(r.bad) < 5 {
			r.bad = append(r.bad, fmt.Sprintf("%s %s: %v", req.Method, req.URL.Path, err))
		}
	}
	for _, e := range evs {
		if _, seen := r.byKey[e.Key]; seen {
			r.dups++
		} else {
			r.byKey[e.Key] = len(r.events)
		}
		r.events = append(r.events, e)
	}
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decode returns the events of a body: objects, arrays of objects, or a
// sequence of either.
func decode(body []byte, at time.Time) ([]Event, error) {
	type amAlert struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	}
	type member struct {
		Key    *string   `json:"key"`
		TaskID string    `json:"TaskId"`
		Status string    `json:"status"`
		Rule   string    `json:"rule"`
		Alerts []amAlert `json:"alerts"`
	}
	var evs []Event
	add := func(m member) error {
		if m.Alerts == nil {
			e := Event{At: at, Key: m.TaskID, Status: m.Status, Rule: m.Rule}
			if m.Key != nil {
				e.Key = *m.Key
			}
			evs = append(evs, e)
			return nil
		}
		if len(m.Alerts) == 0 {
			return errors.New("alertmanager message with no alert")
		}
		for _, a := range m.Alerts {
			evs = append(evs, Event{At: at, Key: a.Labels[AlertmanagerKeyLabel], Status: a.Status, Rule: a.Labels["alertname"]})
		}
		return nil
	}
	// Each value is decoded straight into its type, which the byte that
	// starts it tells, rather than read as raw JSON first: the receiver
	// shares the machine's cores with the program measured.
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")
		if len(rest) == 0 {
			break
		}
		switch rest[0] {
		case '{':
			var m member
			if err := dec.Decode(&m); err != nil {
				return nil, fmt.Errorf("event: %w", err)
			}
			if err := add(m); err != nil {
				return nil, err
			}
		case '[':
			var ms []member
			if err := dec.Decode(&ms); err != nil {
				return nil, fmt.Errorf("array of events: %w", err)
			}
			for _, m := range ms {
				if err := add(m); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("body holds %.20q, want JSON objects", rest)
		}
	}
	if len(evs) == 0 {
		return nil, errors.New("body holds no event")
	}
	return evs, nil
}

// Stats summarise what arrived so far.
type Stats struct {
	Events     int      // events received
	Keys       int      // distinct keys among them
	Duplicates int      // events whose key had been received before
	Requests   int      // requests received, refused ones included
	Refused    int      // requests answered 400
	Problems   []string // why the first refused requests were refused
}

// Stats returns the counts so far.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{
		Events:     len(r.events),
		Keys:       len(r.byKey),
		Duplicates: r.dups,
		Requests:   r.requests,
		Refused:    r.badN,
		Problems:   append([]string(nil), r.bad...),
	}
}

// Events returns a copy of the events received so far, in arrival order.
func (r *Receiver) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// WaitCount blocks until n events have arrived and returns the n-th (counting
// from 1), or returns ctx's error. Events after the n-th may already have
// arrived.
func (r *Receiver) WaitCount(ctx context.Context, n int) (Event, error) {
	if n < 1 {
		return Event{}, fmt.Errorf("receiver: wait for event %d: must be at least 1", n)
	}
	return r.wait(ctx, func() (Event, bool) {
		if len(r.events) >= n {
			return r.events[n-1], true
		}
		return Event{}, false
	}, func() string { return fmt.Sprintf("waiting for event %d: %d arrived", n, len(r.events)) })
}

// WaitKey blocks until an event with the key has arrived and returns the first
// such event, or returns ctx's error.
func (r *Receiver) WaitKey(ctx context.Context, key string) (Event, error) {
	return r.wait(ctx, func() (Event, bool) {
		if i, ok := r.byKey[key]; ok {
			return r.events[i], true
		}
		return Event{}, false
	}, func() string { return fmt.Sprintf("waiting for key %s: %d events arrived", key, len(r.events)) })
}

// wait re-checks done, under the lock, at every arrival until it reports true.
func (r *Receiver) wait(ctx context.Context, done func() (Event, bool), where func() string) (Event, error) {
	for {
		r.mu.Lock()
		e, ok := done()
		changed := r.changed
		var msg string
		if !ok && ctx.Err() != nil {
			msg = where()
		}
		r.mu.Unlock()
		if ok {
			return e, nil
		}
		if msg != "" {
			return Event{}, fmt.Errorf("receiver: %s: %w", msg, context.Cause(ctx))
		}
		select {
		case <-changed:
		case <-ctx.Done():
		}
	}
}
