package host

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// stderrTailLines is how many of a plugin's last standard error lines a
// start-up error quotes.
const stderrTailLines = 8

// maxTailLine bounds one quoted line, so a plugin that dumps a huge blob
// cannot make the error unreadable.
const maxTailLine = 512

// tailWriter keeps the last lines written to it. go-plugin copies the plugin's
// raw standard error into it, so that a plugin that dies at start-up can be
// reported with its own last words.
type tailWriter struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.add(string(bytes.TrimRight(t.partial[:i], "\r")))
		t.partial = t.partial[i+1:]
	}
	if len(t.partial) > maxTailLine {
		t.add(string(t.partial))
		t.partial = t.partial[:0]
	}
	return len(p), nil
}

func (t *tailWriter) add(line string) {
	line = readable(line)
	if line == "" {
		return
	}
	if len(line) > maxTailLine {
		line = line[:maxTailLine] + "…"
	}
	if len(t.lines) == stderrTailLines {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:stderrTailLines-1]
	}
	t.lines = append(t.lines, line)
}

// String returns the remembered lines, oldest first, joined by " | ".
func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if len(t.partial) > 0 {
		lines = append(lines[:len(lines):len(lines)], readable(string(t.partial)))
	}
	return strings.Join(lines, " | ")
}

// readable shortens an hclog JSON line to "level: message"; other lines are
// returned trimmed.
func readable(line string) string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "{") {
		return line
	}
	var e struct {
		Level   string `json:"@level"`
		Message string `json:"@message"`
		Error   any    `json:"error"`
	}
	if json.Unmarshal([]byte(line), &e) != nil || e.Message == "" {
		return line
	}
	s := e.Level + ": " + e.Message
	if e.Error != nil {
		if msg, ok := e.Error.(string); ok {
			s += ": " + msg
		}
	}
	return s
}

// maxLoggedLine bounds what lineLogger buffers while waiting for a newline.
const maxLoggedLine = 64 << 10

// lineLogger logs each complete line written to it. It receives what the
// plugin writes to os.Stderr after the handshake (go-plugin's SyncStderr),
// which is not structured log output.
type lineLogger struct {
	l       *slog.Logger
	level   slog.Level
	mu      sync.Mutex
	partial []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(w.partial[:i]), "\r"); line != "" {
			w.l.Log(context.Background(), w.level, line, "stream", "stderr")
		}
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxLoggedLine {
		w.l.Log(context.Background(), w.level, string(w.partial), "stream", "stderr")
		w.partial = w.partial[:0]
	}
	return len(p), nil
}

// wholeLines passes on only complete lines, as one Write per batch of lines.
// go-plugin forwards a plugin's standard output in chunks of up to 1 KiB that
// ignore line ends; several plugins writing to the agent's standard output
// would otherwise interleave in mid-line.
type wholeLines struct {
	mu      sync.Mutex
	w       io.Writer
	partial []byte
}

func (l *wholeLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	i := bytes.LastIndexByte(l.partial, '\n')
	if i < 0 && len(l.partial) <= maxLoggedLine {
		return len(p), nil
	}
	n := i + 1
	if i < 0 {
		n = len(l.partial) // an endless line goes out in pieces
	}
	_, err := l.w.Write(l.partial[:n])
	l.partial = append(l.partial[:0], l.partial[n:]...)
	// The error goes to go-plugin's stdio copier, which logs it; the bytes
	// are consumed either way.
	return len(p), err
}

// flush writes out an unfinished last line.
func (l *wholeLines) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		_, _ = l.w.Write(l.partial)
		l.partial = nil
	}
}
