package sdk

import (
	"log/slog"
	"math"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ProtocolVersion is the version of the agent–plugin protocol this SDK speaks
// (plugins/proto/sink/v1). The host and the plugin negotiate it in the
// go-plugin handshake; a plugin built against another version is refused at
// start-up with an error that says so.
const ProtocolVersion = 1

// PluginName is the name under which a plugin process serves its sink.
const PluginName = "sink"

// Handshake is the go-plugin handshake shared by the agent and every sink
// plugin. The cookie is not a security measure: it only lets a plugin binary
// that is run by hand say so instead of hanging. It must never change; a
// protocol change bumps ProtocolVersion instead.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "HERALD_PLUGIN",
	MagicCookieValue: "7f1c5e0a-herald-sink-plugin",
}

// maxMessageSize bounds one gRPC message. gRPC's default of 4 MiB is too
// tight for a large batch of events with long messages; the host bounds batch
// sizes, this only keeps a runaway batch from exhausting memory.
const maxMessageSize = 64 << 20

// Serve runs s as a sink plugin process of the Herald agent and returns when
// the agent shuts the plugin down. Call it from main and do nothing else:
//
//	func main() { sdk.Serve(&MySink{}) }
//
// The agent starts the plugin, hands it its config through Sink.Configure and
// then batches of events through Sink.Send, over gRPC on a local socket secured
// with one-time mutual TLS certificates.
//
// Standard output carries the go-plugin handshake, so Serve takes it over:
// anything the sink writes to os.Stdout after the handshake is forwarded to
// the agent's standard output, and writes through a handle to the original
// standard output taken earlier are diverted to standard error (on Unix) so
// they cannot corrupt the protocol. Log through Config.Logger: its lines reach
// the agent's log with their level intact.
//
// If the agent process dies without stopping the plugin (it was killed), Serve
// notices and exits the process, so plugins are never left running on their
// own.
//
// Run directly rather than by the agent, the plugin prints an explanation to
// standard error and exits with status 1.
func Serve(s Sink) {
	if s == nil {
		panic("sdk.Serve: nil Sink")
	}
	// go-plugin replaces os.Stderr with a pipe after the handshake (that pipe
	// is the agent's SyncStderr stream, not its log). Only the original
	// standard error is parsed by the agent as hclog JSON, so the loggers
	// must hold on to it now.
	logOut := os.Stderr
	level := levelFromEnv(os.Getenv(LogLevelEnv))
	logger := slog.New(newLogHandler(logOut, level))
	internal := hclog.New(&hclog.LoggerOptions{
		Output:     logOut,
		Level:      max(hclog.LevelFromString(hclogLevel(level)), hclog.Debug),
		JSONFormat: true,
	})

	if err := reserveStdout(); err != nil {
		// Not fatal: the handshake still works, stray output is just not
		// diverted.
		logger.Warn("could not reserve standard output for the plugin handshake", "error", err)
	}

	if err := watchParent(func() {
		logger.Error("the agent process is gone; plugin exiting")
		os.Exit(1)
	}); err != nil {
		logger.Warn("cannot watch the agent process; this plugin may outlive it if the agent is killed", "error", err)
	}

	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			ProtocolVersion: {PluginName: &grpcPlugin{impl: s, logger: logger}},
		},
		GRPCServer: newGRPCServer,
		Logger:     internal,
	})
}

// newGRPCServer makes the plugin's gRPC server from go-plugin's options
// (TLS).
func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.MaxRecvMsgSize(maxMessageSize), grpc.MaxSendMsgSize(math.MaxInt32),
		// Decodes Send requests without the generated code (see
		// decodeSendRequest); the Sink service is registered to match.
		grpc.ForceServerCodecV2(newServerCodec()))
	return grpc.NewServer(opts...)
}
