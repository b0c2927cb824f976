package sdk

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	sinkv1 "github.com/heraldhq/herald/plugins/proto/sink/v1"
)

// decodeSendRequest decodes a sink/v1 SendRequest straight into Events.
//
// It exists because the generated code decodes the fields map by reflection,
// which made decoding a batch the plugin's largest cost after its own HTTP
// work (BenchmarkDecodeSendRequest). It follows the protobuf rules the
// generated code does, so that both accept and reject the same messages and
// agree on what they hold (FuzzDecodeSendRequest): fields in any order, the
// last of a repeated scalar wins, the last of a repeated map key wins, a map
// entry's missing key or value is "", unknown fields and fields of an
// unexpected wire type are skipped, and strings must be valid UTF-8.
func decodeSendRequest(b []byte) ([]Event, error) {
	r := wireReader{b: b}
	n, err := r.count(sinkv1.SendRequestEventsField)
	if err != nil {
		return nil, err
	}
	events := make([]Event, 0, n)
	for !r.done() {
		num, typ, err := r.tag()
		if err != nil {
			return nil, err
		}
		if num != sinkv1.SendRequestEventsField || typ != protowire.BytesType {
			if err := r.skip(num, typ); err != nil {
				return nil, err
			}
			continue
		}
		m, err := r.message()
		if err != nil {
			return nil, err
		}
		// An event's strings are cut from one copy of its encoding: one
		// allocation per event instead of one per string.
		m.s = string(m.b)
		ev, err := decodeEvent(m)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", len(events), err)
		}
		events = append(events, ev)
	}
	return events, nil
}

func decodeEvent(r wireReader) (Event, error) {
	var (
		ev     Event
		unix   int64
		offset int32
	)
	n, err := r.count(sinkv1.EventFieldsField)
	if err != nil {
		return Event{}, err
	}
	if n > 0 {
		ev.Fields = make(map[string]string, n)
	}
	for !r.done() {
		num, typ, err := r.tag()
		if err != nil {
			return Event{}, err
		}
		if typ == protowire.VarintType && (num == sinkv1.EventTimeUnixNanoField || num == sinkv1.EventTimeOffsetSecondsField) {
			v, err := r.varint()
			if err != nil {
				return Event{}, err
			}
			if num == sinkv1.EventTimeUnixNanoField {
				unix = int64(v)
			} else {
				offset = int32(v)
			}
			continue
		}
		var s *string
		if typ == protowire.BytesType {
			switch num {
			case sinkv1.EventFieldsField:
				m, err := r.message()
				if err != nil {
					return Event{}, err
				}
				k, v, err := decodeMapEntry(m)
				if err != nil {
					return Event{}, fmt.Errorf("fields: %w", err)
				}
				ev.Fields[k] = v
				continue
			case sinkv1.EventIDField:
				s = &ev.ID
			case sinkv1.EventRuleField:
				s = &ev.Rule
			case sinkv1.EventStatusField:
				s = (*string)(&ev.Status)
			case sinkv1.EventKeyField:
				s = &ev.Key
			case sinkv1.EventSeverityField:
				s = &ev.Severity
			case sinkv1.EventTitleField:
				s = &ev.Title
			case sinkv1.EventMessageField:
				s = &ev.Message
			case sinkv1.EventHostField:
				s = &ev.Host
			case sinkv1.EventRefField:
				s = &ev.Ref
			}
		}
		if s == nil { // unknown, or a known field of another wire type
			if err := r.skip(num, typ); err != nil {
				return Event{}, err
			}
			continue
		}
		if *s, err = r.string(); err != nil {
			return Event{}, err
		}
	}
	ev.Time = timeFromProto(unix, offset)
	return ev, nil
}

// decodeMapEntry decodes one entry of a map<string, string>.
func decodeMapEntry(r wireReader) (key, value string, err error) {
	for !r.done() {
		num, typ, err := r.tag()
		if err != nil {
			return "", "", err
		}
		switch {
		case typ == protowire.BytesType && num == sinkv1.MapEntryKeyField:
			key, err = r.string()
		case typ == protowire.BytesType && num == sinkv1.MapEntryValueField:
			value, err = r.string()
		default:
			err = r.skip(num, typ)
		}
		if err != nil {
			return "", "", err
		}
	}
	return key, value, nil
}

// count counts the length-delimited fields numbered num in the rest of the
// message, without moving on, so that slices and maps are allocated once, at
// their final size.
func (r wireReader) count(num protowire.Number) (int, error) {
	n := 0
	for !r.done() {
		fnum, typ, err := r.tag()
		if err != nil {
			return 0, err
		}
		if err := r.skip(fnum, typ); err != nil {
			return 0, err
		}
		if fnum == num && typ == protowire.BytesType {
			n++
		}
	}
	return n, nil
}

// wireReader reads a protobuf message's fields one by one. It moves through
// the message by offset: its methods then write no pointers, which under a
// running garbage collector would each cost a write barrier.
type wireReader struct {
	b []byte
	// s is b as a string, or "". The string fields are cut from it, so that
	// a message's strings share one allocation instead of one each.
	s   string
	off int // where the next field starts
}

var (
	errMalformed   = errors.New("malformed protobuf message")
	errInvalidUTF8 = errors.New("string field contains invalid UTF-8")
)

func (r *wireReader) done() bool { return r.off >= len(r.b) }

// tag reads a field's number and wire type.
func (r *wireReader) tag() (protowire.Number, protowire.Type, error) {
	num, typ, n := protowire.ConsumeTag(r.b[r.off:])
	if n < 0 {
		return 0, 0, fmt.Errorf("%w: %w", errMalformed, protowire.ParseError(n))
	}
	// ConsumeTag also accepts the larger numbers only MessageSets use.
	if num > protowire.MaxValidNumber {
		return 0, 0, fmt.Errorf("%w: field number %d", errMalformed, num)
	}
	r.off += n
	return num, typ, nil
}

// skip reads past the value of a field the caller does not want.
func (r *wireReader) skip(num protowire.Number, typ protowire.Type) error {
	n := protowire.ConsumeFieldValue(num, typ, r.b[r.off:])
	if n < 0 {
		return fmt.Errorf("%w: field %d: %w", errMalformed, num, protowire.ParseError(n))
	}
	r.off += n
	return nil
}

func (r *wireReader) varint() (uint64, error) {
	v, n := protowire.ConsumeVarint(r.b[r.off:])
	if n < 0 {
		return 0, fmt.Errorf("%w: %w", errMalformed, protowire.ParseError(n))
	}
	r.off += n
	return v, nil
}

// bounds reads a length-delimited field and returns where its value lies in
// the message.
func (r *wireReader) bounds() (start, end int, err error) {
	v, n := protowire.ConsumeBytes(r.b[r.off:])
	if n < 0 {
		return 0, 0, fmt.Errorf("%w: %w", errMalformed, protowire.ParseError(n))
	}
	end = r.off + n
	r.off = end
	return end - len(v), end, nil
}

// message reads a length-delimited field as a message of its own.
func (r *wireReader) message() (wireReader, error) {
	start, end, err := r.bounds()
	if err != nil {
		return wireReader{}, err
	}
	m := wireReader{b: r.b[start:end:end]}
	if r.s != "" {
		m.s = r.s[start:end]
	}
	return m, nil
}

// string reads a string field; proto3 strings must be UTF-8.
func (r *wireReader) string() (string, error) {
	start, end, err := r.bounds()
	if err != nil {
		return "", err
	}
	if !utf8.Valid(r.b[start:end]) {
		return "", errInvalidUTF8
	}
	if r.s != "" {
		return r.s[start:end], nil
	}
	return string(r.b[start:end]), nil
}
