package metrics

import "github.com/prometheus/client_golang/prometheus"

// DirUp is whether a script log directory answers.
type DirUp struct {
	Dir string
	Up  bool
}

// scriptLogDirCollector reports herald_script_log_dir_up from a function
// (the agent's scriptlog.Finder status), read at scrape time.
type scriptLogDirCollector struct {
	desc   *prometheus.Desc
	status func() []DirUp
}

// NewScriptLogDirCollector returns the collector of herald_script_log_dir_up
// {dir}: 1 while the script log directory can be listed in time, 0 while it
// cannot (a share that does not answer, a directory that is missing).
// Register it once; status is called at every scrape.
func NewScriptLogDirCollector(status func() []DirUp) prometheus.Collector {
	return &scriptLogDirCollector{
		desc: prometheus.NewDesc(namespace+"_script_log_dir_up",
			"Whether a script log directory answers in time (1) or not (0).", []string{"dir"}, nil),
		status: status,
	}
}

// Describe implements prometheus.Collector.
func (c *scriptLogDirCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *scriptLogDirCollector) Collect(ch chan<- prometheus.Metric) {
	for _, d := range c.status() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, b2f(d.Up), d.Dir)
	}
}
