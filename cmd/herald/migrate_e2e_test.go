package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/state"
)

// TestSIGKILLDuringMigration starts the agent, built with the failpoints tag,
// on a state file written by the schema 1 release, kills it with SIGKILL
// while it is in the middle of migrating the file (after rewriting the
// alerts, and again after rewriting everything but before the commit), and
// checks each time that the file is untouched. Then herald, started without
// a failpoint, migrates it and lists every alert the old release held. The
// same for a file of the schema 2 release, whose migration rewrites no
// alerts (so it is killed before the commit only).
func TestSIGKILLDuringMigration(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGKILL")
	}
	bin := filepath.Join(t.TempDir(), "herald-failpoints")
	if out, err := exec.Command("go", "build", "-race", "-tags", "failpoints", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building herald with failpoints: %v\n%s", err, out)
	}
	t.Run("schema 1", func(t *testing.T) { testSIGKILLDuringMigration(t, bin, 1, "alerts", "done") })
	t.Run("schema 2", func(t *testing.T) { testSIGKILLDuringMigration(t, bin, 2, "done") })
}

func testSIGKILLDuringMigration(t *testing.T, bin string, from int, points ...string) {
	fixture, err := os.ReadFile(fmt.Sprintf("../../agent/state/testdata/schema%d.db", from))
	if err != nil {
		t.Fatal(err)
	}
	copyPath := fmt.Sprintf(".schema%d", from)
	dir := t.TempDir()
	cfg := alertsConfig(t, dir, "")
	path := agent.StatePath(filepath.Join(dir, "state"))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fixture, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, point := range points {
		cmd := exec.Command(bin, "run", "--config", cfg)
		cmd.Env = append(os.Environ(), "HERALD_FAILPOINT=state-migrate:"+point)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for the process to say it stopped at the point.
		reached := make(chan bool, 1)
		var seen strings.Builder
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				seen.WriteString(sc.Text() + "\n")
				if sc.Text() == "failpoint state-migrate:"+point+" reached" {
					reached <- true
					break
				}
			}
			reached <- false
			for sc.Scan() {
			}
		}()
		select {
		case ok := <-reached:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("herald ended before the failpoint %s:\n%s", point, seen.String())
			}
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			t.Fatalf("herald did not reach the failpoint %s within 2 minutes:\n%s", point, seen.String())
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(fixture) {
			t.Fatalf("SIGKILL at the migration's %q point changed the state file", point)
		}
	}

	// The next start migrates it, says so, and every alert is there.
	out, stderr, code := runHerald(t, "alerts", "--config", cfg, "--all", "--json")
	if code != 0 {
		t.Fatalf("herald alerts after the kills exited %d:\n%s%s", code, out, stderr)
	}
	if want := "herald: converted the state file " + path + " from schema " + strconv.Itoa(from) + " to " + strconv.Itoa(state.SchemaVersion) +
		"; the file as it was is kept as " + path + copyPath + "\n"; !strings.Contains(stderr, want) {
		t.Errorf("herald alerts did not say it converted the file; stderr:\n%s\nwant the line %q", stderr, want)
	}
	var golden struct {
		Alerts []state.Alert `json:"alerts"`
	}
	raw, err := os.ReadFile("../../agent/state/testdata/schema1.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var got []state.Alert
	for dec.More() {
		var a state.Alert
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("alerts --json: %v\n%s", err, out)
		}
		got = append(got, a)
	}
	if len(got) != len(golden.Alerts) {
		t.Fatalf("herald alerts lists %d alerts after the migration, the schema %d release held %d:\n%s", len(got), from, len(golden.Alerts), out)
	}
	for i := range got {
		g, w := mustJSON(t, got[i]), mustJSON(t, golden.Alerts[i])
		if g != w {
			t.Errorf("alert %d after the migration:\n got %s\nwant %s", i, g, w)
		}
	}
	if _, err := os.Stat(path + copyPath); err != nil {
		t.Errorf("no copy of the schema %d file: %v", from, err)
	}
	// Converted once: the next command says nothing of it.
	if _, stderr, code := runHerald(t, "alerts", "--config", cfg, "--all", "--json"); code != 0 || strings.Contains(stderr, "converted") {
		t.Errorf("herald alerts a second time exited %d; stderr:\n%s", code, stderr)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
