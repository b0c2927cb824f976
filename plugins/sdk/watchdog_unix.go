//go:build unix

package sdk

import (
	"os"
	"time"
)

// watchInterval is how often the plugin checks that the agent is alive. A
// killed agent leaves its plugins running for at most this long (on Linux the
// host also sets a parent-death signal, which is immediate).
const watchInterval = time.Second

// pollParent calls exit once the process that started the plugin is gone. On
// Unix an orphan is re-parented (to init or a subreaper), so its parent pid
// changes; there is no portable notification, hence the poll.
func pollParent(ppid int, exit func()) {
	go func() {
		t := time.NewTicker(watchInterval)
		defer t.Stop()
		for range t.C {
			if os.Getppid() != ppid {
				exit()
				return
			}
		}
	}()
}
