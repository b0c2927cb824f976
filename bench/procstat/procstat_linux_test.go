package procstat

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act as a child process that blocks until its
// standard input closes.
func TestMain(m *testing.M) {
	if os.Getenv("PROCSTAT_TEST_CHILD") == "1" {
		os.Stdout.WriteString("ready\n")
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestReadSelf(t *testing.T) {
	// Use some CPU so that at least one 10 ms tick is counted.
	deadline := time.Now().Add(50 * time.Millisecond)
	for n := 0; time.Now().Before(deadline); n++ {
		_ = strings.Repeat("x", n%100)
	}
	p, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p.PID != os.Getpid() || p.PPID != os.Getppid() {
		t.Errorf("PID, PPID = %d, %d; want %d, %d", p.PID, p.PPID, os.Getpid(), os.Getppid())
	}
	if p.CPU <= 0 || p.PeakRSS < p.RSS || p.RSS <= 0 || p.RSSAnon <= 0 || p.RSSFile <= 0 || p.RSSAnon+p.RSSFile > p.RSS {
		t.Errorf("CPU %v, PeakRSS %d, RSS %d = anon %d + file %d + shmem: want positive, peak at least current", p.CPU, p.PeakRSS, p.RSS, p.RSSAnon, p.RSSFile)
	}
	if !strings.Contains(p.Name, "procstat.test") {
		t.Errorf("Name %q, want the test binary's command line", p.Name)
	}
}

// TestTree starts a child and a grandchild and finds both.
func TestTree(t *testing.T) {
	child := exec.Command("/bin/sh", "-c", `"$0" -test.run=^$ <&0; :`, os.Args[0])
	child.Env = append(os.Environ(), "PROCSTAT_TEST_CHILD=1")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		child.Wait()
	}()
	// The grandchild says when it runs.
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("child said %q, %v; want ready", line, err)
	}
	procs, err := Tree(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 3 {
		t.Fatalf("Tree found %d processes, want the test, the shell and its child: %+v", len(procs), procs)
	}
	if procs[0].PID != os.Getpid() {
		t.Errorf("Tree starts with %d, want %d", procs[0].PID, os.Getpid())
	}
	byPID := map[int]Proc{}
	for _, p := range procs {
		byPID[p.PID] = p
	}
	sh := byPID[child.Process.Pid]
	if sh.PPID != os.Getpid() {
		t.Fatalf("the shell %d is not in the tree: %+v", child.Process.Pid, procs)
	}
	for _, p := range procs[1:] {
		if p.PID != sh.PID && (p.PPID != sh.PID || !strings.Contains(p.Name, "procstat.test")) {
			t.Errorf("unexpected process %+v", p)
		}
	}
	if TotalCPU(procs) < procs[0].CPU {
		t.Errorf("TotalCPU %v is less than the root's %v", TotalCPU(procs), procs[0].CPU)
	}
}

func TestReadGone(t *testing.T) {
	if _, err := Read(1 << 30); err == nil {
		t.Fatal("Read of a pid that does not exist did not fail")
	}
}

func TestReadMemorySelf(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	p, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// PSS divides shared pages, so it is at most the resident size; a Go
	// test binary has a heap, so some of it is anonymous.
	if m.PSS <= 0 || m.Anonymous <= 0 || m.PSS > p.PeakRSS || m.Anonymous > m.PSS+p.RSSAnon {
		t.Errorf("memory %+v with RSS %d (anon %d), peak %d: want 0 < Anonymous, 0 < PSS ≤ peak RSS", m, p.RSS, p.RSSAnon, p.PeakRSS)
	}
	if _, err := ReadMemory(1 << 30); err == nil {
		t.Error("ReadMemory of a pid that does not exist did not fail")
	}
}
