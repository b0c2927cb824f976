package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/tail"
)

// pathProblems checks that every paths pattern of every file input matches
// at least one file that can be read now, as the agent's tailer would find
// it. A pattern that matches nothing (a typo in a folder name, the logs on
// another drive, a service account that cannot list the folder) is a
// problem placed at that pattern in the config file, naming the input, the
// pattern and the deepest folder on its way that exists.
func pathProblems(cfgPath string, cfg *config.Config) error {
	src, _ := os.ReadFile(cfg.Path) // read once already; without it, no line numbers
	var errs []error
	for i, in := range cfg.Inputs {
		if in.Type != "file" {
			continue
		}
		for j, ps := range tail.CheckPatterns(in.Paths, in.Exclude) {
			if ps.Files > 0 {
				continue
			}
			key := fmt.Sprintf("input[%d].paths[%d]", i, j)
			line, col := config.Locate(src, key)
			errs = append(errs, &config.Error{
				File: cfgPath, Line: line, Col: col, Key: key,
				Msg: fmt.Sprintf("input %q: %s", in.Name, ps.Problem),
			})
		}
	}
	return errors.Join(errs...)
}
