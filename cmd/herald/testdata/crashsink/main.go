// Command crashsink is a sink plugin for Herald's end-to-end tests. It posts
// each event, as JSON with its Ref, to a test receiver, answers a remote
// reference for every firing, and can panic in the middle of a batch the way a
// buggy third-party plugin does.
//
//	[sink.config]
//	url = "http://127.0.0.1:1234/events"   # the receiver; it answers {"received": N}
//	crash_every = 4                        # panic right after the receiver's Nth, 2Nth, ... event
//	refs = true                            # answer "ref-<event id>" for firing events
//
// The receiver counts events across plugin processes, so a restarted plugin
// crashes at the next multiple, and a re-sent batch always gets further than
// the one before as long as batch_size < crash_every.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

type config struct {
	URL        string `json:"url"`
	CrashEvery int    `json:"crash_every"`
	Refs       bool   `json:"refs"`
}

type crashSink struct{ cfg config }

func (s *crashSink) Configure(_ context.Context, cfg sdk.Config) error {
	if err := sdk.DecodeConfig(cfg.Raw, &s.cfg); err != nil {
		return err
	}
	if s.cfg.URL == "" {
		return errors.New(`config key "url": required`)
	}
	return nil
}

func (s *crashSink) Send(ctx context.Context, events []sdk.Event) []sdk.Result {
	out := make([]sdk.Result, len(events))
	for i, ev := range events {
		n, err := s.post(ctx, ev)
		if err != nil {
			out[i] = sdk.Retry(err.Error(), time.Time{})
			continue
		}
		if s.cfg.CrashEvery > 0 && n%s.cfg.CrashEvery == 0 {
			// A panic in a gRPC handler is not recovered: the process dies
			// with the stack trace on its standard error, as a buggy
			// plugin does.
			panic(fmt.Sprintf("crashsink: crashing after event %d", n))
		}
		ref := ""
		if s.cfg.Refs && ev.Status == sdk.StatusFiring {
			ref = "ref-" + ev.ID
		}
		out[i] = sdk.Accept(ref)
	}
	return out
}

// post delivers one event and returns how many events the receiver has now.
func (s *crashSink) post(ctx context.Context, ev sdk.Event) (int, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("receiver answered %s", resp.Status)
	}
	var ans struct {
		Received int `json:"received"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return 0, err
	}
	return ans.Received, nil
}

func main() { sdk.Serve(&crashSink{}) }
