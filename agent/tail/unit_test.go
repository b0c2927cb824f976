package tail

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{
		"a.txt", "b.log",
		"Scheduler/Trace/SRV_System_Scheduler.txt",
		"Scheduler/Trace/old/SRV_System_Scheduler_2026Z.log",
		"Engine/Trace/SRV_System_Engine.txt",
		"deep/x/y/z/c.txt",
	} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, full, "")
	}
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"*.txt", []string{"a.txt"}},
		{"*/Trace/*.txt", []string{"Engine/Trace/SRV_System_Engine.txt", "Scheduler/Trace/SRV_System_Scheduler.txt"}},
		{"**/*.txt", []string{"Engine/Trace/SRV_System_Engine.txt", "Scheduler/Trace/SRV_System_Scheduler.txt", "a.txt", "deep/x/y/z/c.txt"}},
		{"Scheduler/**/*_System_*", []string{"Scheduler/Trace/SRV_System_Scheduler.txt", "Scheduler/Trace/old/SRV_System_Scheduler_2026Z.log"}},
		{"*/**/Trace/*.txt", []string{"Engine/Trace/SRV_System_Engine.txt", "Scheduler/Trace/SRV_System_Scheduler.txt"}},
		{"deep/**", []string{"deep/x/y/z/c.txt"}},
		{"nothere/**/*.txt", nil},
	} {
		got, err := expand(filepath.Join(dir, filepath.FromSlash(tc.pattern)))
		if err != nil {
			t.Fatalf("expand(%q): %v", tc.pattern, err)
		}
		var rel []string
		for _, g := range got {
			r, _ := filepath.Rel(dir, g)
			rel = append(rel, filepath.ToSlash(r))
		}
		if !reflect.DeepEqual(rel, tc.want) {
			t.Errorf("expand(%q) = %q, want %q", tc.pattern, rel, tc.want)
		}
	}
}

func TestExcluded(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		path     string
		want     bool
	}{
		{[]string{"*.log"}, "/logs/Trace/a.log", true}, // no separator: base name
		{[]string{"*.log"}, "/logs/Trace/a.txt", false},
		{[]string{"/logs/*/a.txt"}, "/logs/Trace/a.txt", true},
		{[]string{"/logs/*/a.txt"}, "/logs/x/Trace/a.txt", false},
		{[]string{"/logs/**/a.txt"}, "/logs/x/Trace/a.txt", true},
		{[]string{"/logs/**/a.txt"}, "/logs/a.txt", true},
		{[]string{"/other/**", "*_Audit_*"}, "/logs/SRV_Audit_Scheduler.txt", true},
		{nil, "/logs/a.txt", false},
	} {
		if got := excluded(tc.patterns, filepath.FromSlash(tc.path)); got != tc.want {
			t.Errorf("excluded(%q, %q) = %v, want %v", tc.patterns, tc.path, got, tc.want)
		}
	}
}

func TestReadLine(t *testing.T) {
	// Short lines come straight from the reader's buffer, long ones are
	// assembled in the scratch buffer: neither may overwrite the other.
	in := "short\r\n" + strings.Repeat("x", 100) + "\n" + "mid\n" + strings.Repeat("y", 30) + "\n" + "tail"
	br := bufio.NewReaderSize(strings.NewReader(in), 16) // smaller than a line: ReadSlice fills up
	type res struct {
		text     string
		n        int64
		complete bool
	}
	var got []res
	var scratch []byte
	for {
		text, n, complete, err := readLine(br, 20, &scratch)
		if n > 0 {
			got = append(got, res{string(text), n, complete})
		}
		if err != nil {
			break
		}
	}
	want := []res{
		{"short\r\n", 7, true},
		{strings.Repeat("x", 19) + "\n", 101, true}, // kept 20 bytes, terminator restored
		{"mid\n", 4, true},
		{strings.Repeat("y", 19) + "\n", 31, true},
		{"tail", 4, false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestLastLineEnd(t *testing.T) {
	big := strings.Repeat("y", 200<<10) // longer than the backwards chunk
	for _, tc := range []struct {
		content string
		want    int64
	}{
		{"", 0},
		{"no newline", 0},
		{"a\nb\n", 4},
		{"a\nb\npartial", 4},
		{"a\n" + big, 2},
		{"a\n" + big + "\n" + big, int64(len(big)) + 3},
	} {
		f := tempFile(t, tc.content)
		got, err := lastLineEnd(f, int64(len(tc.content)))
		if err != nil || got != tc.want {
			t.Errorf("lastLineEnd(%d bytes) = %d, %v; want %d", len(tc.content), got, err, tc.want)
		}
	}
}

func TestReadHeader(t *testing.T) {
	f := tempFile(t, "\uFEFFSequence#\tTimestamp\r\n1\t2\r\n")
	got, err := readHeader(f, 26, 1<<20)
	if err != nil || got != "Sequence#\tTimestamp" {
		t.Errorf("readHeader = %q, %v", got, err)
	}
	got, _ = readHeader(f, 26, 5)
	if got != "Seque" {
		t.Errorf("readHeader with max 5 = %q", got)
	}
}

func TestVerify(t *testing.T) {
	content := "header\n" + strings.Repeat("record line\n", 200)
	f := tempFile(t, content)
	size := int64(len(content))
	fp := func(n int64) string {
		p, err := fingerprint(f, n)
		if err != nil {
			t.Fatal(err)
		}
		return p.String()
	}
	for _, tc := range []struct {
		name string
		pos  Position
		want bool
	}{
		{"matching", Position{Offset: 1500, Fingerprint: fp(1024)}, true},
		{"matching short head", Position{Offset: 7, Fingerprint: fp(7)}, true},
		{"at the end", Position{Offset: size, Fingerprint: fp(1024)}, true},
		{"no fingerprint", Position{Offset: 100}, true},
		{"beyond the end", Position{Offset: size + 1, Fingerprint: fp(1024)}, false},
		{"negative", Position{Offset: -1}, false},
		{"other head", Position{Offset: 100, Fingerprint: "7:00112233445566778899aabbccddeeff"}, false},
		{"malformed", Position{Offset: 100, Fingerprint: "nonsense"}, false},
		{"too long", Position{Offset: 100, Fingerprint: "5000:00112233445566778899aabbccddeeff"}, false},
	} {
		ok, why, err := verify(f, size, tc.pos)
		if err != nil || ok != tc.want {
			t.Errorf("%s: verify = %v (%s), %v; want %v", tc.name, ok, why, err, tc.want)
		}
		if !ok && why == "" {
			t.Errorf("%s: no reason given", tc.name)
		}
	}
	// A file shorter than the saved fingerprint does not fit.
	short := tempFile(t, "header\n")
	if ok, _, _ := verify(short, 7, Position{Offset: 7, Fingerprint: fp(1024)}); ok {
		t.Error("short file fits a 1024-byte fingerprint")
	}
}

func TestFingerprintRoundTrip(t *testing.T) {
	f := tempFile(t, "abc")
	p, err := fingerprint(f, 3)
	if err != nil {
		t.Fatal(err)
	}
	q, err := parseHeadPrint(p.String())
	if err != nil || q != p {
		t.Fatalf("parse(%s) = %v, %v", p, q, err)
	}
	if !strings.HasPrefix(p.String(), "3:") {
		t.Errorf("fingerprint %s does not start with its length", p)
	}
	if _, err := fingerprint(f, 4); err == nil {
		t.Error("fingerprint beyond the end succeeded")
	}
}

func tempFile(t *testing.T, content string) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	writeFile(t, path, content)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
