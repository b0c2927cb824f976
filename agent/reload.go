package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// watchEvery is how often the config and rule files are checked for changes.
// A stat of a handful of files: nothing for an idle agent.
const watchEvery = 2 * time.Second

// watchedFiles are the files whose change reloads the agent: the config file
// and the rule files its globs match now (so a new rule file counts too).
func (a *Agent) watchedFiles() []string {
	files := []string{a.cfg.Path}
	for _, g := range a.cfg.Rules.Files {
		if !filepath.IsAbs(g) {
			g = filepath.Join(a.cfg.Dir(), g)
		}
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	return files
}

// fileStamp identifies a version of a set of files: names, sizes, mod times.
type fileStamp struct {
	path string
	size int64
	mod  time.Time
}

func stamp(files []string) []fileStamp {
	out := make([]fileStamp, 0, len(files))
	for _, f := range files {
		st := fileStamp{path: f}
		if fi, err := os.Stat(f); err == nil {
			st.size, st.mod = fi.Size(), fi.ModTime()
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b fileStamp) int {
		if a.path < b.path {
			return -1
		}
		if a.path > b.path {
			return 1
		}
		return 0
	})
	return out
}

// watchFiles asks for a reload (on out) when the files listed by files change,
// until ctx ends. A change is acted on once it has been stable for one check,
// so an editor's half-written save is not loaded.
func watchFiles(ctx context.Context, files func() []string, every time.Duration, out chan<- struct{}, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := stamp(files())
	var pending []fileStamp
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := stamp(files())
		switch {
		case pending != nil && slices.Equal(now, pending):
			pending, last = nil, now
			log.Info("config or rule files changed", "files", len(now))
			signal(out)
		case !slices.Equal(now, last):
			pending = now
		default:
			pending = nil
		}
	}
}

// forward passes reload requests from in (nil: none) to out until ctx ends.
func forward(ctx context.Context, in <-chan struct{}, out chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-in:
			if !ok {
				return
			}
			signal(out)
		}
	}
}

// signal sends on a coalescing channel without blocking.
func signal(out chan<- struct{}) {
	select {
	case out <- struct{}{}:
	default:
	}
}
