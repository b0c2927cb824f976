package tail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// wait bounds every wait for the tailer. Generous: the machine is shared.
const wait = 15 * time.Second

// harness runs a Tailer with short intervals and instrumentation that lets a
// test wait for what the tailer has observed, and freeze its followers,
// instead of sleeping.
type harness struct {
	t    *testing.T
	dir  string
	tl   *Tailer
	gate sync.RWMutex // write-locked: followers are frozen between checks

	mu       sync.Mutex
	seen     map[string]int64 // bytes seen per key, from afterCheck
	checks   map[string]int   // checks done per key
	scans    int
	nextScan time.Duration // the interval the last scan chose
	statuses []Status      // every status OnStatus got
	change   chan struct{} // closed and replaced whenever the above change

	pending []Event // received in a batch but not yet returned
	batches []int   // the size of every batch received
}

// harnessOption changes how newHarness sets up the tailer.
type harnessOption int

// defaultIntervals leaves PollInterval and ReadInterval as cfg has them, zero
// included, instead of making zero mean short test intervals.
const defaultIntervals harnessOption = 1

// newHarness starts a tailer on cfg; Paths relative to the temp dir are made
// absolute. The tailer is stopped when the test ends.
func newHarness(t *testing.T, dir string, cfg Config, opts ...harnessOption) *harness {
	t.Helper()
	h := &harness{t: t, dir: dir, seen: map[string]int64{}, checks: map[string]int{}, change: make(chan struct{})}
	for i, p := range cfg.Paths {
		if !filepath.IsAbs(p) {
			cfg.Paths[i] = filepath.Join(dir, p)
		}
	}
	if !slices.Contains(opts, defaultIntervals) {
		if cfg.PollInterval == 0 {
			cfg.PollInterval = 20 * time.Millisecond
		}
		if cfg.ReadInterval == 0 {
			cfg.ReadInterval = 10 * time.Millisecond
		}
	}
	var open func(string) (*os.File, error)
	if cfg.hooks != nil {
		open = cfg.hooks.open // a test's own hook, kept
	}
	onStatus := cfg.OnStatus
	cfg.OnStatus = func(s Status) {
		if onStatus != nil {
			onStatus(s)
		}
		h.update(func() { h.statuses = append(h.statuses, s) })
	}
	cfg.hooks = &hooks{
		open:        open,
		beforeCheck: func(string) { h.gate.RLock() },
		afterCheck: func(key string, seen int64) {
			h.gate.RUnlock()
			h.update(func() { h.seen[key] = seen; h.checks[key]++ })
		},
		scanned: func(next time.Duration) { h.update(func() { h.scans++; h.nextScan = next }) },
	}
	tl, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	h.tl = tl
	t.Cleanup(func() {
		if err := tl.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return h
}

func (h *harness) update(f func()) {
	h.mu.Lock()
	f()
	close(h.change)
	h.change = make(chan struct{})
	h.mu.Unlock()
}

// until waits for cond over the instrumentation state.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		ok, ch := cond(), h.change
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitSeen waits until the follower of key has looked at n bytes of its file.
func (h *harness) waitSeen(key string, n int64) {
	h.t.Helper()
	h.until(fmt.Sprintf("%s to see %d bytes", key, n), func() bool { return h.seen[key] == n })
}

// waitScans waits for n more complete scans for files.
func (h *harness) waitScans(n int) {
	h.t.Helper()
	h.mu.Lock()
	target := h.scans + n
	h.mu.Unlock()
	h.until(fmt.Sprintf("%d scans", n), func() bool { return h.scans >= target })
}

// freeze stops followers between two checks of their file; thaw releases them.
func (h *harness) freeze() { h.gate.Lock() }
func (h *harness) thaw()   { h.gate.Unlock() }

// next returns the next event, failing the test after the deadline.
func (h *harness) next() Event {
	h.t.Helper()
	if len(h.pending) == 0 {
		select {
		case evs, ok := <-h.tl.Events():
			if !ok {
				h.t.Fatal("events closed")
			}
			h.receive(evs)
		case <-time.After(wait):
			h.t.Fatal("timed out waiting for an event")
		}
	}
	ev := h.pending[0]
	h.pending = h.pending[1:]
	return ev
}

// receive queues the events of a batch from Events and releases it.
func (h *harness) receive(evs []Event) {
	h.t.Helper()
	if len(evs) == 0 || len(evs) > BatchEvents {
		h.t.Fatalf("a batch of %d events, want 1 to %d", len(evs), BatchEvents)
	}
	for _, ev := range evs[1:] {
		if ev.Key != evs[0].Key {
			h.t.Fatalf("a batch with events of two files: %s and %s", describe(evs[0]), describe(ev))
		}
	}
	h.pending = append(h.pending, evs...)
	h.batches = append(h.batches, len(evs))
	h.tl.Release(evs)
}

// collect reads events until done is true of all events read so far.
func (h *harness) collect(what string, done func([]Event) bool) []Event {
	h.t.Helper()
	var evs []Event
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for !done(evs) {
		for len(h.pending) == 0 {
			select {
			case batch, ok := <-h.tl.Events():
				if !ok {
					h.t.Fatalf("events closed while waiting for %s; got %s", what, dump(evs))
				}
				h.receive(batch)
			case <-deadline.C:
				h.t.Fatalf("timed out waiting for %s; got %s", what, dump(evs))
			}
		}
		evs = append(evs, h.pending[0])
		h.pending = h.pending[1:]
	}
	return evs
}

// expect reads the next event and compares it with want (Fingerprint and Key
// only when set in want).
func (h *harness) expect(want Event) Event {
	h.t.Helper()
	got := h.next()
	if d := diffEvent(got, want); d != "" {
		h.t.Fatalf("event %s: %s", describe(got), d)
	}
	return got
}

// expectFor is expect for the next event of want.Key: events of other files
// may come in between (a file notification can find a new file at any time).
func (h *harness) expectFor(want Event) Event {
	h.t.Helper()
	for {
		got := h.next()
		if got.Key != want.Key {
			continue
		}
		if d := diffEvent(got, want); d != "" {
			h.t.Fatalf("event %s: %s", describe(got), d)
		}
		return got
	}
}

func diffEvent(got, want Event) string {
	var d []string
	if got.Kind != want.Kind {
		d = append(d, fmt.Sprintf("kind %v, want %v", got.Kind, want.Kind))
	}
	if want.Key != "" && got.Key != want.Key {
		d = append(d, fmt.Sprintf("key %s, want %s", got.Key, want.Key))
	}
	if want.Path != "" && got.Path != want.Path {
		d = append(d, fmt.Sprintf("path %s, want %s", got.Path, want.Path))
	}
	if got.Line != want.Line {
		d = append(d, fmt.Sprintf("line %+v, want %+v", short(got.Line.Text), short(want.Line.Text)))
		if got.Line.Offset != want.Line.Offset || got.Line.First != want.Line.First {
			d = append(d, fmt.Sprintf("offset/first %d/%v, want %d/%v", got.Line.Offset, got.Line.First, want.Line.Offset, want.Line.First))
		}
	}
	if got.Truncated != want.Truncated {
		d = append(d, fmt.Sprintf("truncated %v, want %v", got.Truncated, want.Truncated))
	}
	if got.Header != want.Header {
		d = append(d, fmt.Sprintf("header %q, want %q", got.Header, want.Header))
	}
	if want.Fingerprint != "" && got.Fingerprint != want.Fingerprint {
		d = append(d, fmt.Sprintf("fingerprint %s, want %s", got.Fingerprint, want.Fingerprint))
	}
	if !errors.Is(got.Err, want.Err) || (want.Err == nil && got.Err != nil) {
		d = append(d, fmt.Sprintf("err %v, want %v", got.Err, want.Err))
	}
	return strings.Join(d, "; ")
}

func short(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q...(%d bytes)", s[:40], len(s))
	}
	return fmt.Sprintf("%q", s)
}

func describe(ev Event) string {
	switch ev.Kind {
	case Line:
		return fmt.Sprintf("line(%s %s @%d first=%v)", ev.Key, short(ev.Line.Text), ev.Line.Offset, ev.Line.First)
	case Closed:
		return fmt.Sprintf("closed(%s @%d err=%v)", ev.Key, ev.Line.Offset, ev.Err)
	default:
		return fmt.Sprintf("%v(%s %s @%d header=%q)", ev.Kind, ev.Key, ev.Path, ev.Line.Offset, ev.Header)
	}
}

func dump(evs []Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString("\n  " + describe(ev))
	}
	return b.String()
}

// lineEv is the Line event of text ending at offset.
func lineEv(key, text string, offset int64, first bool) Event {
	return Event{Kind: Line, Key: key, Line: lineOf(text, offset, first)}
}

// fileKey returns the identity of the file at path.
func fileKey(t *testing.T, path string) string {
	t.Helper()
	k, _, err := statKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
