package metrics

// Heartbeat returns the function that counts the heartbeat's pings in
// herald_heartbeat_pings_total, after creating the series of each of results
// at zero (so a rate over them is defined from the start). Call it only when a
// heartbeat is configured: without one the metric has no series.
func (m *Metrics) Heartbeat(results ...string) func(result string) {
	for _, r := range results {
		m.heartbeatPings.WithLabelValues(r)
	}
	return func(result string) { m.heartbeatPings.WithLabelValues(result).Inc() }
}
