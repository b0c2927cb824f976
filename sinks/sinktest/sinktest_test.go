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
	var out []sdk.Result
	for i, ev := range evs {
		if ctx.Err() != nil && s.flaw != "ignores cancel" {
			out = append(out, sdk.Retry("cancelled", time.Time{}))
			continue
		}
		if s.flaw == "drops last" && i == len(evs)-1 {
			break
		}
		out = append(out, s.send(ctx, ev))
	}
	return out
}

func (s *refSink) send(ctx context.Context, ev sdk.Event) sdk.Result {
	body, _ := json.Marshal(ev)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if s.flaw == "ignores cancel" {
		req, _ = http.NewRequestWithContext(context.Background(), http.MethodPost, s.url, bytes.NewReader(body))
	}
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

func harness(flaw string) Harness {
	return Harness{
		New:    func() sdk.Sink { return &refSink{flaw: flaw} },
		Secret: secret,
		Config: func(baseURL string, timeout time.Duration) map[string]any {
			return map[string]any{"url": baseURL + "/hook/" + secret, "timeout": timeout.String()}
		},
	}
}

func TestRunPassesACorrectSink(t *testing.T) {
	Run(t, harness(""))
}

// TestRunCatchesFlaws runs the suite against a flawed sink in a child
// process (a failing *testing.T cannot be observed in-process) and expects
// it to fail for the right reason.
func TestRunCatchesFlaws(t *testing.T) {
	if flaw := os.Getenv("SINKTEST_FLAW"); flaw != "" {
		sendDeadline = 3 * time.Second
		Run(t, harness(flaw))
		return
	}
	if testing.Short() {
		t.Skip("runs the test binary once per flaw")
	}
	for flaw, want := range map[string]string{
		"leaks url":      "shows the secret",
		"leaks body":     "shows the secret",
		"logs secret":    "a log line shows the secret",
		"rejects 5xx":    "HTTP 503: outcome rejected",
		"drops last":     "results for 3 events",
		"ignores cancel": "Send did not return within 3s",
	} {
		t.Run(flaw, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestRunCatchesFlaws$")
			cmd.Env = append(os.Environ(), "SINKTEST_FLAW="+flaw)
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
