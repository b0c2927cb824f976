package webhook

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// FuzzJSON holds the hand-written encoders to encoding/json's output for the
// same payloads, byte for byte, so that receivers see what they always saw.
func FuzzJSON(f *testing.F) {
	f.Add("01J8Z6V7Q3", "Reload failed: Sales", "Max retries reached", "TaskName", "Reload Sales", int64(1772366400123456789), 3600)
	f.Add(`"quoted" \ back`, "<b>&amp;</b>", "line\nbreak\ttab\r\x00\x1f\x7f", "Ключ", "日本語", int64(0), -12600)
	f.Add("bad \xff utf-8 \xc3", "\u2028 and \u2029", "\ufffd kept", "", "", int64(-62135596800), 0)
	f.Add("year 10000", "", "", "k", "v", int64(253402300800), 0)
	f.Add("zone beyond 24h", "", "", "k", "v", int64(0), 25*3600)
	f.Fuzz(func(t *testing.T, text, title, message, fieldKey, fieldValue string, unixNano int64, offset int) {
		ev := sdk.Event{
			ID: text, Rule: text + "-rule", Status: sdk.Status(title), Key: message, Severity: fieldKey,
			Title: title, Message: message, Host: fieldValue,
			Time:   time.Unix(0, unixNano).In(time.FixedZone("", offset%(100*3600))),
			Fields: map[string]string{fieldKey: fieldValue, "TaskName": text, "Level": title, "Message": message},
		}
		want, wantErr := json.Marshal(heraldPayload(ev))
		got, err := appendHerald(nil, ev)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("herald: error %v, encoding/json's %v", err, wantErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("herald:\ngot  %s\nwant %s", got, want)
		}
		if wantErr == nil && len(got) > heraldSize(ev) && !bytes.ContainsAny(got, `\`) {
			t.Errorf("herald: %d bytes, more than the %d guessed without escapes", len(got), heraldSize(ev))
		}

		ev.Status = sdk.StatusFiring
		b, _ := butlerPayload(ev)
		want, wantErr = json.Marshal(b)
		if wantErr != nil {
			t.Fatalf("butler: encoding/json: %v", wantErr)
		}
		if got := appendButler(nil, b); !bytes.Equal(got, want) {
			t.Fatalf("butler:\ngot  %s\nwant %s", got, want)
		}
	})
}

// BenchmarkPayload builds the body of the benchmark's event in each format.
func BenchmarkPayload(b *testing.B) {
	for _, format := range []string{"herald", "butler"} {
		b.Run(format, func(b *testing.B) {
			s, _ := configure(b, map[string]any{"url": "http://127.0.0.1/hook", "format": format})
			ev := qlikEvent()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok, err := s.payload(ev); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
