package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/heraldhq/herald/plugins/sdk"
)

// ErrNoSink is returned (wrapped, with the names there are) by SendTest for
// a sink name the config does not have.
var ErrNoSink = errors.New("no such sink")

// SendTest starts the plugin of the named sink, configures it, sends it ev
// alone, stops it and returns the sink's answer. It goes around the state
// store and the outbox: nothing is queued, retried or recorded, so it can run
// beside a running agent. An error means no answer was had: the sink is
// unknown (ErrNoSink), its plugin did not start or rejected its config (a
// *host.ConfigError), or the plugin failed during the call.
func (a *Agent) SendTest(ctx context.Context, sink string, ev sdk.Event) (sdk.Result, error) {
	var spec *sinkSpec
	var names []string
	for _, s := range a.sinks {
		names = append(names, s.cfg.Name)
		if s.cfg.Name == sink {
			spec = s
		}
	}
	if spec == nil {
		have := "the config has none"
		if len(names) > 0 {
			have = "have: " + strings.Join(names, ", ")
		}
		return sdk.Result{}, fmt.Errorf("%w %q (%s)", ErrNoSink, sink, have)
	}
	p, err := a.startSink(ctx, spec)
	if err != nil {
		return sdk.Result{}, err
	}
	defer p.Close()
	results, err := p.Send(ctx, []sdk.Event{ev})
	if err != nil {
		return sdk.Result{}, err
	}
	return results[0], nil
}
