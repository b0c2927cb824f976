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
		ps := PatternStatus{Pattern: pattern, Files: files}
		if files == 0 && len(bad) == 0 {
			ps.Deepest, ps.Problem = whyNoMatch(pattern)
		}
		out = append(out, withUnreadable(ps, bad))
	}
	return out
}

// withUnreadable completes the status of a pattern that matched unreadable
// files (bad) and no readable one: the folder of those files exists.
func withUnreadable(ps PatternStatus, bad []FileProblem) PatternStatus {
	if ps.Files > 0 || len(bad) == 0 {
		return ps
	}
	what := "1 file matches"
	if len(bad) > 1 {
		what = fmt.Sprintf("%d files match", len(bad))
	}
	ps.Deepest = patternDir(ps.Pattern)
	ps.Problem = fmt.Sprintf("%s %s but cannot be read: %s", what, ps.Pattern, bad[0].Err)
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

// setMatched records what the scan's glob matched per pattern, and why a
// pattern that matched nothing did (Deepest, Problem). Scan goroutine only.
func (t *Tailer) setMatched(matched [][]string) {
	none := make([]PatternStatus, len(matched))
	for i, paths := range matched {
		if len(paths) == 0 {
			none[i].Deepest, none[i].Problem = whyNoMatch(t.cfg.Paths[i])
		}
	}
	t.mu.Lock()
	t.matched, t.noMatch = matched, none
	t.mu.Unlock()
}

// statusLocked builds the current Status from the last scan's matches and
// the files unreadable now; called with t.mu held.
func (t *Tailer) statusLocked() Status {
	s := Status{Followed: len(t.followers)}
	for i, paths := range t.matched {
		ps := PatternStatus{Pattern: t.cfg.Paths[i]}
		var bad []FileProblem
		for _, p := range paths {
			if fp, ok := t.unreadable[p]; ok {
				bad = append(bad, fp)
			} else {
				ps.Files++
			}
		}
		if len(paths) == 0 {
			ps.Deepest, ps.Problem = t.noMatch[i].Deepest, t.noMatch[i].Problem
		}
		s.Patterns = append(s.Patterns, withUnreadable(ps, bad))
	}
	for _, fp := range t.unreadable {
		s.Unreadable = append(s.Unreadable, fp)
	}
	slices.SortFunc(s.Unreadable, func(a, b FileProblem) int { return strings.Compare(a.Path, b.Path) })
	return s
}

// logPatterns logs a pattern that starts or stops matching a readable
// file; called under statusMu.
func (t *Tailer) logPatterns(ps []PatternStatus) {
	for i, p := range ps {
		switch empty := p.Files == 0; {
		case empty && !t.patternEmpty[i]:
			t.log.Warn("no file matches pattern", "pattern", p.Pattern, "problem", p.Problem)
		case !empty && t.patternEmpty[i]:
			t.log.Info("pattern matches files again", "pattern", p.Pattern, "files", p.Files)
		}
		t.patternEmpty[i] = p.Files == 0
	}
}

// Status returns what the tailer found at its last scan, and the files it
// follows and cannot read now.
func (t *Tailer) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statusLocked()
}

// publish logs the patterns that start or stop matching, and hands the
// status to Config.OnStatus when it changed since the last call (or always,
// with force). Calls are serialised: the status is taken
// and delivered under statusMu, so the last one delivered is the latest.
// It must not be called with t.mu held.
func (t *Tailer) publish(force bool) {
	t.statusMu.Lock()
	defer t.statusMu.Unlock()
	if t.ctx.Err() != nil && !force {
		return
	}
	s := t.Status()
	t.logPatterns(s.Patterns)
	if t.cfg.OnStatus == nil {
		return
	}
	if !force && t.published && reflect.DeepEqual(s, t.lastStatus) {
		return
	}
	t.lastStatus, t.published = s, true
	t.cfg.OnStatus(s)
}
