package tail

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// requireNotifications skips a test that needs file notifications where they
// are not asserted, and fails it on Linux, where inotify must work.
func requireNotifications(t *testing.T, h *harness) {
	t.Helper()
	if h.tl.watch == nil {
		if runtime.GOOS == "linux" {
			t.Fatal("no file notifications on Linux")
		}
		t.Skip("file notifications unavailable here")
	}
}

// readEvery returns the check interval of the follower of key.
func (h *harness) readEvery(key string) time.Duration {
	h.t.Helper()
	h.tl.mu.Lock()
	defer h.tl.mu.Unlock()
	f := h.tl.followers[key]
	if f == nil {
		h.t.Fatalf("no follower of %s", key)
	}
	return f.every
}

// waitNextScan waits until a scan chose next as the time to the timed scan
// after it.
func (h *harness) waitNextScan(next time.Duration) {
	h.t.Helper()
	h.until("a scan choosing "+next.String(), func() bool { return h.nextScan == next })
}

// TestIntervals: with file notifications, the timed safety nets run rarely
// (an idle agent stays idle), but only where notifications report what the
// timers would find; intervals set in Config are used as they are.
func TestIntervals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pattern  string // relative to the temp dir
		file     string // created before the tailer starts
		symlink  bool   // file is a symbolic link to a file in the same directory
		cfg      Config
		wantScan time.Duration
		wantRead time.Duration
	}{
		{
			name:    "pattern in one directory",
			pattern: "*.txt", file: "a.txt",
			wantScan: NotifiedPollInterval, wantRead: NotifiedReadInterval,
		},
		{
			// A new subdirectory is not watched: timed scans find its files.
			name:    "double star",
			pattern: "**/*.txt", file: "sub/a.txt",
			wantScan: DefaultPollInterval, wantRead: NotifiedReadInterval,
		},
		{
			name:    "glob syntax in a directory",
			pattern: "s*/a.txt", file: "sub/a.txt",
			wantScan: DefaultPollInterval, wantRead: NotifiedReadInterval,
		},
		{
			name:    "set in Config",
			pattern: "*.txt", file: "a.txt",
			cfg:      Config{PollInterval: 3 * time.Second, ReadInterval: 70 * time.Millisecond},
			wantScan: 3 * time.Second, wantRead: 70 * time.Millisecond,
		},
		{
			// Writes to the target are reported under its name, not the link's.
			name:    "symbolic link",
			pattern: "*.txt", file: "a.txt", symlink: true,
			wantScan: NotifiedPollInterval, wantRead: DefaultReadInterval,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, filepath.FromSlash(tc.file))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.symlink {
				if runtime.GOOS == "windows" {
					t.Skip("on Windows every file is checked every DefaultReadInterval anyway")
				}
				target := filepath.Join(filepath.Dir(path), "target.log")
				writeFile(t, target, "")
				if err := os.Symlink(target, path); err != nil {
					t.Skipf("cannot create a symbolic link: %v", err)
				}
			} else {
				writeFile(t, path, "")
			}
			cfg := tc.cfg
			cfg.Paths = []string{filepath.FromSlash(tc.pattern)}
			h := newHarness(t, dir, cfg, defaultIntervals)
			requireNotifications(t, h)
			key := h.expect(Event{Kind: Opened}).Key
			h.waitNextScan(tc.wantScan)
			if got := h.readEvery(key); got != tc.wantRead {
				t.Errorf("file checked every %v, want %v", got, tc.wantRead)
			}
		})
	}
}

// TestRotatedFileClosedBetweenRareScans: with notifications, timed scans are
// rare, but a file rotated away is still closed two short scans after it
// vanished, its unterminated last line emitted, and the scans become rare
// again after that.
func TestRotatedFileClosedBetweenRareScans(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.txt")
	writeFile(t, path, "one\n")
	h := newHarness(t, dir, Config{
		Paths: []string{"*.txt"}, StartAt: StartAtBeginning,
		notifiedPoll: time.Hour, missingPoll: 20 * time.Millisecond,
	}, defaultIntervals)
	requireNotifications(t, h)
	old := h.expect(Event{Kind: Opened, Path: path}).Key
	h.expect(lineEv(old, "one", 4, true))
	h.waitNextScan(time.Hour)

	appendFile(t, path, "two, unterminated")
	if err := os.Rename(path, filepath.Join(dir, "app.log")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "new\n")
	evs := h.collect("the old file closed and the new one read", func(evs []Event) bool {
		closed, read := false, false
		for _, ev := range evs {
			closed = closed || ev.Kind == Closed && ev.Key == old
			read = read || ev.Kind == Line && ev.Key != old
		}
		return closed && read
	})
	var oldEvs []Event
	for _, ev := range evs {
		if ev.Key == old {
			oldEvs = append(oldEvs, ev)
		}
	}
	compareEvents(t, "old file", oldEvs, []Event{
		lineEv(old, "two, unterminated", 21, false),
		{Kind: Closed, Key: old, Line: lineOf("", 21, false)},
	})
	h.waitNextScan(time.Hour)
}

// TestNotificationErrorChecksEverything: when notifications may have been
// lost (the event queue overflowed), every file is checked and the patterns
// are scanned at once, not at the next timed check.
func TestNotificationErrorChecksEverything(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.txt"), "")
	h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, PollInterval: time.Hour, ReadInterval: time.Hour})
	requireNotifications(t, h)
	key := h.expect(Event{Kind: Opened}).Key
	h.until("the first check", func() bool { return h.checks[key] == 1 })
	h.mu.Lock()
	scans := h.scans
	h.mu.Unlock()

	h.tl.watch.w.Errors <- fsnotify.ErrEventOverflow
	h.until("a check and a scan", func() bool { return h.checks[key] == 2 && h.scans > scans })
}

// TestWatchedDirectoryRecreated: the watched directory is deleted and made
// again. Until it is watched again, timed scans are frequent; the new file in
// it is found, and its lines arrive through notifications (reads are timed
// hourly here).
func TestWatchedDirectoryRecreated(t *testing.T) {
	if runtime.GOOS != "linux" {
		// On Windows, the tailer's handle on a.txt keeps the directory
		// from being deleted until the file is closed.
		t.Skip("asserted on Linux (inotify)")
	}
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(logs, "a.txt"), "")
	h := newHarness(t, dir, Config{
		Paths: []string{filepath.Join("logs", "*.txt")}, ReadInterval: time.Hour,
		notifiedPoll: time.Hour, missingPoll: 20 * time.Millisecond,
	}, defaultIntervals)
	requireNotifications(t, h)
	old := h.expect(Event{Kind: Opened}).Key
	h.waitNextScan(time.Hour)

	if err := os.RemoveAll(logs); err != nil {
		t.Fatal(err)
	}
	h.expectFor(Event{Kind: Closed, Key: old})
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(logs, "b.txt")
	writeFile(t, path, "")
	key := h.expect(Event{Kind: Opened, Path: path}).Key
	h.waitNextScan(time.Hour)
	appendFile(t, path, "one\n")
	h.expect(lineEv(key, "one", 4, true))
}
