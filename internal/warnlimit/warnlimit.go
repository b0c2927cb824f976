// Package warnlimit logs a warning at most once per interval per message and
// says how many were held back, so a flood of bad input (unparsable lines,
// callbacks with a wrong token) cannot flood the log.
package warnlimit

import (
	"log/slog"
	"sync"
	"time"
)

// Limiter logs warnings through a *slog.Logger, each message at most once per
// interval. It is safe for concurrent use.
type Limiter struct {
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

// New returns a Limiter that logs each message to log at most once per
// interval. now is the clock; nil means time.Now.
func New(log *slog.Logger, interval time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{log: log, interval: interval, now: now, last: map[string]time.Time{}, held: map[string]int{}}
}

// Warn logs msg with args unless the same msg was logged less than interval
// ago, in which case it only counts it. The next msg logged carries
// similar_warnings_held_back with that count.
func (l *Limiter) Warn(msg string, args ...any) {
	l.mu.Lock()
	now := l.now()
	if t, ok := l.last[msg]; ok && now.Sub(t) < l.interval {
		l.held[msg]++
		l.mu.Unlock()
		return
	}
	held := l.held[msg]
	l.last[msg], l.held[msg] = now, 0
	l.mu.Unlock()
	if held > 0 {
		args = append(args, "similar_warnings_held_back", held)
	}
	l.log.Warn(msg, args...)
}
