package webhook

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/cputime"
	"github.com/heraldhq/herald/plugins/host"
	"github.com/heraldhq/herald/plugins/sdk"
)

// receiverEnv makes the test binary a benchmark receiver instead of running
// tests (see TestMain): the value is how long it waits before answering.
const receiverEnv = "WEBHOOK_BENCH_RECEIVER_DELAY"

// pluginEnv makes the test binary serve the webhook sink as a plugin, as
// `herald plugin serve webhook` does.
const pluginEnv = "WEBHOOK_BENCH_PLUGIN"

func TestMain(m *testing.M) {
	if d, ok := os.LookupEnv(receiverEnv); ok {
		os.Exit(serveBenchReceiver(d))
	}
	if os.Getenv(pluginEnv) != "" {
		sdk.Serve(New())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveBenchReceiver answers every request with 204 after delay, prints its
// address, serves /conns (connections opened so far) and exits when stdin
// closes, so it never outlives the benchmark.
func serveBenchReceiver(delay string) int {
	d, err := time.ParseDuration(delay)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var conns atomic.Int64
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/conns" {
				_, _ = io.WriteString(w, strconv.FormatInt(conns.Load(), 10))
				return
			}
			_, _ = io.Copy(io.Discard, r.Body)
			time.Sleep(d) // the receiver's own latency, not synchronisation
			w.WriteHeader(http.StatusNoContent)
		}),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println(ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// startBenchReceiver runs a receiver in a child process, so that the
// benchmark's CPU time and allocations are the sink's alone, as in the
// plugin process. It returns the receiver's base URL.
func startBenchReceiver(b *testing.B, delay time.Duration) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), receiverEnv+"="+delay.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("benchmark receiver: %v", err)
	}
	return "http://" + strings.TrimSpace(addr)
}

// receiverConns asks the receiver how many connections it has accepted.
func receiverConns(b *testing.B, base string) int {
	b.Helper()
	resp, err := http.Get(base + "/conns")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	n, err := strconv.Atoi(string(text))
	if err != nil {
		b.Fatalf("receiver /conns: %q", text)
	}
	return n - 1 // this request's own connection
}

// BenchmarkSend sends batches of 100 events (of 100 alerts, as the
// dispatcher batches them) to a receiver in another process that answers at
// once ("local") or after 2 ms, as one across a network would ("2ms"), with
// 1 (sequential) to 16 requests in flight. Run it as the plugin runs, with
// one P:
//
//	go test -run XXX -bench Send -cpu 1 ./sinks/webhook/
//
// ns/event is wall time per event; cpu-ns/event (Unix only) is this
// process's CPU time per event: the sink, net/http, and the GC.
func BenchmarkSend(b *testing.B) {
	events := benchEvents()
	for _, rc := range []struct {
		name  string
		delay time.Duration
	}{{"local", 0}, {"2ms", 2 * time.Millisecond}} {
		base := startBenchReceiver(b, rc.delay)
		for _, conc := range benchConcurrency {
			b.Run(fmt.Sprintf("%s/concurrency=%d", rc.name, conc), func(b *testing.B) {
				s, _ := configure(b, map[string]any{"url": base + "/hook", "concurrency": conc})
				before := receiverConns(b, base)
				sendAll(b, s, events)
				// net/http may dial a spare connection when a request finds
				// none idle for a moment; one per request would be churn.
				if opened := receiverConns(b, base) - before; opened > 2*conc {
					b.Errorf("%d connections opened for %d requests, at most %d in flight: they are not kept alive",
						opened, b.N*len(events), conc)
				}
			})
		}
	}
}

var benchConcurrency = []int{1, 2, 4, 8, 16}

// BenchmarkPlugin sends batches of 100 events through the whole path the
// agent uses: plugins/host to a plugin process running the sink (this test
// binary, re-executed, with the settings the agent gives plugins), which
// sends them, 8 at a time, to a receiver in a third process that answers at
// once. Run it as
//
//	go test -run XXX -bench Plugin ./sinks/webhook/
//
// ns/event is wall time per event; plugin-cpu-ns/event (Linux only) is the
// plugin process's CPU time per event: decoding the batches, the sink,
// net/http, the Go runtime, the kernel's share of its syscalls. Its
// resolution is the kernel's clock tick, so give it a second or more.
func BenchmarkPlugin(b *testing.B) {
	base := startBenchReceiver(b, 0)
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	p, err := host.Start(context.Background(), host.Spec{Name: "bench", Command: []string{self}, Env: []string{pluginEnv + "=1"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	if err := p.Configure(context.Background(), []byte(`{"url": "`+base+`/hook", "concurrency": 8}`)); err != nil {
		b.Fatal(err)
	}
	events := benchEvents()
	cpu0, cpuOK := pidCPU(p.Pid())
	for b.Loop() {
		results, err := p.Send(context.Background(), events)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range results {
			if r.Outcome != sdk.Accepted {
				b.Fatalf("event %d: %+v", i, r)
			}
		}
	}
	n := float64(b.N * len(events))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
	if cpu1, _ := pidCPU(p.Pid()); cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/n, "plugin-cpu-ns/event")
	}
}

// BenchmarkSendAlertmanager is BenchmarkSend in the alertmanager format,
// which carries the batch's 100 alerts in one request:
//
//	go test -run XXX -bench SendAlertmanager -cpu 1 ./sinks/webhook/
func BenchmarkSendAlertmanager(b *testing.B) {
	events := benchEvents()
	base := startBenchReceiver(b, 0)
	s, _ := configure(b, map[string]any{"url": base + "/hook", "format": "alertmanager", "max_alerts": 100})
	sendAll(b, s, events)
}

// benchEvents is a batch of 100 events of 100 alerts, as the dispatcher
// batches them.
func benchEvents() []sdk.Event {
	events := make([]sdk.Event, 100)
	for i := range events {
		events[i] = qlikEvent()
		events[i].ID = fmt.Sprintf("01J8Z6V7Q3ZK5W2N8M4R6T%04d", i)
		events[i].Key = fmt.Sprintf("bfa83a7b-f6ef-4af4-a817-a3a68969%04d", i)
	}
	return events
}

// sendAll sends events with s until the benchmark is done, each batch
// accepted in full, and reports wall and CPU time per event (the latter on
// Unix only).
func sendAll(b *testing.B, s *Sink, events []sdk.Event) {
	b.Helper()
	s.log = slog.New(slog.DiscardHandler) // as in the plugin, below its log level
	cpu0, cpuOK := cputime.Self()
	b.ReportAllocs()
	for b.Loop() {
		for i, r := range s.Send(context.Background(), events) {
			if r.Outcome != sdk.Accepted {
				b.Fatalf("event %d: %+v", i, r)
			}
		}
	}
	n := float64(b.N * len(events))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
	if cpu1, _ := cputime.Self(); cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/n, "cpu-ns/event")
	}
}
