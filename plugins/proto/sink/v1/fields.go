package sinkv1

import "google.golang.org/protobuf/encoding/protowire"

// Field numbers of sink.proto's SendRequest and Event messages, and of a map
// entry, for the hand-written encoder of SendRequest in plugins/host and its
// decoder in plugins/sdk, which spare the agent and every plugin the
// generated code's reflective handling of the fields map. This file is not
// generated; TestFieldNumbers holds it to the generated descriptors.
const (
	SendRequestEventsField protowire.Number = 1

	EventIDField                protowire.Number = 1
	EventRuleField              protowire.Number = 2
	EventStatusField            protowire.Number = 3
	EventKeyField               protowire.Number = 4
	EventSeverityField          protowire.Number = 5
	EventTitleField             protowire.Number = 6
	EventMessageField           protowire.Number = 7
	EventFieldsField            protowire.Number = 8
	EventTimeUnixNanoField      protowire.Number = 9
	EventHostField              protowire.Number = 10
	EventRefField               protowire.Number = 11
	EventTimeOffsetSecondsField protowire.Number = 12

	MapEntryKeyField   protowire.Number = 1
	MapEntryValueField protowire.Number = 2
)
