package agent

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWatchFilesNotices checks that a saved config, a changed rule file and a
// new rule file matching the rules glob each ask for one reload, well before
// the slow safety-net poll.
func TestWatchFilesNotices(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "herald.toml")
	rulesDir := filepath.Join(dir, "rules")
	must(t, os.Mkdir(rulesDir, 0o755))
	must(t, os.WriteFile(cfg, []byte("# v1\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(rulesDir, "a.toml"), []byte("# a1\n"), 0o644))
	pattern := filepath.Join(rulesDir, "*.toml")
	set := func() watchSet {
		m, _ := filepath.Glob(pattern)
		return watchSet{files: append([]string{cfg}, m...), patterns: []string{pattern}}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan struct{}, 1)
	fw := newFileWatcher(set, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if fw.w == nil {
		t.Skip("no file notifications here")
	}
	go fw.run(ctx, out)

	// Each step changes the size, so the change shows even within one mtime
	// tick. The deadline is well below the safety-net poll, so only a
	// notification can satisfy it in time.
	for _, st := range []struct{ name, path, data string }{
		{"config saved", cfg, "# v2 with more bytes\n"},
		{"rule file changed", filepath.Join(rulesDir, "a.toml"), "# a2 with more bytes\n"},
		{"rule file added", filepath.Join(rulesDir, "b.toml"), "# b1\n"},
	} {
		must(t, os.WriteFile(st.path, []byte(st.data), 0o644))
		select {
		case <-out:
		case <-time.After(watchPollNotified / 2):
			t.Fatalf("%s: no reload within %s", st.name, watchPollNotified/2)
		}
	}
}

func TestWatchSetRelevant(t *testing.T) {
	p := filepath.FromSlash
	s := watchSet{files: []string{p("/etc/herald/herald.toml"), p("/etc/herald/rules/a.toml")}, patterns: []string{p("/etc/herald/rules/*.toml")}}
	for path, want := range map[string]bool{
		"/etc/herald/herald.toml":       true,
		"/etc/herald/rules/a.toml":      true,
		"/etc/herald/rules/new.toml":    true,
		"/etc/herald/herald.log":        false,
		"/etc/herald/rules/notes.txt":   false,
		"/etc/herald/data/herald.db":    false,
		"/etc/herald/rules/../x.toml":   false,
		"/etc/herald/./herald.toml":     true,
		"/etc/herald/rules/sub/a.toml":  false,
		"/etc/herald/herald.toml.swp":   false,
		"/etc/herald/rules/.a.toml.swp": false,
	} {
		if got := s.relevant(p(path)); got != want {
			t.Errorf("relevant(%q) = %v, want %v", path, got, want)
		}
	}
	dirs := s.dirs()
	if len(dirs) != 3 || dirs[0] != p("/etc/herald") || dirs[2] != p("/etc/herald/rules") {
		t.Errorf("dirs = %q", dirs)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
