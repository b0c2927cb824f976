package silence

import (
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time zones of [[maintenance]] on Windows machines without Go's zoneinfo
)

// Window is a recurring maintenance window from the config: on the given
// weekdays (all days when empty), from Start to End, wall-clock time in Loc.
// An End at or before Start ends on the next day. Times follow the zone's
// daylight-saving changes: a window 02:00-04:00 is 02:00-04:00 on the clock
// of that day.
type Window struct {
	Name     string
	Matchers []Matcher
	Weekdays []time.Weekday
	// Start and End are minutes after midnight.
	Start, End int
	Loc        *time.Location
	Comment    string
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// ParseWeekday reads "mon" or "monday" (any case).
func ParseWeekday(s string) (time.Weekday, error) {
	d, ok := weekdays[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return 0, fmt.Errorf("%q is not a weekday: use mon, tue, wed, thu, fri, sat or sun", s)
	}
	return d, nil
}

// ParseClock reads a wall-clock time "HH:MM" (24-hour) as minutes after
// midnight.
func ParseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("%q is not a time of day: write HH:MM, 24-hour, such as \"02:00\"", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Occurrence returns the window's occurrence that is running at now, or else
// the next one: its start and end.
func (w Window) Occurrence(now time.Time) (start, end time.Time) {
	loc := w.Loc
	if loc == nil {
		loc = time.Local
	}
	local := now.In(loc)
	// From yesterday, whose window may run past midnight, to a week ahead.
	for i := -1; i <= 8; i++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+i, 0, 0, 0, 0, loc)
		if len(w.Weekdays) > 0 && !slices.Contains(w.Weekdays, day.Weekday()) {
			continue
		}
		start = time.Date(day.Year(), day.Month(), day.Day(), w.Start/60, w.Start%60, 0, 0, loc)
		endDay := day.Day()
		if w.End <= w.Start {
			endDay++
		}
		end = time.Date(day.Year(), day.Month(), endDay, w.End/60, w.End%60, 0, 0, loc)
		if end.After(now) && end.After(start) {
			return start, end
		}
	}
	return time.Time{}, time.Time{} // not reached: every week has a day of the window
}

// Silence returns the silence of the occurrence that is running at now, or
// else of the next one. Its ID is derived from the window's name and start,
// so materialising the same occurrence twice yields the same silence.
func (w Window) Silence(now time.Time) Silence {
	start, end := w.Occurrence(now)
	comment := w.Comment
	if comment == "" {
		comment = "maintenance window " + w.Name
	}
	return Silence{
		ID:       WindowID(w.Name, start),
		Matchers: slices.Clone(w.Matchers),
		StartsAt: start, EndsAt: end,
		Comment: comment, CreatedBy: "config", Source: SourceConfigPrefix + w.Name,
	}
}

// WindowID is the ID of the occurrence of the window named name that starts
// at start.
func WindowID(name string, start time.Time) string {
	return "cfg-" + name + "-" + start.UTC().Format("20060102T1504Z")
}
