package tail

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// logRecorder is a slog.Handler that keeps every record's level and message.
type logRecorder struct {
	mu   *sync.Mutex
	recs *[]string // "LEVEL message path=..."
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: &sync.Mutex{}, recs: new([]string)}
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	s := rec.Level.String() + " " + rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		s += fmt.Sprintf(" %s=%v", a.Key, a.Value)
		return true
	})
	r.mu.Lock()
	*r.recs = append(*r.recs, s)
	r.mu.Unlock()
	return nil
}

// count returns how many records start with prefix ("WARN cannot read file").
func (r *logRecorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range *r.recs {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

func (r *logRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(*r.recs, "\n")
}

// waitStatus waits until OnStatus has delivered a status for which cond
// holds, and returns it.
func (h *harness) waitStatus(what string, cond func(Status) bool) Status {
	h.t.Helper()
	var got Status
	h.until(what, func() bool {
		if n := len(h.statuses); n > 0 && cond(h.statuses[n-1]) {
			got = h.statuses[n-1]
			return true
		}
		return false
	})
	return got
}

// drain reads and discards events, so followers never wait for the test.
func drain(tl *Tailer) {
	go func() {
		for evs := range tl.Events() {
			tl.Release(evs)
		}
	}()
}

// TestStatusNoMatch: a pattern whose folder does not exist shows as a problem
// naming the deepest folder that does, logged once; once the file appears,
// the problem clears, logged once.
func TestStatusNoMatch(t *testing.T) {
	dir := t.TempDir()
	logDir := filepath.Join(dir, "Log")
	if err := os.Mkdir(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pattern := filepath.Join(logDir, "Scheduler", "Trace", "*_System_Scheduler.txt")
	rec := newLogRecorder()
	h := newHarness(t, dir, Config{Paths: []string{pattern}, Logger: slog.New(rec)})
	drain(h.tl)

	s := h.waitStatus("a status", func(Status) bool { return true })
	want := PatternStatus{
		Pattern: pattern,
		Deepest: logDir,
		Problem: "no file matches " + pattern + "; the deepest folder that exists is " + logDir,
	}
	if len(s.Patterns) != 1 || s.Patterns[0] != want || s.Followed != 0 || len(s.Unreadable) != 0 {
		t.Fatalf("status %+v, want one pattern %+v", s, want)
	}
	if got := h.tl.Status(); len(got.Patterns) != 1 || got.Patterns[0] != want {
		t.Errorf("Status() = %+v, want %+v", got, want)
	}
	h.waitScans(5)

	trace := filepath.Join(logDir, "Scheduler", "Trace")
	if err := os.MkdirAll(trace, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(trace, "SRV_System_Scheduler.txt")
	writeFile(t, file, "header\n")
	s = h.waitStatus("the file to be followed", func(s Status) bool { return s.Followed == 1 })
	if want := (PatternStatus{Pattern: pattern, Files: 1}); s.Patterns[0] != want {
		t.Errorf("pattern status %+v, want %+v", s.Patterns[0], want)
	}
	h.waitScans(3)
	if n := rec.count("WARN no file matches pattern"); n != 1 {
		t.Errorf("%d warnings that nothing matches, want 1:\n%s", n, rec)
	}
	if n := rec.count("INFO pattern matches files again"); n != 1 {
		t.Errorf("%d notes that the pattern matches again, want 1:\n%s", n, rec)
	}
}

// denyOpen is an open hook that fails with a permission error while deny is set.
func denyOpen(deny *atomic.Bool) func(string) (*os.File, error) {
	return func(path string) (*os.File, error) {
		if deny.Load() {
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrPermission}
		}
		return openFile(path)
	}
}

// TestStatusUnreadable: a matching file that cannot be opened is an
// Unreadable entry and its pattern a problem; it is logged once however many
// scans retry it, and once more when it can be read again. The open error is
// injected, so this runs as root too (see TestStatusUnreadableChmod).
func TestStatusUnreadable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "SRV_System_Scheduler.txt")
	writeFile(t, file, "header\nline\n")
	var deny atomic.Bool
	deny.Store(true)
	rec := newLogRecorder()
	h := newHarness(t, dir, Config{
		Paths:   []string{"*_System_Scheduler.txt"},
		StartAt: StartAtBeginning,
		Logger:  slog.New(rec),
		hooks:   &hooks{open: denyOpen(&deny)},
	})
	drain(h.tl)

	s := h.waitStatus("the file to be unreadable", func(s Status) bool { return len(s.Unreadable) == 1 })
	if u := s.Unreadable[0]; u.Path != file || !strings.Contains(u.Err, "permission denied") || u.Since.IsZero() {
		t.Errorf("unreadable %+v, want %s with a permission error", u, file)
	}
	p := s.Patterns[0]
	if p.Files != 0 || p.Deepest != dir || !strings.Contains(p.Problem, "1 file matches "+filepath.Join(dir, "*_System_Scheduler.txt")+" but cannot be read") {
		t.Errorf("pattern status %+v, want a problem saying the file cannot be read", p)
	}
	h.waitScans(10) // each scan tries to open the file again
	if n := rec.count("WARN cannot read file"); n != 1 {
		t.Errorf("%d warnings for the unreadable file, want 1:\n%s", n, rec)
	}

	deny.Store(false)
	s = h.waitStatus("the file to be readable", func(s Status) bool { return len(s.Unreadable) == 0 && s.Followed == 1 })
	if s.Patterns[0].Files != 1 || s.Patterns[0].Problem != "" {
		t.Errorf("pattern status %+v, want 1 file and no problem", s.Patterns[0])
	}
	h.waitScans(3)
	if n := rec.count("INFO file readable again"); n != 1 {
		t.Errorf("%d notes that the file is readable again, want 1:\n%s", n, rec)
	}
	if n := rec.count("WARN"); n != 2 { // the file, and the pattern matching nothing readable
		t.Errorf("%d warnings, want 2:\n%s", n, rec)
	}
}

// TestStatusReadError: a file that fails while it is read is Unreadable until
// a follower reads it again, logged once each way.
func TestStatusReadError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.txt")
	writeFile(t, file, "header\nline\n")
	var broken atomic.Bool
	broken.Store(true)
	rec := newLogRecorder()
	h := newHarness(t, dir, Config{
		Paths:   []string{"*.txt"},
		StartAt: StartAtBeginning,
		Logger:  slog.New(rec),
		hooks: &hooks{open: func(path string) (*os.File, error) {
			if broken.Load() {
				// Opens, but every read through the handle fails.
				return os.OpenFile(path, os.O_WRONLY, 0)
			}
			return openFile(path)
		}},
	})
	drain(h.tl)

	s := h.waitStatus("the file to fail", func(s Status) bool { return len(s.Unreadable) == 1 })
	if s.Unreadable[0].Path != file {
		t.Errorf("unreadable %+v, want %s", s.Unreadable, file)
	}
	h.waitScans(10)
	if n := rec.count("WARN cannot read file"); n != 1 {
		t.Errorf("%d warnings for the failing file, want 1:\n%s", n, rec)
	}
	broken.Store(false)
	h.waitStatus("the file to be read", func(s Status) bool { return len(s.Unreadable) == 0 && s.Followed == 1 })
	h.waitScans(3)
	if n := rec.count("INFO file readable again"); n != 1 {
		t.Errorf("%d notes that the file is readable again, want 1:\n%s", n, rec)
	}
	if n := rec.count("WARN cannot read file"); n != 1 {
		t.Errorf("%d warnings for the failing file, want 1:\n%s", n, rec)
	}
}

// TestStatusUnreadableChmod is TestStatusUnreadable with a real permission
// error. Root reads any file, so it is skipped as root.
func TestStatusUnreadableChmod(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs a non-root Unix user: root can read any file")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "a.txt")
	writeFile(t, file, "header\n")
	if err := os.Chmod(file, 0); err != nil {
		t.Fatal(err)
	}
	rec := newLogRecorder()
	h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, Logger: slog.New(rec)})
	drain(h.tl)
	h.waitStatus("the file to be unreadable", func(s Status) bool { return len(s.Unreadable) == 1 })
	h.waitScans(10)
	if n := rec.count("WARN cannot read file"); n != 1 {
		t.Errorf("%d warnings for the unreadable file, want 1:\n%s", n, rec)
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitStatus("the file to be readable", func(s Status) bool { return len(s.Unreadable) == 0 && s.Followed == 1 })
}

// TestStatusDisappeared: an unreadable file that goes away is no longer a
// problem, and that is said once.
func TestStatusDisappeared(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.txt")
	writeFile(t, file, "header\n")
	var deny atomic.Bool
	deny.Store(true)
	rec := newLogRecorder()
	h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, Logger: slog.New(rec), hooks: &hooks{open: denyOpen(&deny)}})
	drain(h.tl)
	h.waitStatus("the file to be unreadable", func(s Status) bool { return len(s.Unreadable) == 1 })
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	s := h.waitStatus("the file to be gone", func(s Status) bool { return len(s.Unreadable) == 0 })
	if p := s.Patterns[0]; p.Files != 0 || !strings.Contains(p.Problem, "holds no matching file") {
		t.Errorf("pattern status %+v, want no file", p)
	}
	if n := rec.count("INFO unreadable file disappeared"); n != 1 {
		t.Errorf("%d notes that the file disappeared, want 1:\n%s", n, rec)
	}
}

func TestCheckPatterns(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{
		"Log/Scheduler/Trace/SRV_System_Scheduler.txt",
		"Log/Scheduler/Trace/SRV_Audit_Scheduler.txt",
		"Log/Engine/Trace/old/SRV_System_Engine.txt",
	} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, full, "")
	}
	if err := os.MkdirAll(filepath.Join(dir, "Log", "Empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }
	for _, tc := range []struct {
		pattern string
		exclude []string
		files   int
		deepest string // relative to dir; "." is dir
		problem string // with $P for the pattern, $D for the deepest folder
	}{
		{pattern: "Log/Scheduler/Trace/*_System_Scheduler.txt", files: 1},
		{pattern: "Log/Scheduler/Trace/*_Scheduler.txt", files: 2},
		{pattern: "Log/Scheduler/Trace/*_Scheduler.txt", exclude: []string{"*_Audit_*"}, files: 1},
		{pattern: "Log/Scheduler/Trace/SRV_System_Scheduler.txt", files: 1},
		{pattern: "Log/**/*_System_*.txt", files: 2},
		{pattern: "Log/*/Trace/*.txt", files: 2},
		{
			pattern: "Log/Scheduler/Trace/*_System_Engine.txt", deepest: "Log/Scheduler/Trace",
			problem: "no file matches $P; the folder $D exists but holds no matching file",
		},
		{
			pattern: "Log/Scheduler/Trace/*_System_*.txt", exclude: []string{"*_System_*"}, deepest: "Log/Scheduler/Trace",
			problem: "no file matches $P; the folder $D exists but holds no matching file",
		},
		{
			pattern: "Log/Schedular/Trace/*_System_Scheduler.txt", deepest: "Log",
			problem: "no file matches $P; the deepest folder that exists is $D",
		},
		{
			pattern: "Logs/Scheduler/Trace/*.txt", deepest: ".",
			problem: "no file matches $P; the deepest folder that exists is $D",
		},
		{
			pattern: "Log/Empty/**/*.txt", deepest: "Log/Empty",
			problem: "no file matches $P; the folder $D exists but holds no matching file",
		},
		{
			pattern: "Log/Missing/Deeper/**/*.txt", deepest: "Log",
			problem: "no file matches $P; the deepest folder that exists is $D",
		},
		{
			pattern: "Log/**/*.log", deepest: "Log",
			problem: "no file matches $P; the folder $D exists but holds no matching file",
		},
		{
			pattern: "Log/*/Nope/*.txt", deepest: "Log",
			problem: "no file matches $P; the folder $D exists but holds no matching file",
		},
		{
			pattern: "Log/Scheduler/Trace/SRV_System_Scheduler.txt/x/*.txt", deepest: "Log/Scheduler/Trace",
			problem: "no file matches $P; cannot open " + abs("Log/Scheduler/Trace/SRV_System_Scheduler.txt") + ": not a folder",
		},
		{
			pattern: "Log/Scheduler", deepest: "Log", // a folder is not a file
			problem: "no file matches $P; the folder $D exists but holds no matching file",
		},
	} {
		pattern := abs(tc.pattern)
		got := CheckPatterns([]string{pattern}, tc.exclude)
		want := PatternStatus{Pattern: pattern, Files: tc.files}
		if tc.files == 0 {
			want.Deepest = abs(tc.deepest)
			want.Problem = strings.NewReplacer("$P", pattern, "$D", want.Deepest).Replace(tc.problem)
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("CheckPatterns(%s, %q) =\n\t%+v\nwant\n\t%+v", tc.pattern, tc.exclude, got, want)
		}
	}
	// Several patterns: one entry each, in order.
	got := CheckPatterns([]string{abs("Log/Scheduler/Trace/*.txt"), abs("Nope/*.txt")}, nil)
	if len(got) != 2 || got[0].Files != 2 || got[1].Files != 0 || got[1].Deepest != dir {
		t.Errorf("CheckPatterns of two patterns = %+v", got)
	}
}

// TestCheckPatternsUnreadable: files and folders that exist but cannot be
// read are told apart from missing ones. Root reads anything: skipped as root.
func TestCheckPatternsUnreadable(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs a non-root Unix user: root can read any file")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "a", "x.txt")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, file, "")
	locked := filepath.Join(dir, "locked")
	if err := os.Mkdir(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
	if err := os.Chmod(file, 0); err != nil {
		t.Fatal(err)
	}
	got := CheckPatterns([]string{filepath.Join(dir, "a", "*.txt"), filepath.Join(locked, "*.txt")}, nil)
	if p := got[0]; p.Files != 0 || !strings.Contains(p.Problem, "1 file matches") || !strings.Contains(p.Problem, "permission denied") {
		t.Errorf("unreadable file: %+v", p)
	}
	if p := got[1]; p.Files != 0 || p.Deepest != locked || p.Problem != "no file matches "+filepath.Join(locked, "*.txt")+"; cannot list "+locked+": permission denied" {
		t.Errorf("unlistable folder: %+v", p)
	}
}
