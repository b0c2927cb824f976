package state

import (
	"github.com/heraldhq/herald/agent/silence"
)

// storeDump is everything a store answers through its API, for comparing a
// migrated file with what the release that wrote it read from it.
type storeDump struct {
	Schema    uint64                 `json:"schema,omitempty"`
	Positions map[string]Position    `json:"positions"`
	Alerts    []Alert                `json:"alerts"`
	ByKey     map[string][]string    `json:"by_key"` // AlertsByKey(key): the rules
	Seen      map[string]bool        `json:"seen"`
	Pending   map[string][]Entry     `json:"pending"`
	Dead      map[string][]DeadEntry `json:"dead"`
	Depth     map[string]int         `json:"depth"`
	Silences  []silence.Silence      `json:"silences"`
}

// dumpStore reads everything through the public API. seen lists the dedup
// ids to ask about (with the prefix "seen-" added) and the keys to look up.
func dumpStore(s *Store, keys []string) (storeDump, error) {
	d := storeDump{ByKey: map[string][]string{}, Seen: map[string]bool{}, Pending: map[string][]Entry{}, Dead: map[string][]DeadEntry{}, Depth: map[string]int{}}
	err := s.View(func(tx *Tx) error {
		d.Positions = tx.Positions()
		d.Alerts = tx.Alerts(nil)
		for _, k := range keys {
			d.Seen["seen-"+k] = tx.Seen("seen-" + k)
			for _, a := range tx.AlertsByKey(k) {
				d.ByKey[k] = append(d.ByKey[k], a.Rule)
			}
		}
		d.Silences = tx.Silences(nil)
		return nil
	})
	if err != nil {
		return d, err
	}
	sinks, err := s.Sinks()
	if err != nil {
		return d, err
	}
	for _, sink := range sinks {
		if d.Pending[sink], err = s.Pending(sink, 0); err != nil {
			return d, err
		}
		if d.Dead[sink], err = s.Dead(sink); err != nil {
			return d, err
		}
		d.Depth[sink], _ = s.Depth(sink)
	}
	return d, nil
}
