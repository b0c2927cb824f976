// Package dispatch delivers the events waiting in a sink's outbox to the sink's
// plugin: one Dispatcher per sink, reading the outbox oldest first, sending
// batches, recording each event's outcome, backing off on retryable answers and
// restarting the plugin when it dies.
//
// The outbox (agent/state) is the only queue: a dispatcher holds nothing in
// memory that is not also on disk, so stopping it at any moment loses nothing.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// DefaultBatchSize is the most events sent in one call when Config.BatchSize is 0.
const DefaultBatchSize = 100

// Sender delivers a batch of events to a sink. A plugin client satisfies it.
//
// Send returns one Result per event, in order. An error means the transport
// failed (the plugin process died, the connection broke): no result is known,
// and the dispatcher reconnects. If a Sender also implements io.Closer, the
// dispatcher closes it before reconnecting and when Run returns.
type Sender interface {
	Send(ctx context.Context, events []sdk.Event) ([]sdk.Result, error)
}

// Observer receives the dispatcher's counters, for metrics. Its methods are
// called from the dispatcher's goroutine and must not block.
type Observer interface {
	// Sent counts n events of sink that got outcome.
	Sent(sink string, outcome sdk.Outcome, n int)
	// Retry counts a wait before resending a batch with retryable events.
	Retry(sink string)
	// Restart counts a (re)connection attempt after the plugin failed.
	Restart(sink string)
	// Depth reports the events waiting in sink's outbox.
	Depth(sink string, n int)
}

// Clock is the dispatcher's time source; tests replace it.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// Config configures a Dispatcher.
type Config struct {
	// Sink is the sink's name: the outbox to read. Required.
	Sink string
	// Store holds the outbox. Required.
	Store *state.Store
	// Connect starts (or restarts) the sink's plugin and returns a client for
	// it. It is called when Run starts and after every transport failure.
	// Required.
	Connect func(ctx context.Context) (Sender, error)
	// Logger receives the dispatcher's log lines. Default: discard.
	Logger *slog.Logger
	// BatchSize caps the events sent in one call. Default DefaultBatchSize.
	BatchSize int
	// NewBackOff makes the backoff policies for retryable answers and for plugin
	// restarts (one each). Default DefaultBackOff.
	NewBackOff func() backoff.BackOff
	// ShutdownGrace is how long a batch already being sent may take to finish
	// when the dispatcher stops: abandoning it would send it again at the
	// next start although the sink most likely has it (a duplicate page).
	// Default 5s.
	ShutdownGrace time.Duration
	// Clock is the time source. Default: the system clock.
	Clock Clock
	// Observer receives counters. Optional.
	Observer Observer
}

// DefaultBackOff waits 1s, then twice as long each time up to 5m, each delay
// varied by ±20% so many agents recovering from one outage do not retry in step.
func DefaultBackOff() backoff.BackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     time.Second,
		RandomizationFactor: 0.2,
		Multiplier:          2,
		MaxInterval:         5 * time.Minute,
	}
}

// Dispatcher delivers one sink's outbox. Create it with New and run it with Run.
type Dispatcher struct {
	cfg     Config
	log     *slog.Logger
	wake    chan struct{}
	retry   backoff.BackOff // between sends of a batch with retryable events
	restart backoff.BackOff // between plugin (re)connections
	sender  Sender

	onIdle func() // test hook: called before waiting for Notify
}

// New returns a dispatcher for cfg.Sink. Run checks the required fields.
func New(cfg Config) *Dispatcher {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.NewBackOff == nil {
		cfg.NewBackOff = DefaultBackOff
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	d := &Dispatcher{
		cfg:     cfg,
		log:     cfg.Logger.With("sink", cfg.Sink),
		wake:    make(chan struct{}, 1),
		retry:   cfg.NewBackOff(),
		restart: cfg.NewBackOff(),
	}
	d.retry.Reset()
	d.restart.Reset()
	return d
}

// Notify tells the dispatcher that events were enqueued, so an idle dispatcher
// sends them at once. Call it after the enqueuing transaction committed. It
// never blocks, and calls made while the dispatcher is busy coalesce.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers the outbox until ctx is done, then returns nil. It returns an
// error only for an incomplete Config. A Send in flight receives ctx, so Run
// returns promptly; what that Send delivered without being recorded is sent
// again by the next Run (at-least-once).
func (d *Dispatcher) Run(ctx context.Context) error {
	switch {
	case d.cfg.Sink == "":
		return errors.New("dispatch: config has no sink name")
	case d.cfg.Store == nil:
		return fmt.Errorf("dispatch: sink %q: config has no store", d.cfg.Sink)
	case d.cfg.Connect == nil:
		return fmt.Errorf("dispatch: sink %q: config has no Connect", d.cfg.Sink)
	}
	defer d.disconnect()

	if !d.connect(ctx, false) {
		return nil
	}
	for ctx.Err() == nil {
		if d.sender == nil && !d.connect(ctx, true) {
			return nil
		}
		entries, err := d.cfg.Store.Pending(d.cfg.Sink, d.cfg.BatchSize)
		if err != nil {
			d.storeTrouble(ctx, "read outbox", err)
			continue
		}
		d.observeDepth()
		if len(entries) == 0 {
			if d.onIdle != nil {
				d.onIdle()
			}
			select {
			case <-d.wake:
			case <-ctx.Done():
			}
			continue
		}
		d.deliver(ctx, batch(entries))
	}
	return nil
}

// batch returns the longest prefix of entries in which no correlation key
// repeats, so at most one event per alert is in flight and the answers for an
// alert are recorded in the order its events were raised. Events without a key
// belong to no alert and never end a batch.
func batch(entries []state.Entry) []state.Entry {
	keys := make(map[string]bool, len(entries))
	for i, e := range entries {
		k := e.Event.Key
		if k == "" {
			continue
		}
		if keys[k] {
			return entries[:i]
		}
		keys[k] = true
	}
	return entries
}

// DefaultShutdownGrace is the default Config.ShutdownGrace.
const DefaultShutdownGrace = 5 * time.Second

// inFlight returns a context for a send that outlives ctx by grace, so a
// graceful stop lets the batch's answers arrive and be recorded. done releases it.
func inFlight(ctx context.Context, grace time.Duration) (sctx context.Context, done func()) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return sctx, func() {
		stop()
		cancel()
	}
}

// deliver sends one batch and records the answers.
func (d *Dispatcher) deliver(ctx context.Context, entries []state.Entry) {
	events, err := d.withRefs(entries)
	if err != nil {
		d.storeTrouble(ctx, "read alert references", err)
		return
	}
	sctx, sent := inFlight(ctx, d.cfg.ShutdownGrace)
	results, err := d.sender.Send(sctx, events)
	sent()
	if err == nil && len(results) != len(events) {
		err = fmt.Errorf("plugin answered %d results for %d events", len(results), len(events))
	}
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: the batch stays in the outbox
		}
		d.pluginFailed(ctx, err)
		return
	}
	d.restart.Reset()

	done := make([]state.Done, len(entries))
	var counts [sdk.Rejected + 1]int
	var retryAt time.Time
	var retryReason string
	attempts := 0 // of the first retryable entry, counting this one
	for i, r := range results {
		if r.Outcome < sdk.Accepted || r.Outcome > sdk.Rejected {
			r = sdk.Retry(fmt.Sprintf("plugin answered an invalid outcome %d", r.Outcome), time.Time{})
		}
		done[i] = state.Done{Seq: entries[i].Seq, Result: r}
		counts[r.Outcome]++
		switch r.Outcome {
		case sdk.Retryable:
			if attempts == 0 {
				retryReason, attempts = r.Reason, entries[i].Attempts+1
			}
			if r.RetryAt.After(retryAt) {
				retryAt = r.RetryAt
			}
		case sdk.Rejected:
			d.log.Warn("sink rejected an event; moved to dead letters",
				"event", events[i].ID, "rule", events[i].Rule, "key", events[i].Key, "reason", r.Reason)
		}
	}
	if err := d.cfg.Store.Complete(d.cfg.Sink, done); err != nil {
		// The sink has the accepted events but the outbox does not know: they
		// are sent again after the wait (at-least-once).
		d.storeTrouble(ctx, "record results", err)
		return
	}
	for _, o := range []sdk.Outcome{sdk.Accepted, sdk.Retryable, sdk.Rejected} {
		if counts[o] > 0 {
			d.cfg.Observer.Sent(d.cfg.Sink, o, counts[o])
		}
	}
	d.observeDepth()

	if counts[sdk.Retryable] == 0 {
		d.retry.Reset()
		return
	}
	wait := d.retry.NextBackOff()
	if until := retryAt.Sub(d.cfg.Clock.Now()); until > wait {
		wait = until
	}
	d.cfg.Observer.Retry(d.cfg.Sink)
	d.log.Warn("sink could not take events now; retrying",
		"retryable", counts[sdk.Retryable], "reason", retryReason, "attempts", attempts, "in", wait)
	d.sleep(ctx, wait)
}

// withRefs returns the entries' events, each without a Ref given the Ref this
// sink returned earlier for the event's alert (rule and key), so a resolution
// reaches the message or alert its firing created, also across restarts.
func (d *Dispatcher) withRefs(entries []state.Entry) ([]sdk.Event, error) {
	events := make([]sdk.Event, len(entries))
	err := d.cfg.Store.View(func(tx *state.Tx) error {
		for i, e := range entries {
			events[i] = e.Event
			if e.Event.Ref != "" {
				continue
			}
			// Only a reference of the same alert instance: a resolution
			// queued behind a new firing still belongs to the old one.
			events[i].Ref = tx.AlertRef(e.Event.Rule, e.Event.Key, d.cfg.Sink, e.Instance)
		}
		return nil
	})
	return events, err
}

func (d *Dispatcher) observeDepth() {
	if n, err := d.cfg.Store.Depth(d.cfg.Sink); err == nil {
		d.cfg.Observer.Depth(d.cfg.Sink, n)
	}
}

// connect calls Connect until it succeeds, waiting with backoff between
// attempts. A restart (after a failure) waits before the first attempt too; the
// caller has logged why. It returns false when ctx is done.
func (d *Dispatcher) connect(ctx context.Context, restart bool) bool {
	for {
		if restart {
			d.cfg.Observer.Restart(d.cfg.Sink)
		}
		s, err := d.cfg.Connect(ctx)
		if err == nil {
			d.sender = s
			if restart {
				d.log.Info("sink plugin restarted")
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		wait := d.restart.NextBackOff()
		d.log.Error(fmt.Sprintf("sink %s plugin failed to start; retrying in %s", d.cfg.Sink, wait), "err", err)
		if !d.sleep(ctx, wait) {
			return false
		}
		restart = true
	}
}

// pluginFailed drops the broken client and waits before the restart.
func (d *Dispatcher) pluginFailed(ctx context.Context, err error) {
	d.disconnect()
	wait := d.restart.NextBackOff()
	d.log.Error(fmt.Sprintf("sink %s plugin exited; restarting in %s", d.cfg.Sink, wait), "err", err)
	d.sleep(ctx, wait)
}

func (d *Dispatcher) disconnect() {
	if c, ok := d.sender.(io.Closer); ok {
		if err := c.Close(); err != nil {
			d.log.Debug("closing sink plugin client", "err", err)
		}
	}
	d.sender = nil
}

// storeTrouble logs a failing state file operation and waits with backoff: a
// full disk should not turn into a busy loop.
func (d *Dispatcher) storeTrouble(ctx context.Context, what string, err error) {
	wait := d.retry.NextBackOff()
	d.log.Error("cannot "+what+"; retrying", "err", err, "in", wait)
	d.sleep(ctx, wait)
}

// sleep waits for d or ctx; it reports whether d passed.
func (d *Dispatcher) sleep(ctx context.Context, dur time.Duration) bool {
	t := d.cfg.Clock.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }

type nopObserver struct{}

func (nopObserver) Sent(string, sdk.Outcome, int) {}
func (nopObserver) Retry(string)                  {}
func (nopObserver) Restart(string)                {}
func (nopObserver) Depth(string, int)             {}
