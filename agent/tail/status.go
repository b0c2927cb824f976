package tail

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Status is what the tailer found at its last scan, for health checks.
type Status struct {
	// Patterns has one entry per Config.Paths pattern, in config order.
	Patterns []PatternStatus
	// Unreadable lists files that match but cannot be opened or read
	// (permission denied, sharing violation, read error), sorted by path.
	Unreadable []FileProblem
	// Followed is the number of files being followed.
	Followed int
}

// PatternStatus is what one Config.Paths pattern matched.
type PatternStatus struct {
	Pattern string
	// Files is how many files the pattern matched that are followed (readable).
	Files int
	// Deepest is, when Files is 0, the deepest directory on the pattern's
	// fixed prefix that exists ("" if none does), and Problem says why
	// nothing matched, in words naming the pattern and that directory.
	Deepest string
	Problem string
}

// FileProblem is a matching file that cannot be opened or read.
type FileProblem struct {
	Path  string
	Err   string    // the error, e.g. "open ...: permission denied"
	Since time.Time // when it was first seen failing
}

// CheckPatterns looks once at what each pattern matches, as a tailer's scan
// would, without following anything: for `herald check`. A matching file
// counts in Files when it can be opened for reading.
func CheckPatterns(paths, exclude []string) []PatternStatus {
	out := make([]PatternStatus, 0, len(paths))
	for _, pattern := range paths {
		if err := validPattern(pattern); err != nil {
			out = append(out, PatternStatus{Pattern: pattern, Problem: fmt.Sprintf("pattern %s: %v", pattern, err)})
			continue
		}
		matched, err := expand(pattern)
		if err != nil {
			out = append(out, PatternStatus{Pattern: pattern, Problem: fmt.Sprintf("pattern %s: %v", pattern, err)})
			continue
		}
		files := 0
		var bad []FileProblem
		for _, p := range matched {
			if excluded(exclude, p) {
				continue
			}
			fi, err := os.Stat(p)
			if err == nil && !fi.Mode().IsRegular() {
				continue
			}
			if err == nil {
				var h *os.File
				if h, err = openFile(p); err == nil {
					h.Close()
					files++
					continue
				}
			}
			if !isNotExist(err) {
				bad = append(bad, FileProblem{Path: p, Err: err.Error()})
			}
		}
		out = append(out, patternStatus(pattern, files, bad))
	}
	return out
}

// patternStatus describes a pattern that matched files readable files and
// the unreadable ones in bad; when files is 0 it says why.
func patternStatus(pattern string, files int, bad []FileProblem) PatternStatus {
	ps := PatternStatus{Pattern: pattern, Files: files}
	if files > 0 {
		return ps
	}
	ps.Deepest, ps.Problem = whyNoMatch(pattern)
	if len(bad) > 0 {
		what := "1 file matches"
		if len(bad) > 1 {
			what = fmt.Sprintf("%d files match", len(bad))
		}
		ps.Problem = fmt.Sprintf("%s %s but cannot be read: %s", what, pattern, bad[0].Err)
	}
	return ps
}

// whyNoMatch walks up the fixed directory prefix of pattern (the part before
// any glob syntax) to the deepest directory that exists, and says in words
// why the pattern matches nothing.
func whyNoMatch(pattern string) (deepest, problem string) {
	prefix := patternDir(pattern)
	dir := prefix
	var below error // why the directory just below dir on the prefix could not be seen
	belowPath := ""
	for {
		fi, err := os.Stat(dir)
		if err == nil && fi.IsDir() {
			break
		}
		if err == nil {
			err = errors.New("not a folder")
		}
		below, belowPath = err, dir
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Sprintf("no file matches %s; none of its folders exists (%s)", pattern, shortErr(err))
		}
		dir = parent
	}
	if _, err := os.ReadDir(dir); err != nil {
		return dir, fmt.Sprintf("no file matches %s; cannot list %s: %s", pattern, dir, shortErr(err))
	}
	if below != nil && !isNotExist(below) {
		return dir, fmt.Sprintf("no file matches %s; cannot open %s: %s", pattern, belowPath, shortErr(below))
	}
	if dir == prefix {
		return dir, fmt.Sprintf("no file matches %s; the folder %s exists but holds no matching file", pattern, dir)
	}
	return dir, fmt.Sprintf("no file matches %s; the deepest folder that exists is %s", pattern, dir)
}

// shortErr is err without the path a *fs.PathError repeats.
func shortErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// markUnreadable records that the file at path cannot be opened or read. It
// reports whether that is news, for the caller to log.
func (t *Tailer) markUnreadable(path string, err error) bool {
	t.mu.Lock()
	_, known := t.unreadable[path]
	if !known {
		t.unreadable[path] = FileProblem{Path: path, Err: err.Error(), Since: time.Now()}
	}
	t.mu.Unlock()
	return !known
}

// markReadable ends what markUnreadable started: the file was read, or it no
// longer matches (why says which). It reports whether the path was unreadable.
func (t *Tailer) markReadable(path, why string) bool {
	t.mu.Lock()
	_, known := t.unreadable[path]
	delete(t.unreadable, path)
	t.mu.Unlock()
	if known {
		t.log.Info(why, "path", path)
	}
	return known
}

// isUnreadable reports whether path is marked unreadable.
func (t *Tailer) isUnreadable(path string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.unreadable[path]
	return ok
}

// patternStatuses computes the patterns' status from what the last glob
// matched, and logs a pattern that starts or stops matching nothing. Scan
// goroutine only.
func (t *Tailer) patternStatuses(matched [][]string) []PatternStatus {
	t.mu.Lock()
	var files []int
	var bad [][]FileProblem
	for _, paths := range matched {
		n := 0
		var b []FileProblem
		for _, p := range paths {
			if fp, ok := t.unreadable[p]; ok {
				b = append(b, fp)
			} else {
				n++
			}
		}
		files, bad = append(files, n), append(bad, b)
	}
	t.mu.Unlock()

	out := make([]PatternStatus, len(matched))
	for i, pattern := range t.cfg.Paths {
		out[i] = patternStatus(pattern, files[i], bad[i])
		switch empty := out[i].Files == 0; {
		case empty && !t.patternEmpty[i]:
			t.log.Warn("no file matches pattern", "pattern", pattern, "problem", out[i].Problem)
		case !empty && t.patternEmpty[i]:
			t.log.Info("pattern matches files again", "pattern", pattern, "files", out[i].Files)
		}
		t.patternEmpty[i] = out[i].Files == 0
	}
	return out
}

// status builds the current Status; called with t.mu held.
func (t *Tailer) statusLocked() Status {
	s := Status{
		Patterns: slices.Clone(t.patterns),
		Followed: len(t.followers),
	}
	for _, fp := range t.unreadable {
		s.Unreadable = append(s.Unreadable, fp)
	}
	slices.SortFunc(s.Unreadable, func(a, b FileProblem) int { return strings.Compare(a.Path, b.Path) })
	return s
}

// Status returns what the tailer found at its last scan, and the files it
// follows and cannot read now.
func (t *Tailer) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statusLocked()
}

// publish hands the status to Config.OnStatus when it changed since the last
// call (or always, with force). Calls are serialised: the status is taken
// and delivered under statusMu, so the last one delivered is the latest.
// It must not be called with t.mu held.
func (t *Tailer) publish(force bool) {
	if t.cfg.OnStatus == nil {
		return
	}
	t.statusMu.Lock()
	defer t.statusMu.Unlock()
	if t.ctx.Err() != nil && !force {
		return
	}
	s := t.Status()
	if !force && t.published && reflect.DeepEqual(s, t.lastStatus) {
		return
	}
	t.lastStatus, t.published = s, true
	t.cfg.OnStatus(s)
}
