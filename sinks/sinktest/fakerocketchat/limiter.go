package fakerocketchat

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// limiter is Meteor's RateLimiter as the REST API uses it: one counter per
// (client IP, route), a window that starts with the first call and resets
// Window later, and calls over the budget refused but still counted.
type limiter struct {
	buckets map[string]*bucket
}

type bucket struct {
	start time.Time
	count int
}

// hit counts a call and reports whether it is allowed, how many calls are
// left and how long until the window resets.
func (l *limiter) hit(key string, lim Limit, now time.Time) (allowed bool, left int, reset time.Duration) {
	b := l.buckets[key]
	if b == nil || !now.Before(b.start.Add(lim.Window)) {
		b = &bucket{start: now}
		l.buckets[key] = b
	}
	b.count++
	reset = b.start.Add(lim.Window).Sub(now)
	return b.count <= lim.Calls, max(0, lim.Calls-b.count), reset
}

// enforce applies the limiter to a call on route, setting the headers
// Rocket.Chat sets on every limited answer. It writes the 429 and returns
// false when the call is over budget. s.mu is held.
func (s *Server) enforce(w http.ResponseWriter, r *http.Request, route string, lim Limit, bypass bool) bool {
	if s.opts.DisableRateLimiter || bypass {
		return true
	}
	now := s.now()
	allowed, left, reset := s.limits.hit(clientIP(r)+" "+route, lim, now)
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(lim.Calls))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(left))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(reset).UnixMilli(), 10))
	if allowed {
		return true
	}
	secs := int(math.Ceil(reset.Seconds()))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"success": false,
		"error": fmt.Sprintf("Error, too many requests. Please slow down. You must wait %d seconds before trying this endpoint again. [error-too-many-requests]",
			secs),
	})
	return false
}
