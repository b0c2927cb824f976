package tail

import (
	"time"

	"github.com/heraldhq/herald/internal/cputime"
)

// cpuTime is the CPU time the process has used so far, or 0 when it cannot be read.
func cpuTime() time.Duration { d, _ := cputime.Self(); return d }
