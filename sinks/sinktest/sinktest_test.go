package sinktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

const secret = "s3cr3t-for-the-suite"

// refSink is a minimal HTTP sink, written without Herald's helpers, with
// switches that break one contract each, to prove that Run notices.
type refSink struct {
	url    string
	client *http.Client
	flaw   string
	// order is how the batch goes out: "" in order, "reverse" last event
	// first, "concurrent" all requests at once.
	order string
}

func (s *refSink) Configure(_ context.Context, cfg sdk.Config) error {
	var c struct {
		URL     string `json:"url"`
		Timeout string `json:"timeout"`
	}
	if err := sdk.DecodeConfig(cfg.Raw, &c); err != nil {
		return err
	}
	d, err := time.ParseDuration(c.Timeout)
	if err != nil {
		return fmt.Errorf("timeout: %w", err)
	}
	s.url, s.client = c.URL, &http.Client{
		Timeout:       d,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if s.flaw == "logs secret" && cfg.Logger != nil {
		cfg.Logger.Info("configured", "url", c.URL)
	}
	return nil
}

func (s *refSink) Send(ctx context.Context, evs []sdk.Event) []sdk.Result {
	if s.order == "concurrent" {
		return s.sendConcurrently(ctx, evs)
	}
	out := make([]sdk.Result, len(evs))
	for k := range evs {
		i := k
		if s.order == "reverse" {
			i = len(evs) - 1 - k
		}
		r := s.sendOrSkip(ctx, evs[i])
		if s.flaw == "misplaces results" {
			i = k // the answers in the order the requests went out
		}
		out[i] = r
	}
	if s.flaw == "drops last" && len(out) > 0 {
		out = out[:len(out)-1]
	}
	return out
}

// sendConcurrently sends every event at once and waits for all answers,
// unless its flaw is to return as soon as ctx is done.
func (s *refSink) sendConcurrently(ctx context.Context, evs []sdk.Event) []sdk.Result {
	type answer struct {
		i int
		r sdk.Result
	}
	answers := make(chan answer, len(evs))
	for i, ev := range evs {
		go func() { answers <- answer{i, s.sendOrSkip(ctx, ev)} }()
	}
	out := make([]sdk.Result, len(evs))
	for range evs {
		select {
		case a := <-answers:
			out[a.i] = a.r
		case <-ctx.Done():
			if s.flaw == "leaves requests open" {
				for i := range out {
					out[i] = sdk.Retry("cancelled", time.Time{})
				}
				return out
			}
			a := <-answers
			out[a.i] = a.r
		}
	}
	return out
}

func (s *refSink) sendOrSkip(ctx context.Context, ev sdk.Event) sdk.Result {
	if ctx.Err() != nil && s.flaw != "ignores cancel" {
		return sdk.Retry("cancelled", time.Time{})
	}
	return s.send(ctx, ev)
}

func (s *refSink) send(ctx context.Context, ev sdk.Event) sdk.Result {
	body, _ := json.Marshal(ev)
	if s.flaw == "ignores cancel" || s.flaw == "leaves requests open" {
		ctx = context.WithoutCancel(ctx)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	resp, err := s.client.Do(req)
	if err != nil {
		if s.flaw == "leaks url" {
			return sdk.Retry(err.Error(), time.Time{}) // url.Error quotes the URL
		}
		return sdk.Retry("request failed", time.Time{})
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	reason := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if s.flaw == "leaks body" {
		reason += ": " + string(text)
	}
	switch {
	case resp.StatusCode < 300:
		return sdk.Accept("")
	case resp.StatusCode == 429 || resp.StatusCode == 408 || (resp.StatusCode >= 500 && s.flaw != "rejects 5xx"):
		var at time.Time
		if n, err := time.ParseDuration(resp.Header.Get("Retry-After") + "s"); err == nil {
			at = time.Now().Add(n)
		} else if t, err := http.ParseTime(resp.Header.Get("Retry-After")); err == nil {
			at = t
		}
		return sdk.Retry(reason, at)
	default:
		return sdk.Reject(reason)
	}
}

func harness(flaw, order string) Harness {
	return Harness{
		New:    func() sdk.Sink { return &refSink{flaw: flaw, order: order} },
		Secret: secret,
		Config: func(baseURL string, timeout time.Duration) map[string]any {
			return map[string]any{"url": baseURL + "/hook/" + secret, "timeout": timeout.String()}
		},
	}
}

func TestRunPassesACorrectSink(t *testing.T) {
	// The order the requests go out in is the sink's business; the results'
	// order is not.
	for _, order := range []string{"", "reverse", "concurrent"} {
		t.Run("order="+order, func(t *testing.T) { Run(t, harness("", order)) })
	}
}

// TestRunCatchesFlaws runs the suite against a flawed sink in a child
// process (a failing *testing.T cannot be observed in-process) and expects
// it to fail for the right reason.
func TestRunCatchesFlaws(t *testing.T) {
	if flaw := os.Getenv("SINKTEST_FLAW"); flaw != "" {
		sendDeadline = 3 * time.Second
		Run(t, harness(flaw, os.Getenv("SINKTEST_ORDER")))
		return
	}
	if testing.Short() {
		t.Skip("runs the test binary once per flaw")
	}
	for _, tt := range []struct{ flaw, order, want string }{
		{"leaks url", "", "shows the secret"},
		{"leaks body", "", "shows the secret"},
		{"logs secret", "", "a log line shows the secret"},
		{"rejects 5xx", "", "HTTP 503: outcome rejected"},
		{"drops last", "", "results for 3 events"},
		{"ignores cancel", "", "Send did not return within 3s"},
		{"misplaces results", "reverse", "event 0 answered 200: outcome retryable"},
		{"leaves requests open", "concurrent", "still open at the destination"},
	} {
		flaw, want := tt.flaw, tt.want
		t.Run(flaw, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestRunCatchesFlaws$")
			cmd.Env = append(os.Environ(), "SINKTEST_FLAW="+flaw, "SINKTEST_ORDER="+tt.order)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a sink that %s", flaw)
			}
			if !strings.Contains(string(out), want) {
				t.Errorf("the suite failed, but not with %q:\n%s", want, out)
			}
		})
	}
}
