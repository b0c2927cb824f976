package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	sinkv1 "github.com/heraldhq/herald/plugins/proto/sink/v1"
)

// eventFromProto and generatedDecode are what decodeSendRequest replaced:
// the generated decoder and a conversion to Events. They are the reference it
// is held to.
func eventFromProto(e *sinkv1.Event) Event {
	ev := Event{
		ID:       e.GetId(),
		Rule:     e.GetRule(),
		Status:   Status(e.GetStatus()),
		Key:      e.GetKey(),
		Severity: e.GetSeverity(),
		Title:    e.GetTitle(),
		Message:  e.GetMessage(),
		Time:     timeFromProto(e.GetTimeUnixNano(), e.GetTimeOffsetSeconds()),
		Host:     e.GetHost(),
		Ref:      e.GetRef(),
	}
	if len(e.GetFields()) > 0 {
		ev.Fields = e.GetFields()
	}
	return ev
}

func generatedDecode(b []byte) ([]Event, error) {
	var req sinkv1.SendRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		return nil, err
	}
	events := make([]Event, len(req.GetEvents()))
	for i, e := range req.GetEvents() {
		events[i] = eventFromProto(e)
	}
	return events, nil
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameEvents compares events field by field; times compare as instants in the
// same zone offset.
func sameEvents(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		_, xo := x.Time.Zone()
		_, yo := y.Time.Zone()
		if !x.Time.Equal(y.Time) || xo != yo || x.Time.IsZero() != y.Time.IsZero() {
			return false
		}
		x.Time, y.Time = time.Time{}, time.Time{}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func benchRequest(n int) *sinkv1.SendRequest {
	req := &sinkv1.SendRequest{}
	at := time.Date(2026, 11, 22, 6, 39, 30, 974e6, time.FixedZone("", 3600))
	for i := range n {
		req.Events = append(req.Events, eventToProtoForTest(Event{
			ID: fmt.Sprintf("01J8Z6V7Q3ZK5W2N8M4R6T%04d", i), Rule: "qlik-reload-failed", Status: StatusFiring,
			Key: fmt.Sprintf("bfa83a7b-f6ef-4af4-a817-a3a68969%04d", i), Severity: "critical",
			Title: "Reload failed: Reload task of App 0", Message: "Max retries reached",
			Fields: map[string]string{
				"TaskName": "Reload task of App 0", "TaskId": "bfa83a7b-f6ef-4af4-a817-a3a68969c72e",
				"AppName": "App 0", "AppId": "6a29e883-3f7c-4b5e-9a55-0c3a1f1e2d3c",
				"ExecutionId": "2d0beb92-1c5e-4d0b-8f7a-5b6c7d8e9f00", "User": `INTERNAL\sa_scheduler`,
				"Hostname": "sense1.lab.local", "Level": "INFO", "Message": "Max retries reached",
			},
			Time: at, Host: "sense1",
		}))
	}
	return req
}

// eventToProtoForTest mirrors plugins/host's conversion.
func eventToProtoForTest(e Event) *sinkv1.Event {
	_, offset := e.Time.Zone()
	return &sinkv1.Event{
		Id: e.ID, Rule: e.Rule, Status: string(e.Status), Key: e.Key, Severity: e.Severity, Title: e.Title,
		Message: e.Message, Fields: e.Fields, TimeUnixNano: unixNano(e.Time), TimeOffsetSeconds: int32(offset),
		Host: e.Host, Ref: e.Ref,
	}
}

// raw builds a message from wire pieces, for inputs the generated encoder
// would never produce.
func raw(pieces ...[]byte) []byte {
	var b []byte
	for _, p := range pieces {
		b = append(b, p...)
	}
	return b
}

func str(num protowire.Number, s string) []byte {
	return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), s)
}

func msg(num protowire.Number, pieces ...[]byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), raw(pieces...))
}

func varint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func TestDecodeSendRequest(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		name    string
		in      []byte
		want    []Event
		wantErr bool
	}{
		{name: "empty request", in: nil, want: []Event{}},
		{name: "a batch", in: marshal(t, &sinkv1.SendRequest{Events: []*sinkv1.Event{
			{Id: "1", Rule: "r", Status: "resolved", Key: "k", Severity: "critical", Title: "t", Message: "m",
				Fields: map[string]string{"a": "b", "c": ""}, TimeUnixNano: at.UnixNano(), TimeOffsetSeconds: -5 * 3600,
				Host: "h", Ref: "ref"},
			{},
		}}), want: []Event{
			{ID: "1", Rule: "r", Status: StatusResolved, Key: "k", Severity: "critical", Title: "t", Message: "m",
				Fields: map[string]string{"a": "b", "c": ""}, Time: at.In(time.FixedZone("", -5*3600)), Host: "h", Ref: "ref"},
			{},
		}},
		{name: "fields out of order, repeated, unknown, of another wire type", in: raw(
			varint(7, 1), // unknown top-level field
			msg(1,
				str(11, "ref"), str(1, "first"), str(1, "second"),
				msg(8, str(2, "v1"), str(1, "k")), msg(8, str(1, "k"), str(2, "v2")), // last wins
				msg(8, str(2, "no key")), msg(8, str(1, "no value"), varint(3, 9)),
				varint(2, 5),                   // rule as a varint: unknown
				str(9, "not a time"),           // time as bytes: unknown
				varint(12, uint64(1<<64-3600)), // negative offset, sign-extended
				str(99, "future field"),
			),
		), want: []Event{{ID: "second", Ref: "ref", Fields: map[string]string{"k": "v2", "": "no key", "no value": ""}}}},
		{name: "invalid UTF-8", in: msg(1, str(6, "\xff")), wantErr: true},
		{name: "invalid UTF-8 in a map key", in: msg(1, msg(8, str(1, "\xff"))), wantErr: true},
		{name: "truncated", in: marshal(t, benchRequest(1))[:50], wantErr: true},
		{name: "field number 0", in: []byte{0x02, 0x00}, wantErr: true},
		{name: "stray end group", in: protowire.AppendTag(nil, 1, protowire.EndGroupType), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSendRequest(tt.in)
			gen, genErr := generatedDecode(tt.in)
			if (err != nil) != (genErr != nil) {
				t.Fatalf("decodeSendRequest error %v, generated code's %v", err, genErr)
			}
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameEvents(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
			if !sameEvents(got, gen) {
				t.Errorf("got\n%+v\nthe generated code decoded\n%+v", got, gen)
			}
		})
	}
}

// FuzzDecodeSendRequest holds decodeSendRequest to the generated decoder: the
// same messages decode, to the same events.
func FuzzDecodeSendRequest(f *testing.F) {
	f.Add(marshal(f, benchRequest(2)))
	f.Add(marshal(f, &sinkv1.SendRequest{Events: []*sinkv1.Event{{Fields: map[string]string{"": ""}, TimeOffsetSeconds: -1}}}))
	f.Add(raw(msg(1, msg(8, str(2, "v"), str(1, "k"), str(1, "k2"))), varint(5, 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeSendRequest(b)
		want, wantErr := generatedDecode(b)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decodeSendRequest error %v, generated code's %v", err, wantErr)
		}
		if err == nil && !sameEvents(got, want) {
			t.Fatalf("decoded\n%+v\nthe generated code decoded\n%+v", got, want)
		}
	})
}

// BenchmarkDecodeSendRequest decodes a batch of 100 events shaped like the
// benchmark's alerts (9 fields each) into Events, with the generated code
// and conversion it replaced, and directly.
func BenchmarkDecodeSendRequest(b *testing.B) {
	in := marshal(b, benchRequest(100))
	for _, bc := range []struct {
		name   string
		decode func([]byte) ([]Event, error)
	}{{"generated", generatedDecode}, {"direct", decodeSendRequest}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.decode(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
		})
	}
}

// TestServerCodec: Send requests decode into Events, other messages (go-plugin's
// own services, Configure) the generated way, and a malformed request fails
// the call.
func TestServerCodec(t *testing.T) {
	c := newServerCodec()
	var req sendRequest
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(marshal(t, benchRequest(2)))}, &req); err != nil {
		t.Fatal(err)
	}
	if len(req.events) != 2 || req.events[1].ID != "01J8Z6V7Q3ZK5W2N8M4R6T0001" || len(req.events[1].Fields) != 9 {
		t.Errorf("decoded %+v", req.events)
	}
	var cfg sinkv1.ConfigureRequest
	in := marshal(t, &sinkv1.ConfigureRequest{Name: "pager", ConfigJson: []byte(`{}`)})
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(in)}, &cfg); err != nil || cfg.GetName() != "pager" {
		t.Errorf("ConfigureRequest: %v, %v", &cfg, err)
	}
	err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(raw(msg(1, str(1, "\xff"))))}, &sendRequest{})
	if !errors.Is(err, errInvalidUTF8) || !strings.Contains(err.Error(), "event 0") {
		t.Errorf("malformed request: %v", err)
	}
}

// TestHandleSend: the Send handler hands the decoded events to the sink, also
// through an interceptor, which sees the method's full name.
func TestHandleSend(t *testing.T) {
	var got []Event
	s := &server{impl: &funcSink{send: func(_ context.Context, events []Event) []Result {
		got = events
		return []Result{Accept("ref")}
	}}, logger: slog.New(slog.DiscardHandler)}
	dec := func(v any) error {
		v.(*sendRequest).events = []Event{{ID: "a"}}
		return nil
	}
	var method string
	intercept := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		method = info.FullMethod
		return h(ctx, req)
	}
	for _, ic := range []grpc.UnaryServerInterceptor{nil, intercept} {
		resp, err := s.handleSend(s, context.Background(), dec, ic)
		if err != nil {
			t.Fatal(err)
		}
		if rs := resp.(*sinkv1.SendResponse).GetResults(); len(rs) != 1 || rs[0].GetRef() != "ref" || len(got) != 1 || got[0].ID != "a" {
			t.Errorf("results %v for events %+v", rs, got)
		}
	}
	if method != sinkv1.Sink_Send_FullMethodName {
		t.Errorf("interceptor saw method %q", method)
	}
	desc := s.serviceDesc()
	if desc.ServiceName != sinkv1.Sink_ServiceDesc.ServiceName || len(desc.Methods) != len(sinkv1.Sink_ServiceDesc.Methods) {
		t.Errorf("service %q with %d methods", desc.ServiceName, len(desc.Methods))
	}
}

// TestGeneratedClient: a plugin's server answers a client built on the
// generated code, as agents before the hand-written encoder are, with the
// events intact.
func TestGeneratedClient(t *testing.T) {
	var got []Event
	s := newGRPCServer(nil)
	p := &grpcPlugin{impl: &funcSink{send: func(_ context.Context, events []Event) []Result {
		got = events
		return []Result{Accept("ref")}
	}}, logger: slog.New(slog.DiscardHandler)}
	if err := p.GRPCServer(nil, s); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	defer s.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := sinkv1.NewSinkClient(conn)

	if resp, err := client.Configure(context.Background(), &sinkv1.ConfigureRequest{Name: "pager"}); err != nil || resp.GetError() != "" {
		t.Fatalf("Configure: %v, %v", resp, err)
	}
	req := benchRequest(1)
	resp, err := client.Send(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if rs := resp.GetResults(); len(rs) != 1 || rs[0].GetRef() != "ref" {
		t.Errorf("results %v", rs)
	}
	want, _ := generatedDecode(marshal(t, req))
	if !sameEvents(got, want) {
		t.Errorf("sink got\n%+v\nwant\n%+v", got, want)
	}
	_, err = client.Send(context.Background(), &sinkv1.SendRequest{Events: []*sinkv1.Event{{Id: "a"}, {Id: "b"}}})
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "sink returned 1 results for 2 events") {
		t.Errorf("Send with a sink that breaks the contract: %v", err)
	}
}
