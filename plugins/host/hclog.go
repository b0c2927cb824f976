package host

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"slices"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/heraldhq/herald/plugins/sdk"
)

// levelTrace is where hclog's Trace lands in slog: below Debug, so an agent
// logging at Debug still hides go-plugin's chatter about its internals.
const levelTrace = slog.LevelDebug - 4

// hclogAdapter is an hclog.Logger that writes to a *slog.Logger. go-plugin
// logs through it both its own events (process started, exited, killed) and
// every line the plugin writes to standard error, which it parses first: hclog
// JSON lines keep their level and attributes, "[WARN] ..." style lines are
// levelled by their prefix, a panic is an error and anything else is debug.
type hclogAdapter struct {
	l    *slog.Logger
	name string
	// quiet, shared by all loggers derived from one adapter, demotes
	// go-plugin's own messages (those of the unnamed root logger; plugin
	// output comes through a named one) to debug. Start sets it when it
	// tears down a plugin that failed to start, where go-plugin would warn
	// that the dead plugin "failed to exit gracefully".
	quiet *atomic.Bool
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func newHCLogAdapter(l *slog.Logger) *hclogAdapter {
	return &hclogAdapter{l: l, quiet: new(atomic.Bool)}
}

// lowestLevel names, for sdk.LogLevelEnv, the lowest level l keeps.
func lowestLevel(l *slog.Logger) string {
	for _, lv := range []slog.Level{levelTrace, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if l.Enabled(context.Background(), lv) {
			return sdk.LogLevelName(lv)
		}
	}
	return sdk.LogLevelName(slog.LevelError)
}

func slogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	if a.name == "" && level > hclog.Debug && a.quiet.Load() {
		level = hclog.Debug
	}
	lv := slogLevel(level)
	ctx := context.Background()
	if !a.l.Enabled(ctx, lv) {
		return
	}
	as := attrs(args)
	if a.name == "" {
		// go-plugin's own "plugin" is the executable's path (a temporary
		// go-build path under go run); the caller's logger names the sink.
		as = slices.DeleteFunc(as, func(at slog.Attr) bool { return at.Key == "plugin" })
	}
	a.l.LogAttrs(ctx, lv, msg, as...)
}

// attrs turns hclog's alternating keys and values into slog attributes. The
// "timestamp" go-plugin adds to every line it relays from the plugin is
// dropped: the record has its own time, and the two differ only by transit.
func attrs(args []any) []slog.Attr {
	out := make([]slog.Attr, 0, (len(args)+1)/2)
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			out = append(out, slog.Any(hclog.MissingKey, args[i]))
			break
		}
		key, ok := args[i].(string)
		if !ok {
			key = fmt.Sprint(args[i])
		}
		if key == "timestamp" {
			continue
		}
		out = append(out, slog.Any(key, args[i+1]))
	}
	return out
}

func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *hclogAdapter) enabled(level hclog.Level) bool {
	return a.l.Enabled(context.Background(), slogLevel(level))
}

func (a *hclogAdapter) IsTrace() bool { return a.enabled(hclog.Trace) }
func (a *hclogAdapter) IsDebug() bool { return a.enabled(hclog.Debug) }
func (a *hclogAdapter) IsInfo() bool  { return a.enabled(hclog.Info) }
func (a *hclogAdapter) IsWarn() bool  { return a.enabled(hclog.Warn) }
func (a *hclogAdapter) IsError() bool { return a.enabled(hclog.Error) }

// ImpliedArgs is empty: attributes added by With live inside the slog.Logger.
func (a *hclogAdapter) ImpliedArgs() []any { return nil }

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	as := attrs(args)
	anys := make([]any, len(as))
	for i, at := range as {
		anys[i] = at
	}
	return &hclogAdapter{l: a.l.With(anys...), name: a.name, quiet: a.quiet}
}

// Name, Named and ResetNamed keep the name without logging it: go-plugin names
// its sub-loggers after the plugin executable and its own parts ("stdio"),
// which says nothing the caller's logger (tagged with the sink) does not.
func (a *hclogAdapter) Name() string { return a.name }

func (a *hclogAdapter) Named(name string) hclog.Logger {
	if a.name != "" {
		name = a.name + "." + name
	}
	return &hclogAdapter{l: a.l, name: name, quiet: a.quiet}
}

func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	return &hclogAdapter{l: a.l, name: name, quiet: a.quiet}
}

// SetLevel does nothing: the level belongs to the slog.Handler.
func (a *hclogAdapter) SetLevel(hclog.Level) {}

// GetLevel reports the lowest level the slog.Logger lets through. go-plugin
// uses it to skip parsing plugin lines nobody would see.
func (a *hclogAdapter) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if a.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (a *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *hclogAdapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	level := hclog.Info
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = opts.ForceLevel
	}
	return writerFunc(func(p []byte) (int, error) {
		a.Log(level, string(bytes.TrimRight(p, "\r\n")))
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
