package tail

import (
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// watcher wakes followers and the discovery loop on file system events, so a
// new line is read within milliseconds rather than at the next poll. Polling
// stays as the safety net for what events miss (network shares, overflowed
// event queues, platforms without notifications), so a watcher that cannot be
// created only costs latency.
//
// It uses fsnotify directly, on directories: never nxadm/tail's process-wide
// inotify tracker (see readNxadm).
type watcher struct {
	t      *Tailer
	w      *fsnotify.Watcher
	dirs   map[string]bool // watched so far; guarded by t.mu
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
	w := &watcher{t: t, w: fw, dirs: map[string]bool{}, rescan: make(chan struct{}, 1)}
	for _, p := range t.cfg.Paths {
		w.add(patternDir(p))
	}
	return w
}

// add watches dir (once). Errors are ignored: polling covers that directory.
func (w *watcher) add(dir string) {
	w.t.mu.Lock()
	defer w.t.mu.Unlock()
	if w.dirs[dir] {
		return
	}
	w.dirs[dir] = true
	if err := w.w.Add(dir); err != nil {
		w.t.log.Debug("cannot watch directory; polling it", "dir", dir, "err", err)
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
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Remove) {
				select {
				case w.rescan <- struct{}{}:
				default:
				}
			}
			w.t.poke(filepath.Clean(ev.Name))
		case err, ok := <-w.w.Errors:
			if !ok {
				return
			}
			w.t.log.Debug("file notification error; polling continues", "err", err)
		}
	}
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
