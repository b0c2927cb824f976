package tail

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// The Windows tests run under Wine in CI (.ci/windows-tests) and on Windows
// as they are.

// rolloverHelperEnv makes the test binary, run with -test.run naming
// TestHelperQlikRollover, play Qlik's scheduler rolling its log over.
const rolloverHelperEnv = "HERALD_TAIL_TEST_ROLLOVER"

// uncShareEnv names a writable UNC share (\\server\share) for the tests of
// UNC paths. .ci/windows-tests maps \\localhost\herald to a directory in its
// Wine prefix; on Windows, an administrative share such as \\localhost\C$\Temp
// serves.
const uncShareEnv = "HERALD_TEST_UNC_SHARE"

const qlikHeader = "Sequence#\tTimestamp\tMessage\r\n"

// TestOtherProcessRollsOverOpenFile: while the tailer holds its handle on a
// scheduler log, another process rolls the log over as Qlik does. It appends
// the last line, renames the file into ArchivedLogs, starts a new file at
// the old name, and deletes the archived file. None of that may fail with a
// sharing violation, and every line of both files arrives, the archived
// file's last line included, although it was deleted before it was read.
func TestOtherProcessRollsOverOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "SRV_System_Scheduler.txt")
	archive := filepath.Join(dir, "ArchivedLogs", "SRV", "SRV_System_Scheduler_2026-01-02T03.04.05Z.log")
	if err := os.MkdirAll(filepath.Dir(archive), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, qlikHeader+"1\tt1\tone\r\n")
	h := newHarness(t, dir, Config{Paths: []string{"*_System_Scheduler.txt"}, StartAt: StartAtBeginning})
	old := h.expect(Event{Kind: Opened, Path: path}).Key
	h.expect(lineEv(old, "Sequence#\tTimestamp\tMessage", 29, true))
	h.expect(lineEv(old, "1\tt1\tone", 39, false))

	// Frozen, the tailer reads nothing until the rollover is complete; its
	// own handle on the file is open all the while.
	h.freeze()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(self, "-test.run=^TestHelperQlikRollover$")
	helper.Env = append(os.Environ(), rolloverHelperEnv+"="+path+string(os.PathListSeparator)+archive)
	out, err := helper.CombinedOutput()
	h.thaw()
	if err != nil {
		t.Fatalf("the rollover by another process failed: %v\n%s", err, out)
	}

	oldEvs, newEvs := rolledOver(h, old)
	compareEvents(t, "archived file", oldEvs, []Event{
		lineEv(old, "2\tt2\ttwo", 49, false),
		{Kind: Closed, Key: old, Line: lineOf("", 49, false)},
	})
	compareEvents(t, "new file", newEvs, []Event{
		{Kind: Opened, Path: path, Line: lineOf("", 0, false)},
		lineEv("", "Sequence#\tTimestamp\tMessage", 29, true),
		lineEv("", "1\tt3\tthree", 41, false),
	})
}

// TestHelperQlikRollover is not a test: it is the other process of
// TestOtherProcessRollsOverOpenFile.
func TestHelperQlikRollover(t *testing.T) {
	arg := os.Getenv(rolloverHelperEnv)
	if arg == "" {
		return
	}
	path, archive, _ := strings.Cut(arg, string(os.PathListSeparator))
	appendFile(t, path, "2\tt2\ttwo\r\n")
	if err := os.Rename(path, archive); err != nil {
		t.Fatalf("renaming the log into the archive: %v", err)
	}
	writeFile(t, path, qlikHeader+"1\tt3\tthree\r\n")
	if err := os.Remove(archive); err != nil {
		t.Fatalf("deleting the archived log: %v", err)
	}
}

// TestOpenWithoutShareDeleteBlocksRollover is the control for the test above:
// a handle opened as os.Open opens it, without FILE_SHARE_DELETE, makes
// Qlik's rename fail. The tailer must therefore never hold one.
func TestOpenWithoutShareDeleteBlocksRollover(t *testing.T) {
	path := filepath.Join(t.TempDir(), "SRV_System_Scheduler.txt")
	writeFile(t, path, qlikHeader)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = os.Rename(path, path+".log")
	if !errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
		t.Fatalf("rename of a file held by os.Open: %v, want a sharing violation", err)
	}
	g, err := openFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	f.Close()
	if err := os.Rename(path, path+".log"); err != nil {
		t.Fatalf("rename of a file held by the tailer's openFile: %v", err)
	}
}

// TestWindowsPathForms: patterns with a drive letter, backslashes, forward
// slashes, "**", and on a UNC share, find the files they should.
func TestWindowsPathForms(t *testing.T) {
	type tree struct {
		name, root string
	}
	trees := []tree{{"drive", t.TempDir()}}
	if share := os.Getenv(uncShareEnv); share != "" {
		trees = append(trees, tree{"UNC", uncDir(t, share)})
	} else {
		t.Logf("UNC paths not tested: set %s to a writable share", uncShareEnv)
	}
	for _, tr := range trees {
		t.Run(tr.name, func(t *testing.T) {
			root := tr.root
			trace := filepath.Join(root, `Log\Scheduler\Trace`)
			archived := filepath.Join(root, `ArchivedLogs\SRV\Scheduler\Trace`)
			files := []string{
				filepath.Join(trace, "SRV_System_Scheduler.txt"),
				filepath.Join(trace, "SRV_Audit_Scheduler.txt"),
				filepath.Join(archived, "SRV_System_Scheduler_2026-01-02T03.04.05Z.log"),
			}
			for _, f := range files {
				if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, f, qlikHeader)
			}
			for _, tc := range []struct {
				pattern string
				want    []string
			}{
				{root + `\Log\Scheduler\Trace\*_System_Scheduler.txt`, files[:1]},
				{filepath.ToSlash(root) + `/Log/Scheduler/Trace/*_System_Scheduler.txt`, files[:1]},
				{root + `\Log\**\*_Scheduler.txt`, []string{files[1], files[0]}},
				{root + `\**\SRV_System_Scheduler*`, []string{files[2], files[0]}},
				{root + `\ArchivedLogs\*\Scheduler\Trace\*.log`, files[2:]},
			} {
				got, err := expand(tc.pattern)
				if err != nil {
					t.Errorf("expand(%s): %v", tc.pattern, err)
					continue
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("expand(%s) = %q, want %q", tc.pattern, got, tc.want)
				}
			}
			if !excluded([]string{`*_Audit_*`}, files[1]) || !excluded([]string{trace + `\*_Audit_*.txt`}, files[1]) {
				t.Errorf("exclude patterns do not match %s", files[1])
			}
		})
	}
}

// TestFollowOnUNCShare follows a scheduler log on a UNC share through a
// rollover into the share's ArchivedLogs.
func TestFollowOnUNCShare(t *testing.T) {
	share := os.Getenv(uncShareEnv)
	if share == "" {
		t.Skipf("set %s to a writable UNC share (\\\\server\\share)", uncShareEnv)
	}
	dir := uncDir(t, share)
	path := filepath.Join(dir, "SRV_System_Scheduler.txt")
	archive := filepath.Join(dir, "SRV_System_Scheduler_2026-01-02T03.04.05Z.log")
	writeFile(t, path, qlikHeader+"1\tt1\tone\r\n")
	h := newHarness(t, dir, Config{Paths: []string{dir + `\*_System_Scheduler.txt`}, StartAt: StartAtBeginning})
	old := h.expect(Event{Kind: Opened, Path: path}).Key
	h.expect(lineEv(old, "Sequence#\tTimestamp\tMessage", 29, true))
	h.expect(lineEv(old, "1\tt1\tone", 39, false))

	h.freeze()
	appendFile(t, path, "2\tt2\ttwo\r\n")
	if err := os.Rename(path, archive); err != nil {
		h.thaw()
		t.Fatal(err)
	}
	writeFile(t, path, qlikHeader+"1\tt3\tthree\r\n")
	h.thaw()
	oldEvs, newEvs := rolledOver(h, old)
	compareEvents(t, "archived file", oldEvs, []Event{
		lineEv(old, "2\tt2\ttwo", 49, false),
		{Kind: Closed, Key: old, Line: lineOf("", 49, false)},
	})
	compareEvents(t, "new file", newEvs, []Event{
		{Kind: Opened, Path: path, Line: lineOf("", 0, false)},
		lineEv("", "Sequence#\tTimestamp\tMessage", 29, true),
		lineEv("", "1\tt3\tthree", 41, false),
	})
}

// rolledOver collects the events of a rollover of the file with key old
// until it is closed and two lines of its successor have arrived, and
// returns them by file.
func rolledOver(h *harness, old string) (oldEvs, newEvs []Event) {
	h.t.Helper()
	evs := h.collect("the rollover", func(evs []Event) bool {
		closed, newLines := false, 0
		for _, ev := range evs {
			closed = closed || ev.Kind == Closed && ev.Key == old
			if ev.Kind == Line && ev.Key != old {
				newLines++
			}
		}
		return closed && newLines == 2
	})
	for _, ev := range evs {
		if ev.Key == old {
			oldEvs = append(oldEvs, ev)
		} else {
			newEvs = append(newEvs, ev)
		}
	}
	return oldEvs, newEvs
}

// uncDir makes a directory of its own on a UNC share, removed at the end of
// the test.
func uncDir(t *testing.T, share string) string {
	t.Helper()
	dir, err := os.MkdirTemp(share, "herald-tail-")
	if err != nil {
		t.Fatalf("%s=%s: %v", uncShareEnv, share, err)
	}
	if !strings.HasPrefix(dir, `\\`) {
		t.Fatalf("%s=%s is not a UNC path", uncShareEnv, share)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	return dir
}

// TestFilesCheckedOftenDespiteNotifications: ReadDirectoryChangesW reports
// data appended to a file that stays open only once the file system flushes
// its cache, so a followed file is checked every DefaultReadInterval even
// when its directory is watched; discovery, whose events (names created,
// renamed, deleted) come at once, still scans rarely.
func TestFilesCheckedOftenDespiteNotifications(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.txt"), "")
	h := newHarness(t, dir, Config{Paths: []string{"*.txt"}}, defaultIntervals)
	requireNotifications(t, h)
	key := h.expect(Event{Kind: Opened}).Key
	if got := h.readEvery(key); got != DefaultReadInterval {
		t.Errorf("file checked every %v, want %v", got, DefaultReadInterval)
	}
	h.waitNextScan(NotifiedPollInterval)
}
