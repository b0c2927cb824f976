package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	gproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/plugins/internal/bufpool"
	sinkv1 "github.com/heraldhq/herald/plugins/proto/sink/v1"
)

// grpcPlugin serves a Sink over go-plugin's gRPC transport. It is the plugin
// half only; the agent's half lives in plugins/host.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl   Sink
	logger *slog.Logger
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	srv := &server{impl: p.impl, logger: p.logger}
	s.RegisterService(srv.serviceDesc(), srv)
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: a sink plugin has no client side; the agent uses plugins/host")
}

// server adapts a Sink to the generated gRPC service. It serialises calls
// because the Sink contract promises Send is never concurrent with itself,
// whatever the host does.
type server struct {
	sinkv1.UnimplementedSinkServer
	impl   Sink
	logger *slog.Logger
	mu     sync.Mutex
}

// Configure reports a rejected config, and a panic while configuring, as data
// so the agent can show it as a config error.
func (s *server) Configure(ctx context.Context, req *sinkv1.ConfigureRequest) (resp *sinkv1.ConfigureResponse, _ error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("sink panicked in Configure", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			resp = &sinkv1.ConfigureResponse{Error: fmt.Sprintf("sink panicked while configuring: %v", v)}
		}
	}()
	err := s.impl.Configure(ctx, Config{Name: req.GetName(), Raw: req.GetConfigJson(), Logger: s.logger})
	if err != nil {
		return &sinkv1.ConfigureResponse{Error: err.Error()}, nil
	}
	return &sinkv1.ConfigureResponse{}, nil
}

// serviceDesc is the generated description of the Sink service with Send
// routed to handleSend, which decodes the request with decodeSendRequest
// rather than the generated code. The server must use serverCodec.
func (s *server) serviceDesc() *grpc.ServiceDesc {
	desc := sinkv1.Sink_ServiceDesc
	desc.Methods = slices.Clone(desc.Methods)
	for i := range desc.Methods {
		if desc.Methods[i].MethodName == "Send" {
			desc.Methods[i].Handler = s.handleSend
		}
	}
	return &desc
}

// sendRequest is a SendRequest as serverCodec decodes it.
type sendRequest struct{ events []Event }

// handleSend is the gRPC handler of Send, in the generated handlers' shape.
func (s *server) handleSend(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	req := &sendRequest{}
	if err := dec(req); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return s.send(ctx, req.events)
	}
	info := &grpc.UnaryServerInfo{Server: s, FullMethod: sinkv1.Sink_Send_FullMethodName}
	return interceptor(ctx, req, info, func(ctx context.Context, req any) (any, error) {
		return s.send(ctx, req.(*sendRequest).events)
	})
}

// send answers with one result per event. A sink that panics or breaks the
// one-result-per-event rule fails the whole call, which the agent treats like
// a crash: it retries the batch later.
func (s *server) send(ctx context.Context, events []Event) (resp *sinkv1.SendResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("sink panicked in Send", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			resp, err = nil, status.Errorf(codes.Internal, "sink panicked: %v", v)
		}
	}()
	results := s.impl.Send(ctx, events)
	if len(results) != len(events) {
		return nil, status.Errorf(codes.Internal, "sink returned %d results for %d events", len(results), len(events))
	}
	resp = &sinkv1.SendResponse{Results: make([]*sinkv1.Result, len(results))}
	for i, r := range results {
		pr, err := resultToProto(r)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "result %d (event %s): %v", i, events[i].ID, err)
		}
		resp.Results[i] = pr
	}
	return resp, nil
}

// serverCodec is gRPC's proto codec, except that it decodes a sendRequest
// with decodeSendRequest.
type serverCodec struct{ encoding.CodecV2 }

// buffers hold requests while they are decoded.
var buffers bufpool.Pool

func newServerCodec() serverCodec { return serverCodec{encoding.GetCodecV2(gproto.Name)} }

func (c serverCodec) Unmarshal(data mem.BufferSlice, v any) error {
	req, ok := v.(*sendRequest)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(&buffers)
	defer buf.Free() // decodeSendRequest copies what it keeps
	events, err := decodeSendRequest(buf.ReadOnlyData())
	if err != nil {
		return err
	}
	req.events = events
	return nil
}

func resultToProto(r Result) (*sinkv1.Result, error) {
	var o sinkv1.Outcome
	switch r.Outcome {
	case Accepted:
		o = sinkv1.Outcome_OUTCOME_ACCEPTED
	case Retryable:
		o = sinkv1.Outcome_OUTCOME_RETRYABLE
	case Rejected:
		o = sinkv1.Outcome_OUTCOME_REJECTED
	default:
		return nil, fmt.Errorf("no valid outcome (%d); build results with sdk.Accept, sdk.Retry or sdk.Reject", r.Outcome)
	}
	return &sinkv1.Result{
		Outcome:         o,
		Ref:             r.Ref,
		RetryAtUnixNano: unixNano(r.RetryAt),
		Reason:          r.Reason,
	}, nil
}

// unixNano maps the zero time to 0 (time.Time{}.UnixNano() is not 0).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// timeFromProto rebuilds a time in the zone it was sent with: the local zone
// when the offsets agree (so it keeps its name), else a fixed offset.
func timeFromProto(n int64, offset int32) time.Time {
	if n == 0 {
		return time.Time{}
	}
	t := time.Unix(0, n)
	if _, local := t.Zone(); local == int(offset) {
		return t
	}
	return t.In(time.FixedZone("", int(offset)))
}
