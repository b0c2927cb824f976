package sdk

import (
	"io"
	"log/slog"
)

// hclogTimeFormat is the only @timestamp layout go-plugin's host accepts; a
// line with any other layout is not parsed and loses its level.
const hclogTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// levelTrace is below slog's Debug, for messages the agent shows only when
// asked for everything.
const levelTrace = slog.LevelDebug - 4

// LogLevelEnv is the environment variable in which the agent tells a plugin
// the lowest level its log keeps: "trace", "debug", "info", "warn" or
// "error". Serve's logger drops what is below it, so a plugin does not write
// (and the agent does not parse) a debug line per event that the agent would
// throw away. Unset or unknown means trace: everything.
const LogLevelEnv = "HERALD_PLUGIN_LOG_LEVEL"

// levelFromEnv returns the level named by LogLevelEnv's value.
func levelFromEnv(v string) slog.Level {
	switch v {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return levelTrace
}

// LogLevelName names l the way LogLevelEnv expects: the name of the hclog
// level l falls in.
func LogLevelName(l slog.Level) string { return hclogLevel(l) }

// newLogHandler returns a slog.Handler that writes one hclog-style JSON object
// per line to w: "@level", "@message" and "@timestamp" plus the record's
// attributes. go-plugin in the agent parses exactly these lines from the
// plugin's standard error and re-emits them in the agent's log at their own
// level.
func newLogHandler(w io.Writer, level slog.Level) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch {
			case a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime:
				return slog.String("@timestamp", a.Value.Time().Format(hclogTimeFormat))
			case a.Key == slog.LevelKey:
				if l, ok := a.Value.Any().(slog.Level); ok {
					return slog.String("@level", hclogLevel(l))
				}
			case a.Key == slog.MessageKey && a.Value.Kind() == slog.KindString:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
}

// hclogLevel names l the way hclog.LevelFromString understands.
func hclogLevel(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}
