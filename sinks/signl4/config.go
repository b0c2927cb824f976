package signl4

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/sinks/internal/httpx"
)

// Config is the SIGNL4 sink's [sink.config].
type Config struct {
	// URL is the inbound webhook, https://connect.signl4.com/webhook/<secret>
	// with the team or integration secret (required). It is a secret: only
	// its scheme and host are ever shown.
	URL string `json:"url"`
	// Service sets X-S4-Service: the SIGNL4 category the alerts belong to.
	Service string `json:"service"`
	// AlertingScenario sets X-S4-AlertingScenario: single_ack, multi_ack or emergency.
	AlertingScenario string `json:"alerting_scenario"`
	// Filtering sets X-S4-Filtering: alert only when a category's keyword
	// filter matches. Not sent when unset.
	Filtering *bool `json:"filtering"`
	// Location sets X-S4-Location, "lat,long".
	Location string `json:"location"`
	// SourceSystem sets X-S4-SourceSystem; default "Herald".
	SourceSystem string `json:"source_system"`
	// Parameters are static parameters added to every new alert.
	Parameters map[string]string `json:"parameters"`
	// Severities map an event's severity to the "Severity" parameter sent;
	// a severity not in the map is sent as it is.
	Severities map[string]string `json:"severities"`
	// Timeout bounds each request, such as "10s" (the default).
	Timeout string `json:"timeout"`
}

var scenarios = []string{"single_ack", "multi_ack", "emergency"}

type settings struct {
	url        *url.URL
	timeout    time.Duration
	service    string
	scenario   string
	filtering  *bool
	location   string
	source     string
	params     map[string]string
	severities map[string]string
}

func (c *Config) validate() (*settings, error) {
	u, err := httpx.ParseURL("url", c.URL)
	if err != nil {
		return nil, err
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	// An empty ${VAR} leaves .../webhook/ with no secret after it.
	if p := strings.Trim(u.Path, "/"); p == "" || strings.EqualFold(p, "webhook") {
		bad("url: has no secret in its path; copy it from SIGNL4: https://connect.signl4.com/webhook/<team or integration secret>")
	}
	s := &settings{
		url: u, service: c.Service, filtering: c.Filtering, location: c.Location,
		source: c.SourceSystem, params: c.Parameters, severities: c.Severities,
	}
	if s.source == "" {
		s.source = "Herald"
	}
	if s.timeout, err = httpx.ParseTimeout("timeout", c.Timeout); err != nil {
		errs = append(errs, err)
	}
	if c.AlertingScenario != "" {
		s.scenario = strings.ToLower(c.AlertingScenario)
		if !contains(scenarios, s.scenario) {
			bad("alerting_scenario: must be one of %s, got %q", strings.Join(scenarios, ", "), c.AlertingScenario)
		}
	}
	if c.Location != "" && !validLocation(c.Location) {
		bad("location: must be \"latitude,longitude\" in degrees, such as \"52.5200,13.4050\"; got %q", c.Location)
	}
	for k := range c.Parameters {
		if reserved(k) {
			bad("parameters: %q is set by the sink (title, text, severity and X-S4-* parameters are); use the matching key instead", k)
		} else if strings.TrimSpace(k) == "" {
			bad("parameters: a parameter name is empty")
		}
	}
	for k := range c.Severities {
		if strings.TrimSpace(k) == "" {
			bad("severities: a severity name is empty")
		}
	}
	return s, errors.Join(errs...)
}

func validLocation(s string) bool {
	lat, long, ok := strings.Cut(s, ",")
	if !ok {
		return false
	}
	la, err1 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
	lo, err2 := strconv.ParseFloat(strings.TrimSpace(long), 64)
	return err1 == nil && err2 == nil && la >= -90 && la <= 90 && lo >= -180 && lo <= 180
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
