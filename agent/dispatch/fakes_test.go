package dispatch

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// deadline bounds every wait for the dispatcher's goroutine; it only expires
// when the test fails.
const deadline = 10 * time.Second

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a Clock whose time moves only by Advance. Every timer made is
// announced on armed, so a test knows exactly what the dispatcher waits for.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	armed  chan time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: t0, armed: make(chan time.Duration, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	c.armed <- d
	return t
}

// Advance moves time forward by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			keep = append(keep, t)
			continue
		}
		t.ch <- c.now
	}
	c.timers = keep
}

type fakeTimer struct {
	c  *fakeClock
	at time.Time
	ch chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	return true
}

// call is one Send, waiting for the test to answer it.
type call struct {
	events []sdk.Event
	reply  chan reply
}

type reply struct {
	results []sdk.Result
	err     error
}

// scriptedSender hands every Send to the test, which answers it.
type scriptedSender struct {
	id     int
	calls  chan call
	mu     sync.Mutex
	closed bool
}

func (s *scriptedSender) Send(ctx context.Context, events []sdk.Event) ([]sdk.Result, error) {
	c := call{events: slices.Clone(events), reply: make(chan reply, 1)}
	select {
	case s.calls <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-c.reply:
		return r.results, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *scriptedSender) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *scriptedSender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// recorder is an Observer that keeps counts and the last outbox depth.
type recorder struct {
	mu       sync.Mutex
	sent     map[sdk.Outcome]int
	retries  int
	restarts int
	depth    int
}

func (r *recorder) Sent(_ string, o sdk.Outcome, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[o] += n
}

func (r *recorder) Retry(string) { r.mu.Lock(); r.retries++; r.mu.Unlock() }

func (r *recorder) Restart(string) { r.mu.Lock(); r.restarts++; r.mu.Unlock() }

func (r *recorder) Depth(_ string, n int) { r.mu.Lock(); r.depth = n; r.mu.Unlock() }

// syncBuffer collects log output written from the dispatcher's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// harness runs a Dispatcher for sink "pager" over a real store with a fake
// clock and scripted plugin.
type harness struct {
	t        *testing.T
	store    *state.Store
	clock    *fakeClock
	calls    chan call
	connects chan *scriptedSender
	connErrs chan error // an error here fails the next Connect
	obs      *recorder
	idles    chan struct{}
	logs     *syncBuffer
	d        *Dispatcher
	cancel   context.CancelFunc
	done     chan error
}

func newHarness(t *testing.T, batchSize int) *harness {
	t.Helper()
	store, err := state.Open(filepath.Join(t.TempDir(), "herald.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return newHarnessWith(t, batchSize, store)
}

// newHarnessWith runs a dispatcher over an existing store, as after a restart.
func newHarnessWith(t *testing.T, batchSize int, store *state.Store) *harness {
	h := &harness{
		t:        t,
		store:    store,
		clock:    newFakeClock(),
		calls:    make(chan call),
		connects: make(chan *scriptedSender, 10),
		connErrs: make(chan error, 10),
		obs:      &recorder{sent: map[sdk.Outcome]int{}},
		logs:     &syncBuffer{},
		idles:    make(chan struct{}, 1),
	}
	n := 0
	h.d = New(Config{
		Sink:      "pager",
		Store:     store,
		Logger:    slog.New(slog.NewTextHandler(h.logs, nil)),
		BatchSize: batchSize,
		NewBackOff: func() backoff.BackOff {
			return &backoff.ExponentialBackOff{InitialInterval: time.Second, Multiplier: 2, MaxInterval: 5 * time.Minute}
		},
		Connect: func(context.Context) (Sender, error) {
			select {
			case err := <-h.connErrs:
				return nil, err
			default:
			}
			n++
			s := &scriptedSender{id: n, calls: h.calls}
			h.connects <- s
			return s, nil
		},
		Clock:         h.clock,
		Observer:      h.obs,
		ShutdownGrace: 10 * time.Millisecond, // real time: an unanswered send is abandoned soon
	})
	h.d.onIdle = func() {
		select {
		case h.idles <- struct{}{}:
		default:
		}
	}
	return h
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.d.Run(ctx) }()
	h.t.Cleanup(h.stop)
}

// stop cancels Run and waits for it to return.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run returned %v", err)
		}
	case <-time.After(deadline):
		h.t.Fatal("Run did not return after cancel")
	}
}

func (h *harness) enqueue(events ...sdk.Event) {
	h.t.Helper()
	err := h.store.Update(func(tx *state.Tx) error {
		for _, ev := range events {
			if _, err := tx.Enqueue("pager", ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.d.Notify()
}

// next returns the dispatcher's next Send.
func (h *harness) next() call {
	h.t.Helper()
	select {
	case c := <-h.calls:
		return c
	case <-time.After(deadline):
		h.t.Fatal("no Send")
		return call{}
	}
}

// answer answers the next Send, which must carry the events with wantIDs.
func (h *harness) answer(wantIDs []string, results ...sdk.Result) call {
	h.t.Helper()
	c := h.next()
	if got := ids(c.events); !slices.Equal(got, wantIDs) {
		h.t.Fatalf("Send got events %v, want %v", got, wantIDs)
	}
	c.reply <- reply{results: results}
	return c
}

// timer returns the duration of the next timer the dispatcher arms.
func (h *harness) timer() time.Duration {
	h.t.Helper()
	select {
	case d := <-h.clock.armed:
		return d
	case <-time.After(deadline):
		h.t.Fatal("no timer armed")
		return 0
	}
}

// noTimers asserts that the dispatcher armed no timer so far.
func (h *harness) noTimers() {
	h.t.Helper()
	select {
	case d := <-h.clock.armed:
		h.t.Errorf("dispatcher armed a %s timer; want none", d)
	default:
	}
}

// idle waits until the dispatcher found its outbox empty and went to wait for
// Notify. A signal left from an earlier idle spell is skipped by checking the
// outbox too.
func (h *harness) idle() {
	h.t.Helper()
	for {
		select {
		case <-h.idles:
			if len(h.pending()) == 0 {
				return
			}
		case <-time.After(deadline):
			h.t.Fatalf("dispatcher never went idle; outbox %v", h.pending())
		}
	}
}

func (h *harness) pending() []string {
	h.t.Helper()
	es, err := h.store.Pending("pager", 0)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Event.ID)
	}
	return out
}

func ids(events []sdk.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func ev(id, key string) sdk.Event {
	return sdk.Event{ID: id, Rule: "reload-failed", Key: key, Status: sdk.StatusFiring, Title: "Reload failed", Time: t0}
}

func accept(n int) []sdk.Result {
	out := make([]sdk.Result, n)
	for i := range out {
		out[i] = sdk.Accept("")
	}
	return out
}

var errPluginExited = errors.New("rpc error: code = Unavailable desc = connection closed")
