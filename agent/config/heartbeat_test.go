package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/heartbeat"
)

const heartbeatBase = `
[agent]
host = "n"
[[input]]
name = "a"
paths = ["x"]
[[sink]]
name = "s"
plugin = "console"
`

func TestHeartbeatDefaults(t *testing.T) {
	tests := []struct {
		name, src string
		env       map[string]string
		want      Heartbeat
	}{
		{"absent: off", "", nil, Heartbeat{}},
		{"empty url: off", "[heartbeat]\nurl = \"\"\n", nil, Heartbeat{}},
		{"variable set empty: off", "[heartbeat]\nurl = \"${HB}\"\n", map[string]string{"HB": ""}, Heartbeat{}},
		{"url only: defaults", "[heartbeat]\nurl = \"${HB}\"\n", map[string]string{"HB": "https://hc-ping.com/uuid"},
			Heartbeat{URL: "https://hc-ping.com/uuid", Interval: Duration{time.Minute}, Timeout: Duration{10 * time.Second},
				Method: "GET", OnFailure: "fail", Style: "auto"}},
		{"uptime kuma", "[heartbeat]\nurl = \"http://kuma:3001/api/push/tok?status=up&msg=OK&ping=\"\ninterval = \"20s\"\n", nil,
			Heartbeat{URL: "http://kuma:3001/api/push/tok?status=up&msg=OK&ping=", Interval: Duration{20 * time.Second},
				Timeout: Duration{10 * time.Second}, Method: "GET", OnFailure: "fail", Style: "auto"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("herald.toml", []byte(heartbeatBase+tt.src), envOf(tt.env))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(c.Heartbeat, tt.want) {
				t.Errorf("heartbeat = %+v, want %+v", c.Heartbeat, tt.want)
			}
		})
	}
}

// TestHeartbeatURLNeverShown: the URL is a secret, whether written in the file
// or taken from the environment.
func TestHeartbeatURLNeverShown(t *testing.T) {
	const secret = "s3cr3t-uuid"
	for _, src := range []string{
		"[heartbeat]\nurl = \"ftp://host/" + secret + "\"\n",
		"[heartbeat]\nurl = \"host/" + secret + "\"\n",
		"[heartbeat]\nurl = \"https:///" + secret + "\"\n",
		"[heartbeat]\nurl = \"https://host/%zz" + secret + "\"\n",
		"[heartbeat]\nurl = \"${HB}\"\n",
	} {
		_, err := Parse("herald.toml", []byte(heartbeatBase+src), envOf(map[string]string{"HB": "hc-ping.com/" + secret}))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", src)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, secret) || !strings.Contains(msg, "heartbeat.url: ") {
			t.Errorf("Parse(%q) = %q: want an error about heartbeat.url that does not show it", src, msg)
		}
	}
}

// TestHeartbeatValuesMatchPackage holds the accepted values here together with
// what agent/heartbeat accepts.
func TestHeartbeatValuesMatchPackage(t *testing.T) {
	for _, tt := range []struct{ here, there []string }{
		{heartbeatMethods, heartbeat.Methods},
		{heartbeatOnFailures, heartbeat.OnFailures},
		{heartbeatStyles, heartbeat.Styles},
	} {
		if !slices.Equal(tt.here, tt.there) {
			t.Errorf("config accepts %v, agent/heartbeat %v", tt.here, tt.there)
		}
	}
	if DefaultHeartbeatInterval != heartbeat.DefaultInterval || DefaultHeartbeatTimeout != heartbeat.DefaultTimeout {
		t.Error("default interval or timeout differ from agent/heartbeat's")
	}
}
