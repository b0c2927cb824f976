package rules

import (
	"errors"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald/agent/scriptlog"
)

// ScriptLogMaxBytes caps the text scriptLogTail and scriptLogErrors return.
// Whole lines are dropped from the front to fit, so the end of the log, which
// says why the reload failed, is what remains.
const ScriptLogMaxBytes = 4 << 10

// scriptLogs is what the script log functions read with; nil when the
// functions are off.
type scriptLogs struct {
	finder *scriptlog.Finder
	log    *slog.Logger

	// The last look-up, so that the functions of one alert (the pack's
	// failure rule calls them three times) cost one look-up, and so at most
	// one Finder.Timeout when a share hangs.
	mu   sync.Mutex
	last struct {
		app  string
		at   time.Time
		when time.Time // when it was made; reused for memoFor
		c    scriptlog.Context
		ok   bool
	}
}

// memoFor is how long a look-up is reused for the same app and time.
const memoFor = 5 * time.Second

// WithScriptLogs makes the expression functions scriptLogTail and
// scriptLogErrors read reload script logs with f. log (nil: none) gets a
// debug line when a log is not found and a warning when one cannot be read.
// Without this option, or with f nil or without directories, the functions exist
// (rule files using them load everywhere, as in `herald check`) and return "".
func WithScriptLogs(f *scriptlog.Finder, log *slog.Logger) Option {
	return func(o *options) {
		if f == nil || len(f.Directories()) == 0 {
			o.scriptLogs = nil
			return
		}
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		o.scriptLogs = &scriptLogs{finder: f, log: log}
	}
}

// WithScriptLogDir is WithScriptLogs for a Finder of dir with the default
// caps, and no logging.
func WithScriptLogDir(dir string) Option {
	return WithScriptLogs(&scriptlog.Finder{Dir: dir}, nil)
}

// scriptLogFunctions are scriptLogTail(AppId, n[, time]) and
// scriptLogErrors(AppId[, time]). They never fail: no context is "", so an
// alert is never lost or delayed by its script log.
func scriptLogFunctions(s *scriptLogs) []function {
	return []function{
		{name: "scriptLogTail", fn: s.tail, types: []any{
			new(func(string, int) string),
			new(func(string, int, time.Time) string),
		}},
		{name: "scriptLogErrors", fn: s.errors, types: []any{
			new(func(string) string),
			new(func(string, time.Time) string),
		}},
	}
}

func (s *scriptLogs) tail(params ...any) (any, error) {
	app, _ := params[0].(string)
	n, _ := params[1].(int)
	if s == nil || n <= 0 {
		return "", nil
	}
	c, ok := s.context(app, params[2:])
	if !ok {
		return "", nil
	}
	return joinEnd(c.Tail[max(0, len(c.Tail)-n):], ScriptLogMaxBytes), nil
}

func (s *scriptLogs) errors(params ...any) (any, error) {
	app, _ := params[0].(string)
	if s == nil {
		return "", nil
	}
	c, ok := s.context(app, params[1:])
	if !ok {
		return "", nil
	}
	return joinEnd(c.Errors, ScriptLogMaxBytes), nil
}

// context reads the script log of app at the optional time in rest (zero or
// absent: now): all the lines read, and the errors.
func (s *scriptLogs) context(app string, rest []any) (scriptlog.Context, bool) {
	if app == "" {
		return scriptlog.Context{}, false
	}
	var at time.Time
	if len(rest) > 0 {
		at, _ = rest[0].(time.Time)
	}
	if at.IsZero() {
		at = s.finder.Clock()
	}
	s.mu.Lock()
	l := s.last
	s.mu.Unlock()
	if l.app == app && l.at.Equal(at) && time.Since(l.when) < memoFor {
		return l.c, l.ok
	}
	c, err := s.finder.Context(app, at, -1) // not under mu: it may take Finder.Timeout
	s.mu.Lock()
	s.last.app, s.last.at, s.last.when, s.last.c, s.last.ok = app, at, time.Now(), c, err == nil
	s.mu.Unlock()
	switch {
	case err == nil:
		return c, true
	case errors.Is(err, scriptlog.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		s.log.Debug("no script log for the alert", "app_id", app, "at", at, "err", err)
	default:
		s.log.Warn("cannot read the script log for the alert", "app_id", app, "at", at, "err", err)
	}
	return scriptlog.Context{}, false
}

// joinEnd joins lines with "\n", dropping lines from the front to fit in
// limit bytes. A last line longer than limit alone is cut at a UTF-8
// boundary and ends in "…".
func joinEnd(lines []string, limit int) string {
	size, start := 0, len(lines)
	for start > 0 {
		l := len(lines[start-1])
		if start < len(lines) {
			l++ // the "\n" after it
		}
		if size+l > limit {
			break
		}
		size += l
		start--
	}
	if start < len(lines) || len(lines) == 0 {
		return strings.Join(lines[start:], "\n")
	}
	const ell = "…"
	last := lines[len(lines)-1]
	end := max(0, limit-len(ell))
	for end > 0 && !utf8.RuneStart(last[end]) {
		end--
	}
	return last[:end] + ell
}
