// Command qlikgen writes a synthetic Qlik Sense scheduler trace log, the same
// one the benchmark driver generates, for use with other tools:
//
//	go run ./bench/cmd/qlikgen -rows 1000000 -o /tmp/QS-NODE1_System_Scheduler.txt
//
// A share of the rows (-failure-rate, default 0.01: one in 100) is a failed
// reload of a task of its own, so the file raises floor(rows × rate) alerts
// with the qliksense rule pack. The same -seed and rate give the same bytes.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/heraldhq/herald/bench/qlikgen"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "data rows to write (the header line comes on top)")
	seed := flag.Uint64("seed", 1, "random seed; the same seed gives the same file")
	host := flag.String("host", "QS-NODE1", "value of the Hostname column")
	out := flag.String("o", "", "output file (default: standard output)")
	rate := flag.Float64("failure-rate", qlikgen.DefaultFailureRate, "share of rows that are failed reloads (alerts), above 0 and at most 1")
	flag.Parse()
	if err := run(*rows, qlikgen.Options{Seed: *seed, Host: *host, FailureRate: *rate}, *out); err != nil {
		fmt.Fprintln(os.Stderr, "qlikgen:", err)
		os.Exit(1)
	}
}

func run(rows int, o qlikgen.Options, out string) error {
	if rows < 0 {
		return fmt.Errorf("-rows %d: must not be negative", rows)
	}
	if err := o.Validate(); err != nil {
		return fmt.Errorf("-failure-rate: %w", err)
	}
	w := os.Stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	st, err := qlikgen.Write(w, qlikgen.New(o), rows)
	if err != nil {
		return err
	}
	if out != "" {
		if err := w.Close(); err != nil {
			return fmt.Errorf("close %s: %w", out, err)
		}
		fmt.Fprintf(os.Stderr, "%s: %d rows, %d alerts, %d bytes\n", out, st.Rows, st.Alerts, st.Bytes)
	}
	return nil
}
