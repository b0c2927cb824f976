package agent

import (
	"log/slog"
	"time"

	"github.com/heraldhq/herald/internal/warnlimit"
)

// warnLimiter logs a warning at most once per interval per message, and says how
// many were held back, so a flood of bad lines cannot flood the log. The http
// inputs' hooks use the same limiter for refused callbacks.
type warnLimiter = warnlimit.Limiter

func newWarnLimiter(log *slog.Logger, interval time.Duration) *warnLimiter {
	return warnlimit.New(log, interval, nil)
}
