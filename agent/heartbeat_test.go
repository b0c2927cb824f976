package agent

import (
	"testing"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

func TestHealthReason(t *testing.T) {
	a := &Agent{cfg: &config.Config{Agent: config.Agent{Host: "qs-node-1"}}}
	m := metrics.New(prometheus.NewRegistry())
	m.Input("scheduler").SetUp(true)
	m.Sink("pager").SetUp(true)
	if ok, reason := a.healthReason(m); !ok || reason != "" {
		t.Errorf("healthReason = %v, %q; want healthy", ok, reason)
	}
	m.Sink("pager").SetUp(false)
	m.Sink("chat").SetUp(false)
	m.Input("scheduler").SetUp(false)
	ok, reason := a.healthReason(m)
	if want := "herald on qs-node-1: input scheduler down; plugin chat down; plugin pager down"; ok || reason != want {
		t.Errorf("healthReason = %v, %q; want false, %q", ok, reason, want)
	}
}
