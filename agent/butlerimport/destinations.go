package butlerimport

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// signl4 carries over Butler.incidentTool.signl4: one sink (two when the
// events name different SIGNL4 services), and one rule per enabled event.
func (c *converter) signl4(butler node) {
	s := butler.at("incidentTool.signl4")
	if !s.at("enable").enabled() {
		return
	}
	type eventCfg struct {
		ev                event
		path              string
		rate              time.Duration
		service, severity string
	}
	var on []eventCfg
	for _, ev := range events {
		e, ok := s.get(ev.butler)
		if !ok || !e.at("enable").enabled() {
			continue
		}
		cfg := eventCfg{ev: ev, path: e.path, service: butlerSignl4Service, severity: butlerSeverity}
		var good bool
		if cfg.rate, good = c.rateLimit(e); !good {
			continue
		}
		if n, ok := e.get("serviceName"); ok && !n.isNull() {
			v, err := n.str()
			if !c.check(err) {
				continue
			}
			cfg.service = v
		}
		if n, ok := e.get("severity"); ok && !n.isNull() {
			v, err := n.str()
			if !c.check(err) {
				continue
			}
			cfg.severity = v
		}
		if inc, ok := e.get("includeApp"); ok && !inc.at("includeAll").enabled() {
			if ids, err := inc.at("appId").items(); err == nil && len(ids) > 0 {
				c.note(NotCarried, inc.path, "Butler never applied this app filter (its code does not read it), so neither does Herald; "+
					"to alert for some apps only, add `&& AppId in [\"...\"]` to the when of rule %q in %s", routeID(ev, "signl4"), RulesFile)
			}
		}
		on = append(on, cfg)
	}
	if len(on) == 0 {
		return
	}

	urlNode := s.at("url")
	raw, err := urlNode.str()
	if !c.check(err) {
		return
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		c.note(NotCarried, urlNode.path, "empty, so Butler could not reach SIGNL4 either; SIGNL4 left out")
		return
	}
	u, err := splitURL(raw)
	if err != nil {
		c.note(NotCarried, urlNode.path, "%s; SIGNL4 left out", err)
		return
	}
	urlValue := c.signl4URL(u, urlNode.path)

	oneSink := true
	for _, cfg := range on[1:] {
		oneSink = oneSink && cfg.service == on[0].service
	}
	var current *sink
	for _, cfg := range on {
		if current == nil || !oneSink {
			name := "signl4"
			if !oneSink {
				name = "signl4-" + cfg.ev.name
			}
			current = &sink{name: name, plugin: "signl4", comments: []string{"From " + s.path}}
			current.config = []kv{
				{key: "url", value: basicString(urlValue)},
				{key: "service", value: tomlString(escapeDollar(cfg.service)), comment: "X-S4-Service, from serviceName"},
			}
			current.tables = []table{{name: "severities"}}
			c.sinks = append(c.sinks, current)
		}
		sev := &current.tables[0]
		sev.kvs = append(sev.kvs, kv{
			key:     c.pack[cfg.ev.packRule].Severity,
			value:   basicString(escapeDollar(cfg.severity)),
			comment: cfg.ev.name + " reloads: " + cfg.path + ".severity",
		})
		c.routes = append(c.routes, route{
			id: routeID(cfg.ev, "signl4"), ev: cfg.ev, from: cfg.path, sinks: []string{current.name}, rateLimit: cfg.rate,
		})
	}
	c.note(Changed, s.path, "Herald closes the SIGNL4 alert when the task next succeeds (Butler left it open), "+
		"and sends its own title and message with the task's fields as parameters; X-S4-ExternalID is still the TaskId")
}

// signl4URL hides the team secret, the last part of the URL's path, behind
// ${SIGNL4_TEAM_SECRET}.
func (c *converter) signl4URL(u rawURL, key string) string {
	e := c.secretURL(u, key, "SIGNL4")
	if c.opts.InlineSecrets {
		return e.String()
	}
	segs := strings.Split(e.path, "/")
	last := -1
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i] != "" {
			last = i
			break
		}
	}
	if last < 0 {
		c.note(Changed, key, "has no team secret in its path; herald check refuses the SIGNL4 sink until it has")
		return e.String()
	}
	segs[last] = c.addEnv("SIGNL4_TEAM_SECRET", key, "the team secret (the last part of the URL's path)")
	e.path = strings.Join(segs, "/")
	return e.String()
}

// secretURL escapes u for herald.toml and, unless secrets are inlined, puts
// a password and credential-like query parameters behind ${PREFIX_...}.
func (c *converter) secretURL(u rawURL, key, prefix string) rawURL {
	e := u.escaped()
	if c.opts.InlineSecrets {
		return e
	}
	if u.hasPassword && u.password != "" {
		e.password = c.addEnv(c.uniqueEnv(envName(prefix, "password")), key, "the password (between user: and @ in the URL)")
	}
	if u.hasQuery && u.query != "" {
		params := strings.Split(u.query, "&")
		escaped := strings.Split(e.query, "&") // escaping adds no '&': the same parts
		for i, p := range params {
			name, value, ok := strings.Cut(p, "=")
			plain, err := url.QueryUnescape(name)
			if !ok || value == "" || err != nil || !secretParam(plain) {
				continue
			}
			ref := c.addEnv(c.uniqueEnv(envName(prefix, plain)), key,
				fmt.Sprintf("the value of the query parameter %s, exactly as written in the URL", plain))
			escaped[i] = escapeDollar(name) + "=" + ref
		}
		e.query = strings.Join(escaped, "&")
	}
	return e
}

func routeID(ev event, dest string) string { return "butler-reload-" + ev.name + "-" + dest }

// webhooks carries over Butler.webhookNotification's reload failed and
// aborted webhooks: a sink per distinct webhook, a rule per event.
func (c *converter) webhooks(butler node) {
	w := butler.at("webhookNotification")
	if !w.at("enable").enabled() {
		return
	}
	for _, ev := range events {
		e := w.at(ev.butler)
		list, err := e.at("webhooks").items()
		if !c.check(err) || len(list) == 0 {
			continue
		}
		rate, ok := c.rateLimit(e)
		if !ok {
			continue
		}
		var names []string
		for _, item := range list {
			s := c.webhook(item)
			if s == nil {
				continue
			}
			if slices.Contains(names, s.name) {
				c.note(Changed, item.path, "the same webhook as an earlier one in this list: Butler called it twice for each alert, Herald calls sink %q once", s.name)
				continue
			}
			names = append(names, s.name)
		}
		if len(names) > 0 {
			c.routes = append(c.routes, route{
				id: routeID(ev, "webhooks"), ev: ev, from: e.at("webhooks").path, sinks: names, rateLimit: rate, butlerFields: true,
			})
		}
	}
	if len(c.hooks) > 0 {
		c.note(Changed, w.path, "appOwnerName, appOwnerUserDirectory, appOwnerUserId and appOwnerEmail are sent empty: "+
			"Butler looked them up in the QRS API, Herald reads only the log")
	}
	for _, other := range []struct{ key, what string }{
		{"serviceMonitor", "Windows service state changes"},
		{"qlikSenseServerLicenseMonitor", "Qlik Sense server license status"},
		{"qlikSenseServerLicenseExpiryAlert", "Qlik Sense server license expiry"},
	} {
		n := w.at(other.key + ".webhooks")
		if list, err := n.items(); err == nil && len(list) > 0 {
			c.note(NotCarried, n.path, "webhooks for %s: Herald watches reload tasks only", other.what)
		}
	}
}

// webhook turns one entry of a Butler webhooks list into a sink, or finds
// the sink an identical entry already became. It returns nil when the entry
// is left out (with a note) or is malformed (with an error).
func (c *converter) webhook(item node) *sink {
	if item.kind() != yaml.MappingNode {
		c.check(item.typeError("a webhook (description, webhookURL, httpMethod, cert)"))
		return nil
	}
	urlNode, methodNode, cert := item.at("webhookURL"), item.at("httpMethod"), item.at("cert")
	desc, err1 := item.at("description").str()
	rawU, err2 := urlNode.str()
	method, err3 := methodNode.str()
	certOn, err4 := cert.at("enable").boolean(false)
	reject, err5 := cert.at("rejectUnauthorized").boolean(true)
	ca, err6 := cert.at("certCA").str()
	ok := true
	for _, err := range []error{err1, err2, err3, err4, err5, err6} {
		ok = c.check(err) && ok
	}
	if !ok {
		return nil
	}
	if !certOn { // Butler reads neither rejectUnauthorized nor certCA then
		reject, ca = true, ""
	}

	rawU = strings.TrimSpace(rawU)
	u, err := splitURL(rawU)
	if err != nil {
		c.note(NotCarried, urlNode.path, "%s: Butler stopped at this webhook (and skipped the ones after it in the list); left out", err)
		return nil
	}
	method = strings.ToUpper(strings.TrimSpace(method))
	if method != "GET" && method != "POST" && method != "PUT" {
		c.note(NotCarried, methodNode.path, "%q is not GET, POST or PUT: Butler stopped at this webhook (and skipped the ones after it in the list); left out", method)
		return nil
	}
	if certOn && strings.TrimSpace(ca) == "" {
		c.note(NotCarried, cert.path+".certCA", "empty while cert.enable is true: Butler stopped at this webhook (and skipped the ones after it in the list); left out")
		return nil
	}

	comment := item.path
	if d := oneLine(desc); d != "" {
		comment += ": " + d
	}
	identity := strings.Join([]string{rawU, method, fmt.Sprint(certOn), fmt.Sprint(reject), ca}, "\x00")
	if s, ok := c.hooks[identity]; ok {
		if !slices.Contains(s.comments, comment) {
			s.comments = append(s.comments, comment)
		}
		return s
	}
	if c.hooks == nil {
		c.hooks = map[string]*sink{}
	}
	s := &sink{name: fmt.Sprintf("webhook-%d", len(c.hooks)+1), plugin: "webhook", comments: []string{comment}}
	c.hooks[identity] = s
	c.sinks = append(c.sinks, s)

	s.config = []kv{
		{key: "url", value: basicString(c.secretURL(u, urlNode.path, envName(s.name)).String())},
		{key: "method", value: basicString(method)},
		{key: "format", value: basicString("butler"), comment: "the 15 fields Butler sent, so the receiver keeps working"},
	}
	switch {
	case certOn && !reject:
		s.config = append(s.config,
			kv{key: "insecure_skip_verify", value: "true", comment: "cert.rejectUnauthorized = false in Butler"},
			kv{key: "ca_file", value: tomlString(escapeDollar(ca)), comment: "Butler's certCA: use it instead of insecure_skip_verify to check the server", commented: true})
		c.note(Changed, cert.path+".rejectUnauthorized", "false: sink %q gets insecure_skip_verify = true, so the server's certificate is not checked, as in Butler; "+
			"to check it, set ca_file to certCA and drop insecure_skip_verify", s.name)
	case certOn:
		s.config = append(s.config, kv{key: "ca_file", value: tomlString(escapeDollar(ca)), comment: "cert.certCA"})
		if !absPath(ca) {
			c.note(Changed, cert.path+".certCA", "a relative path: sink %q reads it relative to Herald's working directory (C:\\Windows\\System32 for a service); make it absolute", s.name)
		}
	}
	if method == "GET" && u.hasQuery {
		c.note(Changed, urlNode.path, "has a query: on GET Butler replaced it with its fields, Herald adds the fields to it")
	}
	return s
}

// absPath reports whether p is absolute on Windows or Unix, whatever the OS
// the import runs on: the file is used on the Qlik node.
func absPath(p string) bool {
	p = strings.TrimSpace(p)
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) {
		return true
	}
	return len(p) >= 3 && (p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z') && p[1] == ':' && (p[2] == '\\' || p[2] == '/')
}
