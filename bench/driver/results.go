package driver

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Results is everything one run measured. It is written as JSON; the field
// names carry their unit.
type Results struct {
	Started  time.Time `json:"started"`
	Machine  Machine   `json:"machine"`
	Workload Workload  `json:"workload"`
	Herald   Herald    `json:"herald"`
	// SyslogNG is nil when the comparison did not run; SyslogNGSkipped says why.
	SyslogNG        *Peer  `json:"syslog_ng,omitempty"`
	SyslogNGSkipped string `json:"syslog_ng_skipped,omitempty"`
	// Budget holds one verdict per budget line, in the order printed.
	Budget []Verdict `json:"budget"`
	// Checks are what must hold for the numbers to mean anything (every alert
	// arrived once, nothing else did). A failed check fails the run.
	Checks []Check `json:"checks"`
}

// Machine describes where the run happened.
type Machine struct {
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	LoadAvg   string `json:"load_avg,omitempty"` // /proc/loadavg at the start
}

// Workload describes the generated log and the rules.
type Workload struct {
	Rows          int     `json:"rows"`
	Bytes         int64   `json:"bytes"`
	Alerts        int     `json:"alerts"`
	Rules         int     `json:"rules"`
	Seed          uint64  `json:"seed"`
	GenerateS     float64 `json:"generate_s"`
	LatencyAlerts int     `json:"latency_alerts"`
}

// Herald is what was measured of the agent.
type Herald struct {
	Binary      string    `json:"binary"`
	BuildS      float64   `json:"build_s,omitempty"`
	FirstAlertS float64   `json:"first_alert_s"`
	CatchUpS    float64   `json:"catch_up_s"`
	CatchUpCPUS float64   `json:"catch_up_cpu_s"`
	RowsPerS    float64   `json:"rows_per_s"`
	MBPerS      float64   `json:"mb_per_s"`
	LatencyMS   Latency   `json:"latency_ms"`
	IdleS       float64   `json:"idle_s"`
	IdleCPUS    float64   `json:"idle_cpu_s"`
	IdleCPUPct  float64   `json:"idle_cpu_pct"`
	IdleEvents  int       `json:"idle_events"`
	Processes   []Process `json:"processes"`
	StopS       float64   `json:"stop_s"`
	StopKilled  bool      `json:"stop_killed,omitempty"`
	PerfReport  string    `json:"perf_report,omitempty"`
}

// Latency summarises the append-to-POST times, in milliseconds.
type Latency struct {
	Samples []float64 `json:"samples"`
	P50     float64   `json:"p50"`
	P99     float64   `json:"p99"`
	Max     float64   `json:"max"`
	Mean    float64   `json:"mean"`
}

// Process is one process of a measured program at the end of its run.
type Process struct {
	PID          int    `json:"pid"`
	Role         string `json:"role"` // "agent" or "plugin" (a descendant)
	Command      string `json:"command"`
	PeakRSSBytes int64  `json:"peak_rss_bytes"`
	// RSS now (at the end), split: private memory and mapped files. The
	// mapped files include the executable, which the agent and its built-in
	// plugins share, and the agent's mmap of its bbolt state, so the peak
	// overstates what a process adds to the machine.
	AnonBytes int64 `json:"rss_anon_bytes"`
	FileBytes int64 `json:"rss_file_bytes"`
	// CatchUpCPUS is the CPU time the process had used when catch-up ended.
	CatchUpCPUS float64 `json:"catch_up_cpu_s"`
	// IdleCPUS is the CPU time the process used in the idle window.
	IdleCPUS float64 `json:"idle_cpu_s"`
}

// Peer is what was measured of a peer (syslog-ng) on the same log.
type Peer struct {
	Version     string    `json:"version"`
	CatchUpS    float64   `json:"catch_up_s"`
	CatchUpCPUS float64   `json:"catch_up_cpu_s"`
	Processes   []Process `json:"processes"`
	// Ratio is Herald's catch-up time divided by the peer's.
	Ratio float64 `json:"ratio"`
}

// Verdict is one budget line.
type Verdict struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Budget string  `json:"budget"`
	// Result is PASS, MISS, or SKIP (the budget does not apply to this run,
	// Note says why).
	Result string `json:"result"`
	Note   string `json:"note,omitempty"`
}

// Check is one correctness condition of the run.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Got  string `json:"got"`
}

// Failed reports whether a check failed.
func (r *Results) Failed() bool {
	return slices.ContainsFunc(r.Checks, func(c Check) bool { return !c.OK })
}

// Budgets of the issue "Fast and light: benchmarks and the performance budget".
const (
	budgetRows      = 1_000_000
	budgetCatchUp   = 1.5  // seconds, for budgetRows rows
	budgetRatio     = 0.5  // of syslog-ng's catch-up
	budgetP50       = 20.0 // ms
	budgetP99       = 100.0
	budgetIdlePct   = 0.1 // % of one core, exclusive
	budgetAgentMiB  = 30.0
	budgetPluginMiB = 20.0
)

// judge fills r.Budget from the measurements.
func (r *Results) judge() {
	h := &r.Herald
	v := Verdict{Name: "catch-up", Value: h.CatchUpS, Unit: "s", Budget: fmt.Sprintf("≤ %.1f s", budgetCatchUp)}
	if r.Workload.Rows == budgetRows {
		v.Result = passMiss(h.CatchUpS <= budgetCatchUp)
	} else {
		v.Result, v.Note = "SKIP", fmt.Sprintf("the budget is for %d rows", budgetRows)
	}
	r.Budget = append(r.Budget, v)

	v = Verdict{Name: "catch-up / syslog-ng's", Unit: "×", Budget: fmt.Sprintf("≤ %.1f×", budgetRatio)}
	if p := r.SyslogNG; p != nil {
		v.Value, v.Result = p.Ratio, passMiss(p.Ratio <= budgetRatio)
		v.Note = fmt.Sprintf("syslog-ng %.2f s", p.CatchUpS)
	} else {
		v.Result, v.Note = "SKIP", r.SyslogNGSkipped
	}
	r.Budget = append(r.Budget, v)

	r.Budget = append(r.Budget,
		Verdict{Name: "latency p50", Value: h.LatencyMS.P50, Unit: "ms", Budget: fmt.Sprintf("≤ %.0f ms", budgetP50), Result: passMiss(h.LatencyMS.P50 <= budgetP50)},
		Verdict{Name: "latency p99", Value: h.LatencyMS.P99, Unit: "ms", Budget: fmt.Sprintf("≤ %.0f ms", budgetP99), Result: passMiss(h.LatencyMS.P99 <= budgetP99)},
		Verdict{Name: "idle CPU", Value: h.IdleCPUPct, Unit: "% of a core", Budget: fmt.Sprintf("< %.1f %%", budgetIdlePct), Result: passMiss(h.IdleCPUPct < budgetIdlePct),
			Note: fmt.Sprintf("%.2f CPU-s over %.0f s; resolution %.3f %%", h.IdleCPUS, h.IdleS, 100*0.01/math.Max(h.IdleS, 0.01))},
	)
	for _, p := range h.Processes {
		mib := float64(p.PeakRSSBytes) / (1 << 20)
		if p.Role == "agent" {
			r.Budget = append(r.Budget, Verdict{Name: "agent peak RSS", Value: mib, Unit: "MiB", Budget: fmt.Sprintf("≤ %.0f MiB", budgetAgentMiB), Result: passMiss(mib <= budgetAgentMiB)})
		} else {
			r.Budget = append(r.Budget, Verdict{Name: "plugin peak RSS", Value: mib, Unit: "MiB", Budget: fmt.Sprintf("≤ %.0f MiB", budgetPluginMiB), Result: passMiss(mib <= budgetPluginMiB), Note: p.Command})
		}
	}
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// WriteTable prints the results for people.
func (r *Results) WriteTable(w io.Writer) error {
	h, wl := &r.Herald, &r.Workload
	var b strings.Builder
	fmt.Fprintf(&b, "\nHerald benchmark, %s: %s/%s, %d CPUs, %s, load %s\n", r.Started.Format(time.RFC3339), r.Machine.OS, r.Machine.Arch, r.Machine.CPUs, r.Machine.GoVersion, orDash(r.Machine.LoadAvg))
	fmt.Fprintf(&b, "workload: %d rows + header (%.1f MB, %.0f B/row), %d alerts, %d rules; %d latency alerts appended\n\n",
		wl.Rows, float64(wl.Bytes)/1e6, float64(wl.Bytes)/math.Max(float64(wl.Rows), 1), wl.Alerts, wl.Rules, wl.LatencyAlerts)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURED\tHERALD\tSYSLOG-NG\tNOTE")
	peer := func(f func(p *Peer) string) string {
		if r.SyslogNG == nil {
			return "-"
		}
		return f(r.SyslogNG)
	}
	fmt.Fprintf(tw, "catch-up (start → alert %d)\t%.3f s\t%s\t\n", wl.Alerts, h.CatchUpS, peer(func(p *Peer) string { return fmt.Sprintf("%.3f s", p.CatchUpS) }))
	var perCatchUp []string
	for _, p := range h.Processes {
		perCatchUp = append(perCatchUp, fmt.Sprintf("%s %.2f", p.Role, p.CatchUpCPUS))
	}
	fmt.Fprintf(tw, "CPU during catch-up\t%.2f s\t%s\t%s\n", h.CatchUpCPUS, peer(func(p *Peer) string { return fmt.Sprintf("%.2f s", p.CatchUpCPUS) }), strings.Join(perCatchUp, ", "))
	fmt.Fprintf(tw, "throughput\t%.0f rows/s, %.1f MB/s\t%s\t\n", h.RowsPerS, h.MBPerS, peer(func(p *Peer) string {
		return fmt.Sprintf("%.0f rows/s", float64(wl.Rows)/p.CatchUpS)
	}))
	fmt.Fprintf(tw, "first alert after start\t%.3f s\t\t\n", h.FirstAlertS)
	fmt.Fprintf(tw, "latency append → POST (n=%d)\tp50 %.1f ms, p99 %.1f ms, max %.1f ms\t\t\n", len(h.LatencyMS.Samples), h.LatencyMS.P50, h.LatencyMS.P99, h.LatencyMS.Max)
	var per []string
	for _, p := range h.Processes {
		per = append(per, fmt.Sprintf("%s %.2f", p.Role, p.IdleCPUS))
	}
	fmt.Fprintf(tw, "idle CPU over %.0f s\t%.3f %% of a core (%.2f CPU-s)\t\t%s\n", h.IdleS, h.IdleCPUPct, h.IdleCPUS, strings.Join(per, ", "))
	for _, p := range h.Processes {
		fmt.Fprintf(tw, "peak RSS %s\t%.1f MiB (now %.1f anon + %.1f file)\t\t%s\n", p.Role, mib(p.PeakRSSBytes), mib(p.AnonBytes), mib(p.FileBytes), p.Command)
	}
	if r.SyslogNG != nil {
		for _, p := range r.SyslogNG.Processes {
			fmt.Fprintf(tw, "peak RSS syslog-ng\t\t%.1f MiB (now %.1f anon + %.1f file)\t\n", mib(p.PeakRSSBytes), mib(p.AnonBytes), mib(p.FileBytes))
		}
	}
	fmt.Fprintf(tw, "stop (SIGTERM → exit)\t%.3f s%s\t\t\n", h.StopS, map[bool]string{true: " (killed)"}[h.StopKilled])
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.SyslogNG == nil {
		fmt.Fprintf(&b, "syslog-ng: skipped (%s)\n", r.SyslogNGSkipped)
	}

	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BUDGET\tVALUE\tLIMIT\tRESULT\tNOTE")
	for _, v := range r.Budget {
		val := "-"
		if v.Result != "SKIP" || v.Value != 0 {
			val = fmt.Sprintf("%.3g %s", v.Value, v.Unit)
			if v.Unit == "×" {
				val = fmt.Sprintf("%.3g×", v.Value)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Name, val, v.Budget, v.Result, v.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	b.WriteString("\n")
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "check %-4s %s: %s\n", map[bool]string{true: "ok", false: "FAIL"}[c.OK], c.Name, c.Got)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteJSON writes the results to path.
func (r *Results) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// summarise computes the percentiles of samples (milliseconds) by nearest
// rank: p50 of 200 samples is the 100th smallest, p99 the 198th.
func summarise(samples []float64) Latency {
	l := Latency{Samples: samples}
	if len(samples) == 0 {
		return l
	}
	s := slices.Sorted(slices.Values(samples))
	rank := func(p float64) float64 { return s[max(int(math.Ceil(p*float64(len(s))))-1, 0)] }
	l.P50, l.P99, l.Max = rank(0.50), rank(0.99), s[len(s)-1]
	var sum float64
	for _, x := range s {
		sum += x
	}
	l.Mean = sum / float64(len(s))
	return l
}
