package config

import (
	"strings"
	"testing"
	"time"
)

const maintenanceBase = `
[[input]]
name = "a"
paths = ["x"]

[[sink]]
name = "s"
plugin = "console"
`

func TestMaintenance(t *testing.T) {
	c, err := Parse("herald.toml", []byte(maintenanceBase+`
[[maintenance]]
name = "sunday-patch"
matchers = ['rule=~"qlik-.*"', 'TaskName!="Critical"']
schedule = { weekdays = ["sun"], start = "02:00", end = "04:00" }
timezone = "Europe/Berlin"
comment = "OS patches"
`), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Maintenance[0].Window()
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "sunday-patch" || len(w.Matchers) != 2 || w.Start != 120 || w.End != 240 ||
		len(w.Weekdays) != 1 || w.Weekdays[0] != time.Sunday || w.Loc.String() != "Europe/Berlin" || w.Comment != "OS patches" {
		t.Errorf("window = %+v", w)
	}
}

func TestMaintenanceErrors(t *testing.T) {
	_, err := Parse("herald.toml", []byte(maintenanceBase+`
[[maintenance]]
name = "bad window"
matchers = ['rule=~"qlik-(.*"']
schedule = { weekdays = ["sun", "funday"], start = "2:00", end = "25:00" }
timezone = "Europe/Atlantis"

[[maintenance]]
name = "w2"
matchers = []
schedule = { start = "03:00", end = "03:00" }
colour = "red"
`), envOf(nil))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`herald.toml:11:1: maintenance[0].name: "bad window" is not a valid name`,
		`herald.toml:12:13: maintenance[0].matchers[0]: matcher "rule=~\"qlik-(.*\"": matcher rule: bad regular expression`,
		`maintenance[0].schedule.weekdays[1]: "funday" is not a weekday`,
		`maintenance[0].schedule.start: "2:00" is not a time of day`,
		`maintenance[0].schedule.end: "25:00" is not a time of day`,
		`maintenance[0].timezone: "Europe/Atlantis" is not a known time zone`,
		`maintenance[1].matchers: required: at least one matcher`,
		`maintenance[1].schedule.end: equals start`,
		`herald.toml:20:1: maintenance[1].colour: unknown key`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
