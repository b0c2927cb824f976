package driver

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one invocation measured: the baseline and a run per
// failure rate. It is written as JSON; the field names carry their unit.
type Report struct {
	Started  time.Time  `json:"started"`
	Machine  Machine    `json:"machine"`
	Baseline *Baseline  `json:"baseline"`
	Runs     []*Results `json:"runs"`
}

// Baseline is herald's catch-up of a log with as many rows and no failures
// but one last alert row, which says when the log has been read. What a run
// spends beyond it is the cost of its alerts.
type Baseline struct {
	Rows      int     `json:"rows"`
	Bytes     int64   `json:"bytes"`
	Alerts    int     `json:"alerts"`
	CatchUpS  float64 `json:"catch_up_s"`
	AgentCPUS float64 `json:"agent_cpu_s"` // the agent process alone
	CPUS      float64 `json:"cpu_s"`       // the agent and its plugins
}

// Results is what one failure rate's run measured.
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
	FailureRate   float64 `json:"failure_rate"`
	Bytes         int64   `json:"bytes"`
	Alerts        int     `json:"alerts"`
	Rules         int     `json:"rules"`
	Format        string  `json:"format"`
	Seed          uint64  `json:"seed"`
	GenerateS     float64 `json:"generate_s"`
	LatencyAlerts int     `json:"latency_alerts"`
}

// Herald is what was measured of the agent.
type Herald struct {
	Binary      string  `json:"binary"`
	BuildS      float64 `json:"build_s,omitempty"`
	FirstAlertS float64 `json:"first_alert_s"`
	CatchUpS    float64 `json:"catch_up_s"`
	CatchUpCPUS float64 `json:"catch_up_cpu_s"`
	// AgentCatchUpCPUS is the agent process's share of CatchUpCPUS.
	AgentCatchUpCPUS  float64 `json:"agent_catch_up_cpu_s"`
	BaselineAgentCPUS float64 `json:"baseline_agent_cpu_s"`
	// AgentCPUPerAlertUS is (AgentCatchUpCPUS − BaselineAgentCPUS) divided by
	// the alerts beyond the baseline's one: the agent's marginal CPU per
	// alert. CPUPerAlertUS is the same for the agent and its plugins.
	AgentCPUPerAlertUS float64 `json:"agent_cpu_per_alert_us"`
	CPUPerAlertUS      float64 `json:"cpu_per_alert_us"`
	// CatchUpPSSBytes and CatchUpAnonBytes are the highest sums over the
	// process tree of one memory sample during catch-up (every 50 ms).
	CatchUpPSSBytes  int64 `json:"catch_up_pss_bytes"`
	CatchUpAnonBytes int64 `json:"catch_up_anon_bytes"`
	MemorySamples    int   `json:"memory_samples"`
	// OpenPSSBytes and OpenAnonBytes are the tree's sums after the latency
	// phase and the settle pause, with OpenAlerts alerts open.
	OpenAlerts    int   `json:"open_alerts"`
	OpenPSSBytes  int64 `json:"open_pss_bytes"`
	OpenAnonBytes int64 `json:"open_anon_bytes"`
	// StateBytes is the size of every file under data_dir at the end of
	// catch-up; StateBytesPerAlert divides it by the alerts.
	StateBytes         int64     `json:"state_bytes"`
	StateBytesPerAlert float64   `json:"state_bytes_per_alert"`
	RowsPerS           float64   `json:"rows_per_s"`
	MBPerS             float64   `json:"mb_per_s"`
	LatencyMS          Latency   `json:"latency_ms"`
	IdleS              float64   `json:"idle_s"`
	IdleCPUS           float64   `json:"idle_cpu_s"`
	IdleCPUPct         float64   `json:"idle_cpu_pct"`
	IdleEvents         int       `json:"idle_events"`
	Processes          []Process `json:"processes"`
	StopS              float64   `json:"stop_s"`
	StopKilled         bool      `json:"stop_killed,omitempty"`
	PerfReport         string    `json:"perf_report,omitempty"`
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
	// The highest PSS and anonymous memory of the process during catch-up,
	// and both with every alert open (see Herald).
	CatchUpPSSBytes  int64 `json:"catch_up_pss_bytes,omitempty"`
	CatchUpAnonBytes int64 `json:"catch_up_anon_bytes,omitempty"`
	OpenPSSBytes     int64 `json:"open_pss_bytes,omitempty"`
	OpenAnonBytes    int64 `json:"open_anon_bytes,omitempty"`
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

// Budgets of the issue "Fast and light: benchmarks and the performance
// budget" (#14).
const (
	budgetRows        = 1_000_000
	budgetRate        = 0.01 // the failure rate the absolute catch-up and memory budgets are for
	budgetCatchUp     = 1.5  // seconds, for budgetRows rows at budgetRate
	budgetRatio       = 0.5  // of syslog-ng's catch-up, at every rate
	budgetPerAlertMin = 10_000
	budgetCPUPerAlert = 40.0  // µs of agent CPU, at budgetPerAlertMin alerts and more
	budgetStateAlert  = 400.0 // bytes on disk per open alert, likewise
	budgetCatchUpPSS  = 40.0  // MiB, agent + plugins, during catch-up at budgetRate
	budgetOpenAlerts  = 100_000
	budgetOpenPSS     = 100.0 // MiB, agent + plugins, with budgetOpenAlerts open
	budgetAgentAnon   = 12.0  // MiB, during catch-up at budgetRate
	budgetPluginAnon  = 6.0
	budgetP50         = 20.0 // ms
	budgetP99         = 100.0
	budgetIdlePct     = 0.1 // % of one core, exclusive
)

// judge fills r.Budget from the measurements. A budget that is not for this
// run's size or rate is a SKIP that still shows the value.
func (r *Results) judge() {
	h, wl := &r.Herald, &r.Workload
	atRate := wl.Rows == budgetRows && wl.FailureRate == budgetRate
	judged := func(v Verdict, applies bool, ok bool, why string) Verdict {
		if applies {
			v.Result = passMiss(ok)
		} else {
			v.Result, v.Note = "SKIP", why
		}
		return v
	}
	rateWhy := fmt.Sprintf("the budget is for %d rows at %g %%", budgetRows, 100*budgetRate)
	r.Budget = append(r.Budget, judged(Verdict{Name: "catch-up", Value: h.CatchUpS, Unit: "s", Budget: fmt.Sprintf("≤ %.1f s", budgetCatchUp)},
		atRate, h.CatchUpS <= budgetCatchUp, rateWhy))

	v := Verdict{Name: "catch-up / syslog-ng's", Unit: "×", Budget: fmt.Sprintf("≤ %.1f×", budgetRatio)}
	if p := r.SyslogNG; p != nil {
		v.Value, v.Result = p.Ratio, passMiss(p.Ratio <= budgetRatio)
		v.Note = fmt.Sprintf("syslog-ng %.2f s", p.CatchUpS)
	} else {
		v.Result, v.Note = "SKIP", r.SyslogNGSkipped
	}
	r.Budget = append(r.Budget, v)

	perAlert := wl.Alerts >= budgetPerAlertMin
	perAlertWhy := fmt.Sprintf("the budget is for %d alerts and more", budgetPerAlertMin)
	r.Budget = append(r.Budget,
		judged(Verdict{Name: "agent CPU per alert", Value: h.AgentCPUPerAlertUS, Unit: "µs", Budget: fmt.Sprintf("≤ %.0f µs", budgetCPUPerAlert),
			Note: fmt.Sprintf("agent and plugins %.1f µs", h.CPUPerAlertUS)}, perAlert, h.AgentCPUPerAlertUS <= budgetCPUPerAlert, perAlertWhy),
		judged(Verdict{Name: "state per open alert", Value: h.StateBytesPerAlert, Unit: "B", Budget: fmt.Sprintf("≤ %.0f B", budgetStateAlert),
			Note: fmt.Sprintf("%.1f MiB for %d alerts", mib(h.StateBytes), wl.Alerts)}, perAlert, h.StateBytesPerAlert <= budgetStateAlert, perAlertWhy),
		judged(Verdict{Name: "PSS agent+plugins, catch-up", Value: mib(h.CatchUpPSSBytes), Unit: "MiB", Budget: fmt.Sprintf("≤ %.0f MiB", budgetCatchUpPSS)},
			atRate, mib(h.CatchUpPSSBytes) <= budgetCatchUpPSS, rateWhy),
		judged(Verdict{Name: "PSS agent+plugins, alerts open", Value: mib(h.OpenPSSBytes), Unit: "MiB", Budget: fmt.Sprintf("≤ %.0f MiB", budgetOpenPSS),
			Note: fmt.Sprintf("%d open", h.OpenAlerts)}, h.OpenAlerts >= budgetOpenAlerts, mib(h.OpenPSSBytes) <= budgetOpenPSS, fmt.Sprintf("the budget is for %d open alerts", budgetOpenAlerts)),
	)
	for _, p := range h.Processes {
		anon := mib(p.CatchUpAnonBytes)
		if p.Role == "agent" {
			r.Budget = append(r.Budget, judged(Verdict{Name: "agent anonymous, catch-up", Value: anon, Unit: "MiB", Budget: fmt.Sprintf("≤ %.0f MiB", budgetAgentAnon)},
				atRate, anon <= budgetAgentAnon, rateWhy))
		} else {
			r.Budget = append(r.Budget, judged(Verdict{Name: "plugin anonymous, catch-up", Value: anon, Unit: "MiB", Budget: fmt.Sprintf("≤ %.0f MiB", budgetPluginAnon)},
				atRate, anon <= budgetPluginAnon, rateWhy))
		}
	}
	r.Budget = append(r.Budget,
		Verdict{Name: "idle CPU", Value: h.IdleCPUPct, Unit: "% of a core", Budget: fmt.Sprintf("< %.1f %%", budgetIdlePct), Result: passMiss(h.IdleCPUPct < budgetIdlePct),
			Note: fmt.Sprintf("%.2f CPU-s over %.0f s; resolution %.3f %%", h.IdleCPUS, h.IdleS, 100*0.01/math.Max(h.IdleS, 0.01))},
		Verdict{Name: "latency p50", Value: h.LatencyMS.P50, Unit: "ms", Budget: fmt.Sprintf("≤ %.0f ms", budgetP50), Result: passMiss(h.LatencyMS.P50 <= budgetP50)},
		Verdict{Name: "latency p99", Value: h.LatencyMS.P99, Unit: "ms", Budget: fmt.Sprintf("≤ %.0f ms", budgetP99), Result: passMiss(h.LatencyMS.P99 <= budgetP99)},
	)
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// rateLabel names a failure rate as a column head: "0.1 %".
func rateLabel(rate float64) string {
	return strconv.FormatFloat(100*rate, 'f', -1, 64) + " %"
}

// WriteTable prints the report for people: what each run measured, then one
// table of the budgets with a column per failure rate, then the checks.
func (rep *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nHerald benchmark, %s: %s/%s, %d CPUs, %s, load %s\n", rep.Started.Format(time.RFC3339), rep.Machine.OS, rep.Machine.Arch, rep.Machine.CPUs, rep.Machine.GoVersion, orDash(rep.Machine.LoadAvg))
	if bl := rep.Baseline; bl != nil {
		fmt.Fprintf(&b, "baseline: %d rows, no failures but the last row: caught up in %.3f s, agent CPU %.2f s (agent and plugins %.2f s)\n",
			bl.Rows, bl.CatchUpS, bl.AgentCPUS, bl.CPUS)
	}
	for _, r := range rep.Runs {
		if err := r.writeMeasured(&b); err != nil {
			return err
		}
	}

	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "BUDGET\tLIMIT")
	for _, r := range rep.Runs {
		fmt.Fprintf(tw, "\t%s", rateLabel(r.Workload.FailureRate))
	}
	fmt.Fprintln(tw, "\tNOTE")
	var names []string
	limit := map[string]string{}
	for _, r := range rep.Runs {
		for _, v := range r.Budget {
			if _, ok := limit[v.Name]; !ok {
				names = append(names, v.Name)
				limit[v.Name] = v.Budget
			}
		}
	}
	for _, name := range names {
		fmt.Fprintf(tw, "%s\t%s", name, limit[name])
		var notes []string
		for _, r := range rep.Runs {
			i := slices.IndexFunc(r.Budget, func(v Verdict) bool { return v.Name == name })
			if i < 0 {
				fmt.Fprint(tw, "\t-")
				continue
			}
			v := r.Budget[i]
			fmt.Fprintf(tw, "\t%s", v.cell())
			if v.Note != "" && v.Result != "SKIP" && !slices.Contains(notes, v.Note) {
				notes = append(notes, v.Note)
			}
		}
		fmt.Fprintf(tw, "\t%s\n", strings.Join(notes, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("(a value without PASS or MISS is measured but not what the budget is for)\n")

	for _, r := range rep.Runs {
		fmt.Fprintf(&b, "\nchecks at %s:\n", rateLabel(r.Workload.FailureRate))
		for _, c := range r.Checks {
			fmt.Fprintf(&b, "check %-4s %s: %s\n", map[bool]string{true: "ok", false: "FAIL"}[c.OK], c.Name, c.Got)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell is the verdict as a table cell: the value and PASS or MISS; a SKIP
// shows the value alone, or "-" without one.
func (v Verdict) cell() string {
	if v.Result == "SKIP" && v.Value == 0 {
		return "-"
	}
	num := fmt.Sprintf("%.3g", v.Value)
	if math.Abs(v.Value) >= 1000 {
		num = fmt.Sprintf("%.0f", v.Value) // not 5.24e+03
	}
	val := num + " " + v.Unit
	switch v.Unit {
	case "×":
		val = num + "×"
	case "% of a core":
		val = num + " %"
	}
	if v.Result == "SKIP" {
		return val
	}
	return val + " " + v.Result
}

// Failed reports whether a check of any run failed.
func (rep *Report) Failed() bool {
	return slices.ContainsFunc(rep.Runs, (*Results).Failed)
}

// WriteJSON writes the report to path.
func (rep *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// writeMeasured prints what one run measured.
func (r *Results) writeMeasured(b *strings.Builder) error {
	h, wl := &r.Herald, &r.Workload
	fmt.Fprintf(b, "\nfailure rate %s: %d rows + header (%.1f MB, %.0f B/row), %d alerts, %d rules, webhook format %s; %d latency alerts appended\n\n",
		rateLabel(wl.FailureRate), wl.Rows, float64(wl.Bytes)/1e6, float64(wl.Bytes)/math.Max(float64(wl.Rows), 1), wl.Alerts, wl.Rules, orDash(wl.Format), wl.LatencyAlerts)

	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
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
	fmt.Fprintf(tw, "agent CPU per alert\t%.1f µs\t\t(%.2f − baseline %.2f s) / %d alerts; with plugins %.1f µs\n",
		h.AgentCPUPerAlertUS, h.AgentCatchUpCPUS, h.BaselineAgentCPUS, wl.Alerts-1, h.CPUPerAlertUS)
	fmt.Fprintf(tw, "throughput\t%.0f rows/s, %.1f MB/s\t%s\t\n", h.RowsPerS, h.MBPerS, peer(func(p *Peer) string {
		return fmt.Sprintf("%.0f rows/s", float64(wl.Rows)/p.CatchUpS)
	}))
	fmt.Fprintf(tw, "first alert after start\t%.3f s\t\t\n", h.FirstAlertS)
	fmt.Fprintf(tw, "state on disk after catch-up\t%.1f MiB, %.0f B per alert\t\tevery file under data_dir\n", mib(h.StateBytes), h.StateBytesPerAlert)
	fmt.Fprintf(tw, "PSS, peak during catch-up\t%.1f MiB (anonymous %.1f)\t\tsum of %d processes, %d samples\n", mib(h.CatchUpPSSBytes), mib(h.CatchUpAnonBytes), len(h.Processes), h.MemorySamples)
	fmt.Fprintf(tw, "PSS with %d alerts open\t%.1f MiB (anonymous %.1f)\t\t\n", h.OpenAlerts, mib(h.OpenPSSBytes), mib(h.OpenAnonBytes))
	for _, p := range h.Processes {
		fmt.Fprintf(tw, "  %s\tcatch-up PSS %.1f, anon %.1f; open PSS %.1f, anon %.1f MiB\t\t%s\n", p.Role, mib(p.CatchUpPSSBytes), mib(p.CatchUpAnonBytes), mib(p.OpenPSSBytes), mib(p.OpenAnonBytes), p.Command)
	}
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
		fmt.Fprintf(b, "syslog-ng: skipped (%s)\n", r.SyslogNGSkipped)
	}
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
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
