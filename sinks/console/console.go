// Package console is Herald's console sink: it writes each event as one line
// to the agent's standard output, as JSON or as human-readable text. It is
// meant for trying rules out, for `herald run` in a terminal and for log
// shippers that read the agent's output.
package console

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/heraldhq/herald/plugins/sdk"
)

// Name is the plugin name of this sink in herald.toml.
const Name = "console"

//go:embed sample.toml
var sample []byte

// SampleConfig returns an example [[sink]] for this sink, as documented in its README.
func SampleConfig() []byte { return bytes.Clone(sample) }

// Config is the console sink's [sink.config].
type Config struct {
	// Format is "json" (default) or "text".
	Format string `json:"format"`
}

// Sink writes events to standard output. Build it with New, then Configure it.
type Sink struct {
	text bool
	// out is where lines go; nil means os.Stdout as it is at Send time. It
	// must not be captured earlier: in a plugin process os.Stdout starts out
	// as the go-plugin handshake channel and is replaced by the stream to the
	// agent's standard output only once the handshake is done.
	out io.Writer
}

// New returns an unconfigured console sink.
func New() *Sink { return &Sink{} }

// Configure validates the config.
func (s *Sink) Configure(_ context.Context, cfg sdk.Config) error {
	var c Config
	if err := sdk.DecodeConfig(cfg.Raw, &c); err != nil {
		return err
	}
	switch c.Format {
	case "", "json":
		s.text = false
	case "text":
		s.text = true
	default:
		return fmt.Errorf(`config key "format": must be "json" or "text", not %q`, c.Format)
	}
	return nil
}

// Send writes one line per event. A failed write is retryable: standard
// output can be a pipe that is momentarily full or gone.
func (s *Sink) Send(ctx context.Context, events []sdk.Event) []sdk.Result {
	out := s.out
	if out == nil {
		out = os.Stdout
	}
	results := make([]sdk.Result, len(events))
	var line []byte
	for i, e := range events {
		if err := ctx.Err(); err != nil {
			fill(results[i:], sdk.Retry("cancelled before writing: "+err.Error(), time.Time{}))
			break
		}
		line = s.format(line[:0], &e)
		if _, err := out.Write(line); err != nil {
			fill(results[i:], sdk.Retry("writing to standard output: "+err.Error(), time.Time{}))
			break
		}
		results[i] = sdk.Accept("")
	}
	return results
}

func fill(rs []sdk.Result, r sdk.Result) {
	for i := range rs {
		rs[i] = r
	}
}

// format appends e's line, with its newline, to b.
func (s *Sink) format(b []byte, e *sdk.Event) []byte {
	if !s.text {
		j, err := json.Marshal(e)
		if err != nil { // cannot happen: an Event holds only strings and a time
			j = []byte(strconv.Quote(err.Error()))
		}
		return append(append(b, j...), '\n')
	}
	return append(appendText(b, e), '\n')
}

// appendText renders e as a logfmt-like line: time, status, severity and
// title first, for the eye, then the identifying keys, the extra fields in
// name order, and the message last because it is the longest.
func appendText(b []byte, e *sdk.Event) []byte {
	if e.Time.IsZero() {
		b = append(b, '-')
	} else {
		b = e.Time.AppendFormat(b, time.RFC3339)
	}
	b = append(b, ' ')
	b = append(b, strings.ToUpper(string(e.Status))...)
	if e.Severity != "" {
		b = append(b, ' ')
		b = appendValue(b, e.Severity)
	}
	b = append(b, ' ')
	b = appendValue(b, e.Title)
	b = appendPair(b, "host", e.Host)
	b = appendPair(b, "rule", e.Rule)
	b = appendPair(b, "key", e.Key)
	b = appendPair(b, "id", e.ID)
	b = appendPair(b, "ref", e.Ref)
	names := make([]string, 0, len(e.Fields))
	for n := range e.Fields {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		b = appendPair(b, n, e.Fields[n])
	}
	return appendPair(b, "message", e.Message)
}

func appendPair(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ' ')
	b = append(b, k...)
	b = append(b, '=')
	return appendValue(b, v)
}

// appendValue quotes v when it would otherwise be ambiguous or span lines.
func appendValue(b []byte, v string) []byte {
	if v == "" || strings.IndexFunc(v, func(r rune) bool {
		return unicode.IsSpace(r) || r == '"' || r == '=' || !unicode.IsPrint(r)
	}) >= 0 {
		return strconv.AppendQuote(b, v)
	}
	return append(b, v...)
}

var _ sdk.Sink = (*Sink)(nil)
