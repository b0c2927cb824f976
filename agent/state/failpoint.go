//go:build failpoints

package state

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Built with -tags failpoints, the store stops for good at the migration
// point named by HERALD_FAILPOINT=state-migrate:<point> ("alerts" or
// "done"), after saying so on standard error, so that a test can kill the
// process in the middle of a migration. Release builds do not contain this.
func init() {
	point, ok := strings.CutPrefix(os.Getenv("HERALD_FAILPOINT"), "state-migrate:")
	if !ok {
		return
	}
	migrateHook = func(at string) {
		if at != point {
			return
		}
		fmt.Fprintf(os.Stderr, "failpoint state-migrate:%s reached\n", at)
		for {
			time.Sleep(time.Hour)
		}
	}
}
