package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/silence"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// Silences (maintenance windows) work where routed events are queued
// (Agent.queue): a firing event that an active silence matches is not queued
// but recorded on its alert (state.Alert.HeldBy and the rest), and counted on
// the silence and in herald_silenced_total. When the silence ends, by its
// EndsAt or expired by hand, the goroutine of runSilences queues every alert
// it held that is still firing once, its message ending in
// "(held by maintenance window '<comment>' since 02:00; 4 repeats)". An alert
// that resolved while held sends nothing if no event of it had gone out
// (nothing to resolve in the sinks), and its resolution if one had.

// ErrNotRunning is returned by the silence methods of an Agent that is not
// running (Run has not opened the state yet, or has returned).
var ErrNotRunning = errors.New("the agent is not running")

// ErrNoSilence is returned for a silence id that is not in the state.
var ErrNoSilence = errors.New("no such silence")

// ErrInvalidSilence wraps what is wrong with a silence to add or expire.
var ErrInvalidSilence = errors.New("invalid silence")

// silenceState is the agent's view of the silences in the state. A reload
// hands it to the next agent, so changes made during a reload are not lost.
type silenceState struct {
	log *slog.Logger
	now func() time.Time
	// mu makes each change (a silence added or expired, windows
	// materialised, ended silences released) and the refresh of live after it
	// one step.
	mu    sync.Mutex
	store atomic.Pointer[state.Store]
	// live are the silences not released yet (future, active, or ended and
	// waiting for release), compiled, latest end first. The commit path
	// reads it for every event: a pointer load when there are none.
	live    atomic.Pointer[[]silence.Silence]
	metrics atomic.Pointer[metrics.Metrics]
	wake    chan struct{}
}

func newSilenceState(log *slog.Logger, now func() time.Time) *silenceState {
	return &silenceState{log: log, now: now, wake: make(chan struct{}, 1)}
}

// kick wakes runSilences to look again (a silence changed).
func (s *silenceState) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// current returns the live silences; nil when the agent is not running.
func (s *silenceState) current() []silence.Silence {
	if p := s.live.Load(); p != nil {
		return *p
	}
	return nil
}

// refresh reloads live from the store. Call it with mu held, after a change.
func (s *silenceState) refresh(store *state.Store) error {
	list, err := store.Silences(func(x silence.Silence) bool { return !x.Released })
	if err != nil {
		return err
	}
	for i := range list {
		if err := list[i].Compile(); err != nil {
			// Stored by a build with other rules, or damaged: it cannot match.
			s.log.Warn("ignoring a silence whose matchers do not compile", "silence", list[i].ID, "err", err)
			list[i].Matchers = nil
		}
	}
	slices.SortStableFunc(list, func(a, b silence.Silence) int { return b.EndsAt.Compare(a.EndsAt) })
	s.live.Store(&list)
	return nil
}

// activeMatch returns the live silence active at now that matches ev: the
// one that ends last, so a hold moves as seldom as possible.
func activeMatch(live []silence.Silence, ev sdk.Event, now time.Time) *silence.Silence {
	for i := range live {
		if live[i].Active(now) && live[i].Matches(ev) {
			return &live[i]
		}
	}
	return nil
}

// queue queues ev for sinks in tx, unless an active silence holds it back,
// and records in done what it did. Every path that turns matches into outbox
// entries (the file pipeline, hooks, self-alerts) goes through it. ev points
// into the lifecycle's answer, which done keeps (the commit path makes no
// copy of an event); a held note may be added to it.
func (a *Agent) queue(tx *state.Tx, ev *sdk.Event, sinks []string, done *applied) error {
	if live := a.sil.current(); len(live) > 0 {
		held, err := a.hold(tx, ev, sinks, live, done)
		if err != nil || held {
			return err
		}
	}
	done.produced = append(done.produced, produced{ev.Rule, ev.Status, ev, sinks})
	for _, sink := range sinks {
		if _, err := tx.Enqueue(sink, *ev); err != nil {
			return err
		}
		done.touched[sink] = true
	}
	return nil
}

// hold applies the live silences to ev: it reports whether ev is held back
// (or, for the resolution of an alert the sinks never heard of, dropped). A
// firing that goes out after earlier ones were held gets the held note.
func (a *Agent) hold(tx *state.Tx, ev *sdk.Event, sinks []string, live []silence.Silence, done *applied) (bool, error) {
	now := a.opts.Now()
	started := false
	for i := range live {
		if !now.Before(live[i].StartsAt) {
			started = true
			break
		}
	}
	if !started { // nothing is held before a silence starts
		return false, nil
	}
	switch ev.Status {
	case sdk.StatusFiring:
		al, ok := tx.Alert(ev.Rule, ev.Key)
		if !ok {
			return false, nil
		}
		if sil := activeMatch(live, *ev, now); sil != nil {
			if al.HeldBy == "" {
				// Count is 1 on the first event of an alert's instance: the
				// sinks never hear of this instance unless it is released.
				al.HeldSince, al.HeldUnsent = ev.Time, al.Count == 1
			}
			held := *ev
			al.HeldBy, al.HeldCount, al.HeldEvent, al.HeldSinks = sil.ID, al.HeldCount+1, &held, slices.Clone(sinks)
			if err := tx.PutAlert(al); err != nil {
				return false, err
			}
			if stored, ok := tx.Silence(sil.ID); ok {
				stored.Suppressed++
				if err := tx.PutSilence(stored); err != nil {
					return false, err
				}
			}
			done.silenced = append(done.silenced, sil.ID)
			return true, nil
		}
		if al.HeldBy != "" {
			comment := al.HeldBy
			if stored, ok := tx.Silence(al.HeldBy); ok {
				comment = stored.Comment
			}
			ev.Message += "\n(" + heldNote(al, comment, ev.Time) + ")"
			al.Unhold()
			return false, tx.PutAlert(al)
		}
	case sdk.StatusResolved:
		al, ok := tx.Alert(ev.Rule, ev.Key)
		if !ok || al.HeldBy == "" {
			return false, nil
		}
		unsent := al.HeldUnsent
		al.Unhold()
		return unsent, tx.PutAlert(al)
	}
	return false, nil
}

// heldNote says what a silence held of al, in the zone of at (the time of
// the event it is appended to), naming the zone's offset: the message is read
// in a pager or chat whose reader may be anywhere.
func heldNote(al state.Alert, comment string, at time.Time) string {
	since := al.HeldSince.In(at.Location())
	layout := "15:04 -07:00"
	if y, m, d := since.Date(); y != at.Year() || m != at.Month() || d != at.Day() {
		layout = "2006-01-02 15:04 -07:00"
	}
	repeats := "no repeats"
	switch n := al.HeldCount - 1; {
	case n == 1:
		repeats = "1 repeat"
	case n > 1:
		repeats = fmt.Sprintf("%d repeats", n)
	}
	return fmt.Sprintf("held by maintenance window '%s' since %s; %s", comment, since.Format(layout), repeats)
}

// watchSilences loads the silences of store for the commit path and starts
// the goroutine that materialises the [[maintenance]] windows and releases
// what silences held when they end, until ctx ends; wg waits for it.
func (a *Agent) watchSilences(ctx context.Context, wg *sync.WaitGroup, store *state.Store, m *metrics.Metrics, notify func(sink string)) {
	s := a.sil
	s.mu.Lock()
	s.store.Store(store)
	s.metrics.Store(m)
	if err := s.refresh(store); err != nil {
		a.log.Error("cannot read the silences; none apply until they can be read", "err", err)
	}
	s.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.runSilences(ctx, store, notify)
	}()
}

// runSilences keeps the windows' silences in the state and releases ended
// silences: it wakes at the earliest end of a live silence, or when one
// changes, and at no other time.
func (a *Agent) runSilences(ctx context.Context, store *state.Store, notify func(sink string)) {
	s := a.sil
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := a.opts.Now()
		a.releaseEnded(store, now, notify)
		a.materialise(store, now)
		timer.Stop()
		var next time.Time
		for _, x := range s.current() {
			if next.IsZero() || x.EndsAt.Before(next) {
				next = x.EndsAt
			}
		}
		var timerC <-chan time.Time
		if !next.IsZero() {
			timer.Reset(max(next.Sub(a.opts.Now()), 0))
			timerC = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-timerC:
		case <-s.wake:
		}
	}
}

// releaseEnded queues, for every live silence that has ended at now, the
// alerts it held that are still open, once each, and marks it released. An
// alert that another active silence matches stays held, by that one.
func (a *Agent) releaseEnded(store *state.Store, now time.Time, notify func(sink string)) {
	s := a.sil
	s.mu.Lock()
	defer s.mu.Unlock()
	live := s.current()
	ended := map[string]silence.Silence{}
	for _, x := range live {
		if x.Ended(now) {
			ended[x.ID] = x
		}
	}
	if len(ended) == 0 {
		return
	}
	var done applied
	released := map[string]int{}
	err := store.Update(func(tx *state.Tx) error {
		done, released = applied{touched: map[string]bool{}}, map[string]int{}
		held := tx.Alerts(func(al state.Alert) bool { _, ok := ended[al.HeldBy]; return ok })
		for _, al := range held {
			sil := ended[al.HeldBy]
			if al.Status != sdk.StatusResolved && al.HeldEvent != nil {
				if other := activeMatch(live, *al.HeldEvent, now); other != nil {
					al.HeldBy = other.ID
					if err := tx.PutAlert(al); err != nil {
						return err
					}
					continue
				}
				ev := *al.HeldEvent
				ev.ID = releasedID(ev.ID, sil.ID)
				ev.Message += "\n(" + heldNote(al, sil.Comment, ev.Time) + ")"
				for _, sink := range al.HeldSinks {
					if _, err := tx.Enqueue(sink, ev); err != nil {
						return err
					}
					done.touched[sink] = true
				}
				done.produced = append(done.produced, produced{ev.Rule, ev.Status, &ev, al.HeldSinks})
				released[sil.ID]++
			}
			al.Unhold()
			if err := tx.PutAlert(al); err != nil {
				return err
			}
		}
		for id := range ended {
			stored, ok := tx.Silence(id)
			if !ok || stored.Released {
				continue
			}
			stored.Released = true
			if err := tx.PutSilence(stored); err != nil {
				return err
			}
		}
		// Released silences are listed for a week, then forgotten.
		for _, old := range tx.Silences(func(x silence.Silence) bool { return x.Released && x.EndsAt.Before(now.Add(-keepResolved)) }) {
			if err := tx.DeleteSilence(old.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		a.log.Error("cannot release what ended silences held; trying again at the next change", "err", err)
		return
	}
	for id, x := range ended {
		a.log.Info("silence ended; delivering the alerts it held that are still firing", "silence", id,
			"comment", x.Comment, "expired_by", x.ExpiredBy, "delivered", released[id], "suppressed", x.Suppressed)
	}
	if m := s.metrics.Load(); m != nil {
		a.publish(m, done, notify)
	}
	if err := s.refresh(store); err != nil {
		a.log.Error("cannot read the silences", "err", err)
	}
}

// releasedID is the id of the event that delivers a held event when its
// silence ends: stable, so a retry is recognised by the sink.
func releasedID(heldID, silenceID string) string {
	sum := sha256.Sum256([]byte(heldID + "\x00released\x00" + silenceID))
	return hex.EncodeToString(sum[:12])
}

// materialise makes sure the occurrence of each [[maintenance]] window that
// runs now, or else the next one, is a silence in the state, and removes the
// silences of windows that are no longer configured (or have moved): one not
// started yet is deleted, a running one expired.
func (a *Agent) materialise(store *state.Store, now time.Time) {
	s := a.sil
	s.mu.Lock()
	defer s.mu.Unlock()
	want := map[string]silence.Silence{}
	for _, w := range a.windows {
		x := w.Silence(now)
		want[x.ID] = x
	}
	var added, removed []string
	err := store.Update(func(tx *state.Tx) error {
		added, removed = nil, nil
		for id, x := range want {
			stored, ok := tx.Silence(id)
			if ok {
				if stored.Released || stored.ExpiredBy != "" || (stored.EndsAt.Equal(x.EndsAt) && stored.Comment == x.Comment &&
					slices.EqualFunc(stored.Matchers, x.Matchers, func(a, b silence.Matcher) bool { return a.String() == b.String() })) {
					continue
				}
				x.Suppressed = stored.Suppressed // the window's matchers, end or comment changed
			}
			if err := tx.PutSilence(x); err != nil {
				return err
			}
			added = append(added, id)
		}
		for _, old := range tx.Silences(func(x silence.Silence) bool {
			return strings.HasPrefix(x.Source, silence.SourceConfigPrefix) && !x.Released && !x.Ended(now)
		}) {
			if _, ok := want[old.ID]; ok {
				continue
			}
			if now.Before(old.StartsAt) {
				if err := tx.DeleteSilence(old.ID); err != nil {
					return err
				}
			} else {
				_ = old.Expire("config reload", now)
				if err := tx.PutSilence(old); err != nil {
					return err
				}
			}
			removed = append(removed, old.ID)
		}
		return nil
	})
	if err != nil {
		a.log.Error("cannot schedule the maintenance windows", "err", err)
		return
	}
	if len(added)+len(removed) == 0 {
		return
	}
	for _, id := range added {
		x := want[id]
		a.log.Info("maintenance window scheduled", "silence", id, "window", strings.TrimPrefix(x.Source, silence.SourceConfigPrefix),
			"starts", x.StartsAt.Format(time.RFC3339), "ends", x.EndsAt.Format(time.RFC3339))
	}
	for _, id := range removed {
		a.log.Info("maintenance window no longer configured; its silence ends", "silence", id)
	}
	if err := s.refresh(store); err != nil {
		a.log.Error("cannot read the silences", "err", err)
	}
	if len(removed) > 0 {
		s.kick() // release what an expired one held
	}
}

// AddSilence validates s and stores it as a new silence: it needs at least one
// matcher, a comment, and an EndsAt after StartsAt (zero: now) and in the
// future. It assigns the ID; Source defaults to "api" ("config:..." is
// refused). Events the silence matches are held from the moment it returns.
// Errors wrap ErrInvalidSilence (s is wrong) or ErrNotRunning.
func (a *Agent) AddSilence(ctx context.Context, s silence.Silence) (silence.Silence, error) {
	st := a.sil
	store := st.store.Load()
	if store == nil {
		return silence.Silence{}, ErrNotRunning
	}
	switch {
	case s.Source == "":
		s.Source = silence.SourceAPI
	case s.Source != silence.SourceAPI && s.Source != silence.SourceCLI && s.Source != silence.SourcePage:
		return silence.Silence{}, fmt.Errorf("%w: source %q: use %q, %q or %q", ErrInvalidSilence, s.Source, silence.SourceAPI, silence.SourceCLI, silence.SourcePage)
	}
	now := a.opts.Now()
	s, err := silence.New(s, now)
	if err != nil {
		return silence.Silence{}, fmt.Errorf("%w: %w", ErrInvalidSilence, err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := store.Update(func(tx *state.Tx) error { return tx.PutSilence(s) }); err != nil {
		return silence.Silence{}, err
	}
	if err := st.refresh(store); err != nil {
		return silence.Silence{}, err
	}
	st.kick()
	a.log.Info("silence added", "silence", s.ID, "by", s.CreatedBy, "source", s.Source, "matchers", s.Describe(),
		"starts", s.StartsAt.Format(time.RFC3339), "ends", s.EndsAt.Format(time.RFC3339))
	return s, nil
}

// ExpireSilence ends the silence id now, by who: what it held that is still
// firing is delivered at once. A silence that has not started is cancelled.
// Errors wrap ErrNoSilence, ErrInvalidSilence (it is already over) or
// ErrNotRunning.
func (a *Agent) ExpireSilence(ctx context.Context, id, by string) error {
	st := a.sil
	store := st.store.Load()
	if store == nil {
		return ErrNotRunning
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	var s silence.Silence
	err := store.Update(func(tx *state.Tx) error {
		var ok bool
		if s, ok = tx.Silence(id); !ok {
			return fmt.Errorf("%w: %q", ErrNoSilence, id)
		}
		if err := s.Expire(by, a.opts.Now()); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidSilence, err)
		}
		return tx.PutSilence(s)
	})
	if err != nil {
		return err
	}
	if err := st.refresh(store); err != nil {
		return err
	}
	st.kick()
	a.log.Info("silence expired", "silence", id, "by", s.ExpiredBy, "matchers", s.Describe(), "suppressed", s.Suppressed)
	return nil
}

// Silences lists the silences, by start: those not over yet, or with
// includeExpired also those that ended in the last week.
func (a *Agent) Silences(includeExpired bool) ([]silence.Silence, error) {
	store := a.sil.store.Load()
	if store == nil {
		return nil, ErrNotRunning
	}
	now := a.opts.Now()
	list, err := store.Silences(func(x silence.Silence) bool { return includeExpired || !x.Ended(now) })
	if list == nil {
		list = []silence.Silence{}
	}
	return list, err
}
