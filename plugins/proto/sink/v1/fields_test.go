package sinkv1

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestFieldNumbers: the hand-written field numbers are those of sink.proto,
// with the kinds the hand-written encoder and decoder assume.
func TestFieldNumbers(t *testing.T) {
	event := (&Event{}).ProtoReflect().Descriptor().Fields()
	tests := []struct {
		fields protoreflect.FieldDescriptors
		name   protoreflect.Name
		num    protowire.Number
		kind   protoreflect.Kind
	}{
		{(&SendRequest{}).ProtoReflect().Descriptor().Fields(), "events", SendRequestEventsField, protoreflect.MessageKind},
		{event, "id", EventIDField, protoreflect.StringKind},
		{event, "rule", EventRuleField, protoreflect.StringKind},
		{event, "status", EventStatusField, protoreflect.StringKind},
		{event, "key", EventKeyField, protoreflect.StringKind},
		{event, "severity", EventSeverityField, protoreflect.StringKind},
		{event, "title", EventTitleField, protoreflect.StringKind},
		{event, "message", EventMessageField, protoreflect.StringKind},
		{event, "fields", EventFieldsField, protoreflect.MessageKind},
		{event, "time_unix_nano", EventTimeUnixNanoField, protoreflect.Int64Kind},
		{event, "host", EventHostField, protoreflect.StringKind},
		{event, "ref", EventRefField, protoreflect.StringKind},
		{event, "time_offset_seconds", EventTimeOffsetSecondsField, protoreflect.Int32Kind},
		{event.ByName("fields").MapKey().ContainingMessage().Fields(), "key", MapEntryKeyField, protoreflect.StringKind},
		{event.ByName("fields").MapKey().ContainingMessage().Fields(), "value", MapEntryValueField, protoreflect.StringKind},
	}
	for _, tt := range tests {
		f := tt.fields.ByName(tt.name)
		if f == nil {
			t.Errorf("no field %q", tt.name)
			continue
		}
		if f.Number() != tt.num || f.Kind() != tt.kind || f.Cardinality() == protoreflect.Required {
			t.Errorf("%s: field %d of kind %v, want %d of kind %v", f.FullName(), f.Number(), f.Kind(), tt.num, tt.kind)
		}
	}
	if n := event.Len(); n != 12 {
		t.Errorf("Event has %d fields; the hand-written encoder and decoder know 12", n)
	}
	if m := event.ByName("fields"); !m.IsMap() || m.MapValue().Kind() != protoreflect.StringKind {
		t.Errorf("Event.fields is not a map<string, string>")
	}
}
