package statuspage

import (
	"context"
	"time"
)

// Source is what the page shows and acts on; the agent implements it
// (agent/status.go). Its methods are called from HTTP handlers, concurrently.
type Source interface {
	// Snapshot returns everything the page shows, as of now.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Resolve resolves the open alert of rule and key by hand, on behalf of
	// by, and delivers the resolution to the alert's sinks.
	Resolve(ctx context.Context, rule, key, by string) error
	// RetryDead moves sink's dead letters with these sequence numbers (all of
	// them when seqs is empty) back into its outbox; DropDead deletes them.
	// Both return how many they moved or deleted.
	RetryDead(ctx context.Context, sink string, seqs []uint64, by string) (int, error)
	DropDead(ctx context.Context, sink string, seqs []uint64, by string) (int, error)
	// Silences returns the silences, or nil when this agent has none.
	Silences() Silences
}

// Silences is the part of the agent's silences the page needs. The agent
// adapts agent/silence to it.
type Silences interface {
	// List returns the silences the agent keeps, active, pending and
	// expired, in any order.
	List(ctx context.Context) ([]Silence, error)
	// Add creates a silence and returns its id. A silence that is not
	// valid (no matcher, EndsAt not after StartsAt, a bad regexp) is an
	// error the page shows as it is.
	Add(ctx context.Context, s NewSilence) (id string, err error)
	// Expire ends the silence with id now, on behalf of by.
	Expire(ctx context.Context, id, by string) error
}

// Matcher is one condition of a silence on an alert's label (rule, key,
// severity, a field such as TaskName).
type Matcher struct {
	Name  string
	Value string
	// Op is one of "=", "!=", "=~", "!~" (regexp, anchored).
	Op string
}

// Silence is a silence as the page lists it.
type Silence struct {
	ID                 string
	Matchers           []Matcher
	StartsAt, EndsAt   time.Time
	Comment, CreatedBy string
	Source             string // where it was made: "status page", "cli", ...
	// Suppressed counts the events it held back.
	Suppressed int
	// ExpiredBy names who ended it early; empty if it ran its course.
	ExpiredBy string
}

// NewSilence is what the page's form asks the agent to create.
type NewSilence struct {
	Matchers           []Matcher
	StartsAt, EndsAt   time.Time
	Comment, CreatedBy string
	Source             string
}

// Snapshot is the agent's state for one rendering of the page.
type Snapshot struct {
	Now     time.Time
	Host    string
	Version string
	// Conditions are the active self-watch conditions, shown in red.
	Conditions []Condition
	// Alerts are the open alerts and the recently resolved ones, in any
	// order; the page sorts them.
	Alerts []Alert
	Inputs []Input
	Sinks  []Sink
	Rules  []Rule
	// Events are the recent events, in any order.
	Events []Event
}

// Condition is one active self-watch condition.
type Condition struct {
	Kind, Subject string
	Since         time.Time
	Summary, Fix  string
}

// Alert is one alert and what happened to it.
type Alert struct {
	Rule, Key, Status, Title, Severity string
	// Fields are the alert's fields (TaskName, AppName, Hostname,
	// ScriptLogErrors, ...).
	Fields                         map[string]string
	FirstSeen, LastSeen, LastFired time.Time
	Count, Suppressed              int
	SuppressedSince                time.Time
	AckedBy, ResolvedBy            string
	ResolvedAt                     time.Time
	Refs                           []Ref
	Sinks                          []string // where its events go
}

// Ref is the reference a sink returned for an alert.
type Ref struct {
	Sink, Kind, ID string
	// URL links to the alert at the destination; empty when it has none
	// that can be shown without a secret.
	URL string
}

// Input is one input and the files it follows.
type Input struct {
	Name, Type             string
	Up                     bool
	LastLine               time.Time // zero: none read yet
	LinesRead, ParseErrors int64
	Files                  []File
}

// File is one followed file.
type File struct {
	Path         string
	Offset, Size int64
	// Lag is how far reading is behind the file's end, in bytes, and in
	// time: from the last line read to the file's last change.
	LagBytes int64
	LagTime  time.Duration
	Modified time.Time
}

// Sink is one sink's delivery.
type Sink struct {
	Name, Kind         string
	Up                 bool
	Pending            int
	Dead               []DeadLetter
	LastSuccess        time.Time
	LastError          string
	LastErrorAt        time.Time
	Restarts           int64
	Accepted, Rejected int64
}

// DeadLetter is an event a sink rejected for good.
type DeadLetter struct {
	Seq               uint64
	Rule, Key, Status string
	Title             string
	Reason            string
	Died              time.Time
}

// Rule is one rule's counts since start.
type Rule struct {
	ID                                   string
	Matches, Fired, Resolved, Suppressed int64
	Duplicates                           int64
}

// Event is one event the agent produced (a firing, a resolution, an
// acknowledgement...), and where it was queued.
type Event struct {
	Time              time.Time
	Rule, Key, Status string
	Title             string
	Sinks             []string
	// By is who caused it when a person did (a resolution by hand).
	By string
}
