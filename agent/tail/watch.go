package tail

import (
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// watcher wakes followers and the discovery loop on file system events, so a
// new line is read within milliseconds rather than at the next poll. Polling
// stays as the safety net for what events miss (network shares, platforms
// without notifications), at longer intervals where notifications work (see
// NotifiedPollInterval, NotifiedReadInterval), so a watcher that cannot be
// created only costs latency and wake-ups. An overflowed event queue wakes
// every follower and the discovery loop at once.
//
// It uses fsnotify directly, on directories: never nxadm/tail's process-wide
// inotify tracker (see readNxadm).
type watcher struct {
	t      *Tailer
	w      *fsnotify.Watcher
	dirs   map[string]bool // watched now; guarded by t.mu
	failed map[string]bool // could not be watched, logged once; guarded by t.mu
	rescan chan struct{}
}

// newWatcher watches the fixed directory of every pattern, so files created
// there are found at once. It returns nil when notifications are unavailable.
func newWatcher(t *Tailer) *watcher {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		t.log.Debug("file notifications unavailable; polling only", "err", err)
		return nil
	}
	return &watcher{t: t, w: fw, dirs: map[string]bool{}, failed: map[string]bool{}, rescan: make(chan struct{}, 1)}
}

// add watches dir unless it is watched already, and reports whether it is.
// A directory that cannot be watched (it does not exist yet, the limit of
// watches is reached) is polled, and tried again at the next call.
func (w *watcher) add(dir string) bool {
	w.t.mu.Lock()
	defer w.t.mu.Unlock()
	if w.dirs[dir] {
		return true
	}
	if err := w.w.Add(dir); err != nil {
		if !w.failed[dir] {
			w.failed[dir] = true
			w.t.log.Debug("cannot watch directory; polling it", "dir", dir, "err", err)
		}
		return false
	}
	delete(w.failed, dir)
	w.dirs[dir] = true
	return true
}

// lost forgets a watched directory that was deleted or renamed: fsnotify
// drops its watch, and the next scan watches whatever is at the path then.
func (w *watcher) lost(dir string) {
	w.t.mu.Lock()
	defer w.t.mu.Unlock()
	delete(w.dirs, dir)
}

func (w *watcher) requestRescan() {
	select {
	case w.rescan <- struct{}{}:
	default:
	}
}

// run turns events into wake-ups until the tailer stops.
func (w *watcher) run() {
	defer w.t.wg.Done()
	defer w.w.Close()
	for {
		select {
		case <-w.t.ctx.Done():
			return
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			name := filepath.Clean(ev.Name)
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Remove) {
				if !ev.Has(fsnotify.Create) {
					w.lost(name) // when name is a watched directory
				}
				w.requestRescan()
			}
			w.t.poke(name)
		case err, ok := <-w.w.Errors:
			if !ok {
				return
			}
			// Events may have been lost (the queue overflowed): look at
			// everything now rather than at the next timed check.
			w.t.log.Debug("file notification error; checking all files", "err", err)
			w.requestRescan()
			w.t.pokeAll()
		}
	}
}

// fixedDir reports whether every file pattern matches is in one directory:
// the pattern has glob syntax in its last element only.
func fixedDir(pattern string) bool {
	clean := filepath.Clean(pattern)
	return !hasDoubleStar(splitPath(clean)) && patternDir(pattern) == filepath.Dir(clean)
}

// patternDir is the directory part of a glob pattern before any glob syntax.
func patternDir(pattern string) string {
	segs := splitPath(filepath.Clean(pattern))
	fixed := 0
	for fixed < len(segs)-1 && !hasMeta(segs[fixed]) && segs[fixed] != doubleStar {
		fixed++
	}
	if dir := joinPath(segs[:fixed]); dir != "" {
		return dir
	}
	return "."
}
