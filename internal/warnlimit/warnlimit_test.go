package warnlimit

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	l := New(log, time.Minute, func() time.Time { return now })

	steps := []struct {
		advance time.Duration
		msg     string
	}{
		{0, "a"},
		{time.Second, "a"},      // held
		{time.Second, "b"},      // another message is not held
		{10 * time.Second, "a"}, // held
		{time.Minute, "a"},      // logged, says 2 were held
		{time.Second, "a"},      // held
		{2 * time.Minute, "a"},  // logged, 1 held
		{2 * time.Minute, "a"},  // logged, none held
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		l.Warn(s.msg, "k", "v")
	}
	want := strings.Join([]string{
		"level=WARN msg=a k=v",
		"level=WARN msg=b k=v",
		"level=WARN msg=a k=v similar_warnings_held_back=2",
		"level=WARN msg=a k=v similar_warnings_held_back=1",
		"level=WARN msg=a k=v",
	}, "\n") + "\n"
	if got := buf.String(); got != want {
		t.Errorf("logged:\n%s\nwant:\n%s", got, want)
	}
}
