package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

const (
	// watchPoll is how often the config and rule files are checked for
	// changes when file notifications are unavailable.
	watchPoll = 2 * time.Second
	// watchPollNotified is the safety net when notifications work: they
	// report a save at once, so an idle agent need not stat files every few
	// seconds.
	watchPollNotified = 30 * time.Second
	// watchSettle is how long after a notification the files are looked at,
	// and how long a change must then hold still before it is loaded, so an
	// editor's half-written save is not.
	watchSettle = 300 * time.Millisecond
)

// watchSet is what a reload watches: the config file and the rule files its
// globs match now, and those globs, so a new rule file counts too. Paths are
// absolute or relative to the working directory, like the agent's.
type watchSet struct {
	files    []string
	patterns []string
}

func (a *Agent) watchSet() watchSet {
	s := watchSet{files: []string{a.cfg.Path}}
	for _, g := range a.cfg.Rules.Files {
		if !filepath.IsAbs(g) {
			g = filepath.Join(a.cfg.Dir(), g)
		}
		s.patterns = append(s.patterns, g)
		m, _ := filepath.Glob(g)
		s.files = append(s.files, m...)
	}
	return s
}

// relevant reports whether a notification about path concerns the set.
func (s watchSet) relevant(path string) bool {
	path = filepath.Clean(path)
	for _, f := range s.files {
		if filepath.Clean(f) == path {
			return true
		}
	}
	for _, p := range s.patterns {
		if ok, _ := filepath.Match(filepath.Clean(p), path); ok {
			return true
		}
	}
	return false
}

// dirs are the directories to watch for the set's files to change or appear.
func (s watchSet) dirs() []string {
	var out []string
	for _, f := range s.files {
		out = append(out, filepath.Dir(f))
	}
	for _, p := range s.patterns {
		d := filepath.Dir(p)
		for strings.ContainsAny(d, "*?[") {
			d = filepath.Dir(d)
		}
		out = append(out, d)
	}
	return out
}

// fileStamp identifies a version of a set of files: names, sizes, mod times.
type fileStamp struct {
	path string
	size int64
	mod  time.Time
}

func stamp(files []string) []fileStamp {
	out := make([]fileStamp, 0, len(files))
	for _, f := range files {
		st := fileStamp{path: f}
		if fi, err := os.Stat(f); err == nil {
			st.size, st.mod = fi.Size(), fi.ModTime()
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b fileStamp) int {
		if a.path < b.path {
			return -1
		}
		if a.path > b.path {
			return 1
		}
		return 0
	})
	return out
}

// fileWatcher asks for a reload when the config or rule files change. A
// change is acted on once it has been stable for one check, so an editor's
// half-written save is not loaded. File notifications on the files'
// directories trigger the checks; a slow poll is the safety net, and the only
// trigger where notifications are unavailable.
type fileWatcher struct {
	set     func() watchSet
	log     *slog.Logger
	w       *fsnotify.Watcher // nil: polling only
	every   time.Duration
	watched map[string]bool // directories tried
	cur     watchSet
	last    []fileStamp
}

// newFileWatcher takes the files' current state as the baseline: changes from
// then on are reported by run.
func newFileWatcher(set func() watchSet, log *slog.Logger) *fileWatcher {
	fw := &fileWatcher{set: set, log: log, every: watchPoll, watched: map[string]bool{}}
	if w, err := fsnotify.NewWatcher(); err != nil {
		log.Debug("file notifications unavailable; polling config and rule files", "every", watchPoll, "err", err)
	} else {
		fw.w, fw.every = w, watchPollNotified
	}
	fw.cur = set()
	fw.watchDirs()
	fw.last = stamp(fw.cur.files)
	return fw
}

func (fw *fileWatcher) watchDirs() {
	if fw.w == nil {
		return
	}
	for _, d := range fw.cur.dirs() {
		if fw.watched[d] {
			continue
		}
		fw.watched[d] = true // tried once: polling covers a directory that cannot be watched
		if err := fw.w.Add(d); err != nil {
			fw.log.Debug("cannot watch directory for config changes; polling it", "dir", d, "err", err)
		}
	}
}

// run signals out (coalescing) for every settled change until ctx ends.
func (fw *fileWatcher) run(ctx context.Context, out chan<- struct{}) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if fw.w != nil {
		defer fw.w.Close()
		events, errs = fw.w.Events, fw.w.Errors
	}
	t := time.NewTicker(fw.every)
	defer t.Stop()
	settle := time.NewTimer(watchSettle)
	settle.Stop()
	defer settle.Stop()

	var pending []fileStamp
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
			} else if fw.cur.relevant(ev.Name) {
				settle.Reset(watchSettle)
			}
			continue
		case err, ok := <-errs:
			if !ok {
				errs = nil
			} else {
				fw.log.Debug("file notification error; polling continues", "err", err)
			}
			continue
		case <-t.C:
		case <-settle.C:
		}
		fw.cur = fw.set()
		fw.watchDirs()
		now := stamp(fw.cur.files)
		switch {
		case pending != nil && slices.Equal(now, pending):
			pending, fw.last = nil, now
			fw.log.Info("config or rule files changed", "files", len(now))
			signal(out)
		case !slices.Equal(now, fw.last):
			pending = now
			if fw.w != nil {
				settle.Reset(watchSettle) // confirm soon, not at the next poll
			}
		default:
			pending = nil
		}
	}
}

// forward passes reload requests from in (nil: none) to out until ctx ends.
func forward(ctx context.Context, in <-chan struct{}, out chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-in:
			if !ok {
				return
			}
			signal(out)
		}
	}
}

// signal sends on a coalescing channel without blocking.
func signal(out chan<- struct{}) {
	select {
	case out <- struct{}{}:
	default:
	}
}
