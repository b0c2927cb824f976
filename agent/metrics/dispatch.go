package metrics

import (
	"context"
	"io"
	"time"

	"github.com/heraldhq/herald/agent/dispatch"
	"github.com/heraldhq/herald/plugins/sdk"
)

// Dispatch returns an observer that records what dispatchers report: events
// sent by outcome, retries, plugin restarts and outbox depth. Pass it as
// dispatch.Config.Observer; one observer serves every sink.
//
// It also keeps herald_plugins_up: a restart attempt marks the sink's plugin
// down, and events answered by the sink mark it up again.
func (m *Metrics) Dispatch() dispatch.Observer { return observer{m} }

type observer struct{ m *Metrics }

func (o observer) Sent(sink string, outcome sdk.Outcome, n int) {
	s := o.m.Sink(sink)
	if c := s.Sent(outcome); c != nil {
		c.Add(float64(n))
	}
	s.SetUp(true)
}

func (o observer) Retry(sink string) { o.m.Sink(sink).Retries.Inc() }

func (o observer) Restart(sink string) {
	s := o.m.Sink(sink)
	s.Restarts.Inc()
	s.SetUp(false)
}

func (o observer) Depth(sink string, n int) { o.m.Sink(sink).Depth.Set(float64(n)) }

// InstrumentSender wraps the sender that a dispatcher's Connect returns, to
// time each send (herald_send_duration_seconds) and count sends that failed in
// transport (herald_send_errors_total): the dispatcher's Observer does not see
// either. A transport failure marks the plugin down, a successful send up. A
// send cut short because ctx ended (the agent is stopping) is not counted.
//
// The wrapper closes the wrapped sender when it is an io.Closer, so the
// dispatcher still shuts the plugin down before reconnecting.
func (m *Metrics) InstrumentSender(sink string, s dispatch.Sender) dispatch.Sender {
	return &sender{next: s, m: m.Sink(sink)}
}

type sender struct {
	next dispatch.Sender
	m    *SinkMetrics
}

// Send implements dispatch.Sender.
func (s *sender) Send(ctx context.Context, events []sdk.Event) ([]sdk.Result, error) {
	start := time.Now()
	results, err := s.next.Send(ctx, events)
	if ctx.Err() != nil && err != nil {
		return results, err
	}
	s.m.SendDuration.Observe(time.Since(start).Seconds())
	// The dispatcher treats a wrong number of answers as a plugin failure too.
	if err != nil || len(results) != len(events) {
		s.m.SendErrors.Inc()
		s.m.SetUp(false)
	} else {
		s.m.SetUp(true)
	}
	return results, err
}

// Close closes the wrapped sender if it is an io.Closer.
func (s *sender) Close() error {
	if c, ok := s.next.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
