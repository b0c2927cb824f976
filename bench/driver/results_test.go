package driver

import (
	"strings"
	"testing"
	"time"
)

func TestSummarise(t *testing.T) {
	var hundred []float64
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, float64(i))
	}
	var twoHundred []float64
	for i := range 200 {
		twoHundred = append(twoHundred, float64(i+1))
	}
	for _, tc := range []struct {
		name                string
		in                  []float64
		p50, p99, max, mean float64
	}{
		{"none", nil, 0, 0, 0, 0},
		{"one", []float64{7}, 7, 7, 7, 7},
		{"1..100 reversed", hundred, 50, 99, 100, 50.5},
		{"1..200", twoHundred, 100, 198, 200, 100.5},
		{"outlier", []float64{1, 1, 1, 1000}, 1, 1000, 1000, 250.75},
	} {
		l := summarise(tc.in)
		if l.P50 != tc.p50 || l.P99 != tc.p99 || l.Max != tc.max || l.Mean != tc.mean {
			t.Errorf("%s: p50 %v p99 %v max %v mean %v; want %v %v %v %v", tc.name, l.P50, l.P99, l.Max, l.Mean, tc.p50, tc.p99, tc.max, tc.mean)
		}
	}
}

// sample is a made-up full-size run.
func sample() *Results {
	return &Results{
		Started:  time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC),
		Machine:  Machine{OS: "linux", Arch: "amd64", CPUs: 2, GoVersion: "go1.26.8", LoadAvg: "0.50 0.40 0.30"},
		Workload: Workload{Rows: 1_000_000, FailureRate: 0.01, Bytes: 269_800_919, Alerts: 10_000, Rules: 20, Format: FormatHerald, Seed: 1, LatencyAlerts: 200},
		Herald: Herald{
			CatchUpS: 1.2, CatchUpCPUS: 1.9, FirstAlertS: 0.05, RowsPerS: 833_333, MBPerS: 222,
			AgentCatchUpCPUS: 1.2, BaselineAgentCPUS: 0.9, AgentCPUPerAlertUS: 30, CPUPerAlertUS: 95,
			CatchUpPSSBytes: 38 << 20, CatchUpAnonBytes: 17 << 20, MemorySamples: 24,
			OpenAlerts: 10_200, OpenPSSBytes: 30 << 20, OpenAnonBytes: 12 << 20,
			StateBytes: 5 << 20, StateBytesPerAlert: 524.288,
			LatencyMS: Latency{Samples: make([]float64, 200), P50: 3.1, P99: 140, Max: 180},
			IdleS:     30, IdleCPUS: 0.01, IdleCPUPct: 0.033,
			Processes: []Process{
				{PID: 10, Role: "agent", Command: "herald run --config /w/herald.toml", PeakRSSBytes: 25 << 20, AnonBytes: 8 << 20, FileBytes: 17 << 20, CatchUpCPUS: 1.2, IdleCPUS: 0.01,
					CatchUpPSSBytes: 24 << 20, CatchUpAnonBytes: 11 << 20, OpenPSSBytes: 20 << 20, OpenAnonBytes: 8 << 20},
				{PID: 11, Role: "plugin", Command: "herald plugin serve webhook", PeakRSSBytes: 21 << 20, AnonBytes: 6 << 20, FileBytes: 15 << 20, CatchUpCPUS: 0.7,
					CatchUpPSSBytes: 14 << 20, CatchUpAnonBytes: 7 << 20, OpenPSSBytes: 10 << 20, OpenAnonBytes: 4 << 20},
			},
			StopS: 0.02,
		},
		SyslogNG: &Peer{Version: "syslog-ng 3 (3.38.1)", CatchUpS: 4, CatchUpCPUS: 4, Ratio: 0.3,
			Processes: []Process{{PID: 20, Role: "agent", Command: "syslog-ng -F", PeakRSSBytes: 32 << 20, AnonBytes: 20 << 20, FileBytes: 10 << 20}}},
		Checks: []Check{{Name: "every alert delivered once", OK: true, Got: "10200 events"}},
	}
}

func TestJudge(t *testing.T) {
	verdicts := func(r *Results) string {
		r.judge()
		var s []string
		for _, v := range r.Budget {
			s = append(s, v.Name+"="+v.Result)
		}
		return strings.Join(s, ", ")
	}
	full := sample()
	if got, want := verdicts(full), "catch-up=PASS, catch-up / syslog-ng's=PASS, agent CPU per alert=PASS, state per open alert=MISS, "+
		"PSS agent+plugins, catch-up=PASS, PSS agent+plugins, alerts open=SKIP, agent anonymous, catch-up=PASS, plugin anonymous, catch-up=MISS, "+
		"idle CPU=PASS, latency p50=PASS, latency p99=MISS"; got != want {
		t.Errorf("full run:\n got %s\nwant %s", got, want)
	}

	small := sample()
	small.Workload.Rows, small.Workload.Alerts, small.SyslogNG, small.SyslogNGSkipped = 20_000, 200, nil, "-skip-syslog-ng"
	small.Herald.IdleCPUPct = 0.1 // the budget is exclusive
	if got, want := verdicts(small), "catch-up=SKIP, catch-up / syslog-ng's=SKIP, agent CPU per alert=SKIP, state per open alert=SKIP, "+
		"PSS agent+plugins, catch-up=SKIP, PSS agent+plugins, alerts open=SKIP, agent anonymous, catch-up=SKIP, plugin anonymous, catch-up=SKIP, "+
		"idle CPU=MISS, latency p50=PASS, latency p99=MISS"; got != want {
		t.Errorf("small run without syslog-ng:\n got %s\nwant %s", got, want)
	}

	// At 10 %: 100,000 alerts open, so the open-alerts budget applies and
	// the ones for 1 % do not.
	many := sample()
	many.Workload.FailureRate, many.Workload.Alerts = 0.1, 100_000
	many.Herald.OpenAlerts, many.Herald.OpenPSSBytes, many.Herald.StateBytesPerAlert, many.Herald.AgentCPUPerAlertUS = 100_200, 101<<20, 300, 41
	if got, want := verdicts(many), "catch-up=SKIP, catch-up / syslog-ng's=PASS, agent CPU per alert=MISS, state per open alert=PASS, "+
		"PSS agent+plugins, catch-up=SKIP, PSS agent+plugins, alerts open=MISS, agent anonymous, catch-up=SKIP, plugin anonymous, catch-up=SKIP, "+
		"idle CPU=PASS, latency p50=PASS, latency p99=MISS"; got != want {
		t.Errorf("10 %% run:\n got %s\nwant %s", got, want)
	}

	slow := sample()
	slow.Herald.CatchUpS, slow.SyslogNG.Ratio = 2.5, 0.625
	if got := verdicts(slow); !strings.HasPrefix(got, "catch-up=MISS, catch-up / syslog-ng's=MISS") {
		t.Errorf("slow run: %s", got)
	}
}

// TestTable pins the printed table: README.md explains how to read it.
func TestTable(t *testing.T) {
	one := sample()
	one.judge()
	many := sample()
	many.Workload.FailureRate, many.Workload.Alerts = 0.1, 100_000
	many.Herald.OpenAlerts, many.Herald.OpenPSSBytes, many.Herald.StateBytesPerAlert = 100_200, 90<<20, 300
	many.judge()
	rep := &Report{Started: one.Started, Machine: one.Machine, Runs: []*Results{one, many},
		Baseline: &Baseline{Rows: 1_000_000, Bytes: 269_000_000, Alerts: 1, CatchUpS: 1.0, AgentCPUS: 0.9, CPUS: 0.95}}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden", b.String())
	if rep.Failed() {
		t.Error("Failed() with every check ok")
	}
	many.Checks = append(many.Checks, Check{Name: "no event while idle", OK: false, Got: "3 events"})
	if !rep.Failed() {
		t.Error("Failed() is false with a failed check")
	}
}
