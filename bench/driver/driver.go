// Package driver runs the whole-process benchmark of Herald: it builds the
// herald binary, generates a Qlik Sense scheduler log, runs the agent on it
// with 20 rules and the webhook sink pointed at a counting receiver, and
// measures catch-up time, append-to-POST latency, idle CPU and peak memory.
// When syslog-ng is installed it measures syslog-ng's catch-up on the same log
// with the same rules. See bench/README.md.
package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/bench/procstat"
	"github.com/heraldhq/herald/bench/qlikgen"
	"github.com/heraldhq/herald/bench/receiver"
)

// Options configure a run. Zero values take the defaults shown.
type Options struct {
	// Rows is the number of log rows (1,000,000); one in 100 is an alert.
	Rows int
	// Latency is how many alert rows are appended one at a time (200).
	Latency int
	// Idle is how long idle CPU is measured (30s).
	Idle time.Duration
	// Settle is the pause between the latency phase and the idle
	// measurement (3s).
	Settle time.Duration
	// Timeout bounds the catch-up of each program (15m); each latency alert
	// gets a tenth of it, at most 10s.
	Timeout time.Duration
	// Seed selects the generated log (1).
	Seed uint64
	// FailureRates are the shares of rows that are alerts ({0.01}). Each is a
	// run of its own, on its own log; the table has a column per rate.
	FailureRates []float64
	// Rules is the number of rules both programs get (20); see ruleTable.
	Rules int
	// Format is the webhook sink's format: FormatHerald (the default), one
	// request per event, or FormatAlertmanager, up to 100 alerts per request
	// as syslog-ng batches its lines.
	Format string
	// Repo is the module root herald is built from; by default the directory
	// above the working directory that holds Herald's go.mod.
	Repo string
	// Herald is a herald binary to use instead of building one.
	Herald string
	// SkipSyslogNG skips the syslog-ng comparison.
	SkipSyslogNG bool
	// SyslogNG is the syslog-ng executable ("syslog-ng", looked up in PATH).
	SyslogNG string
	// WorkDir holds the log, configs, state and process output. By default a
	// new temporary directory, removed at the end unless Keep is set.
	WorkDir string
	// Keep keeps WorkDir.
	Keep bool
	// Perf records a CPU profile of herald's catch-up with perf(1), when it is
	// installed, and keeps the report in WorkDir (implies Keep).
	Perf bool
	// Log receives progress; nil discards it.
	Log *slog.Logger

	specs []ruleSpec // the rule table, from Rules
}

func (o *Options) defaults() error {
	if o.Rows == 0 {
		o.Rows = 1_000_000
	}
	if o.Latency == 0 {
		o.Latency = 200
	}
	if o.Idle == 0 {
		o.Idle = 30 * time.Second
	}
	if o.Settle == 0 {
		o.Settle = 3 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Minute
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if len(o.FailureRates) == 0 {
		o.FailureRates = []float64{qlikgen.DefaultFailureRate}
	}
	if o.Rules == 0 {
		o.Rules = DefaultRules
	}
	switch o.Format {
	case "":
		o.Format = FormatHerald
	case FormatHerald, FormatAlertmanager:
	default:
		return fmt.Errorf("format %q: want %s or %s", o.Format, FormatHerald, FormatAlertmanager)
	}
	var err error
	if o.specs, err = ruleTable(o.Rules); err != nil {
		return err
	}
	for _, r := range o.FailureRates {
		g := qlikgen.Options{FailureRate: r}
		if err := g.Validate(); err != nil {
			return err
		}
		if n := g.Alerts(o.Rows); n < 2 {
			return fmt.Errorf("rows %d at failure rate %v give %d alerts: at least 2 are needed (the CPU per alert is measured against a run with one)", o.Rows, r, n)
		}
	}
	if o.SyslogNG == "" {
		o.SyslogNG = "syslog-ng"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Perf {
		o.Keep = true
	}
	switch {
	case o.Latency < 1:
		return fmt.Errorf("latency %d: at least one alert must be appended", o.Latency)
	case o.Idle < time.Second:
		return fmt.Errorf("idle %v: at least 1s is needed to measure CPU in 10ms ticks", o.Idle)
	}
	if !procstat.Supported() {
		return fmt.Errorf("the benchmark reads CPU and memory from /proc, which %s lacks: %w", runtime.GOOS, errors.ErrUnsupported)
	}
	return nil
}

// Run runs the benchmark: a baseline run without failures, then for each
// failure rate a run of herald and one of syslog-ng on the same log. It
// returns an error when the run could not be measured: a build, a process or
// the harness failed, or the alerts were not delivered in time. Budget misses
// and failed checks are in the Report.
func Run(ctx context.Context, o Options) (rep *Report, err error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	log := o.Log
	if o.WorkDir == "" {
		if o.WorkDir, err = os.MkdirTemp("", "herald-bench-"); err != nil {
			return nil, fmt.Errorf("work directory: %w", err)
		}
		if !o.Keep {
			defer os.RemoveAll(o.WorkDir)
		}
	} else if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	log.Info("work directory", "path", o.WorkDir, "kept", o.Keep)

	rep = &Report{Started: time.Now(), Machine: machine()}
	bin, buildS, err := prepareHerald(ctx, &o)
	if err != nil {
		return nil, err
	}
	if rep.Baseline, err = runBaseline(ctx, &o, bin); err != nil {
		return nil, err
	}
	for _, rate := range o.FailureRates {
		res, err := runRate(ctx, &o, bin, rate, rep.Baseline)
		if err != nil {
			return nil, fmt.Errorf("failure rate %v: %w", rate, err)
		}
		res.Herald.BuildS = buildS
		rep.Runs = append(rep.Runs, res)
	}
	return rep, nil
}

// runRate measures herald and syslog-ng on a log with the failure rate.
func runRate(ctx context.Context, o *Options, bin string, rate float64, base *Baseline) (*Results, error) {
	log := o.Log
	res := &Results{Started: time.Now(), Machine: machine()}
	res.Workload = Workload{Rows: o.Rows, FailureRate: rate, Rules: len(o.specs), Format: o.Format, Seed: o.Seed, LatencyAlerts: o.Latency}
	res.Herald.Binary = bin
	dir := filepath.Join(o.WorkDir, "rate-"+strconv.FormatFloat(rate, 'f', -1, 64))
	logPath, err := schedulerLog(dir)
	if err != nil {
		return nil, err
	}
	gen := qlikgen.New(qlikgen.Options{Seed: o.Seed, Host: "BENCH-NODE1", FailureRate: rate})
	t0 := time.Now()
	st, err := writeLog(logPath, gen, o.Rows, false)
	if err != nil {
		return nil, err
	}
	res.Workload.Bytes, res.Workload.Alerts, res.Workload.GenerateS = st.Bytes, st.Alerts, time.Since(t0).Seconds()
	log.Info("log generated", "path", logPath, "rate", rate, "rows", st.Rows, "alerts", st.Alerts, "bytes", st.Bytes, "took", time.Since(t0).Round(time.Millisecond))

	if err := runHerald(ctx, o, res, dir, logPath, gen); err != nil {
		return nil, err
	}
	h := &res.Herald
	h.BaselineAgentCPUS = base.AgentCPUS
	// The baseline read as many rows and raised one alert.
	h.AgentCPUPerAlertUS = 1e6 * (h.AgentCatchUpCPUS - base.AgentCPUS) / float64(res.Workload.Alerts-base.Alerts)
	h.CPUPerAlertUS = 1e6 * (h.CatchUpCPUS - base.CPUS) / float64(res.Workload.Alerts-base.Alerts)

	switch path, why := findSyslogNG(o); {
	case why != "":
		res.SyslogNGSkipped = why
		log.Info("syslog-ng comparison skipped", "why", why)
	default:
		peerLog := filepath.Join(dir, "syslog-ng", "qlik.log")
		if err := copyPrefix(peerLog, logPath, st.Bytes); err != nil {
			return nil, err
		}
		p, err := runSyslogNG(ctx, o, path, peerLog, res.Workload.Alerts)
		if err != nil {
			return nil, err
		}
		p.Ratio = res.Herald.CatchUpS / p.CatchUpS
		res.SyslogNG = p
	}
	res.judge()
	return res, nil
}

// runBaseline measures herald's catch-up of a log of as many rows without
// failures, but for one alert at its very end that says when it is read.
func runBaseline(ctx context.Context, o *Options, bin string) (*Baseline, error) {
	log := o.Log
	dir := filepath.Join(o.WorkDir, "baseline")
	logPath, err := schedulerLog(dir)
	if err != nil {
		return nil, err
	}
	gen := qlikgen.New(qlikgen.Options{Seed: o.Seed, Host: "BENCH-NODE1", NoAlerts: true})
	st, err := writeLog(logPath, gen, o.Rows, true)
	if err != nil {
		return nil, err
	}
	rcv, err := receiver.Start()
	if err != nil {
		return nil, err
	}
	defer rcv.Close()
	log.Info("starting herald for the baseline", "rows", st.Rows, "alerts", st.Alerts)
	p, live, cancel, err := launchHerald(ctx, o, bin, dir, logPath, rcv.URL("/baseline"))
	if err != nil {
		return nil, err
	}
	defer cancel(nil)
	defer p.stop(5 * time.Second)
	wctx, wcancel := context.WithTimeout(live, o.Timeout)
	last, err := rcv.WaitCount(wctx, st.Alerts)
	wcancel()
	if err != nil {
		return nil, fmt.Errorf("herald baseline catch-up: %w", err)
	}
	procs, err := procstat.Tree(p.pid())
	if err != nil {
		return nil, fmt.Errorf("herald baseline CPU: %w", err)
	}
	b := &Baseline{Rows: st.Rows, Bytes: st.Bytes, Alerts: st.Alerts, CatchUpS: last.At.Sub(p.start).Seconds(),
		AgentCPUS: procs[0].CPU.Seconds(), CPUS: procstat.TotalCPU(procs).Seconds()}
	log.Info("baseline caught up", "took", time.Duration(b.CatchUpS*float64(time.Second)).Round(time.Millisecond), "agent_cpu_s", b.AgentCPUS)
	p.stop(10 * time.Second)
	if !o.Keep {
		os.Remove(logPath)
	}
	return b, nil
}

// schedulerLog makes dir/logs and returns the path of the scheduler log in it.
func schedulerLog(dir string) (string, error) {
	logDir := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return "", err
	}
	return filepath.Join(logDir, "BENCH-NODE1_System_Scheduler.txt"), nil
}

// launchHerald writes herald's config and rules into dir and starts it on
// logPath with the webhook sink posting to url in o.Format. The context it
// returns ends when herald exits, so no wait outlives it.
func launchHerald(ctx context.Context, o *Options, bin, dir, logPath, url string) (*proc, context.Context, context.CancelCauseFunc, error) {
	dir = filepath.Join(dir, "herald-run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, nil, err
	}
	rulesPath, cfgPath := filepath.Join(dir, "rules.toml"), filepath.Join(dir, "herald.toml")
	cfg, err := heraldConfig(filepath.Join(dir, "data"), logPath, rulesPath, url, o.Format)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := os.WriteFile(rulesPath, []byte(heraldRules(o.specs)), 0o644); err != nil {
		return nil, nil, nil, err
	}
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, nil, nil, err
	}
	o.Log.Info("starting herald", "config", cfgPath)
	p, err := startProc("herald", filepath.Join(dir, "herald.out"), bin, "run", "--config", cfgPath)
	if err != nil {
		return nil, nil, nil, err
	}
	live, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-p.exited:
			cancel(p.exitErr())
		case <-live.Done():
		}
	}()
	return p, live, cancel, nil
}

// machine describes the host.
func machine() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// prepareHerald builds herald into the work directory, or checks the binary
// given.
func prepareHerald(ctx context.Context, o *Options) (bin string, buildS float64, err error) {
	if o.Herald != "" {
		abs, err := filepath.Abs(o.Herald)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			return "", 0, fmt.Errorf("herald binary: %w", err)
		}
		return abs, 0, nil
	}
	repo := o.Repo
	if repo == "" {
		if repo, err = findRepo(); err != nil {
			return "", 0, err
		}
	}
	bin = filepath.Join(o.WorkDir, "herald")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	o.Log.Info("building herald", "repo", repo)
	t0 := time.Now()
	// Built as releases are (internal/release): no cgo, no symbol table, so
	// the benchmark measures the binary administrators install.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/herald")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", 0, fmt.Errorf("go build ./cmd/herald in %s: %w\n%s", repo, err, out)
	}
	return bin, time.Since(t0).Seconds(), nil
}

// findRepo returns the nearest directory at or above the working directory
// whose go.mod declares Herald's module.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/heraldhq/herald\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no Herald module (go.mod of github.com/heraldhq/herald) at or above the working directory: run from the repository or pass -repo")
		}
		dir = parent
	}
}

// writeLog writes the header and rows rows of gen to path. With lastAlert,
// the last row is an alert whatever gen's rate.
func writeLog(path string, gen *qlikgen.Generator, rows int, lastAlert bool) (qlikgen.Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return qlikgen.Stats{}, err
	}
	var st qlikgen.Stats
	if lastAlert {
		st, err = qlikgen.Write(f, gen, rows-1)
		if err == nil {
			row, _ := gen.AppendAlert(nil)
			_, err = f.Write(row)
			st.Rows, st.Alerts, st.Bytes = st.Rows+1, st.Alerts+1, st.Bytes+int64(len(row))
		}
	} else {
		st, err = qlikgen.Write(f, gen, rows)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return st, fmt.Errorf("generate %s: %w", path, err)
	}
	return st, nil
}

// copyPrefix copies the first n bytes of src to dst: the log as it was before
// the latency alerts were appended.
func copyPrefix(dst, src string, n int64) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.CopyN(out, in, n)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy the log for syslog-ng: %w", err)
	}
	return nil
}

// runHerald measures the agent: catch-up, memory, state, latency, idle CPU,
// stop. Its files go under dir.
func runHerald(ctx context.Context, o *Options, res *Results, dir, logPath string, gen *qlikgen.Generator) error {
	log, h := o.Log, &res.Herald
	rcv, err := receiver.Start()
	if err != nil {
		return err
	}
	defer rcv.Close()

	p, live, cancel, err := launchHerald(ctx, o, h.Binary, dir, logPath, rcv.URL("/herald"))
	if err != nil {
		return err
	}
	defer cancel(nil)
	defer p.stop(5 * time.Second) // a no-op once stopped below
	mem := sampleMemory(p.pid())
	dataDir := filepath.Join(dir, "herald-run", "data")

	var perf *perfRecorder
	if o.Perf {
		if perf, err = startPerf(o.WorkDir, p.pid()); err != nil {
			log.Warn("no CPU profile", "err", err)
		}
	}

	// Catch-up: from process start to the last alert of the log.
	alerts := res.Workload.Alerts
	wctx, wcancel := context.WithTimeout(live, o.Timeout)
	last, err := rcv.WaitCount(wctx, alerts)
	wcancel()
	peak := mem.stop()
	if err != nil {
		return fmt.Errorf("herald catch-up: %w", err)
	}
	procs, err := procstat.Tree(p.pid())
	if err != nil {
		return fmt.Errorf("herald catch-up CPU: %w", err)
	}
	if perf != nil {
		if h.PerfReport, err = perf.stop(); err != nil {
			log.Warn("no CPU profile", "err", err)
		}
	}
	h.CatchUpS = last.At.Sub(p.start).Seconds()
	h.CatchUpCPUS = procstat.TotalCPU(procs).Seconds()
	h.AgentCatchUpCPUS = procs[0].CPU.Seconds()
	catchUp := procs
	h.CatchUpPSSBytes, h.CatchUpAnonBytes, h.MemorySamples = peak.sum.PSS, peak.sum.Anonymous, peak.n
	if h.StateBytes, err = dirSize(dataDir); err != nil {
		return fmt.Errorf("herald state size: %w", err)
	}
	h.StateBytesPerAlert = float64(h.StateBytes) / float64(alerts)
	h.FirstAlertS = rcv.Events()[0].At.Sub(p.start).Seconds()
	h.RowsPerS = float64(res.Workload.Rows) / h.CatchUpS
	h.MBPerS = float64(res.Workload.Bytes) / 1e6 / h.CatchUpS
	log.Info("herald caught up", "alerts", alerts, "took", time.Duration(h.CatchUpS*float64(time.Second)).Round(time.Millisecond))

	// Latency: one alert row at a time, each waiting for its POST.
	samples, err := measureLatency(live, o, rcv, logPath, gen)
	if err != nil {
		return err
	}
	h.LatencyMS = summarise(samples)
	log.Info("latency measured", "n", len(samples), "p50_ms", h.LatencyMS.P50, "p99_ms", h.LatencyMS.P99)

	// Idle: nothing is written; the agent should sleep.
	if err := sleep(live, o.Settle); err != nil {
		return fmt.Errorf("herald settle: %w", err)
	}
	before, err := procstat.Tree(p.pid())
	if err != nil {
		return fmt.Errorf("herald idle CPU: %w", err)
	}
	// Every alert is open now (nothing resolves them), and the agent is at rest.
	open, err := treeMemory(before)
	if err != nil {
		return fmt.Errorf("herald memory with open alerts: %w", err)
	}
	h.OpenAlerts = alerts + len(samples)
	h.OpenPSSBytes, h.OpenAnonBytes = procstat.TotalMemory(open).PSS, procstat.TotalMemory(open).Anonymous
	eventsBefore := rcv.Stats().Events
	t0 := time.Now()
	log.Info("measuring idle CPU", "for", o.Idle)
	if err := sleep(live, o.Idle); err != nil {
		return fmt.Errorf("herald idle: %w", err)
	}
	after, err := procstat.Tree(p.pid())
	if err != nil {
		return fmt.Errorf("herald idle CPU: %w", err)
	}
	h.IdleS = time.Since(t0).Seconds()
	h.IdleCPUS = cpuDelta(before, after).Seconds()
	h.IdleCPUPct = 100 * h.IdleCPUS / h.IdleS
	h.IdleEvents = rcv.Stats().Events - eventsBefore

	// Peak RSS is a high-water mark, so the end of the run is the time to read it.
	h.Processes = processes(after)
	for i, p := range after {
		hp := &h.Processes[i]
		hp.IdleCPUS = cpuDelta(before, []procstat.Proc{p}).Seconds()
		hp.CatchUpCPUS = cpuOf(catchUp, p.PID).Seconds()
		hp.CatchUpPSSBytes, hp.CatchUpAnonBytes = peak.procs[p.PID].PSS, peak.procs[p.PID].Anonymous
		if j := slices.IndexFunc(before, func(b procstat.Proc) bool { return b.PID == p.PID }); j >= 0 {
			hp.OpenPSSBytes, hp.OpenAnonBytes = open[j].PSS, open[j].Anonymous
		}
	}

	d, killed := p.stop(10 * time.Second)
	h.StopS, h.StopKilled = d.Seconds(), killed
	log.Info("herald stopped", "took", d.Round(time.Millisecond), "killed", killed)

	res.Checks = append(res.Checks, checkEvents(rcv, alerts+o.Latency)...)
	res.Checks = append(res.Checks,
		Check{Name: "no event while idle", OK: h.IdleEvents == 0, Got: fmt.Sprintf("%d events", h.IdleEvents)},
		Check{Name: "plugin processes unchanged while idle", OK: samePIDs(before, after), Got: fmt.Sprintf("%d → %d processes", len(before), len(after))},
		Check{Name: "herald exits on SIGTERM", OK: !killed, Got: fmt.Sprintf("in %.2f s%s", d.Seconds(), map[bool]string{true: ", killed after 10 s"}[killed])},
	)
	return nil
}

// measureLatency appends o.Latency alert rows to the log, one at a time, and
// returns the milliseconds from each write to the arrival of its event.
func measureLatency(ctx context.Context, o *Options, rcv *receiver.Receiver, logPath string, gen *qlikgen.Generator) ([]float64, error) {
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	defer f.Close()
	per := min(o.Timeout/10, 10*time.Second)
	samples := make([]float64, 0, o.Latency)
	var buf []byte
	for i := range o.Latency {
		var alert qlikgen.Alert
		buf, alert = gen.AppendAlert(buf[:0])
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			return nil, fmt.Errorf("latency: append alert %d: %w", i+1, err)
		}
		wctx, cancel := context.WithTimeout(ctx, per)
		ev, err := rcv.WaitKey(wctx, alert.TaskID)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("latency: alert %d of %d: %w", i+1, o.Latency, err)
		}
		samples = append(samples, float64(ev.At.Sub(t0))/float64(time.Millisecond))
	}
	return samples, nil
}

// checkEvents checks that exactly want events arrived, one per key, all
// firing alerts of the failed-reload rule.
func checkEvents(rcv *receiver.Receiver, want int) []Check {
	st := rcv.Stats()
	var other int
	for _, e := range rcv.Events() {
		if e.Status != "firing" || e.Rule != failedRule {
			other++
		}
	}
	return []Check{
		{Name: "every alert delivered once", OK: st.Events == want && st.Keys == want && st.Duplicates == 0,
			Got: fmt.Sprintf("%d events, %d distinct keys, %d duplicates; want %d", st.Events, st.Keys, st.Duplicates, want)},
		{Name: "only firing " + failedRule + " events", OK: other == 0, Got: fmt.Sprintf("%d other events", other)},
		{Name: "receiver accepted every request", OK: st.Refused == 0, Got: fmt.Sprintf("%d of %d refused %s", st.Refused, st.Requests, strings.Join(st.Problems, "; "))},
	}
}

// cpuDelta is the CPU the processes used between two snapshots; a process in
// only one of them counts with what it has in the later one.
func cpuDelta(before, after []procstat.Proc) time.Duration {
	was := make(map[int]time.Duration, len(before))
	for _, p := range before {
		was[p.PID] = p.CPU
	}
	var d time.Duration
	for _, p := range after {
		d += p.CPU - was[p.PID]
	}
	return d
}

// cpuOf is the CPU time process pid had used in procs (0 if it is not there).
func cpuOf(procs []procstat.Proc, pid int) time.Duration {
	for _, p := range procs {
		if p.PID == pid {
			return p.CPU
		}
	}
	return 0
}

func samePIDs(a, b []procstat.Proc) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].PID != b[i].PID {
			return false
		}
	}
	return true
}

// processes describes a process tree for the results: the root is the agent,
// the rest its plugins.
func processes(procs []procstat.Proc) []Process {
	out := make([]Process, len(procs))
	for i, p := range procs {
		role := "plugin"
		if i == 0 {
			role = "agent"
		}
		cmd := p.Name
		if f := strings.Fields(cmd); len(f) > 0 {
			f[0] = filepath.Base(f[0])
			cmd = strings.Join(f, " ")
		}
		out[i] = Process{PID: p.PID, Role: role, Command: cmd, PeakRSSBytes: p.PeakRSS, AnonBytes: p.RSSAnon, FileBytes: p.RSSFile}
	}
	return out
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// findSyslogNG returns syslog-ng's path, or why the comparison is skipped.
func findSyslogNG(o *Options) (path, why string) {
	if o.SkipSyslogNG {
		return "", "-skip-syslog-ng"
	}
	path, err := exec.LookPath(o.SyslogNG)
	if err != nil {
		return "", fmt.Sprintf("%s is not installed; bench/setup.sh installs it", o.SyslogNG)
	}
	return path, ""
}

// runSyslogNG measures syslog-ng's catch-up on logPath with the same rules.
func runSyslogNG(ctx context.Context, o *Options, bin, logPath string, alerts int) (*Peer, error) {
	log := o.Log
	rcv, err := receiver.Start()
	if err != nil {
		return nil, err
	}
	defer rcv.Close()
	dir := filepath.Dir(logPath)
	cfgPath := filepath.Join(dir, "syslog-ng.conf")
	if err := os.WriteFile(cfgPath, []byte(syslogNGConfig(logPath, rcv.URL("/syslog-ng"), o.specs)), 0o644); err != nil {
		return nil, err
	}
	peer := &Peer{}
	if out, err := exec.CommandContext(ctx, bin, "--version").Output(); err == nil {
		peer.Version, _, _ = strings.Cut(string(out), "\n")
	}
	log.Info("starting syslog-ng", "config", cfgPath)
	p, err := startProc("syslog-ng", filepath.Join(dir, "syslog-ng.out"), bin, "-F", "--no-caps",
		"-f", cfgPath, "-R", filepath.Join(dir, "syslog-ng.persist"),
		"-p", filepath.Join(dir, "syslog-ng.pid"), "-c", filepath.Join(dir, "syslog-ng.ctl"))
	if err != nil {
		return nil, err
	}
	defer p.stop(5 * time.Second)
	live, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-p.exited:
			cancel(p.exitErr())
		case <-live.Done():
		}
	}()
	wctx, wcancel := context.WithTimeout(live, o.Timeout)
	last, err := rcv.WaitCount(wctx, alerts)
	wcancel()
	if err != nil {
		return nil, fmt.Errorf("syslog-ng catch-up: %w", err)
	}
	procs, err := procstat.Tree(p.pid())
	if err != nil {
		return nil, fmt.Errorf("syslog-ng CPU: %w", err)
	}
	peer.CatchUpS = last.At.Sub(p.start).Seconds()
	peer.CatchUpCPUS = procstat.TotalCPU(procs).Seconds()
	peer.Processes = processes(procs)
	log.Info("syslog-ng caught up", "alerts", alerts, "took", time.Duration(peer.CatchUpS*float64(time.Second)).Round(time.Millisecond))
	p.stop(10 * time.Second)
	if st := rcv.Stats(); st.Events != alerts || st.Keys != alerts {
		return nil, fmt.Errorf("syslog-ng delivered %d events with %d distinct TaskIds, want %d: its filters do not match the rules (config %s)", st.Events, st.Keys, alerts, cfgPath)
	}
	return peer, nil
}
