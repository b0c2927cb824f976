package scriptlog

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// failedLog is a script log that failed on statement 12.
var failedLog = crlf(
	"20210216T092458.790+0100 0012 ThisFailsForSure",
	"20210216T092458.802+0100      Error: Unknown statement: ThisFailsForSure",
	"20210216T092458.803+0100      Execution Failed",
	"20210216T092458.810+0100      Execution finished.",
)

// TestSeveralDirs checks that the newest log of all directories is taken,
// at or before the time asked, and that a missing directory does not stop
// the others.
func TestSeveralDirs(t *testing.T) {
	local, rim1, rim2 := t.TempDir(), t.TempDir(), t.TempDir()
	missing := filepath.Join(t.TempDir(), "gone")
	t0 := time.Date(2021, 2, 16, 8, 0, 0, 0, time.UTC)
	write(t, local, logName(appA, t0), crlf("local, oldest"))
	write(t, rim1, logName(appA, t0.Add(2*time.Hour)), crlf("rim1, newest"))
	write(t, rim2, logName(appA, t0.Add(time.Hour)), crlf("rim2, middle"))
	write(t, rim2, logName(appB, t0.Add(3*time.Hour)), failedLog)

	f := &Finder{Dir: local, Dirs: []string{rim1, missing, rim2, local}}
	if got, want := f.Directories(), []string{local, rim1, missing, rim2}; !slices.Equal(got, want) {
		t.Errorf("Directories = %q, want %q", got, want)
	}
	tests := []struct {
		app  string
		at   time.Time
		want string // the tail's last line
	}{
		{appA, time.Time{}, "rim1, newest"},
		{appA, t0.Add(90 * time.Minute), "rim2, middle"},
		{appA, t0, "local, oldest"},
		{appB, time.Time{}, "20210216T092458.810+0100      Execution finished."},
	}
	for _, tt := range tests {
		c, err := f.Context(tt.app, tt.at, 1)
		if err != nil {
			t.Fatalf("Context(%s, %v): %v", tt.app, tt.at, err)
		}
		if len(c.Tail) != 1 || c.Tail[0] != tt.want {
			t.Errorf("Context(%s, %v).Tail = %q, want %q", tt.app, tt.at, c.Tail, tt.want)
		}
	}
	if _, err := f.Context(appA, t0.Add(-time.Second), 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Context before every log: %v, want ErrNotFound", err)
	}
	st := f.Status()
	if len(st) != 4 {
		t.Fatalf("Status = %+v", st)
	}
	for _, s := range st {
		if s.OK == (s.Dir == missing) || s.Since.IsZero() {
			t.Errorf("status %+v", s)
		}
	}
	if down := f.Down(); len(down) != 1 || !strings.HasPrefix(down[0], missing+": script logs: open ") {
		t.Errorf("Down = %q", down)
	}
	// Alone, the missing directory's error is the look-up's.
	if _, err := (&Finder{Dir: missing}).Find(appA, time.Time{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Find in a missing directory: %v", err)
	}
}

// hungLister lists directories, except that listing the hung one blocks
// until release is closed: a share that stopped answering.
type hungLister struct {
	hung    string
	release chan struct{}
	mu      sync.Mutex
	calls   int // listings of the hung directory
}

func (h *hungLister) list(dir string) ([]string, error) {
	if dir == h.hung {
		h.mu.Lock()
		h.calls++
		h.mu.Unlock()
		<-h.release
	}
	return listNames(dir)
}

func (h *hungLister) Calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// TestHungDir checks that a directory that does not answer is skipped within
// the bound, that later look-ups skip it without starting another probe, and
// that it is reported down until its probe returns.
func TestHungDir(t *testing.T) {
	healthy, dead := t.TempDir(), t.TempDir()
	t0 := time.Date(2021, 2, 16, 8, 0, 0, 0, time.UTC)
	write(t, healthy, logName(appA, t0), failedLog)
	write(t, dead, logName(appA, t0.Add(-time.Hour)), crlf("an older run on the dead node"))

	h := &hungLister{hung: dead, release: make(chan struct{})}
	statuses := make(chan DirStatus, 10)
	const timeout = 300 * time.Millisecond
	f := &Finder{Dirs: []string{dead, healthy}, Timeout: timeout, listDir: h.list,
		OnStatus: func(s DirStatus) { statuses <- s }}
	released := false
	t.Cleanup(func() {
		if !released {
			close(h.release)
		}
	})

	start := time.Now()
	c, err := f.Context(appA, t0.Add(time.Minute), 20)
	elapsed := time.Since(start)
	if err != nil || len(c.Errors) != 2 || filepath.Dir(c.Path) != healthy {
		t.Fatalf("Context = %+v, %v; want the healthy directory's log", c, err)
	}
	if elapsed < timeout || elapsed > timeout+5*time.Second {
		t.Errorf("Context took %v with a hung directory, want about %v", elapsed, timeout)
	}
	want := map[string]bool{healthy: true, dead: false}
	for range 2 {
		s := <-statuses
		if s.OK != want[s.Dir] {
			t.Errorf("status change %+v", s)
		}
		if !s.OK && !errorsIsText(s.Err, ErrNoAnswer) {
			t.Errorf("down for %q", s.Err)
		}
	}
	if down := f.Down(); len(down) != 1 {
		t.Errorf("Down = %q", down)
	}

	// Later look-ups skip the hung directory: no second probe waits on it.
	for range 3 {
		if c, err := f.Context(appA, time.Time{}, 1); err != nil || filepath.Dir(c.Path) != healthy {
			t.Fatalf("Context = %+v, %v", c, err)
		}
	}
	if _, err := f.Context("no-such-app", time.Time{}, 1); !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrNoAnswer) {
		t.Errorf("Context of an app without a log: %v, want ErrNotFound and ErrNoAnswer", err)
	}
	if n := h.Calls(); n != 1 {
		t.Errorf("the hung directory was listed %d times, want 1 (one outstanding probe)", n)
	}

	// The share answers again: it is up, and probed again.
	close(h.release)
	released = true
	if s := <-statuses; s.Dir != dead || !s.OK || s.Err != "" {
		t.Errorf("status change %+v, want the dead directory up", s)
	}
	if st := f.Check(); !st[0].OK || !st[1].OK {
		t.Errorf("Check = %+v", st)
	}
	if n := h.Calls(); n != 2 {
		t.Errorf("the directory was listed %d times after it answered, want 2", n)
	}
}

func errorsIsText(s string, err error) bool {
	return len(s) >= len(err.Error()) && s[:len(err.Error())] == err.Error()
}
