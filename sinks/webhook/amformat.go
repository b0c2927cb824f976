package webhook

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/internal/amlabels"
)

// amSettings are the alertmanager format's.
type amSettings struct {
	maxAlerts    int
	externalURL  string
	generatorURL string
	receiver     string // the sink's name
	mapper       *amlabels.Mapper
}

// amMessage is Alertmanager's webhook body, version 4, key for key
// (prometheus/alertmanager notify/webhook/webhook.go Message, which embeds
// template.Data; TestAlertmanagerFormatUpstreamTypes decodes it with them).
type amMessage struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []amAlert         `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
}

// amAlert is template.Alert.
type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// amAlertOf is ev as an Alertmanager alert, or ok false for an event
// Alertmanager has no form for (acknowledged, info).
func (a *amSettings) alert(ev sdk.Event) (amAlert, bool) {
	al := amAlert{Status: string(ev.Status), Labels: a.mapper.Labels(ev), Annotations: a.mapper.Annotations(ev),
		StartsAt: ev.Time, GeneratorURL: a.generatorURL}
	switch ev.Status {
	case sdk.StatusFiring:
	case sdk.StatusResolved:
		// The event does not say when the alert started; its resolution is
		// the time Herald knows.
		al.EndsAt = ev.Time
	default:
		return amAlert{}, false
	}
	al.Fingerprint = amlabels.Fingerprint(al.Labels)
	return al, true
}

// amRequest is one request: the events it carries (by index in the batch)
// and its body.
type amRequest struct {
	idx  []int
	id   string
	body []byte
}

// amRequests groups the batch's events by rule, as Alertmanager groups by
// alertname, and splits each group into requests of at most maxAlerts.
func (a *amSettings) requests(events []sdk.Event, results []sdk.Result) ([]amRequest, error) {
	groups := map[string][]int{}
	alerts := make([]amAlert, len(events))
	for i, ev := range events {
		al, ok := a.alert(ev)
		if !ok {
			results[i] = sdk.Accept("")
			continue
		}
		alerts[i] = al
		groups[ev.Rule] = append(groups[ev.Rule], i)
	}
	var out []amRequest
	for _, rule := range slices.Sorted(maps.Keys(groups)) {
		for chunk := range slices.Chunk(groups[rule], a.maxAlerts) {
			m := amMessage{Receiver: a.receiver, Status: "resolved", ExternalURL: a.externalURL, Version: "4",
				GroupLabels: map[string]string{amlabels.AlertName: rule}}
			m.GroupKey = "{}:" + labelSetString(m.GroupLabels)
			ids := sha256.New()
			m.Alerts = make([]amAlert, 0, len(chunk))
			for _, i := range chunk {
				al := alerts[i]
				if al.Status == string(sdk.StatusFiring) {
					m.Status = "firing"
				}
				m.Alerts = append(m.Alerts, al)
				ids.Write([]byte(events[i].ID + "\x00"))
			}
			// Firing first, as Alertmanager orders them.
			slices.SortStableFunc(m.Alerts, func(x, y amAlert) int { return cmp.Compare(x.Status, y.Status) })
			m.CommonLabels = common(m.Alerts, func(al amAlert) map[string]string { return al.Labels })
			m.CommonAnnotations = common(m.Alerts, func(al amAlert) map[string]string { return al.Annotations })
			body, err := json.Marshal(m)
			if err != nil {
				return nil, fmt.Errorf("encoding the alerts: %w", err)
			}
			// webhook-id: stable across retries of the same events.
			out = append(out, amRequest{idx: chunk, id: hex.EncodeToString(ids.Sum(nil)[:12]), body: body})
		}
	}
	return out, nil
}

// sendAlertmanager sends the batch in Alertmanager's webhook format: the
// events of one rule share a request, up to max_alerts each. Each event's
// result is its request's.
func (s *Sink) sendAlertmanager(ctx context.Context, events []sdk.Event) []sdk.Result {
	results := make([]sdk.Result, len(events))
	reqs, err := s.set.am.requests(events, results)
	if err != nil {
		for i := range results {
			if results[i].Outcome == 0 {
				results[i] = sdk.Reject(s.client.Redact(err.Error()))
			}
		}
		return results
	}
	sem := make(chan struct{}, max(s.set.client.Concurrency, 1))
	var wg sync.WaitGroup
	for _, r := range reqs {
		var res sdk.Result
		select {
		case <-ctx.Done():
			res = sdk.Retry("not sent: "+ctx.Err().Error(), time.Time{})
		case sem <- struct{}{}:
			wg.Go(func() {
				defer func() { <-sem }()
				res := s.do(ctx, s.set.target, r.id, r.body)
				for _, i := range r.idx {
					results[i] = res
				}
			})
			continue
		}
		for _, i := range r.idx {
			results[i] = res
		}
	}
	wg.Wait()
	return results
}

// common returns the label pairs (or annotations) every alert has.
func common(alerts []amAlert, of func(amAlert) map[string]string) map[string]string {
	out := map[string]string{}
	if len(alerts) == 0 {
		return out
	}
	maps.Copy(out, of(alerts[0]))
	for _, al := range alerts[1:] {
		m := of(al)
		for k, v := range out {
			if w, ok := m[k]; !ok || w != v {
				delete(out, k)
			}
		}
	}
	return out
}

// labelSetString writes labels as Alertmanager's group keys do:
// {a="x", b="y"}, sorted by name.
func labelSetString(l map[string]string) string {
	parts := make([]string, 0, len(l))
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, l[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
