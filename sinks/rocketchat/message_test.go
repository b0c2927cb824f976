package rocketchat

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldhq/herald/plugins/sdk"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"fits", "hello", 5, "hello"},
		{"ascii cut", "hello world, this is long", 20, "hello w" + TruncationMark},
		{"trailing space dropped at the cut", "hello   world again", 18, "hello" + TruncationMark},
		// Each 😀 is two UTF-16 units, as the server counts; never split one.
		{"surrogate pairs", strings.Repeat("😀", 10), 18, "😀😀" + TruncationMark},
		{"budget smaller than a pair", "😀😀😀😀😀😀😀😀", 14, TruncationMark},
		{"max below the mark", "abcdefghijklmnopqrstuvwxyz", 5, TruncationMark},
		{"multibyte BMP", strings.Repeat("é", 30), 20, strings.Repeat("é", 7) + TruncationMark},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncate(tt.in, tt.max)
			if got != tt.want {
				t.Fatalf("truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("result is not valid UTF-8")
			}
			if tt.max >= utf16Len(TruncationMark) && utf16Len(got) > tt.max {
				t.Errorf("result is %d UTF-16 units, over %d", utf16Len(got), tt.max)
			}
		})
	}
}

func TestMessageID(t *testing.T) {
	id := MessageID("GENERAL", "01J00000000000000000000000")
	if !regexp.MustCompile(`^[A-Za-z0-9]{17}$`).MatchString(id) {
		t.Fatalf("MessageID = %q, want 17 base62 characters", id)
	}
	if again := MessageID("GENERAL", "01J00000000000000000000000"); again != id {
		t.Errorf("not deterministic: %q then %q", id, again)
	}
	if other := MessageID("ALERTS", "01J00000000000000000000000"); other == id {
		t.Errorf("same id %q in two rooms", id)
	}
	if other := MessageID("GENERAL", "01J00000000000000000000001"); other == id {
		t.Errorf("same id %q for two events", id)
	}
	// Pinned: changing the derivation would make retries after an upgrade
	// post twice.
	if want := "8zLySJ9Job30M9N5i"; id != want {
		t.Errorf("MessageID changed: got %q, want %q", id, want)
	}
}

func TestLook(t *testing.T) {
	tests := []struct {
		status              sdk.Status
		severity            string
		emoji, word, colour string
	}{
		{sdk.StatusFiring, "critical", ":red_circle:", "FIRING", "#d00000"},
		{sdk.StatusFiring, "Error", ":red_circle:", "FIRING", "#d00000"},
		{sdk.StatusFiring, "warning", ":warning:", "FIRING", "#f0a000"},
		{sdk.StatusFiring, "info", ":information_source:", "FIRING", "#439fe0"},
		{sdk.StatusFiring, "", ":information_source:", "FIRING", "#439fe0"},
		{sdk.StatusResolved, "critical", ":white_check_mark:", "RESOLVED", "#2eb886"},
		{sdk.StatusAcknowledged, "critical", ":eyes:", "ACKNOWLEDGED", "#9e9e9e"},
		{sdk.StatusInfo, "critical", ":speech_balloon:", "INFO", "#9e9e9e"},
	}
	for _, tt := range tests {
		emoji, word, colour := look(sdk.Event{Status: tt.status, Severity: tt.severity})
		if emoji != tt.emoji || word != tt.word || colour != tt.colour {
			t.Errorf("%s/%s: got %s %s %s, want %s %s %s", tt.status, tt.severity, emoji, word, colour, tt.emoji, tt.word, tt.colour)
		}
	}
}

func TestFieldsSkipEmptyAndOrder(t *testing.T) {
	ev := sdk.Event{
		Severity: "critical", Host: "qlik-1", Rule: "r1",
		Fields: map[string]string{"TaskName": "Reload Sales", "AppName": "", "ExecutionId": "e-1", "AppId": "a-1", "TaskId": " "},
	}
	var got []string
	for _, f := range fields(ev) {
		got = append(got, f.Title+"="+f.Value)
		if !f.Short {
			t.Errorf("field %s is not short", f.Title)
		}
	}
	want := "Severity=critical Task=Reload Sales Host=qlik-1 Execution=e-1 AppId=a-1 Rule=r1"
	if strings.Join(got, " ") != want {
		t.Errorf("fields = %s\nwant     %s", strings.Join(got, " "), want)
	}
}

func TestSummaryIsOneLine(t *testing.T) {
	ev := sdk.Event{Status: sdk.StatusFiring, Severity: "critical", Title: "Reload\r\nfailed:\tSales"}
	if got, want := summary(ev, 5000), ":red_circle: *FIRING* Reload failed: Sales"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if got := summary(sdk.Event{Status: sdk.StatusFiring, Key: "k1"}, 5000); got != ":information_source: *FIRING* alert k1" {
		t.Errorf("untitled summary = %q", got)
	}
}
