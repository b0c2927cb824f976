// Package sdk is what a sink plugin imports: the Event it receives, the Result it
// answers with, the Sink interface it implements and Serve, which runs it as a
// plugin process of the Herald agent.
//
// A sink classifies; it never retries, sleeps or persists. The agent owns retries
// with backoff, rate limiting, deduplication and durable queueing, so a sink stays
// a small translation from Event to the destination's API and back.
package sdk

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// Status is the state of the alert an event reports.
type Status string

const (
	// StatusFiring opens (or repeats) an alert.
	StatusFiring Status = "firing"
	// StatusResolved closes the alert with the event's Key.
	StatusResolved Status = "resolved"
	// StatusAcknowledged marks the alert with the event's Key as being handled.
	StatusAcknowledged Status = "acknowledged"
	// StatusInfo is a note about the alert with the event's Key (an annotation,
	// an escalation, who acknowledged it) that changes nothing by itself.
	StatusInfo Status = "info"
)

// Event is one alert notification.
type Event struct {
	// ID is unique per event and stable across retries: use it as an idempotency key.
	ID string `json:"id"`
	// Rule is the id of the rule that raised the alert.
	Rule string `json:"rule"`
	// Status is what happened to the alert.
	Status Status `json:"status"`
	// Key ties the events of one alert together (for Qlik reloads: the TaskId).
	Key string `json:"key"`
	// Severity is free text from the rule, conventionally critical, warning or info.
	Severity string `json:"severity"`
	Title    string `json:"title"`
	Message  string `json:"message"`
	// Fields are extra named values (TaskName, AppId, ExecutionId, ...).
	Fields map[string]string `json:"fields,omitempty"`
	// Time is when the underlying log entry was written.
	Time time.Time `json:"time"`
	// Host is the agent's host name.
	Host string `json:"host"`
	// Ref is the remote reference this sink returned for an earlier event of the
	// same alert (a SIGNL4 eventId, a Rocket.Chat message id), or "".
	Ref string `json:"ref,omitempty"`
}

// Outcome classifies what became of one event.
type Outcome int

const (
	// Accepted: the destination has the event. It is removed from the queue.
	Accepted Outcome = iota + 1
	// Retryable: a transient failure (rate limit, 5xx, network). The agent retries
	// with backoff, not before RetryAt when that is set.
	Retryable
	// Rejected: the destination refused the event for good (bad request, bad
	// credentials). The agent parks it as dead with Reason.
	Rejected
)

func (o Outcome) String() string {
	switch o {
	case Accepted:
		return "accepted"
	case Retryable:
		return "retryable"
	case Rejected:
		return "rejected"
	}
	return "unknown"
}

// Result is a sink's answer for one event.
type Result struct {
	Outcome Outcome
	// Ref is an optional remote reference for an accepted event. The agent stores
	// it with the alert and passes it back in Event.Ref with later events of the
	// same alert.
	Ref string
	// RetryAt is the earliest time a retryable event may be sent again (from a
	// Retry-After or rate-limit reset header); zero lets the agent choose.
	RetryAt time.Time
	// Reason says why an event was not accepted. It must not contain secrets.
	Reason string
}

// Accept, Retry and Reject build Results.
func Accept(ref string) Result { return Result{Outcome: Accepted, Ref: ref} }

// Retry builds a retryable Result; at may be zero.
func Retry(reason string, at time.Time) Result {
	return Result{Outcome: Retryable, Reason: reason, RetryAt: at}
}

// Reject builds a rejected Result.
func Reject(reason string) Result { return Result{Outcome: Rejected, Reason: reason} }

// Config is what a sink receives once, before any event.
type Config struct {
	// Name is the sink's name in herald.toml.
	Name string
	// Raw is the sink's [sink.config] table as JSON. Decode it with DecodeConfig,
	// which rejects unknown keys.
	Raw json.RawMessage
	// Logger writes to the agent's log, tagged with the sink's name.
	Logger *slog.Logger
}

// Sink is a destination for alert events.
//
// Configure is called once, before Send. It validates the config and prepares
// clients; it should not contact the destination. An error it returns is shown to
// the user by `herald check` and fails start-up, so it must name the offending key
// and never include a secret.
//
// Send delivers a batch and returns exactly one Result per event, in order. It
// must honour ctx cancellation. Send is never called concurrently with itself.
type Sink interface {
	Configure(ctx context.Context, cfg Config) error
	Send(ctx context.Context, events []Event) []Result
}
