// Command benchdriver runs Herald's whole-process benchmark and prints the
// results against the performance budget:
//
//	go run ./bench/cmd/benchdriver                          # 1,000,000 rows, 1 % failures, 30 s idle window
//	go run ./bench/cmd/benchdriver -rates 0.001,0.01,0.1    # the README's table: a column per failure rate
//	go run ./bench/cmd/benchdriver -smoke                   # 20,000 rows, a few seconds
//
// It exits 1 when the run could not be measured (a build or process failed,
// alerts did not arrive, or arrived wrong) and 0 otherwise, budget misses
// included. See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/heraldhq/herald/bench/driver"
	"github.com/heraldhq/herald/bench/qlikgen"
)

func main() {
	var o driver.Options
	flag.IntVar(&o.Rows, "lines", 1_000_000, "log rows to generate")
	rate := flag.Float64("failure-rate", qlikgen.DefaultFailureRate, "share of rows that are failed reloads, each raising an alert")
	rates := flag.String("rates", "", "comma-separated failure rates, each a run of its own, e.g. 0.001,0.01,0.1 (overrides -failure-rate)")
	flag.IntVar(&o.Rules, "rules", driver.DefaultRules, "rules both herald and syslog-ng get (at least 3; beyond 20 they are generated)")
	flag.StringVar(&o.Format, "format", driver.FormatHerald, "the webhook sink's format: herald (a request per event) or alertmanager (up to 100 alerts per request, as syslog-ng batches)")
	flag.IntVar(&o.Latency, "latency", 200, "alert rows appended one at a time for the latency measurement")
	flag.DurationVar(&o.Idle, "idle", 30*time.Second, "how long idle CPU is measured")
	flag.DurationVar(&o.Settle, "settle", 3*time.Second, "pause before the idle measurement")
	flag.DurationVar(&o.Timeout, "timeout", 15*time.Minute, "longest wait for a catch-up")
	flag.Uint64Var(&o.Seed, "seed", 1, "seed of the generated log")
	flag.StringVar(&o.Repo, "repo", "", "Herald repository to build from (default: found above the working directory)")
	flag.StringVar(&o.Herald, "herald", "", "use this herald binary instead of building one")
	flag.BoolVar(&o.SkipSyslogNG, "skip-syslog-ng", false, "skip the syslog-ng comparison")
	flag.StringVar(&o.SyslogNG, "syslog-ng", "syslog-ng", "syslog-ng executable")
	flag.StringVar(&o.WorkDir, "workdir", "", "directory for the log, configs and state (default: a new temporary directory)")
	flag.BoolVar(&o.Keep, "keep", false, "keep the work directory")
	flag.BoolVar(&o.Perf, "perf", false, "profile herald's catch-up with perf(1) and keep the report (implies -keep)")
	jsonPath := flag.String("json", filepath.Join(os.TempDir(), "herald-bench-results.json"), "write the results as JSON here (empty: don't)")
	smoke := flag.Bool("smoke", false, "a quick run: -lines 20000 -latency 20 -idle 2s -settle 500ms unless set")
	quiet := flag.Bool("q", false, "no progress messages")
	flag.Parse()

	if *smoke {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["lines"] {
			o.Rows = 20_000
		}
		if !set["latency"] {
			o.Latency = 20
		}
		if !set["idle"] {
			o.Idle = 2 * time.Second
		}
		if !set["settle"] {
			o.Settle = 500 * time.Millisecond
		}
	}
	o.FailureRates = []float64{*rate}
	if *rates != "" {
		o.FailureRates = nil
		for f := range strings.SplitSeq(*rates, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				fmt.Fprintf(os.Stderr, "benchdriver: -rates %q: %q is not a number\n", *rates, f)
				os.Exit(2)
			}
			o.FailureRates = append(o.FailureRates, r)
		}
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := driver.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdriver:", err)
		os.Exit(1)
	}
	if err := res.WriteTable(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchdriver:", err)
		os.Exit(1)
	}
	if *jsonPath != "" {
		if err := res.WriteJSON(*jsonPath); err != nil {
			fmt.Fprintln(os.Stderr, "benchdriver:", err)
			os.Exit(1)
		}
		fmt.Printf("\nresults: %s\n", *jsonPath)
	}
	if res.Failed() {
		fmt.Fprintln(os.Stderr, "benchdriver: a check failed: the numbers above are not a valid measurement")
		os.Exit(1)
	}
}
