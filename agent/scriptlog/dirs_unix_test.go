//go:build unix

package scriptlog

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestHungLogFile stands a FIFO named like a script log in for a log on a
// share that stopped answering: opening it blocks. The alert's lines come
// from the healthy directory within the bound.
func TestHungLogFile(t *testing.T) {
	healthy, dead := t.TempDir(), t.TempDir()
	t0 := time.Date(2021, 2, 16, 8, 0, 0, 0, time.UTC)
	write(t, healthy, logName(appA, t0), failedLog)
	fifo := filepath.Join(dead, logName(appA, t0.Add(-time.Minute)))
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	statuses := make(chan DirStatus, 10)
	const timeout = 300 * time.Millisecond
	f := &Finder{Dir: dead, Dirs: []string{healthy}, Timeout: timeout,
		OnStatus: func(s DirStatus) { statuses <- s }}

	start := time.Now()
	c, err := f.Context(appA, t0.Add(time.Minute), 20)
	elapsed := time.Since(start)
	if err != nil || filepath.Dir(c.Path) != healthy || len(c.Errors) != 2 ||
		c.Errors[1] != "Error: Unknown statement: ThisFailsForSure" {
		t.Fatalf("Context = %+v, %v; want the healthy directory's log", c, err)
	}
	if elapsed > timeout+5*time.Second {
		t.Errorf("Context took %v, want about %v", elapsed, timeout)
	}
	seen := map[string]bool{}
	for len(seen) < 2 {
		s := <-statuses
		seen[s.Dir] = s.OK
	}
	if seen[dead] || !seen[healthy] {
		t.Errorf("statuses %v", seen)
	}

	// A writer unblocks the reader's open; its probe returns and the
	// directory is up again (the FIFO itself is not a regular file).
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if s := <-statuses; s.Dir != dead || !s.OK {
		t.Errorf("status change %+v, want the directory up", s)
	}
}
