// Command file-sink is an example Herald sink plugin: it appends every event,
// as one JSON object per line, to a file. It imports nothing from Herald but
// plugins/sdk, exactly like a sink written outside the Herald repository.
//
// Build it and point a [[sink]] at the executable:
//
//	go build -o file-sink ./examples/plugins/file-sink
//
//	[[sink]]
//	name = "archive"
//	plugin = "./file-sink"            # relative to herald.toml
//	[sink.config]
//	path = "/var/log/herald/alerts.jsonl"
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// config is the sink's [sink.config] table.
type config struct {
	// Path is the file the events are appended to. It is created if missing;
	// its directory must exist.
	Path string `json:"path"`
}

// fileSink appends events to a file. It keeps no file open between batches,
// so the file can be rotated or removed at any time.
type fileSink struct {
	path string
	log  *slog.Logger
}

// Configure validates the config: it runs once, before any event, and what it
// returns is shown to the user by `herald check` as a config error.
func (s *fileSink) Configure(_ context.Context, cfg sdk.Config) error {
	var c config
	if err := sdk.DecodeConfig(cfg.Raw, &c); err != nil { // rejects unknown keys
		return err
	}
	switch {
	case c.Path == "":
		return errors.New(`config key "path": required`)
	case !filepath.IsAbs(c.Path):
		// The plugin runs in the agent's working directory, which for a
		// service is not where herald.toml is.
		return fmt.Errorf(`config key "path": %q must be an absolute path`, c.Path)
	}
	if fi, err := os.Stat(filepath.Dir(c.Path)); err != nil || !fi.IsDir() {
		return fmt.Errorf(`config key "path": directory %s does not exist`, filepath.Dir(c.Path))
	}
	s.path, s.log = c.Path, cfg.Logger
	return nil
}

// Send appends the batch and flushes it to disk before accepting it. Every
// failure is retryable: the agent keeps the events and tries again later, so
// a full disk delays alerts instead of losing them.
func (s *fileSink) Send(ctx context.Context, events []sdk.Event) []sdk.Result {
	if err := ctx.Err(); err != nil {
		return all(len(events), sdk.Retry(err.Error(), time.Time{}))
	}
	var buf []byte
	for _, e := range events {
		line, err := json.Marshal(e)
		if err != nil {
			return all(len(events), sdk.Reject(err.Error()))
		}
		buf = append(append(buf, line...), '\n')
	}
	if err := appendFile(s.path, buf); err != nil {
		s.log.Warn("cannot append events", "path", s.path, "error", err)
		return all(len(events), sdk.Retry(err.Error(), time.Time{}))
	}
	s.log.Debug("appended events", "path", s.path, "events", len(events))
	return all(len(events), sdk.Accept(""))
}

func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// all is n copies of r: this sink succeeds or fails a batch as a whole.
func all(n int, r sdk.Result) []sdk.Result {
	out := make([]sdk.Result, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func main() {
	sdk.Serve(&fileSink{})
}
