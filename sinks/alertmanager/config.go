package alertmanager

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldhq/herald/sinks/internal/amlabels"
	"github.com/heraldhq/herald/sinks/internal/httpx"
)

// Config is the alertmanager sink's [sink.config].
type Config struct {
	// URLs are the Alertmanager instances, such as "http://am1:9093" (with the
	// --web.route-prefix, if one is set). Every event goes to every one, as
	// Prometheus sends to each member of an HA cluster.
	URLs []string `json:"urls"`
	// BasicAuth sends HTTP Basic credentials; exclusive with BearerToken.
	BasicAuth *BasicAuth `json:"basic_auth"`
	// BearerToken sends "Authorization: Bearer <token>".
	BearerToken string `json:"bearer_token"`
	// CAFile is a PEM file of CA certificates to trust.
	CAFile string `json:"ca_file"`
	// InsecureSkipVerify turns off TLS certificate verification.
	InsecureSkipVerify bool `json:"insecure_skip_verify"`
	// Timeout bounds each request, such as "10s" (the default).
	Timeout string `json:"timeout"`
	// GeneratorURL is sent as every alert's generatorURL: where to see it,
	// typically the agent's /alerts.
	GeneratorURL string `json:"generator_url"`
	amlabels.Config
}

// BasicAuth is a user name and password for HTTP Basic authentication.
type BasicAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// apiPath is Alertmanager's v2 endpoint for posting alerts.
const apiPath = "/api/v2/alerts"

type target struct {
	url  string   // the endpoint, with apiPath
	base *url.URL // as configured
}

type settings struct {
	targets   []target
	header    http.Header
	timeout   time.Duration
	generator string
	mapper    *amlabels.Mapper
	secrets   []string
}

func (c *Config) validate() (*settings, error) {
	s := &settings{header: http.Header{"Content-Type": {"application/json"}, "User-Agent": {httpx.UserAgent}}}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.URLs) == 0 {
		bad("urls: required: one URL per Alertmanager, such as [\"http://am1:9093\", \"http://am2:9093\"]")
	}
	seen := map[string]bool{}
	hasUser := false
	for i, raw := range c.URLs {
		key := fmt.Sprintf("urls[%d]", i)
		u, err := httpx.ParseURL(key, raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if u.RawQuery != "" || u.Fragment != "" {
			bad("%s: must have no query or fragment; give the Alertmanager's base URL", key)
			continue
		}
		if strings.HasSuffix(strings.TrimRight(u.Path, "/"), apiPath) {
			bad("%s: give the Alertmanager's base URL; the sink adds %s", key, apiPath)
			continue
		}
		if seen[u.String()] {
			bad("%s: listed twice", key)
			continue
		}
		seen[u.String()] = true
		hasUser = hasUser || u.User != nil
		endpoint := *u
		endpoint.Path = strings.TrimRight(u.Path, "/") + apiPath
		endpoint.RawPath = ""
		s.targets = append(s.targets, target{url: endpoint.String(), base: u})
	}

	auths := 0
	if c.BasicAuth != nil {
		auths++
		if c.BasicAuth.Username == "" {
			bad("basic_auth.username: required")
		}
		cred := base64.StdEncoding.EncodeToString([]byte(c.BasicAuth.Username + ":" + c.BasicAuth.Password))
		s.header.Set("Authorization", "Basic "+cred)
		s.secrets = append(s.secrets, c.BasicAuth.Password, cred)
	}
	if c.BearerToken != "" {
		auths++
		s.header.Set("Authorization", "Bearer "+c.BearerToken)
		s.secrets = append(s.secrets, c.BearerToken)
	}
	if hasUser {
		auths++
	}
	if auths > 1 {
		bad("basic_auth, bearer_token and credentials in urls: set at most one")
	}

	var err error
	if s.timeout, err = httpx.ParseTimeout("timeout", c.Timeout); err != nil {
		errs = append(errs, err)
	}
	if c.GeneratorURL != "" {
		if u, err := url.Parse(c.GeneratorURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("generator_url: must be an http:// or https:// URL, such as \"http://qlik-node-1:9308/alerts\"")
		}
		s.generator = c.GeneratorURL
	}
	if s.mapper, err = amlabels.New(c.Config); err != nil {
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}

func (s *settings) urls() []*url.URL {
	out := make([]*url.URL, len(s.targets))
	for i, t := range s.targets {
		out[i] = t.base
	}
	return out
}
