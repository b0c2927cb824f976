package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"
)

// FuzzDecodeRecords decodes fuzzed bytes as each kind of stored record: an
// alert, an outbox entry (with a fuzzed key) and a file position. Decoding
// is deterministic; an outbox key that is not 8 bytes is an error; a value
// that decodes re-encodes (with the hand-written appenders for alerts and
// entries) to exactly what json.Marshal writes, and that encoding decodes
// and encodes again to the same bytes, so a record read and written back is
// stable.
func FuzzDecodeRecords(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte(`{"rule":"qlik-reload-failed","key":"3f1c6f0e","status":"firing","title":"Reload failed","severity":"critical",`+
		`"fields":{"TaskName":"Reload Sales","b":"\u2028"},"first_seen":"2026-11-22T06:05:13.123+01:00","last_seen":"2026-11-22T06:05:13Z","count":2,"instance":1,`+
		`"refs":{"pager":"2518583650940558238_7647c33f"},"acked_by":"Rene","resolved_at":"2026-11-22T07:00:00Z","suppressed":3,"suppressed_since":"2026-11-22T06:06:00Z"}`))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 1, 0}, []byte(`{"event":{"id":"01J8Z6V7Q3","rule":"qlik-reload-failed","status":"firing","key":"k","severity":"critical","title":"t","message":"m",`+
		`"fields":{"TaskName":"x\u003c"},"time":"2026-03-01T12:00:00Z","host":"qlik-node-1","ref":"r"},"attempts":2,"last_error":"HTTP 503","enqueued":"2026-03-01T12:00:00.5Z","instance":1,"reason":"HTTP 400","died":"2026-03-01T12:01:00Z"}`))
	f.Add([]byte("short"), []byte(`{"offset":12345,"fingerprint":"a1b2c3","path":"C:\\ProgramData\\Qlik\\Sense\\Log\\Scheduler\\Trace\\QS_System_Scheduler.txt","updated":"2026-03-01T12:00:00Z"}`))
	f.Add([]byte{}, []byte(`{"time":"0001-01-01T00:00:00Z","enqueued":"9999-12-31T23:59:59.999999999-23:59","fields":null,"count":-1}`))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte("{\"rule\":\"\xff\",\"key\":\"\\ud800\",\"status\":\"x\",\"fields\":{\"\":\"\"},\"refs\":{}}"))

	f.Fuzz(func(t *testing.T, key, value []byte) {
		// Alerts.
		var a Alert
		if json.Unmarshal(value, &a) == nil {
			roundTrip(t, "alert", &a, func(v *Alert) ([]byte, error) { return appendAlertJSON(nil, v) })
		}
		// Outbox entries, as decodeEntry reads them.
		e, seq, err := decodeEntry(key, value)
		e2, seq2, err2 := decodeEntry(key, value)
		if (err == nil) != (err2 == nil) || seq != seq2 {
			t.Fatalf("decodeEntry twice: %d %v, then %d %v", seq, err, seq2, err2)
		}
		switch {
		case len(key) != 8 && err == nil:
			t.Fatalf("decodeEntry accepted the %d-byte key %x", len(key), key)
		case len(key) == 8 && seq != binary.BigEndian.Uint64(key):
			t.Fatalf("key %x decoded as sequence %d", key, seq)
		case err == nil:
			_ = e2
			roundTrip(t, "entry", &e, func(v *entryValue) ([]byte, error) { return appendEntryJSON(nil, v) })
		}
		// Positions are written with json.Marshal.
		var p Position
		if json.Unmarshal(value, &p) == nil {
			roundTrip(t, "position", &p, func(v *Position) ([]byte, error) { return json.Marshal(v) })
		}
	})
}

// roundTrip encodes v with enc, checks that json.Marshal agrees, then decodes
// and encodes again and checks the bytes are stable.
func roundTrip[T any](t *testing.T, what string, v *T, enc func(*T) ([]byte, error)) {
	t.Helper()
	b1, err := enc(v)
	want, wantErr := json.Marshal(v)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%s: appender error %v, json.Marshal's %v", what, err, wantErr)
	}
	if err != nil {
		return // a time json cannot write (a year past 9999 after a zone shift)
	}
	if !bytes.Equal(b1, want) {
		t.Fatalf("%s: appender wrote\n%s\njson.Marshal\n%s", what, b1, want)
	}
	var again T
	if err := json.Unmarshal(b1, &again); err != nil {
		t.Fatalf("%s: cannot decode its own encoding %s: %v", what, b1, err)
	}
	b2, err := enc(&again)
	if err != nil || !bytes.Equal(b1, b2) {
		t.Fatalf("%s: encode, decode, encode differs (%v):\n%s\n%s", what, err, b1, b2)
	}
}
