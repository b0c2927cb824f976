package config

import (
	"errors"
	"time"

	"github.com/heraldhq/herald/agent/silence"
)

// Maintenance is one [[maintenance]] window: a recurring silence. While it
// runs, the firing events its matchers match are held, not sent; when it
// ends, every alert it held that is still firing is sent once.
//
//	[[maintenance]]
//	name = "sunday-patch"
//	matchers = ['rule=~"qlik-.*"']
//	schedule = { weekdays = ["sun"], start = "02:00", end = "04:00" }
//	timezone = "Europe/Berlin"
//	comment = "OS patches"
type Maintenance struct {
	// Name identifies the window (letters, digits, _ and -); its silences
	// have the source "config:<name>".
	Name string `toml:"name"`
	// Matchers select the events, Alertmanager style: rule="x",
	// task_name=~"Finance.*", severity!="info". All must match.
	Matchers []string `toml:"matchers"`
	Schedule Schedule `toml:"schedule"`
	// Timezone is an IANA zone name (Europe/Berlin); default the machine's
	// local zone. Start and end follow its daylight-saving changes.
	Timezone string `toml:"timezone"`
	// Comment is shown with the silence and in the note on held alerts.
	// Default "maintenance window <name>".
	Comment string `toml:"comment"`
}

// Schedule is when a [[maintenance]] window runs: on Weekdays (every day
// when empty) from Start to End, "HH:MM" wall-clock times; an End at or
// before Start ends on the next day.
type Schedule struct {
	Weekdays []string `toml:"weekdays"`
	Start    string   `toml:"start"`
	End      string   `toml:"end"`
}

// Window returns m as a silence.Window. m must have passed validation.
func (m Maintenance) Window() (silence.Window, error) {
	w := silence.Window{Name: m.Name, Comment: m.Comment, Loc: time.Local}
	var err error
	if w.Matchers, err = silence.ParseMatchers(m.Matchers); err != nil {
		return w, err
	}
	for _, s := range m.Schedule.Weekdays {
		d, err := silence.ParseWeekday(s)
		if err != nil {
			return w, err
		}
		w.Weekdays = append(w.Weekdays, d)
	}
	if w.Start, err = silence.ParseClock(m.Schedule.Start); err != nil {
		return w, err
	}
	if w.End, err = silence.ParseClock(m.Schedule.End); err != nil {
		return w, err
	}
	if m.Timezone != "" {
		if w.Loc, err = time.LoadLocation(m.Timezone); err != nil {
			return w, err
		}
	}
	return w, nil
}

// errNoValue marks a key left out, already reported.
var errNoValue = errors.New("no value")

// maintenance checks the [[maintenance]] windows.
func (d *decoder) maintenance(c *Config) {
	names := map[string]keyPath{}
	for i := range c.Maintenance {
		m := &c.Maintenance[i]
		p := keyPath{"maintenance"}.index(i)
		d.name(p, m.Name, "[[maintenance]]", names)
		if len(m.Matchers) == 0 {
			d.addUnlessBad(p.key("matchers"), `required: at least one matcher, such as 'rule=~"qlik-.*"'`)
		}
		for j, s := range m.Matchers {
			if _, err := silence.ParseMatcher(s); err != nil {
				d.addUnlessBad(p.key("matchers").index(j), "%v", err)
			}
		}
		sp := p.key("schedule")
		seen := map[time.Weekday]bool{}
		for j, s := range m.Schedule.Weekdays {
			wd, err := silence.ParseWeekday(s)
			switch {
			case err != nil:
				d.addUnlessBad(sp.key("weekdays").index(j), "%v", err)
			case seen[wd]:
				d.addUnlessBad(sp.key("weekdays").index(j), "%q is listed twice", s)
			}
			seen[wd] = true
		}
		var start, end int
		var errStart, errEnd error
		for _, k := range []struct {
			key string
			v   string
			out *int
			err *error
		}{{"start", m.Schedule.Start, &start, &errStart}, {"end", m.Schedule.End, &end, &errEnd}} {
			if k.v == "" {
				d.addUnlessBad(sp.key(k.key), `required: a time of day "HH:MM", such as "02:00"`)
				*k.err = errNoValue
				continue
			}
			if *k.out, *k.err = silence.ParseClock(k.v); *k.err != nil {
				d.addUnlessBad(sp.key(k.key), "%v", *k.err)
			}
		}
		if errStart == nil && errEnd == nil && start == end {
			d.addUnlessBad(sp.key("end"), "equals start: the window would last a whole day; write a different end")
		}
		if m.Timezone != "" {
			if _, err := time.LoadLocation(m.Timezone); err != nil {
				d.addUnlessBad(p.key("timezone"), "%q is not a known time zone: use an IANA name such as \"Europe/Berlin\"", m.Timezone)
			}
		}
	}
}
