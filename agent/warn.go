package agent

import (
	"log/slog"
	"sync"
	"time"
)

// warnLimiter logs a warning at most once per interval per message, and says how
// many were held back, so a flood of bad lines cannot flood the log.
type warnLimiter struct {
	log      *slog.Logger
	interval time.Duration
	mu       sync.Mutex
	last     map[string]time.Time
	held     map[string]int
}

func newWarnLimiter(log *slog.Logger, interval time.Duration) *warnLimiter {
	return &warnLimiter{log: log, interval: interval, last: map[string]time.Time{}, held: map[string]int{}}
}

// Warn logs msg unless the same msg was logged less than interval ago.
func (w *warnLimiter) Warn(msg string, args ...any) {
	w.mu.Lock()
	now := time.Now()
	if t, ok := w.last[msg]; ok && now.Sub(t) < w.interval {
		w.held[msg]++
		w.mu.Unlock()
		return
	}
	held := w.held[msg]
	w.last[msg], w.held[msg] = now, 0
	w.mu.Unlock()
	if held > 0 {
		args = append(args, "similar_warnings_held_back", held)
	}
	w.log.Warn(msg, args...)
}
