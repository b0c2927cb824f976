//go:build unix

package tail

import "time"

// NotifiedReadInterval is the default check interval of a followed file
// whose directory is watched. inotify (and kqueue) report every write to the
// file at once and wake its follower, so the timer is only the safety net for
// what notifications cannot see (another machine writing to a network file
// system, an overflowed event queue is handled apart), and an idle agent stays
// idle.
const NotifiedReadInterval = 10 * time.Second
