package host

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	sinkv1 "github.com/heraldhq/herald/plugins/proto/sink/v1"
	"github.com/heraldhq/herald/plugins/sdk"
)

// eventToProto and generatedEncode are what appendSendRequest replaced: a
// conversion to the generated messages and the generated encoder. They are
// the reference it is held to.
func eventToProto(e *sdk.Event) *sinkv1.Event {
	unix, offset := timeToProto(e.Time)
	return &sinkv1.Event{
		Id: e.ID, Rule: e.Rule, Status: string(e.Status), Key: e.Key, Severity: e.Severity, Title: e.Title,
		Message: e.Message, Fields: e.Fields, TimeUnixNano: unix, TimeOffsetSeconds: offset, Host: e.Host, Ref: e.Ref,
	}
}

func generatedEncode(events []sdk.Event) ([]byte, error) {
	req := &sinkv1.SendRequest{Events: make([]*sinkv1.Event, len(events))}
	for i := range events {
		req.Events[i] = eventToProto(&events[i])
	}
	return proto.Marshal(req)
}

func encode(events []sdk.Event) ([]byte, error) {
	sizes, size, err := sizeSendRequest(events)
	if err != nil {
		return nil, err
	}
	b := appendSendRequest(make([]byte, 0, size), events, sizes)
	if len(b) != size {
		return nil, fmt.Errorf("encoded %d bytes, sized %d", len(b), size)
	}
	return b, nil
}

func benchEvents(n int) []sdk.Event {
	events := make([]sdk.Event, n)
	for i := range events {
		events[i] = sdk.Event{
			ID: fmt.Sprintf("01J8Z6V7Q3ZK5W2N8M4R6T%04d", i), Rule: "qlik-reload-failed", Status: sdk.StatusFiring,
			Key: fmt.Sprintf("bfa83a7b-f6ef-4af4-a817-a3a68969%04d", i), Severity: "critical",
			Title: "Reload failed: Reload task of App 0", Message: "Max retries reached",
			Fields: map[string]string{
				"TaskName": "Reload task of App 0", "TaskId": "bfa83a7b-f6ef-4af4-a817-a3a68969c72e",
				"AppName": "App 0", "AppId": "6a29e883-3f7c-4b5e-9a55-0c3a1f1e2d3c",
				"ExecutionId": "2d0beb92-1c5e-4d0b-8f7a-5b6c7d8e9f00", "User": `INTERNAL\sa_scheduler`,
				"Hostname": "sense1.lab.local", "Level": "INFO", "Message": "Max retries reached",
			},
			Time: time.Date(2026, 11, 22, 6, 39, 30, 974e6, time.FixedZone("CET", 3600)), Host: "sense1",
		}
	}
	return events
}

// TestEncodeSendRequest: appendSendRequest writes the generated encoder's
// bytes (map entries aside, whose order is random in both), and what it
// writes decodes with the generated code to the same messages.
func TestEncodeSendRequest(t *testing.T) {
	west := time.FixedZone("", -5*3600)
	tests := []struct {
		name   string
		events []sdk.Event
	}{
		{"no events", nil},
		{"zero event", []sdk.Event{{}}},
		{"every field", []sdk.Event{{ID: "1", Rule: "r", Status: sdk.StatusResolved, Key: "k", Severity: "critical",
			Title: "t", Message: "m", Fields: map[string]string{"a": "b"}, Time: t0, Host: "h", Ref: "ref"}}},
		{"negative offset, empty field name and value", []sdk.Event{{ID: "x", Fields: map[string]string{"": ""}, Time: t0.In(west)}}},
		{"long strings", []sdk.Event{{Message: string(bytes.Repeat([]byte("é"), 100000))}}},
		{"a batch", benchEvents(100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encode(tt.events)
			if err != nil {
				t.Fatal(err)
			}
			want, err := generatedEncode(tt.events)
			if err != nil {
				t.Fatal(err)
			}
			if len(tt.events) > 0 && len(tt.events[0].Fields) <= 1 && !bytes.Equal(got, want) {
				t.Errorf("encoded\n%x\nthe generated code encodes\n%x", got, want)
			}
			var dec sinkv1.SendRequest
			if err := proto.Unmarshal(got, &dec); err != nil {
				t.Fatal(err)
			}
			var ref sinkv1.SendRequest
			if err := proto.Unmarshal(want, &ref); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&dec, &ref) {
				t.Errorf("decodes to\n%v\nwant\n%v", &dec, &ref)
			}
		})
	}
}

func TestEncodeRefusesInvalidUTF8(t *testing.T) {
	for _, e := range []sdk.Event{{ID: "1", Title: "\xff"}, {ID: "1", Fields: map[string]string{"\xfe": "v"}}, {ID: "1", Fields: map[string]string{"k": "\xfe"}}} {
		if _, err := encode([]sdk.Event{e}); !errors.Is(err, errInvalidUTF8) {
			t.Errorf("%+v: error %v, want errInvalidUTF8", e, err)
		}
		if _, err := generatedEncode([]sdk.Event{e}); err == nil {
			t.Errorf("%+v: the generated code encodes it", e)
		}
	}
}

// BenchmarkEncodeSendRequest encodes a batch of 100 events shaped like the
// benchmark's alerts (9 fields each), through the generated messages and
// encoder it replaced, and directly.
func BenchmarkEncodeSendRequest(b *testing.B) {
	events := benchEvents(100)
	for _, bc := range []struct {
		name   string
		encode func([]sdk.Event) ([]byte, error)
	}{{"generated", generatedEncode}, {"direct", encode}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.encode(events); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
		})
	}
}
