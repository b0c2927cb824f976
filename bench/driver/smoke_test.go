package driver

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the whole benchmark at a small size against the real herald
// binary, built from this repository, and syslog-ng when it is installed. It
// needs HERALD_BENCH=1, because it builds and runs processes for a while:
//
//	HERALD_BENCH=1 go test -run Smoke -v ./bench/driver/
//
// HERALD_BENCH_BINARY=path uses a built herald instead. It checks that the
// harness measures (every alert arrives once, all numbers are there), not
// that the budget is met: that depends on the machine.
func TestSmoke(t *testing.T) {
	rep := runSmoke(t, Options{FailureRates: []float64{0.01, 0.1}, Rules: 30, Idle: 2 * time.Second})
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	t.Log(b.String())
	if rep.Failed() {
		t.Fatal("a check failed")
	}
	if len(rep.Runs) != 2 || rep.Baseline == nil || rep.Baseline.Alerts != 1 || rep.Baseline.AgentCPUS <= 0 {
		t.Fatalf("%d runs, baseline %+v; want 2 runs and a baseline with one alert", len(rep.Runs), rep.Baseline)
	}
	for i, want := range []int{200, 2000} {
		res := rep.Runs[i]
		h := res.Herald
		if res.Workload.Alerts != want || len(h.LatencyMS.Samples) != 20 || res.Workload.Rules != 30 {
			t.Errorf("%d alerts, %d latency samples, %d rules; want %d, 20, 30", res.Workload.Alerts, len(h.LatencyMS.Samples), res.Workload.Rules, want)
		}
		if h.CatchUpPSSBytes <= 0 || h.CatchUpAnonBytes <= 0 || h.OpenPSSBytes <= 0 || h.MemorySamples < 1 || h.StateBytes <= 0 || h.OpenAlerts != want+20 {
			t.Errorf("memory or state not measured: %+v", h)
		}
		smokeRun(t, res)
	}
}

// TestSmokeAlertmanager is TestSmoke's 10 % run with the webhook in
// Alertmanager's format: every alert still arrives once, in requests of up
// to 100 (HERALD_BENCH=1, as TestSmoke).
func TestSmokeAlertmanager(t *testing.T) {
	rep := runSmoke(t, Options{FailureRates: []float64{0.1}, Format: FormatAlertmanager, Idle: time.Second, SkipSyslogNG: true})
	if rep.Failed() {
		var b strings.Builder
		_ = rep.WriteTable(&b)
		t.Fatalf("a check failed:\n%s", b.String())
	}
	res := rep.Runs[0]
	if res.Workload.Format != FormatAlertmanager || res.Workload.Alerts != 2000 || res.Herald.OpenAlerts != 2020 {
		t.Fatalf("workload %+v, %d open alerts; want the alertmanager format, 2000 alerts, 2020 open", res.Workload, res.Herald.OpenAlerts)
	}
	// 2,020 alerts in batches of at most 100 (the latency phase's one at a
	// time): about 40 requests, not 2,020.
	for _, c := range res.Checks {
		var refused, requests int
		if c.Name != "receiver accepted every request" {
			continue
		}
		if _, err := fmt.Sscanf(c.Got, "%d of %d refused", &refused, &requests); err != nil || requests > 200 {
			t.Fatalf("receiver: %q; want at most 200 requests for 2,020 alerts (%v)", c.Got, err)
		}
		return
	}
	t.Fatal("no check of the receiver's requests")
}

// runSmoke runs the benchmark at the smoke size with o's rates, rules,
// format and idle window, against the herald of HERALD_BENCH_BINARY or one
// built from this repository; it skips t unless HERALD_BENCH=1.
func runSmoke(t *testing.T, o Options) *Report {
	t.Helper()
	if os.Getenv("HERALD_BENCH") != "1" {
		t.Skip("set HERALD_BENCH=1 to run the benchmark's smoke mode against a real herald")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	o.Rows, o.Latency, o.Settle, o.Timeout = 20_000, 20, 500*time.Millisecond, 5*time.Minute
	o.Herald = os.Getenv("HERALD_BENCH_BINARY")
	o.WorkDir = t.TempDir()
	o.Log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func smokeRun(t *testing.T, res *Results) {
	h := res.Herald
	if h.CatchUpS <= 0 || h.CatchUpCPUS <= 0 || h.FirstAlertS > h.CatchUpS || h.LatencyMS.P50 <= 0 {
		t.Errorf("implausible numbers: %+v", h)
	}
	if len(h.Processes) < 2 || h.Processes[0].Role != "agent" || h.Processes[0].PeakRSSBytes <= 0 ||
		!strings.Contains(h.Processes[1].Command, "plugin serve webhook") {
		t.Errorf("processes %+v, want the agent and its webhook plugin", h.Processes)
	}
	if res.SyslogNG == nil && !strings.Contains(res.SyslogNGSkipped, "not installed") {
		t.Errorf("syslog-ng neither measured nor reported missing: %q", res.SyslogNGSkipped)
	}
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
