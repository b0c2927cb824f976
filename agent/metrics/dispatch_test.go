package metrics

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/heraldhq/herald/agent/dispatch"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// scriptedSender answers each Send with the next step of a script.
type scriptedSender struct {
	steps  []func(events []sdk.Event) ([]sdk.Result, error)
	closed int
}

func (s *scriptedSender) Send(_ context.Context, events []sdk.Event) ([]sdk.Result, error) {
	step := s.steps[0]
	s.steps = s.steps[1:]
	return step(events)
}

func (s *scriptedSender) Close() error { s.closed++; return nil }

// TestDispatchObserver runs a real dispatcher over a real outbox with the
// observer and the instrumented sender, through a plugin crash, a retryable
// answer and a rejection, and checks what a scrape shows.
func TestDispatchObserver(t *testing.T) {
	m, reg := newTest(t)
	store, err := state.Open(filepath.Join(t.TempDir(), "herald.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	err = store.Update(func(tx *state.Tx) error {
		for _, key := range []string{"a", "b", "c"} {
			if _, err := tx.Enqueue("pager", sdk.Event{ID: "ev-" + key, Rule: "reload-failed", Key: key, Status: sdk.StatusFiring}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	crashing := &scriptedSender{steps: []func([]sdk.Event) ([]sdk.Result, error){
		func([]sdk.Event) ([]sdk.Result, error) { return nil, errors.New("plugin exited") },
	}}
	healthy := &scriptedSender{steps: []func([]sdk.Event) ([]sdk.Result, error){
		func(events []sdk.Event) ([]sdk.Result, error) {
			if len(events) != 3 {
				t.Errorf("first batch has %d events, want 3", len(events))
			}
			return []sdk.Result{sdk.Accept(""), sdk.Reject("bad request"), sdk.Retry("rate limited", time.Time{})}, nil
		},
		func(events []sdk.Event) ([]sdk.Result, error) {
			cancel() // the outbox is empty after this batch: end Run
			return []sdk.Result{sdk.Accept("")}, nil
		},
	}}
	senders := []*scriptedSender{crashing, healthy}
	m.Sink("pager").SetUp(true) // as the agent does once the plugin started

	d := dispatch.New(dispatch.Config{
		Sink:  "pager",
		Store: store,
		Connect: func(context.Context) (dispatch.Sender, error) {
			s := senders[0]
			senders = senders[1:]
			return m.InstrumentSender("pager", s), nil
		},
		NewBackOff: func() backoff.BackOff { return &backoff.ZeroBackOff{} },
		Observer:   m.Dispatch(),
	})
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}

	const want = `
# HELP herald_sent_total Events sent to a sink, by the sink's answer: accepted, retryable or rejected.
# TYPE herald_sent_total counter
herald_sent_total{outcome="accepted",sink="pager"} 2
herald_sent_total{outcome="rejected",sink="pager"} 1
herald_sent_total{outcome="retryable",sink="pager"} 1
# HELP herald_send_errors_total Sends to a sink that failed in transport (the plugin died or answered nonsense), so no answer is known.
# TYPE herald_send_errors_total counter
herald_send_errors_total{sink="pager"} 1
# HELP herald_retries_total Waits before resending a batch to a sink that answered retryable.
# TYPE herald_retries_total counter
herald_retries_total{sink="pager"} 1
# HELP herald_plugin_restarts_total Attempts to restart a sink's plugin after it failed.
# TYPE herald_plugin_restarts_total counter
herald_plugin_restarts_total{sink="pager"} 1
# HELP herald_outbox_depth Events waiting in a sink's outbox.
# TYPE herald_outbox_depth gauge
herald_outbox_depth{sink="pager"} 0
# HELP herald_plugins_up Whether a sink's plugin is running (1) or failed and is being restarted (0).
# TYPE herald_plugins_up gauge
herald_plugins_up{sink="pager"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"herald_sent_total", "herald_send_errors_total", "herald_retries_total",
		"herald_plugin_restarts_total", "herald_outbox_depth", "herald_plugins_up"); err != nil {
		t.Error(err)
	}
	if n := sendCount(t, reg, "pager"); n != 3 {
		t.Errorf("send durations observed: %d, want 3 (one per send)", n)
	}
	if crashing.closed != 1 {
		t.Errorf("crashed plugin client closed %d times, want 1", crashing.closed)
	}
}

// TestInstrumentSender covers what the dispatcher test does not reach: a short
// answer counts as a failure, a send cancelled by shutdown counts as nothing,
// and a sender that is not an io.Closer is not closed.
func TestInstrumentSender(t *testing.T) {
	events := []sdk.Event{{ID: "1"}, {ID: "2"}}
	cases := []struct {
		name       string
		results    []sdk.Result
		err        error
		cancel     bool
		wantErrors float64
		wantSends  uint64
		wantUp     bool
	}{
		{"answered", []sdk.Result{sdk.Accept(""), sdk.Accept("")}, nil, false, 0, 1, true},
		{"transport error", nil, errors.New("connection reset"), false, 1, 1, false},
		{"short answer", []sdk.Result{sdk.Accept("")}, nil, false, 1, 1, false},
		{"cancelled at shutdown", nil, context.Canceled, true, 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, reg := newTest(t)
			m.Sink("pager").SetUp(true)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.cancel {
				cancel()
			}
			s := m.InstrumentSender("pager", senderFunc(func(context.Context, []sdk.Event) ([]sdk.Result, error) {
				return c.results, c.err
			}))
			if _, err := s.Send(ctx, events); !errors.Is(err, c.err) {
				t.Errorf("Send returned %v, want the wrapped sender's %v", err, c.err)
			}
			if got := testutil.ToFloat64(m.Sink("pager").SendErrors); got != c.wantErrors {
				t.Errorf("send errors %v, want %v", got, c.wantErrors)
			}
			if got := sendCount(t, reg, "pager"); got != c.wantSends {
				t.Errorf("send durations %d, want %d", got, c.wantSends)
			}
			if _, plugins := m.Up(); plugins["pager"] != c.wantUp {
				t.Errorf("plugin up = %v, want %v", plugins["pager"], c.wantUp)
			}
			if err := s.(interface{ Close() error }).Close(); err != nil {
				t.Errorf("Close of a sender that is no io.Closer: %v", err)
			}
		})
	}
}

type senderFunc func(context.Context, []sdk.Event) ([]sdk.Result, error)

func (f senderFunc) Send(ctx context.Context, events []sdk.Event) ([]sdk.Result, error) {
	return f(ctx, events)
}

// sendCount is the number of observations in the sink's send duration histogram.
func sendCount(t *testing.T, reg prometheus.Gatherer, sink string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "herald_send_duration_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			if labels(mt) == "sink="+sink {
				return mt.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}
