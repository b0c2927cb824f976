package tail

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestNotificationsWakeReaders disables polling (hour-long intervals): a line
// appended and a file created must still arrive, woken by file notifications.
// This is what keeps alert latency in milliseconds rather than poll intervals.
func TestNotificationsWakeReaders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("file notifications are asserted on Linux (inotify); elsewhere polling is the tested path")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	writeFile(t, path, "")
	h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, PollInterval: time.Hour, ReadInterval: time.Hour})
	key := h.expect(Event{Kind: Opened}).Key

	appendFile(t, path, "one\n")
	h.expect(lineEv(key, "one", 4, true))

	other := filepath.Join(dir, "b.txt")
	writeFile(t, other, "first\n")
	opened := h.expect(Event{Kind: Opened, Path: other})
	h.expect(lineEv(opened.Key, "first", 6, true))
}

func TestPatternDir(t *testing.T) {
	for pattern, want := range map[string]string{
		"/var/log/qlik/*.txt":          "/var/log/qlik",
		"/var/log/**/x.txt":            "/var/log",
		"/var/log/q*/Trace/*.txt":      "/var/log",
		"relative.txt":                 ".",
		"/var/log/qlik/exact_name.txt": "/var/log/qlik",
	} {
		if got := patternDir(filepath.FromSlash(pattern)); got != filepath.FromSlash(want) {
			t.Errorf("patternDir(%q) = %q, want %q", pattern, got, want)
		}
	}
}
