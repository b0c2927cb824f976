package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/heraldhq/herald/agent/selfwatch"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// maxResendScan bounds how much of a sink's outbox a re-send round reads to
// find the alerts that still have an event waiting. A longer backlog means
// the sink is down: the round is skipped, the copies would only pile up.
const maxResendScan = 10000

// startResend starts, for every sink with a resend_interval, a goroutine that
// re-queues the firing event of each open alert routed to it, every
// interval, until ctx ends. Destinations such as Alertmanager forget an
// alert that is not repeated; the sink stays stateless and the agent, which
// owns every retry, repeats it.
func (a *Agent) startResend(ctx context.Context, wg *sync.WaitGroup, store *state.Store, notify func(sink string)) {
	for _, s := range a.sinks {
		every := s.cfg.ResendInterval.Duration
		if every <= 0 {
			continue
		}
		name := s.cfg.Name
		wg.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				n, err := a.resend(store, name, a.opts.Now())
				switch {
				case err != nil:
					a.log.Warn("re-sending open alerts failed; trying again next round", "sink", name, "err", err)
				case n > 0:
					a.log.Debug("re-sending open alerts", "sink", name, "alerts", n)
					notify(name)
				}
			}
		})
	}
}

// resend queues for sink a fresh copy of the firing event of every open
// (firing or acknowledged) alert routed to it, except those that still have
// an event in the sink's outbox, and returns how many it queued. The alerts
// are read in the transaction that queues the copies, so a copy never
// follows the alert's resolution.
func (a *Agent) resend(store *state.Store, sink string, now time.Time) (int, error) {
	depth, err := store.Depth(sink)
	if err != nil || depth > maxResendScan {
		return 0, err
	}
	waiting := map[[2]string]bool{}
	if depth > 0 {
		pending, err := store.Pending(sink, maxResendScan)
		if err != nil {
			return 0, err
		}
		for _, e := range pending {
			waiting[[2]string{e.Event.Rule, e.Event.Key}] = true
		}
	}
	n := 0
	err = store.Update(func(tx *state.Tx) error {
		n = 0
		open := tx.Alerts(func(al state.Alert) bool {
			return (al.Status == sdk.StatusFiring || al.Status == sdk.StatusAcknowledged) && !waiting[[2]string{al.Rule, al.Key}]
		})
		for _, al := range open {
			if !a.routesTo(al, sink) {
				continue
			}
			at := al.LastFired
			if at.IsZero() {
				at = al.LastSeen
			}
			ev := sdk.Event{
				ID: resendID(al, sink, now), Rule: al.Rule, Status: sdk.StatusFiring, Key: al.Key,
				Severity: al.Severity, Title: al.Title, Message: al.Message, Fields: al.Fields,
				Time: at, Host: a.cfg.Agent.Host,
			}
			if _, err := tx.Enqueue(sink, ev); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// routesTo reports whether al's events go to sink: its rule routes there,
// and it is not a self-alert about that very sink.
func (a *Agent) routesTo(al state.Alert, sink string) bool {
	routed := false
	for _, s := range a.life.Route(al.Rule) {
		routed = routed || s == sink
	}
	if !routed {
		return false
	}
	for _, k := range selfwatch.Kinds {
		if k.RuleID() == al.Rule && k.AboutSink() && al.Key == sink {
			return false
		}
	}
	return true
}

// resendID is the id of a re-sent copy: new for each round, so that a
// receiver that drops duplicates by id does not drop it, and stable across
// the copy's own retries.
func resendID(al state.Alert, sink string, now time.Time) string {
	sum := sha256.Sum256([]byte("resend\x00" + al.Rule + "\x00" + al.Key + "\x00" + strconv.Itoa(al.Instance) + "\x00" +
		sink + "\x00" + now.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(sum[:12])
}
