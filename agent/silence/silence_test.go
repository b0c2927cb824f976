package silence

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

func TestParseMatcher(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Matcher
		err  string
	}{
		{in: `rule="qlik-reload-failed"`, want: Matcher{Name: "rule", Op: "=", Value: "qlik-reload-failed"}},
		{in: `task_name=~"Finance.*"`, want: Matcher{Name: "task_name", Op: "=~", Value: "Finance.*"}},
		{in: ` severity != "info" `, want: Matcher{Name: "severity", Op: "!=", Value: "info"}},
		{in: `host!~node[12]`, want: Matcher{Name: "host", Op: "!~", Value: "node[12]"}},
		{in: `title="say \"hi\""`, want: Matcher{Name: "title", Op: "=", Value: `say "hi"`}},
		{in: `rule=""`, want: Matcher{Name: "rule", Op: "=", Value: ""}},
		{in: `rule`, err: "has no operator"},
		{in: `="x"`, err: "has no name"},
		{in: `rule=="x"`, err: "quote the value"},
		{in: `rule="x`, err: "not a well-quoted string"},
		{in: `rule=a b`, err: "quote the value"},
		{in: `task name="x"`, err: "use letters, digits"},
		{in: `task_name=~"Fin(ance"`, err: "bad regular expression"},
	} {
		got, err := ParseMatcher(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMatcher(%s) = %v, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.Name != tc.want.Name || got.Op != tc.want.Op || got.Value != tc.want.Value {
			t.Errorf("ParseMatcher(%s) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestMatches(t *testing.T) {
	ev := sdk.Event{Rule: "qlik-reload-failed", Key: "task-1", Severity: "critical", Host: "node1", Status: sdk.StatusFiring,
		Title: "Reload failed", Fields: map[string]string{"task_name": "Finance daily", "app_name": "Sales"}}
	for _, tc := range []struct {
		matchers []string
		want     bool
	}{
		{[]string{`rule="qlik-reload-failed"`}, true},
		{[]string{`rule="qlik-reload-failed"`, `task_name=~"Finance.*"`}, true},
		{[]string{`rule="qlik-reload-failed"`, `task_name=~"Nightly.*"`}, false},
		{[]string{`task_name=~"daily"`}, false}, // anchored: the whole value must match
		{[]string{`task_name=~".*daily"`}, true},
		{[]string{`task_name!~"Finance.*"`}, false},
		{[]string{`severity!="info"`, `host="node1"`, `status="firing"`, `key="task-1"`, `title="Reload failed"`}, true},
		{[]string{`missing=""`}, true}, // a name the event lacks is ""
		{[]string{`missing!="x"`}, true},
		{[]string{`missing="x"`}, false},
		{nil, false}, // no matchers match nothing
	} {
		ms, err := ParseMatchers(tc.matchers)
		if err != nil {
			t.Fatal(err)
		}
		s := Silence{Matchers: ms}
		if got := s.Matches(ev); got != tc.want {
			t.Errorf("%v matches = %v, want %v", tc.matchers, got, tc.want)
		}
		// Matchers read from the store are not compiled: same answers.
		raw := Silence{}
		for _, m := range ms {
			raw.Matchers = append(raw.Matchers, Matcher{Name: m.Name, Op: m.Op, Value: m.Value})
		}
		if got := raw.Matches(ev); got != tc.want {
			t.Errorf("%v (not compiled) matches = %v, want %v", tc.matchers, got, tc.want)
		}
	}
}

func TestActiveAndExpire(t *testing.T) {
	start := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	s := Silence{ID: "x", StartsAt: start, EndsAt: start.Add(2 * time.Hour)}
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{{-time.Nanosecond, false}, {0, true}, {time.Hour, true}, {2*time.Hour - 1, true}, {2 * time.Hour, false}} {
		if got := s.Active(start.Add(tc.at)); got != tc.want {
			t.Errorf("Active(start%+v) = %v, want %v", tc.at, got, tc.want)
		}
	}
	e := s
	if err := e.Expire("ops", start.Add(30*time.Minute)); err != nil || !e.EndsAt.Equal(start.Add(30*time.Minute)) || e.ExpiredBy != "ops" {
		t.Errorf("Expire: %v, %+v", err, e)
	}
	if err := e.Expire("ops", start.Add(time.Hour)); err == nil {
		t.Error("expiring an ended silence succeeded")
	}
	f := s
	if err := f.Expire("ops", start.Add(-time.Hour)); err != nil || f.Active(start) {
		t.Errorf("a silence expired before it starts must never be active: %v %+v", err, f)
	}
}

func TestNewValidates(t *testing.T) {
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	m, _ := ParseMatcher(`rule="x"`)
	ok := Silence{Matchers: []Matcher{m}, EndsAt: now.Add(time.Hour), Comment: "DB upgrade", Suppressed: 5}
	s, err := New(ok, now)
	if err != nil || s.ID == "" || !s.StartsAt.Equal(now) || s.Suppressed != 0 {
		t.Fatalf("New = %+v, %v", s, err)
	}
	for _, tc := range []struct {
		mod  func(*Silence)
		want string
	}{
		{func(s *Silence) { s.Matchers = nil }, "at least one matcher"},
		{func(s *Silence) { s.Comment = " " }, "comment is required"},
		{func(s *Silence) { s.EndsAt = time.Time{} }, "an end is required"},
		{func(s *Silence) { s.StartsAt = now.Add(2 * time.Hour) }, "must be after the start"},
		{func(s *Silence) { s.StartsAt, s.EndsAt = now.Add(-2*time.Hour), now.Add(-time.Hour) }, "in the past"},
		{func(s *Silence) { s.Matchers = []Matcher{{Name: "rule", Op: "~", Value: "x"}} }, "operator"},
	} {
		bad := ok
		tc.mod(&bad)
		if _, err := New(bad, now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New: %v, want an error with %q", err, tc.want)
		}
	}
}

// TestWindowAcrossDST: a window keeps its wall-clock times when the zone
// changes to and from summer time.
func TestWindowAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	w := Window{Name: "sunday-patch", Weekdays: []time.Weekday{time.Sunday}, Start: 60, End: 4 * 60, Loc: berlin}
	utc := func(s string) time.Time {
		t.Helper()
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		now, start, end string
	}{
		// 29 March 2026: 02:00 CET becomes 03:00 CEST. 01:00 CET to 04:00 CEST is 2 hours.
		{"2026-03-25T12:00:00Z", "2026-03-29T00:00:00Z", "2026-03-29T02:00:00Z"},
		// Running: the current occurrence.
		{"2026-03-29T01:30:00Z", "2026-03-29T00:00:00Z", "2026-03-29T02:00:00Z"},
		// Just over: the next Sunday, in summer time.
		{"2026-03-29T02:00:00Z", "2026-04-04T23:00:00Z", "2026-04-05T02:00:00Z"},
		// 25 October 2026: 03:00 CEST becomes 02:00 CET. 01:00 CEST to 04:00 CET is 4 hours.
		{"2026-10-20T00:00:00Z", "2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z"},
		{"2026-10-25T03:00:00Z", "2026-11-01T00:00:00Z", "2026-11-01T03:00:00Z"},
	} {
		start, end := w.Occurrence(utc(tc.now))
		if !start.Equal(utc(tc.start)) || !end.Equal(utc(tc.end)) {
			t.Errorf("at %s: occurrence %s - %s, want %s - %s", tc.now, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), tc.start, tc.end)
		}
	}

	// Overnight, every day: 23:00 to 01:00 the next day.
	night := Window{Name: "night", Start: 23 * 60, End: 60, Loc: time.UTC}
	start, end := night.Occurrence(utc("2026-05-05T00:30:00Z"))
	if !start.Equal(utc("2026-05-04T23:00:00Z")) || !end.Equal(utc("2026-05-05T01:00:00Z")) {
		t.Errorf("overnight: %s - %s", start, end)
	}

	// Same occurrence, same silence; the next one, another.
	a, b := w.Silence(utc("2026-03-25T12:00:00Z")), w.Silence(utc("2026-03-29T01:00:00Z"))
	if a.ID != b.ID || a.Source != "config:sunday-patch" || a.Comment != "maintenance window sunday-patch" {
		t.Errorf("silences of one occurrence: %+v, %+v", a, b)
	}
	if c := w.Silence(utc("2026-03-29T02:00:00Z")); c.ID == a.ID {
		t.Errorf("next occurrence has the same id %s", c.ID)
	}
}

func TestParseClockAndWeekday(t *testing.T) {
	for in, want := range map[string]int{"00:00": 0, "02:30": 150, "23:59": 23*60 + 59} {
		if got, err := ParseClock(in); err != nil || got != want {
			t.Errorf("ParseClock(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"2:00", "24:00", "02:60", "0200", ""} {
		if _, err := ParseClock(bad); err == nil {
			t.Errorf("ParseClock(%q) succeeded", bad)
		}
	}
	if d, err := ParseWeekday("Sun"); err != nil || d != time.Sunday {
		t.Errorf("ParseWeekday(Sun) = %v, %v", d, err)
	}
	if _, err := ParseWeekday("sonntag"); err == nil {
		t.Error("ParseWeekday(sonntag) succeeded")
	}
}
