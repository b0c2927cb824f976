// Package host starts sink plugin processes and talks to them: the agent's
// side of the protocol in plugins/proto/sink/v1.
//
// A Plugin is one process. It is started with Start, configured once with
// Configure, and then sent batches with Send until Close. When the process
// dies (Done is closed, Exited reports true) the Plugin is finished for good:
// a supervisor Closes it and Starts a fresh one from the same Spec, because
// neither a go-plugin client nor an exec.Cmd can be restarted.
package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"

	sinkv1 "github.com/heraldhq/herald/plugins/proto/sink/v1"
	"github.com/heraldhq/herald/plugins/sdk"
)

// pluginGOMAXPROCS is the GOMAXPROCS a plugin is started with when the agent's
// own environment does not set one.
const pluginGOMAXPROCS = 1

// DefaultStartTimeout bounds how long a plugin may take to start and complete
// the handshake when the context given to Start has no earlier deadline.
const DefaultStartTimeout = time.Minute

// Spec says how to start a sink's plugin process.
type Spec struct {
	// Name is the sink's name in herald.toml. Errors name it.
	Name string
	// Command is the executable and its arguments. A built-in sink is the
	// agent's own executable with "plugin", "serve", NAME.
	Command []string
	// Env holds extra environment variables (KEY=value) on top of the agent's
	// own environment.
	Env []string
	// Logger receives the plugin's log: its hclog JSON lines on standard error
	// at their own level, other standard error output at debug (or at error
	// for a panic), and the host's own notes about the process. It is used as
	// is; tag it with the sink's name. Nil discards.
	Logger *slog.Logger
	// Stdout receives what the plugin writes to its os.Stdout after the
	// handshake (the console sink's output). Nil discards.
	Stdout io.Writer
}

// ConfigError is returned by Configure when the plugin rejected its config.
// Message is the plugin's own explanation, which names the offending key.
type ConfigError struct {
	Sink    string
	Message string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("sink %q: %s", e.Sink, e.Message) }

// Plugin is a running sink plugin process. Its methods may be called from
// several goroutines; the plugin itself handles one Send at a time.
type Plugin struct {
	name   string
	client *plugin.Client
	runner *procRunner
	conn   *grpc.ClientConn
	sink   sinkv1.SinkClient
	stdout *wholeLines
	log    *hclogAdapter
}

// Start launches the plugin process described by spec and completes the
// go-plugin handshake: protocol version 1, gRPC, one-time mutual TLS
// certificates. The error names the sink and says what went wrong: the
// executable is missing, the process exited during start-up (quoting its last
// standard error lines), or it did not answer the handshake.
//
// Start gives up when ctx ends, and after DefaultStartTimeout at the latest.
func Start(ctx context.Context, spec Spec) (*Plugin, error) {
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return nil, fmt.Errorf("sink %q: no plugin command", spec.Name)
	}
	path, err := exec.LookPath(spec.Command[0])
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sink %q: plugin executable %q not found", spec.Name, spec.Command[0])
		}
		return nil, fmt.Errorf("sink %q: plugin executable %q cannot be run: %w", spec.Name, spec.Command[0], err)
	}
	logger := spec.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	stdout := &wholeLines{w: spec.Stdout}
	if spec.Stdout == nil {
		stdout.w = io.Discard
	}
	timeout := DefaultStartTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}

	// The plugin logs only what the agent's log keeps; Spec.Env may say otherwise.
	env := []string{sdk.LogLevelEnv + "=" + lowestLevel(logger)}
	// GOGC is left at Go's default (unless the agent's environment sets
	// it): GOGC=50 kept the webhook plugin 1.4 MiB smaller at its peak but
	// cost it 12 % more CPU during the benchmark's catch-up (plugins/README.md).
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		// A sink waits on the network; a second thread to run it buys no
		// speed, and handing every request's goroutines across threads
		// costs futex wake-ups: one thread took the webhook plugin from
		// 1.8 to 1.1 CPU-s per 10,000 events (bench/README.md).
		env = append(env, "GOMAXPROCS="+strconv.Itoa(pluginGOMAXPROCS))
	}
	env = append(env, spec.Env...)
	r := newProcRunner(path, spec.Command[1:], env)
	tail := &tailWriter{}
	hclogger := newHCLogAdapter(logger)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: sdk.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			sdk.ProtocolVersion: {sdk.PluginName: &grpcPlugin{}},
		},
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
			return r, r.prepare(cmd.Env)
		},
		// prepare adds the agent's environment itself, below Spec.Env.
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     timeout,
		Logger:           hclogger,
		Stderr:           tail,
		SyncStdout:       stdout,
		SyncStderr:       &lineLogger{l: logger, level: slog.LevelInfo},
	})

	// go-plugin's Start does not take a context; killing the process makes it
	// return at once.
	stop := context.AfterFunc(ctx, func() { _ = r.Kill(context.Background()) })
	_, err = client.Start()
	stop()
	if err != nil {
		exited := r.exitedByItself()
		if !exited && stdoutClosed(err) {
			// The plugin closed its standard output without a handshake,
			// which almost always means it is exiting. go-plugin may notice
			// the closed pipe before the exit; give the exit a moment so the
			// error can say how the plugin ended rather than blame the
			// handshake.
			select {
			case <-r.done:
				exited = true
			case <-time.After(2 * time.Second):
			}
		}
		// Kill waits until go-plugin has consumed the plugin's output, so the
		// tail is complete, and removes the socket directory. The error
		// returned says what happened; go-plugin's notes on the teardown
		// would only confuse.
		hclogger.quiet.Store(true)
		client.Kill()
		return nil, startError(ctx, spec.Name, path, exited, r, tail, err)
	}

	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("sink %q: connecting to plugin %s: %w", spec.Name, path, err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("sink %q: plugin %s: %w", spec.Name, path, err)
	}
	conn := raw.(*grpc.ClientConn)
	p := &Plugin{name: spec.Name, client: client, runner: r, conn: conn, sink: sinkv1.NewSinkClient(conn), stdout: stdout, log: hclogger}
	logger.Debug("plugin started", "path", path, "pid", p.Pid())
	if r.uncontained != nil {
		logger.Warn("plugin is not tied to the agent by the OS; if the agent is killed, only the SDK's parent watchdog stops it",
			"pid", p.Pid(), "error", r.uncontained)
	}
	return p, nil
}

// errExitedEarly is go-plugin's error for a plugin that exited before the
// handshake; startError says the same with the exit status instead.
const errExitedEarly = "plugin exited before we could connect"

// stdoutClosed tells whether go-plugin gave up because the plugin's standard
// output ended before the handshake. go-plugin reports it only in its text.
func stdoutClosed(err error) bool {
	msg := err.Error()
	return msg == errExitedEarly || strings.Contains(msg, "Failed to read any lines from plugin's stdout")
}

// startError explains a failed start. exited tells whether the process had
// already exited when go-plugin gave up, as opposed to being killed after.
func startError(ctx context.Context, name, path string, exited bool, r *procRunner, tail *tailWriter, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("sink %q: starting plugin %s: %w", name, path, context.Cause(ctx))
	}
	last := ""
	if t := tail.String(); t != "" {
		last = "; its last output on stderr: " + t
	}
	switch {
	case exited && stdoutClosed(err):
		return fmt.Errorf("sink %q: plugin %s exited during start-up (%s)%s", name, path, r.exitStatus(), last)
	case exited:
		return fmt.Errorf("sink %q: plugin %s exited during start-up (%s): %w%s", name, path, r.exitStatus(), err, last)
	}
	return fmt.Errorf("sink %q: plugin %s: handshake failed: %w%s", name, path, err, last)
}

// Configure hands the plugin the sink's config, a JSON object. A config the
// plugin rejects is a *ConfigError carrying the plugin's message; any other
// error means the plugin could not be reached.
func (p *Plugin) Configure(ctx context.Context, raw json.RawMessage) error {
	callCtx, cancel := p.callContext(ctx)
	defer cancel()
	resp, err := p.sink.Configure(callCtx, &sinkv1.ConfigureRequest{Name: p.name, ConfigJson: raw})
	if err != nil {
		return p.callError(ctx, callCtx, "configure", err)
	}
	if msg := resp.GetError(); msg != "" {
		return &ConfigError{Sink: p.name, Message: msg}
	}
	return nil
}

// Send delivers a batch and returns one Result per event, in order. An error
// means the plugin gave no usable answer for the batch as a whole: it died
// (then Exited reports true soon after, and Done is closed), it panicked, or
// it broke the protocol. The caller retries the batch, with a fresh Plugin if
// this one has exited.
func (p *Plugin) Send(ctx context.Context, events []sdk.Event) ([]sdk.Result, error) {
	if len(events) == 0 {
		return nil, nil
	}
	callCtx, cancel := p.callContext(ctx)
	defer cancel()
	resp := &sinkv1.SendResponse{}
	err := p.conn.Invoke(callCtx, sinkv1.Sink_Send_FullMethodName, &sendRequest{events: events}, resp, grpc.ForceCodecV2(codec))
	if err != nil {
		return nil, p.callError(ctx, callCtx, fmt.Sprintf("sending %d events", len(events)), err)
	}
	if got := len(resp.GetResults()); got != len(events) {
		return nil, fmt.Errorf("sink %q: plugin answered %d results for %d events", p.name, got, len(events))
	}
	results := make([]sdk.Result, len(events))
	for i, r := range resp.GetResults() {
		res, err := resultFromProto(r)
		if err != nil {
			return nil, fmt.Errorf("sink %q: result for event %s: %w", p.name, events[i].ID, err)
		}
		results[i] = res
	}
	return results, nil
}

// errExited is why a call is abandoned when the plugin process has exited.
var errExited = errors.New("plugin process exited")

// callContext returns the context for one call to the plugin: ctx, also
// cancelled when the plugin process exits. A call to a plugin that died
// normally fails at once, as its connection closes with it; but a connection
// can outlive its process (under Wine a dead process's socket sometimes stays
// open), and no call may wait for an answer from a plugin that is gone.
func (p *Plugin) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	callCtx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-p.runner.done:
			cancel(fmt.Errorf("%w (%s)", errExited, p.runner.exitStatus()))
		case <-callCtx.Done():
		}
	}()
	return callCtx, func() { cancel(context.Canceled) }
}

// callError explains a failed call: ctx is the caller's context, callCtx the
// call's own (see callContext).
func (p *Plugin) callError(ctx, callCtx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("sink %q: %s: %w", p.name, op, context.Cause(ctx))
	}
	if cause := context.Cause(callCtx); errors.Is(cause, errExited) {
		return fmt.Errorf("sink %q: %s: %w", p.name, op, cause)
	}
	return fmt.Errorf("sink %q: %s: %w", p.name, op, err)
}

// Done is closed once the plugin process has exited, for whatever reason.
// By then every line it wrote to standard error has been logged.
func (p *Plugin) Done() <-chan struct{} { return p.runner.done }

// Exited reports whether the plugin process has exited.
func (p *Plugin) Exited() bool { return p.runner.exited() }

// Pid is the plugin's process id.
func (p *Plugin) Pid() int {
	pid, _ := strconv.Atoi(p.runner.ID())
	return pid
}

// Close stops the plugin: it asks it to shut down, waits up to two seconds,
// then kills it. It returns once the process is gone and its output has been
// logged. Close may be called more than once, also after the plugin died.
func (p *Plugin) Close() {
	// A plugin that exits because it was asked to is no news: go-plugin's
	// "plugin process exited" goes to debug. A crash before this is logged
	// as it happened.
	p.log.quiet.Store(true)
	p.client.Kill()
	p.stdout.flush()
}

// grpcPlugin is the agent's half of the go-plugin plugin: it hands over the
// connection to the plugin, on which Start makes a generated client for the
// Sink service and Send calls its Send method with sendCodec.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (*grpcPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("host: the agent does not serve sinks")
}

func (*grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return conn, nil
}

// codec encodes Send's requests (see sendCodec).
var codec = newSendCodec()
