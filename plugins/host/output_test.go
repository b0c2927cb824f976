package host

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestTailWriterKeepsTheLastLines(t *testing.T) {
	var w tailWriter
	for i := range 12 {
		fmt.Fprintf(&w, "line %d\r\n", i)
	}
	// go-plugin writes a line and its newline separately.
	w.Write([]byte(`{"@level":"error","@message":"cannot start","error":"boom","@timestamp":"2026-01-02T03:04:05.000000Z"}`))
	w.Write([]byte("\n"))
	w.Write([]byte("unfinished"))
	want := "line 5 | line 6 | line 7 | line 8 | line 9 | line 10 | line 11 | error: cannot start: boom | unfinished"
	if got := w.String(); got != want {
		t.Errorf("tail = %q\nwant   %q", got, want)
	}
}

func TestWholeLines(t *testing.T) {
	var out writes
	w := &wholeLines{w: &out}
	for _, chunk := range []string{`{"a":`, `1}` + "\n" + `{"b"`, `:2}` + "\n", "x\ny\n", "tail"} {
		w.Write([]byte(chunk))
	}
	w.flush()
	want := []string{`{"a":1}` + "\n", `{"b":2}` + "\n", "x\ny\n", "tail"}
	if fmt.Sprintf("%q", out) != fmt.Sprintf("%q", want) {
		t.Errorf("writes = %q, want %q", out, want)
	}
}

type writes []string

func (w *writes) Write(p []byte) (int, error) {
	*w = append(*w, string(p))
	return len(p), nil
}

func TestHCLogAdapter(t *testing.T) {
	var buf bytes.Buffer
	l := newHCLogAdapter(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	l.Trace("hidden")
	l.Debug("d", "pid", 42)
	l.With("plugin", "x").Named("stdio").Info("i", "timestamp", "2026-01-02T03:04:05Z", "k", "v")
	l.Info("plugin process exited", "plugin", "/tmp/go-build123/b001/exe/herald", "id", "42")
	l.Warn("w", "odd")
	l.Error("e", 7, "seven")
	l.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}).Print("from log")
	want := strings.Join([]string{
		`level=DEBUG msg=d pid=42`,
		`level=INFO msg=i plugin=x k=v`,
		`level=INFO msg="plugin process exited" id=42`,
		`level=WARN msg=w EXTRA_VALUE_AT_END=odd`,
		`level=ERROR msg=e 7=seven`,
		`level=WARN msg="from log"`,
	}, "\n") + "\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	l.quiet.Store(true)
	l.Warn("plugin failed to exit gracefully")
	l.Named("plugin").Warn("from the plugin")
	if want := "level=DEBUG msg=\"plugin failed to exit gracefully\"\nlevel=WARN msg=\"from the plugin\"\n"; buf.String() != want {
		t.Errorf("quiet: got\n%s\nwant\n%s", buf.String(), want)
	}
	if got := l.GetLevel(); got != hclog.Debug {
		t.Errorf("GetLevel = %v, want debug", got)
	}
	if l.IsTrace() || !l.IsDebug() {
		t.Errorf("IsTrace = %v, IsDebug = %v", l.IsTrace(), l.IsDebug())
	}
}
