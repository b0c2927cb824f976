// Package scriptlog finds the script log Qlik Sense wrote for an app's reload
// and reads why it failed from its last lines.
//
// The Qlik Sense engine writes each reload's script log to
// %ProgramData%\Qlik\Sense\Log\Script\<AppId>.<UTC yyyy_MM_dd_HH_mm_ss>.<hex>.log
// (UTF-8 with a BOM, CRLF line ends). Its last lines say how the reload ended:
// `Error: ...` for the failing statement, `Execution Failed`, and always
// `Execution finished.`. Herald reads the file the moment the scheduler logs
// the failure, so an alert can carry the error instead of a pointer to it.
//
// A Finder looks in several directories at once (the local one and the other
// nodes' over UNC paths) and takes the newest log of all. Reading is bounded
// and never waits long: only the last MaxBytes of a file are read, a missing
// directory or file is an error at once, nothing is retried, and a directory
// that does not answer within Timeout (a hung SMB share) is skipped for that
// look-up and reported by Status. Callers treat any error as "no context".
package scriptlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of the Finder's caps.
const (
	// DefaultMaxBytes is how much of the end of a script log is read.
	DefaultMaxBytes = 64 << 10
	// DefaultMaxLineBytes is how long a returned line may be. Qlik echoes
	// every script statement and allows 1 MiB per line.
	DefaultMaxLineBytes = 1024
	// DefaultTimeout bounds one look-up over all directories: an alert waits
	// at most this long for its script log context.
	DefaultTimeout = 2 * time.Second
)

// Limits on what Context gathers around each `Error:` line.
const (
	maxStatementLines = 5  // statement rows shown before an error
	maxErrors         = 10 // error blocks kept, the last ones
)

// ErrNotFound is returned (wrapped) when no script log of the app fits.
var ErrNotFound = errors.New("no script log found")

// Finder finds and reads reload script logs in one or more directories. The
// zero value of each field but Dir and Dirs means its default. A Finder is
// safe for concurrent use; set its fields before the first call. It keeps the
// state of each directory (see Status) and never more than one outstanding
// probe per directory.
type Finder struct {
	// Dir is a script log directory, normally
	// %ProgramData%\Qlik\Sense\Log\Script.
	Dir string
	// Dirs are more script log directories, such as the other nodes'
	// \\QS-RIM1\c$\ProgramData\Qlik\Sense\Log\Script. Dir and Dirs are
	// searched together (see Directories).
	Dirs []string
	// Timeout bounds a look-up over all directories; default DefaultTimeout.
	// A directory that has not answered by then is skipped for this look-up,
	// and later look-ups skip it until its probe returns.
	Timeout time.Duration
	// OnStatus, when set, is called (from any goroutine, never with a lock
	// held) each time a directory's status changes between up and down.
	OnStatus func(DirStatus)
	// MaxBytes caps how many bytes are read from the end of a log; default
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxLineBytes caps each returned line, which is cut at a UTF-8 boundary
	// and ends in "…" when cut; default DefaultMaxLineBytes.
	MaxLineBytes int
	// Now is the clock of callers that look for the log of "now" rather than
	// of a given time (Find and Context themselves take zero as "newest");
	// default time.Now.
	Now func() time.Time

	// listDir replaces listNames in tests: a listing that blocks stands in
	// for a hung share.
	listDir func(dir string) ([]string, error)

	mu   sync.Mutex
	dirs map[string]*dirState
}

// Clock returns f.Now, or time.Now when it is nil.
func (f *Finder) Clock() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// stampLayout is the UTC time in a script log's name.
const stampLayout = "2006_01_02_15_04_05"

// parseName splits a script log's file name into app id and UTC stamp. ok is
// false for a name that does not fit <AppId>.<stamp>.<hex>.log.
func parseName(name string) (appID string, stamp time.Time, ok bool) {
	const ext = ".log"
	if len(name) <= len(ext) || !strings.EqualFold(name[len(name)-len(ext):], ext) {
		return "", time.Time{}, false
	}
	rest := name[:len(name)-len(ext)]
	i := strings.LastIndexByte(rest, '.')
	if i < 0 || !isHex(rest[i+1:]) {
		return "", time.Time{}, false
	}
	rest = rest[:i]
	j := strings.LastIndexByte(rest, '.')
	if j <= 0 {
		return "", time.Time{}, false
	}
	t, err := time.ParseInLocation(stampLayout, rest[j+1:], time.UTC)
	if err != nil {
		return "", time.Time{}, false
	}
	return rest[:j], t, true
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// findIn returns the name of the newest script log of appID in dir whose UTC
// name stamp is at or before at (zero: the newest of all), and its stamp. The
// app id is matched without regard to case, and names that do not fit the
// pattern are ignored. Of two logs with the same stamp, the one modified last
// wins. best is "" when no log fits; err is about the directory.
func (f *Finder) findIn(dir, appID string, at time.Time) (best string, bestStamp time.Time, err error) {
	names, err := f.list(dir)
	for _, name := range names {
		id, stamp, ok := parseName(name)
		if !ok || !strings.EqualFold(id, appID) || (!at.IsZero() && stamp.After(at)) {
			continue
		}
		switch {
		case best == "" || stamp.After(bestStamp):
		case stamp.Equal(bestStamp) && newer(dir, name, best):
		default:
			continue
		}
		best, bestStamp = name, stamp
	}
	return best, bestStamp, err
}

// list returns the names in dir: through the listDir seam in tests.
func (f *Finder) list(dir string) ([]string, error) {
	if f.listDir != nil {
		return f.listDir(dir)
	}
	return listNames(dir)
}

// listNames lists the names in dir, in batches: a busy node's directory can
// hold many thousands of logs, and a name is all that is needed to choose.
func listNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("script logs: %w", err)
	}
	defer d.Close()
	var all []string
	for {
		names, err := d.Readdirnames(1024)
		all = append(all, names...)
		if errors.Is(err, io.EOF) {
			return all, nil
		}
		if err != nil {
			return nil, fmt.Errorf("script logs: list %s: %w", dir, err)
		}
	}
}

// newer reports whether log a was modified after log b (by name then, when
// the times are equal or unknown, so that the choice is stable).
func newer(dir, a, b string) bool {
	ia, errA := os.Stat(filepath.Join(dir, a))
	ib, errB := os.Stat(filepath.Join(dir, b))
	if errA == nil && errB == nil && !ia.ModTime().Equal(ib.ModTime()) {
		return ia.ModTime().After(ib.ModTime())
	}
	return a > b
}

// Context is what the end of a script log says.
type Context struct {
	// Path is the script log read.
	Path string
	// Tail is the last lines of the log as written (timestamps kept), without
	// the BOM and line ends, each cut to MaxLineBytes.
	Tail []string
	// Errors holds, for each `Error:` row in the part read, the statement rows
	// echoed just before it (at most a few) and the error row itself, in file
	// order and without their timestamps: for example
	// "0012 ThisFailsForSure", "Error: Unknown statement: ThisFailsForSure".
	// Only the last few errors are kept.
	Errors []string
}

// Context finds the script log of appID at or before at (see Find) and
// returns its last n lines (all lines read when n < 0) and its errors.
func (f *Finder) Context(appID string, at time.Time, n int) (Context, error) {
	r, err := f.lookup(appID, at, true)
	if err != nil {
		return Context{}, err
	}
	c := Context{Path: r.path, Errors: f.errorLines(r.lines)}
	if n < 0 || n > len(r.lines) {
		n = len(r.lines)
	}
	for _, l := range r.lines[len(r.lines)-n:] {
		c.Tail = append(c.Tail, f.cut(l))
	}
	return c, nil
}

// readTail reads the last MaxBytes of the file and splits them into lines:
// BOM and CR removed, a partial first line dropped, invalid UTF-8 replaced.
func (f *Finder) readTail(path string) ([]string, error) {
	limit := f.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	file, err := openShared(path)
	if err != nil {
		return nil, fmt.Errorf("script log: %w", err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("script log: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("script log %s: not a regular file", path)
	}
	off := max(0, fi.Size()-limit)
	buf := make([]byte, fi.Size()-off)
	// The file may shrink or grow while it is read; what was read is used.
	nr, err := file.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("script log %s: read: %w", path, err)
	}
	text := string(buf[:nr])
	if off == 0 {
		text = strings.TrimPrefix(text, "\uFEFF")
	} else if i := strings.IndexByte(text, '\n'); i >= 0 && i < len(text)-1 {
		text = text[i+1:] // the first line started before the part read
	} else {
		text = "…" + text // one line longer than the part read: keep its end
	}
	text = strings.TrimRight(text, "\r\n")
	if text == "" {
		return nil, nil
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if !utf8.ValidString(l) {
			l = strings.ToValidUTF8(l, "\uFFFD")
		}
		lines[i] = l
	}
	return lines, nil
}

// cut shortens a line to MaxLineBytes at a UTF-8 boundary, ending in "…".
func (f *Finder) cut(s string) string {
	n := f.MaxLineBytes
	if n <= 0 {
		n = DefaultMaxLineBytes
	}
	if len(s) <= n {
		return s
	}
	const ell = "…"
	end := max(0, n-len(ell))
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + ell
}

// errorLines returns each error row with the statement rows just before it,
// timestamps removed.
func (f *Finder) errorLines(lines []string) []string {
	var blocks [][]string
	prevErr := -1
	for i, l := range lines {
		r := parseRow(l)
		if !strings.HasPrefix(r.text, "Error:") {
			continue
		}
		// Qlik echoes each statement before running it, so the statement
		// rows nearest before the error (engine messages such as "12 lines
		// fetched" may come between) are those of the failing statement.
		j := i - 1
		for j > prevErr && parseRow(lines[j]).stmt == "" {
			j--
		}
		start := j + 1
		for n := 0; j > prevErr && n < maxStatementLines && parseRow(lines[j]).stmt != ""; n++ {
			start = j
			j--
		}
		var b []string
		for k := start; k < i; k++ {
			if pr := parseRow(lines[k]); pr.stmt != "" {
				b = append(b, f.cut(pr.stmt+" "+pr.text))
			}
		}
		blocks = append(blocks, append(b, f.cut(r.text)))
		prevErr = i
	}
	if len(blocks) > maxErrors {
		blocks = blocks[len(blocks)-maxErrors:]
	}
	var out []string
	for _, b := range blocks {
		out = append(out, b...)
	}
	return out
}

// row is a script log line taken apart.
type row struct {
	stmt string // the script line number of a statement row, "" for engine messages
	text string // the statement or message, trimmed
}

// parseRow splits a line into its optional timestamp, its optional script
// line number and its text. A row is `<ts> NNNN <statement>` or
// `<ts>      <engine message>`, with ts `YYYYMMDDThhmmss[.fff][±hhmm]`
// (newer logs) or `YYYY-MM-DD hh:mm:ss` (older ones); a line without a
// timestamp is taken as it is.
func parseRow(line string) row {
	s := strings.TrimLeft(line, " \t")
	n := timestampLen(s)
	rest := s[n:]
	// A statement row: one space, then a script line number (zero-padded to
	// four digits), then a space or the end. Engine messages are indented
	// further, so a count such as "12 lines fetched" is not taken for one.
	if n > 0 && strings.HasPrefix(rest, " ") || n == 0 {
		r := strings.TrimPrefix(rest, " ")
		if n == 0 || !strings.HasPrefix(r, " ") {
			d := 0
			for d < len(r) && '0' <= r[d] && r[d] <= '9' {
				d++
			}
			if d >= 4 && (d == len(r) || r[d] == ' ' || r[d] == '\t') {
				return row{stmt: r[:d], text: strings.TrimSpace(r[d:])}
			}
		}
	}
	return row{text: strings.TrimSpace(rest)}
}

// timestampLen returns the length of the timestamp s starts with, 0 if none.
func timestampLen(s string) int {
	digits := func(from, n int) bool {
		if from+n > len(s) {
			return false
		}
		for i := from; i < from+n; i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	// Older form: 2016-11-15 02:12:03
	if digits(0, 4) && len(s) >= 19 && s[4] == '-' && digits(5, 2) && s[7] == '-' && digits(8, 2) &&
		s[10] == ' ' && digits(11, 2) && s[13] == ':' && digits(14, 2) && s[16] == ':' && digits(17, 2) {
		return 19
	}
	// Newer form: 20210216T092458[.801][+0100|Z]
	if !(digits(0, 8) && len(s) > 8 && s[8] == 'T' && digits(9, 6)) {
		return 0
	}
	n := 15
	if n < len(s) && s[n] == '.' {
		m := n + 1
		for m < len(s) && '0' <= s[m] && s[m] <= '9' {
			m++
		}
		if m > n+1 {
			n = m
		}
	}
	switch {
	case n < len(s) && (s[n] == '+' || s[n] == '-') && digits(n+1, 4):
		n += 5
	case n < len(s) && s[n] == 'Z':
		n++
	}
	return n
}
