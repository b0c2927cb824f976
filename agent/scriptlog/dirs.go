package scriptlog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrNoAnswer is wrapped by the error of a look-up when a directory did not
// answer in time and no other directory had a log of the app.
var ErrNoAnswer = errors.New("did not answer in time")

// DirStatus is what a Finder knows of one directory.
type DirStatus struct {
	// Dir is the directory as configured.
	Dir string
	// OK is false while the directory cannot be listed or does not answer
	// within the Finder's Timeout. A directory not probed yet is OK.
	OK bool
	// Err says why the directory is not OK; "" when it is.
	Err string
	// Since is when OK last changed; zero before the
	// first probe.
	Since time.Time
}

// dirState is the Finder's record of a directory.
type dirState struct {
	st DirStatus
	// outstanding counts probes that have not returned.
	outstanding int
	// stuck is set when a probe did not answer in time, and cleared when the
	// last outstanding probe returns. While set no probe is started, so a
	// hung share holds at most the goroutines that were already waiting on
	// it when it hung (one per concurrent look-up), never more.
	stuck bool
}

// probe is one look-at-a-directory in flight.
type probe struct {
	dir  string
	done bool // returned; guarded by Finder.mu
}

// found is what a probe of one directory saw.
type found struct {
	dir    string
	index  int       // the directory's place in Directories, to break ties
	path   string    // the newest fitting log; "" for none
	stamp  time.Time // its name stamp
	lines  []string  // its tail, when read
	err    error     // reading it failed
	dirErr error     // listing the directory failed
}

// Directories returns Dir and Dirs, without empty and repeated entries, in
// that order.
func (f *Finder) Directories() []string {
	var out []string
	for _, d := range append([]string{f.Dir}, f.Dirs...) {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func (f *Finder) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return DefaultTimeout
}

// Status returns the status of each directory, in the order of Directories.
func (f *Finder) Status() []DirStatus {
	dirs := f.Directories()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]DirStatus, 0, len(dirs))
	for _, d := range dirs {
		if s, ok := f.dirs[d]; ok {
			out = append(out, s.st)
		} else {
			out = append(out, DirStatus{Dir: d, OK: true})
		}
	}
	return out
}

// Down returns the directories that are not OK, each as "dir: why", for a
// health report; nil when all are OK.
func (f *Finder) Down() []string {
	var out []string
	for _, s := range f.Status() {
		if !s.OK {
			out = append(out, s.Dir+": "+s.Err)
		}
	}
	return out
}

// Check lists every directory (within Timeout, as a look-up does) so that
// Status is current even when no alert needed a script log, and returns it.
func (f *Finder) Check() []DirStatus {
	f.probeAll(func(dir string, _ int) found {
		_, err := f.list(dir)
		return found{dir: dir, dirErr: err}
	})
	return f.Status()
}

// Watch runs Check now and then every interval until ctx is done.
func (f *Finder) Watch(ctx context.Context, interval time.Duration) {
	if len(f.Directories()) == 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		f.Check()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// acquire starts a probe of dir, or returns nil when dir is stuck.
func (f *Finder) acquire(dir string) *probe {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirs == nil {
		f.dirs = map[string]*dirState{}
	}
	s, ok := f.dirs[dir]
	if !ok {
		s = &dirState{st: DirStatus{Dir: dir, OK: true}}
		f.dirs[dir] = s
	}
	if s.stuck {
		return nil
	}
	s.outstanding++
	return &probe{dir: dir}
}

// release ends probe p with the directory's answer.
func (f *Finder) release(p *probe, dirErr error) {
	f.mu.Lock()
	s := f.dirs[p.dir]
	p.done = true
	s.outstanding--
	if s.stuck && s.outstanding > 0 {
		f.mu.Unlock()
		return
	}
	s.stuck = false
	why := ""
	if dirErr != nil {
		why = dirErr.Error()
	}
	notify := f.setLocked(s, dirErr == nil, why)
	f.mu.Unlock()
	notify()
}

// giveUp marks p's directory stuck when p has not returned.
func (f *Finder) giveUp(p *probe) {
	f.mu.Lock()
	if p.done {
		f.mu.Unlock()
		return
	}
	s := f.dirs[p.dir]
	s.stuck = true
	notify := f.setLocked(s, false, fmt.Sprintf("%v within %s", ErrNoAnswer, f.timeout()))
	f.mu.Unlock()
	notify()
}

// setLocked records a status and returns what tells OnStatus of a change.
func (f *Finder) setLocked(s *dirState, ok bool, why string) func() {
	changed := s.st.OK != ok || s.st.Since.IsZero()
	s.st.Err = why
	if !changed {
		return func() {}
	}
	s.st.OK = ok
	s.st.Since = time.Now()
	st := s.st
	if f.OnStatus == nil {
		return func() {}
	}
	return func() { f.OnStatus(st) }
}

// probeAll runs fn on every directory that is not stuck, each in its own
// goroutine, and returns what answered within Timeout. The others are
// skipped: their goroutines finish on their own and report then.
func (f *Finder) probeAll(fn func(dir string, index int) found) (answered []found, silent []string) {
	dirs := f.Directories()
	ch := make(chan found, len(dirs)) // buffered: a late probe never blocks
	pending := map[string]*probe{}
	for i, d := range dirs {
		p := f.acquire(d)
		if p == nil {
			silent = append(silent, d)
			continue
		}
		pending[d] = p
		go func() {
			r := fn(d, i)
			f.release(p, r.dirErr)
			ch <- r
		}()
	}
	if len(pending) == 0 {
		return nil, silent
	}
	timer := time.NewTimer(f.timeout())
	defer timer.Stop()
	for len(pending) > 0 {
		select {
		case r := <-ch:
			delete(pending, r.dir)
			answered = append(answered, r)
		case <-timer.C:
			for d, p := range pending {
				f.giveUp(p)
				silent = append(silent, d)
			}
			slices.Sort(silent)
			return answered, silent
		}
	}
	return answered, silent
}

// lookup finds the newest log of appID at or before at in all directories,
// reading its tail when read is set.
func (f *Finder) lookup(appID string, at time.Time, read bool) (found, error) {
	dirs := f.Directories()
	if len(dirs) == 0 {
		return found{}, errors.New("script logs: no directory configured")
	}
	where := strings.Join(dirs, ", ")
	if appID == "" {
		return found{}, fmt.Errorf("script logs in %s: %w: the app id is empty", where, ErrNotFound)
	}
	answered, silent := f.probeAll(func(dir string, index int) found {
		r := found{dir: dir, index: index}
		name, stamp, err := f.findIn(dir, appID, at)
		if err != nil {
			r.dirErr = err
			return r
		}
		if name == "" {
			return r
		}
		r.path, r.stamp = filepath.Join(dir, name), stamp
		if read {
			r.lines, r.err = f.readTail(r.path)
		}
		return r
	})

	// The newest log of the directories that answered; of equal stamps, the
	// one of the directory listed first.
	var best *found
	var dirErrs []error
	for i := range answered {
		r := &answered[i]
		if r.dirErr != nil {
			dirErrs = append(dirErrs, r.dirErr)
		}
		if r.path == "" {
			continue
		}
		if best == nil || r.stamp.After(best.stamp) || r.stamp.Equal(best.stamp) && r.index < best.index {
			best = r
		}
	}
	if best != nil {
		if best.err != nil {
			return found{}, best.err
		}
		return *best, nil
	}
	if len(silent) == 0 && len(dirErrs) == len(dirs) {
		return found{}, errors.Join(dirErrs...)
	}
	var because []error
	if len(silent) > 0 {
		because = append(because, fmt.Errorf("%s %w", strings.Join(silent, ", "), ErrNoAnswer))
	}
	because = append(because, dirErrs...)
	var err error
	if at.IsZero() {
		err = fmt.Errorf("script logs in %s: %w for app %s", where, ErrNotFound, appID)
	} else {
		err = fmt.Errorf("script logs in %s: %w for app %s at or before %s", where, ErrNotFound, appID,
			at.UTC().Format(time.RFC3339))
	}
	if len(because) > 0 {
		err = fmt.Errorf("%w (%w)", err, errors.Join(because...))
	}
	return found{}, err
}

// Find returns the path of the newest script log of appID whose UTC name
// stamp is at or before at, in any of the directories; a zero at means the
// newest of all. The app id is matched without regard to case, and names
// that do not fit the pattern are ignored. Of two logs with the same stamp,
// the one modified last (in one directory) or in the directory listed first
// wins. Directories that do not answer within Timeout are skipped.
//
// A missing directory (the only one) wraps fs.ErrNotExist; no fitting log
// wraps ErrNotFound.
func (f *Finder) Find(appID string, at time.Time) (string, error) {
	r, err := f.lookup(appID, at, false)
	return r.path, err
}
