package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/hooks"
	"github.com/heraldhq/herald/agent/lifecycle"
	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/rules"
)

// httpInput is an [[input]] of type http: a hook on the server whose requests
// become records that go through the rules like log lines.
type httpInput struct {
	cfg     config.Input
	handler *hooks.Handler

	// Set by Run before the server starts.
	run *hookRun
}

// hookRun is what an http input needs while the agent runs.
type hookRun struct {
	agent   *Agent
	store   *state.Store
	metrics *metrics.Metrics
	im      *metrics.InputMetrics
	notify  func(sink string)
	// requests counts the hook's requests by status (herald_hook_requests_total).
	requests func(status int)

	// mu serialises the input's requests: the evaluator is not safe for
	// concurrent use, and callbacks of one input are applied in arrival order.
	mu   sync.Mutex
	eval *rules.Evaluator
}

func (a *Agent) newHTTPInput(in config.Input) (*httpInput, error) {
	if in.Parser != "" {
		return nil, errors.New("parser: does not apply to an http input, whose body is read by its format")
	}
	h := &httpInput{cfg: in}
	handler, err := hooks.New(hooks.Config{
		Input: in.Name, Format: in.Format, Token: in.Token, ParserOptions: in.ParserOptions,
		Logger: a.log.With("hook", in.Path),
		Deliver: func(ctx context.Context, d hooks.Delivery) (bool, error) {
			return h.run.deliver(ctx, h.cfg.Name, d)
		},
		Answered: func(status int) {
			h.run.requests(status)
			if status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge {
				h.run.im.ParseErrors.Inc()
			}
		},
	})
	if err != nil {
		return nil, err
	}
	h.handler = handler
	return h, nil
}

// deliver runs one callback's record through the rules and commits what they
// did, together with the notification's id, in one transaction: a callback
// delivered twice (or again after a crash before the commit) is processed
// once. It returns only after the commit, so the hook answers 200 only then.
func (r *hookRun) deliver(_ context.Context, input string, d hooks.Delivery) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.agent
	rec := d.Record
	r.im.Records.Inc()
	ms, err := r.eval.Eval(rec)
	if err != nil {
		a.log.Warn("rule evaluation failed", "input", input, "err", err)
	}
	origin := input + ":" + d.ID
	if d.ID == "" {
		sum := sha256.Sum256([]byte(rec.Raw))
		origin = input + ":" + hex.EncodeToString(sum[:12])
	}
	matches := make([]lifecycle.Match, 0, len(ms))
	for _, m := range ms {
		r.metrics.Rule(m.Rule.ID).Matches.Inc()
		matches = append(matches, a.life.MatchOf(m, rec.Time, origin))
	}

	var (
		done applied
		dup  bool
	)
	err = r.store.Update(func(tx *state.Tx) error {
		dup = false
		if d.ID != "" {
			seen := "hook\x00" + input + "\x00" + d.ID
			if tx.Seen(seen) {
				dup = true
				return nil
			}
			if err := tx.MarkSeen(seen, a.opts.Now()); err != nil {
				return err
			}
		}
		var err error
		if done, err = a.applyMatches(tx, matches); err != nil {
			return err
		}
		// After the rules, so that their events (an acknowledgement posted to
		// chat) see the alert as it was; this only catches up the state.
		if f := d.Follow; f != nil {
			_, err = a.life.Follow(tx, f.Key, f.Status, f.By, rec.Time)
		}
		return err
	})
	if err != nil {
		a.self.stateFailed(r.store.Path(), err)
		return dup, err
	}
	a.self.stateOK()
	if dup {
		return dup, nil
	}
	a.publish(r.metrics, done, r.notify)
	return false, nil
}
