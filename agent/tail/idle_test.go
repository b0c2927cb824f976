package tail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// idleEnv, set to a duration, makes TestIdleCost measure what an idle tailer
// costs: it follows three files nobody writes to, for that long, with the
// default intervals, and reports the CPU time of the process and how often
// the tailer woke up. It is a measurement, not a test: it asserts nothing.
//
//	HERALD_TAIL_IDLE=60s go test -run TestIdleCost -v ./agent/tail/
//
// HERALD_TAIL_IDLE_POLL and HERALD_TAIL_IDLE_READ override the intervals, to
// measure the cost of one scan or check with many of them.
const idleEnv = "HERALD_TAIL_IDLE"

func TestIdleCost(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv(idleEnv))
	if err != nil {
		t.Skipf("a measurement: set %s to a duration to run it", idleEnv)
	}
	env := func(name string) time.Duration {
		v, _ := time.ParseDuration(os.Getenv(name))
		return v
	}
	dir := t.TempDir()
	for _, name := range []string{"A_System_Scheduler.txt", "A_Audit_Scheduler.txt", "A_System_Engine.txt"} {
		writeFile(t, filepath.Join(dir, name), strings.Repeat("Sequence#\tTimestamp\tMessage\r\n", 100))
	}
	// Files in the same directory that are not followed, as in Qlik's Trace.
	for _, name := range []string{"A_Audit_Repository.txt", "A_System_Repository.txt", "A_Service_Proxy.txt"} {
		writeFile(t, filepath.Join(dir, name), "x\r\n")
	}
	var scans, checks atomic.Int64
	tl, err := Start(context.Background(), Config{
		Paths:        []string{filepath.Join(dir, "*_Scheduler.txt"), filepath.Join(dir, "*_Engine.txt")},
		PollInterval: env(idleEnv + "_POLL"),
		ReadInterval: env(idleEnv + "_READ"),
		hooks: &hooks{
			beforeCheck: func(string) {},
			afterCheck:  func(string, int64) { checks.Add(1) },
			scanned:     func(time.Duration) { scans.Add(1) },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Stop()
	for n := 0; n < 3; { // the Opened events
		n += len(<-tl.Events())
	}
	time.Sleep(time.Second) // let start-up settle
	scans0, checks0, cpu0, t0 := scans.Load(), checks.Load(), cpuTime(), time.Now()
	time.Sleep(d)
	cpu, wall := cpuTime()-cpu0, time.Since(t0)
	t.Logf("idle for %v: CPU %v = %.4f %% of a core; %d scans (%.2f/s), %d file checks (%.2f/s)",
		wall.Round(time.Millisecond), cpu, 100*cpu.Seconds()/wall.Seconds(),
		scans.Load()-scans0, float64(scans.Load()-scans0)/wall.Seconds(),
		checks.Load()-checks0, float64(checks.Load()-checks0)/wall.Seconds())
}
