package replay

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Write prints the summary: a table with a row per rule, a totals line and
// the first errors, if any.
func (s *Summary) Write(w io.Writer) error {
	// Rule ids left-aligned, counts right-aligned under their headers.
	heads := []string{"matches", "fired", "resolved", "duplicates", "suppressed", "unmatched", "open"}
	rows := make([][]string, len(s.Rules))
	width := len("rule")
	widths := make([]int, len(heads))
	for i, h := range heads {
		widths[i] = len(h)
	}
	for i, r := range s.Rules {
		width = max(width, len(r.Rule))
		for j, n := range []int{r.Matches, r.Fired, r.Resolved, r.Duplicates, r.Suppressed, r.Unmatched, r.Open} {
			rows[i] = append(rows[i], strconv.Itoa(n))
			widths[j] = max(widths[j], len(rows[i][j]))
		}
	}
	var b strings.Builder
	line := func(first string, cells []string) {
		fmt.Fprintf(&b, "%-*s", width, first)
		for j, c := range cells {
			fmt.Fprintf(&b, "  %*s", widths[j], c)
		}
		b.WriteByte('\n')
	}
	line("rule", heads)
	for i, r := range s.Rules {
		line(r.Rule, rows[i])
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s, %s (%s), %s, %s, %s\n",
		plural(s.Files, "file"), plural64(s.Lines, "line"), byteSize(s.Bytes),
		plural(s.Events, "event"), plural(s.ParseErrors, "parse error"), plural(s.RuleErrors, "rule error"))
	if err != nil {
		return err
	}
	if len(s.Errors) > 0 {
		fmt.Fprintln(w, "first errors:")
		for _, e := range s.Errors {
			fmt.Fprintln(w, "  "+e)
		}
	}
	return nil
}

func plural(n int, what string) string { return plural64(int64(n), what) }

func plural64(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// byteSize formats n in binary units with one decimal.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Expand turns the command line's file arguments into paths. An argument
// with glob characters (Windows shells do not expand them) is replaced by
// the files it matches (not folders), sorted by name, so archived logs, whose names end
// in their UTC roll time, replay in the order they were written; it is an
// error for it to match nothing. Arguments keep their order; a file named
// twice is replayed once.
func Expand(args []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		key := filepath.Clean(p)
		if !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	for _, arg := range args {
		if !strings.ContainsAny(arg, "*?[") {
			add(arg)
			continue
		}
		matches, err := filepath.Glob(arg)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", arg, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("pattern %q matches no file", arg)
		}
		slices.Sort(matches)
		n := 0
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.IsDir() {
				continue // a pattern like *.log may name a folder of logs too
			}
			add(m)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("pattern %q matches no file, only folders", arg)
		}
	}
	return out, nil
}
