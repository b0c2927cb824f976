package tail

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// doubleStar is the pattern segment that matches any number of directories.
const doubleStar = "**"

// validPattern reports a malformed pattern.
func validPattern(pattern string) error {
	for _, seg := range splitPath(pattern) {
		if seg == doubleStar {
			continue
		}
		if _, err := filepath.Match(seg, ""); err != nil {
			return err
		}
	}
	return nil
}

// expand returns the paths that match pattern. Without "**" it is
// filepath.Glob; with it, the tree below the pattern's fixed leading
// directories is walked (on every scan: keep that prefix narrow).
func expand(pattern string) ([]string, error) {
	pattern = filepath.Clean(pattern)
	segs := splitPath(pattern)
	if !hasDoubleStar(segs) {
		return filepath.Glob(pattern)
	}
	// The fixed prefix: segments without glob syntax.
	fixed := 0
	for fixed < len(segs)-1 && !hasMeta(segs[fixed]) {
		fixed++
	}
	root := joinPath(segs[:fixed])
	if root == "" {
		root = "."
	}
	rest := segs[fixed:]
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable directory or vanished entry: skip it
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return nil
		}
		name := strings.Split(rel, string(filepath.Separator))
		if d.IsDir() {
			if !matchSegs(rest, name, true) {
				return filepath.SkipDir
			}
			return nil
		}
		if matchSegs(rest, name, false) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// excluded reports whether path matches one of the exclude patterns. A
// pattern without a separator is matched against the base name.
func excluded(patterns []string, path string) bool {
	for _, p := range patterns {
		if matchPath(p, path) {
			return true
		}
	}
	return false
}

// matchPath matches a whole path against pattern, "**" included.
func matchPath(pattern, path string) bool {
	if !strings.ContainsAny(pattern, `/`+string(filepath.Separator)) {
		ok, _ := filepath.Match(pattern, filepath.Base(path))
		return ok
	}
	return matchSegs(splitPath(filepath.Clean(pattern)), splitPath(filepath.Clean(path)), false)
}

// matchSegs matches path segments against pattern segments. With prefix set
// it reports whether name could be a directory on the way to a match.
func matchSegs(pat, name []string, prefix bool) bool {
	for len(pat) > 0 {
		if pat[0] == doubleStar {
			for k := 0; k <= len(name); k++ {
				if matchSegs(pat[1:], name[k:], prefix) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return prefix
		}
		if ok, err := filepath.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// splitPath splits a path into its volume name (if any) and its segments;
// an absolute path's first segment after the volume is "".
func splitPath(p string) []string {
	vol := filepath.VolumeName(p)
	segs := strings.Split(filepath.ToSlash(p[len(vol):]), "/")
	if vol != "" {
		segs = append([]string{vol}, segs...)
	}
	return segs
}

// joinPath is the inverse of splitPath.
func joinPath(segs []string) string {
	if len(segs) == 0 {
		return ""
	}
	if filepath.VolumeName(segs[0]) == segs[0] && segs[0] != "" {
		return segs[0] + filepath.FromSlash(strings.Join(segs[1:], "/"))
	}
	if len(segs) == 1 && segs[0] == "" {
		return string(filepath.Separator)
	}
	return filepath.FromSlash(strings.Join(segs, "/"))
}

func hasDoubleStar(segs []string) bool {
	for _, s := range segs {
		if s == doubleStar {
			return true
		}
	}
	return false
}

// hasMeta reports whether a segment has glob syntax.
func hasMeta(s string) bool {
	magic := `*?[`
	if filepath.Separator != '\\' {
		magic = `*?[\`
	}
	return strings.ContainsAny(s, magic)
}
