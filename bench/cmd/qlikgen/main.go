// Command qlikgen writes a synthetic Qlik Sense scheduler trace log, the same
// one the benchmark driver generates, for use with other tools:
//
//	go run ./bench/cmd/qlikgen -rows 1000000 -o /tmp/QS-NODE1_System_Scheduler.txt
//
// One row in 100 is a failed reload of a task of its own, so the file raises
// rows/100 alerts with the qliksense rule pack. The same -seed gives the same
// bytes.
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
	flag.Parse()
	if err := run(*rows, *seed, *host, *out); err != nil {
		fmt.Fprintln(os.Stderr, "qlikgen:", err)
		os.Exit(1)
	}
}

func run(rows int, seed uint64, host, out string) error {
	if rows < 0 {
		return fmt.Errorf("-rows %d: must not be negative", rows)
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
	st, err := qlikgen.Write(w, qlikgen.New(qlikgen.Options{Seed: seed, Host: host}), rows)
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
