package metrics

import "github.com/prometheus/client_golang/prometheus"

// upCollector reports herald_inputs_up and herald_plugins_up from the states
// recorded with InputMetrics.SetUp and SinkMetrics.SetUp, so the metric and
// the health check (Metrics.Up) read one source and cannot disagree.
type upCollector struct {
	m       *Metrics
	inputs  *prometheus.Desc
	plugins *prometheus.Desc
}

func newUpCollector(m *Metrics) *upCollector {
	return &upCollector{
		m: m,
		inputs: prometheus.NewDesc(namespace+"_inputs_up",
			"Whether an input is running (1) or has stopped on an error (0).", []string{"input"}, nil),
		plugins: prometheus.NewDesc(namespace+"_plugins_up",
			"Whether a sink's plugin is running (1) or failed and is being restarted (0).", []string{"sink"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *upCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inputs
	ch <- c.plugins
}

// Collect implements prometheus.Collector.
func (c *upCollector) Collect(ch chan<- prometheus.Metric) {
	inputs, plugins := c.m.Up()
	for name, up := range inputs {
		ch <- prometheus.MustNewConstMetric(c.inputs, prometheus.GaugeValue, b2f(up), name)
	}
	for name, up := range plugins {
		ch <- prometheus.MustNewConstMetric(c.plugins, prometheus.GaugeValue, b2f(up), name)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
