package scriptlog

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	appA = "5afb19a5-54df-4987-8a3b-ca4ed5811683"
	appB = "e7af59a0-c243-480d-9571-08727551a66f"
)

// write writes a file under dir and returns its path.
func write(t testing.TB, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// logName is the name Qlik gives a script log of app started at the UTC time.
func logName(app string, utc time.Time) string {
	return app + "." + utc.UTC().Format("2006_01_02_15_04_05") + ".11BD4F0BF21DFEFEC220.log"
}

// crlf turns lines into a Qlik script log: BOM, CRLF after every line.
func crlf(lines ...string) string {
	return "\uFEFF" + strings.Join(lines, "\r\n") + "\r\n"
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	day := time.Date(2021, 2, 16, 0, 0, 0, 0, time.UTC)
	at := func(h, m, s int) time.Time {
		return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	for _, name := range []string{
		logName(appA, at(10, 0, 0)),
		logName(appA, at(11, 0, 0)),
		logName(strings.ToUpper(appA), at(12, 0, 0)), // app id in another case
		logName(appB, at(11, 30, 0)),                 // another app, between A's logs
		appA + ".2021_02_16_11_45_00.NOTHEX.log",     // does not fit the pattern
		appA + ".2021-02-16 11:50:00.ABCDEF.log",     // nor does this
		appA + ".2021_02_16_11_55_00.ABCDEF.txt",     // nor this
		"README.txt",
	} {
		write(t, dir, name, "x\r\n")
	}
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		app  string
		at   time.Time
		want string // file name; "" for ErrNotFound
	}{
		{"between two logs: the earlier", appA, at(11, 30, 0), logName(appA, at(11, 0, 0))},
		{"exactly at a stamp: that log", appA, at(11, 0, 0), logName(appA, at(11, 0, 0))},
		{"a second before a stamp: the one before", appA, at(10, 59, 59), logName(appA, at(10, 0, 0))},
		{"a time in another zone is compared as an instant", appA, time.Date(2021, 2, 16, 11, 59, 59, 0, cet), logName(appA, at(10, 0, 0))},
		{"after all: the newest, whatever the case of its name", appA, at(23, 0, 0), logName(strings.ToUpper(appA), at(12, 0, 0))},
		{"zero time: the newest", appA, time.Time{}, logName(strings.ToUpper(appA), at(12, 0, 0))},
		{"app id in upper case", strings.ToUpper(appB), time.Time{}, logName(appB, at(11, 30, 0))},
		{"before the first log", appA, at(9, 0, 0), ""},
		{"an app without logs", "00000000-0000-0000-0000-000000000000", time.Time{}, ""},
		{"no app id", "", time.Time{}, ""},
	}
	f := &Finder{Dir: dir}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.Find(tt.app, tt.at)
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Find = %q, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tt.want); got != want {
				t.Errorf("Find = %s, want %s", filepath.Base(got), tt.want)
			}
		})
	}
}

func TestFindSameStampNewestWrite(t *testing.T) {
	dir := t.TempDir()
	stamp := time.Date(2021, 2, 16, 8, 24, 58, 0, time.UTC)
	older := write(t, dir, appA+".2021_02_16_08_24_58.FFFF.log", "old\r\n")
	newer := write(t, dir, appA+".2021_02_16_08_24_58.0000.log", "new\r\n")
	if err := os.Chtimes(older, stamp, stamp); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(newer, stamp.Add(time.Second), stamp.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := (&Finder{Dir: dir}).Find(appA, time.Time{})
	if err != nil || got != newer {
		t.Errorf("Find = %s, %v; want the log written last, %s", got, err, newer)
	}
}

func TestContext(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		n          int
		wantTail   []string
		wantErrors []string
	}{
		{
			name: "newer timestamps, BOM and CRLF",
			text: crlf(
				"20210216T092458.790+0100      Process ID                    4940",
				"20210216T092458.801+0100 0012 ThisFailsForSure",
				"20210216T092458.802+0100      Error: Unknown statement: ThisFailsForSure",
				"20210216T092458.803+0100      Execution Failed",
				"20210216T092458.810+0100      Execution finished."),
			n: 3,
			wantTail: []string{
				"20210216T092458.802+0100      Error: Unknown statement: ThisFailsForSure",
				"20210216T092458.803+0100      Execution Failed",
				"20210216T092458.810+0100      Execution finished.",
			},
			wantErrors: []string{"0012 ThisFailsForSure", "Error: Unknown statement: ThisFailsForSure"},
		},
		{
			name: "older timestamps, a multi-row statement and engine messages before the error",
			text: crlf(
				"2016-11-15 02:12:04 0040 SET a=1",
				"2016-11-15 02:12:04      \t2 fields found: Command, CommandType, ",
				"2016-11-15 02:12:04 0074 CommandList:",
				"2016-11-15 02:12:04 0075   LOAD Command",
				"2016-11-15 02:12:04 0076   FROM [lib://Data/missing.qvd] (qvd)",
				"2016-11-15 02:12:04      Connecting to Data",
				"2016-11-15 02:12:05      Error: Cannot open file: 'lib://Data/missing.qvd'",
				"2016-11-15 02:12:05      Execution Failed",
				"2016-11-15 02:12:05      Execution finished."),
			n:        1,
			wantTail: []string{"2016-11-15 02:12:05      Execution finished."},
			wantErrors: []string{
				"0074 CommandList:", "0075 LOAD Command", "0076 FROM [lib://Data/missing.qvd] (qvd)",
				"Error: Cannot open file: 'lib://Data/missing.qvd'",
			},
		},
		{
			name: "no timestamps, LF only, no BOM",
			text: "0012 ThisFailsForSure\nError: Unknown statement: ThisFailsForSure\nExecution Failed\nExecution finished.\n",
			n:    -1,
			wantTail: []string{
				"0012 ThisFailsForSure", "Error: Unknown statement: ThisFailsForSure", "Execution Failed", "Execution finished.",
			},
			wantErrors: []string{"0012 ThisFailsForSure", "Error: Unknown statement: ThisFailsForSure"},
		},
		{
			name: "stray indentation, two errors, at most five statement rows each",
			text: crlf(
				"  20210216T092458.801+0100 0001 a", "  20210216T092458.801+0100 0002 b",
				"  20210216T092458.801+0100 0003 c", "  20210216T092458.801+0100 0004 d",
				"  20210216T092458.801+0100 0005 e", "  20210216T092458.801+0100 0006 f",
				"  20210216T092458.802+0100      Error: first",
				"  20210216T092458.802+0100      Error: second",
				"  20210216T092458.803+0100      Execution Failed"),
			n:          1,
			wantTail:   []string{"  20210216T092458.803+0100      Execution Failed"},
			wantErrors: []string{"0002 b", "0003 c", "0004 d", "0005 e", "0006 f", "Error: first", "Error: second"},
		},
		{
			name:     "success: no errors; a count after a timestamp is no statement",
			text:     crlf("20210216T092458.801+0100      12 lines fetched", "20210216T092458.810+0100      Execution finished."),
			n:        10,
			wantTail: []string{"20210216T092458.801+0100      12 lines fetched", "20210216T092458.810+0100      Execution finished."},
		},
		{
			name:       "n 0: errors only",
			text:       crlf("20210216T092458.802+0100      Error: x"),
			n:          0,
			wantErrors: []string{"Error: x"},
		},
		{
			name: "empty file",
			text: "\uFEFF",
			n:    5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := write(t, dir, logName(appA, time.Date(2021, 2, 16, 8, 24, 58, 0, time.UTC)), tt.text)
			c, err := (&Finder{Dir: dir}).Context(appA, time.Time{}, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if c.Path != path {
				t.Errorf("Path = %s, want %s", c.Path, path)
			}
			if !slices.Equal(c.Tail, tt.wantTail) {
				t.Errorf("Tail =\n%q\nwant\n%q", c.Tail, tt.wantTail)
			}
			if !slices.Equal(c.Errors, tt.wantErrors) {
				t.Errorf("Errors =\n%q\nwant\n%q", c.Errors, tt.wantErrors)
			}
		})
	}
}

// TestContextReadsOnlyTheEnd checks that a big log costs MaxBytes, that the
// line cut by the read's start is dropped, and that long lines are cut.
func TestContextReadsOnlyTheEnd(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("\uFEFF")
	for b.Len() < 1<<20 {
		b.WriteString("20210216T092458.790+0100      filler row that says nothing at all\r\n")
	}
	long := strings.Repeat("é", 3000) // 6000 bytes, two per rune
	b.WriteString("20210216T092458.801+0100 0012 LOAD " + long + "\r\n")
	b.WriteString("20210216T092458.802+0100      Error: Field 'x' not found\r\n")
	b.WriteString("20210216T092458.803+0100      Execution Failed\r\n")
	b.WriteString("20210216T092458.810+0100      Execution finished.\r\n")
	write(t, dir, logName(appA, time.Date(2021, 2, 16, 8, 24, 58, 0, time.UTC)), b.String())

	f := &Finder{Dir: dir, MaxBytes: 8 << 10, MaxLineBytes: 101}
	c, err := f.Context(appA, time.Time{}, -1)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, l := range c.Tail {
		total += len(l)
		if !strings.HasPrefix(l, "20210216T0924") {
			t.Errorf("line %q is not a whole line", l)
		}
		if len(l) > 101 {
			t.Errorf("line of %d bytes, cap 101", len(l))
		}
	}
	if total > 8<<10 || len(c.Tail) < 20 {
		t.Errorf("%d lines, %d bytes read; want the lines of the last 8 KiB", len(c.Tail), total)
	}
	if last := c.Tail[len(c.Tail)-1]; last != "20210216T092458.810+0100      Execution finished." {
		t.Errorf("last line %q", last)
	}
	wantStmt := "0012 LOAD " + strings.Repeat("é", 44) + "…" // 10 + 88 + 3 bytes
	if want := []string{wantStmt, "Error: Field 'x' not found"}; !slices.Equal(c.Errors, want) {
		t.Errorf("Errors = %q, want %q", c.Errors, want)
	}

	// A last line longer than the part read: its end is kept.
	write(t, dir, logName(appB, time.Date(2021, 2, 16, 8, 24, 58, 0, time.UTC)),
		"x\r\n"+strings.Repeat("y", 20<<10)+"\r\n")
	c, err = (&Finder{Dir: dir, MaxBytes: 4 << 10, MaxLineBytes: 10}).Context(appB, time.Time{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"…yyyy…"}; !slices.Equal(c.Tail, want) {
		t.Errorf("Tail = %q, want %q", c.Tail, want)
	}
}

func TestContextErrors(t *testing.T) {
	dir := t.TempDir()
	stamp := time.Date(2021, 2, 16, 8, 24, 58, 0, time.UTC)
	// A directory with a log's name cannot be read as one.
	if err := os.Mkdir(filepath.Join(dir, logName(appB, stamp)), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    *Finder
		app  string
		is   error // the error must wrap it; nil: any error
	}{
		{"no directory configured", &Finder{}, appA, nil},
		{"missing directory", &Finder{Dir: filepath.Join(dir, "nope")}, appA, fs.ErrNotExist},
		{"no log of the app", &Finder{Dir: dir}, appA, ErrNotFound},
		{"a directory named like a log", &Finder{Dir: dir}, appB, nil},
	}
	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		app := "11111111-2222-3333-4444-555555555555"
		p := write(t, dir, logName(app, stamp), "Error: secret\r\n")
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name string
			f    *Finder
			app  string
			is   error
		}{"an unreadable log", &Finder{Dir: dir}, app, fs.ErrPermission})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.f.Context(tt.app, time.Time{}, 20)
			if err == nil {
				t.Fatalf("Context = %+v, want an error", c)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			if c.Path != "" || c.Tail != nil || c.Errors != nil {
				t.Errorf("Context with an error = %+v, want zero", c)
			}
		})
	}
}

func TestParseRow(t *testing.T) {
	tests := []struct{ line, stmt, text string }{
		{"20210216T092458.801+0100 0012 ThisFailsForSure", "0012", "ThisFailsForSure"},
		{"20210216T092458.801Z 0012 x", "0012", "x"},
		{"20210216T092458 0012 x", "0012", "x"},
		{"20210216T092458.802+0100      Error: Unknown", "", "Error: Unknown"},
		{"2016-11-15 02:12:04 0048 2)", "0048", "2)"},
		{"2016-11-15 02:12:04 0048", "0048", ""},
		{"2016-11-15 02:12:04      9 lines fetched", "", "9 lines fetched"},
		{"  2016-11-15 02:12:04 0074 CommandList:\t", "0074", "CommandList:"},
		{"Error: bare", "", "Error: bare"},
		{"12 lines fetched", "", "12 lines fetched"},
		{"2016-11-15 garbage", "", "2016-11-15 garbage"},
	}
	for _, tt := range tests {
		r := parseRow(tt.line)
		if r.stmt != tt.stmt || r.text != tt.text {
			t.Errorf("parseRow(%q) = %q, %q; want %q, %q", tt.line, r.stmt, r.text, tt.stmt, tt.text)
		}
	}
}

// BenchmarkContext reads the context of a failed reload from a 5 MB log.
func BenchmarkContext(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("\uFEFF")
	for i := 0; sb.Len() < 5<<20; i++ {
		sb.WriteString("20210216T092458.790+0100 0042 LOAD Field1, Field2, Field3 FROM [lib://Data/source.qvd] (qvd)\r\n")
		sb.WriteString("20210216T092458.790+0100      12 lines fetched\r\n")
	}
	sb.WriteString("20210216T092458.801+0100 0012 ThisFailsForSure\r\n")
	sb.WriteString("20210216T092458.802+0100      Error: Unknown statement: ThisFailsForSure\r\n")
	sb.WriteString("20210216T092458.803+0100      Execution Failed\r\n")
	sb.WriteString("20210216T092458.810+0100      Execution finished.\r\n")
	write(b, dir, logName(appA, time.Date(2021, 2, 16, 8, 24, 58, 0, time.UTC)), sb.String())
	for i := range 200 { // other logs in the directory, as on a busy node
		write(b, dir, logName(appB, time.Date(2021, 2, 16, 0, i, 0, 0, time.UTC)), "x\r\n")
	}
	f := &Finder{Dir: dir}
	b.SetBytes(DefaultMaxBytes)
	b.ReportAllocs()
	for b.Loop() {
		c, err := f.Context(appA, time.Time{}, 20)
		if err != nil || len(c.Errors) != 2 {
			b.Fatal(c, err)
		}
	}
}
