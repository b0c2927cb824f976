package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/plugins/host"
	"github.com/heraldhq/herald/rules"
)

// problems is what is wrong with a config, one located problem per line, as
// `herald run` and `herald check` print it: every line starts with the file it
// is about (and the line and column where known), so each can be read, and
// jumped to, on its own.
type problems []string

func (p problems) Error() string {
	if len(p) == 1 {
		return p[0]
	}
	return fmt.Sprintf("%d problems:\n%s", len(p), strings.Join(p, "\n"))
}

// listProblems flattens err, an errors.Join tree of what config.Load,
// agent.Load and agent.Check found, into problems. A problem that already
// names its file (a config or rule file position) is kept as it is; any other
// is placed in cfgPath; each line of a sink's multi-line config error names
// the sink, which the plugin's own text does not.
func listProblems(cfgPath string, err error) problems {
	var out problems
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var ce *config.Error
		var re *rules.Error
		var he *host.ConfigError
		switch {
		case errors.As(err, &ce) && ce.File != "", errors.As(err, &re) && re.File != "":
			out = append(out, err.Error())
		case errors.As(err, &he):
			for line := range strings.Lines(he.Message) {
				if line = strings.TrimRight(line, "\r\n"); line != "" {
					out = append(out, cfgPath+": "+(&host.ConfigError{Sink: he.Sink, Message: line}).Error())
				}
			}
		default:
			out = append(out, cfgPath+": "+err.Error())
		}
	}
	walk(err)
	return out
}
