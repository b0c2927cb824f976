package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
)

// FuzzDecodeRecords decodes fuzzed bytes as each kind of stored record: an
// alert, an outbox entry (with a fuzzed key) and a file position, with one
// dictionary known (fuzzDict, id 1). Decoding never panics and is
// deterministic; an outbox key that is not 8 bytes is an error; an alert or
// entry record that decodes encodes back to the same value, and a record with
// an uncompressed body of the current version to exactly the same bytes (so
// the codec is strict: one value, one encoding); an alert's identity and its
// reference for the sink named by the fuzzed key agree with the full decode.
// Positions are still JSON: one that decodes encodes and decodes again to the
// same bytes.
func FuzzDecodeRecords(f *testing.F) {
	ev := benchEvent(1)
	a := benchAlert(ev)
	a.Refs = map[string]string{"pager": "2518583650940558238_7647c33f", "chat": "m-1"}
	a.HeldEvent, a.HeldSinks, a.HeldBy, a.HeldSince = &ev, []string{"pager"}, "maint-1", t0.In(time.FixedZone("", 3600))
	f.Add([]byte("pager"), appendAlertRecord(nil, &a))
	f.Add([]byte("pager"), appendPacked(appendAlertHead(nil, &a), 1, fuzzDict, appendAlertBody(nil, &a)))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 2}, appendPacked([]byte{recordVersion}, 1, fuzzDict, appendEntryBody(nil, &entryValue{Event: ev, Enqueued: t0})))
	f.Add([]byte("pager"), schema2Alert(&a))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1}, appendEntryRecord(nil, &entryValue{Event: ev, Enqueued: t0, Instance: 1, Attempts: 2, LastError: "HTTP 503"}))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 1, 0}, appendEntryRecord(nil, &entryValue{Event: ev, Enqueued: time.Now(), Reason: "HTTP 400", Died: t0}))
	r := rand.New(rand.NewPCG(5, 6))
	for range 3 {
		var a Alert
		fill(f, reflect.ValueOf(&a).Elem(), r)
		f.Add([]byte("x"), appendAlertRecord(nil, &a))
	}
	f.Add([]byte("short"), []byte(`{"offset":12345,"fingerprint":"a1b2c3","path":"C:\\ProgramData\\Qlik\\Sense\\Log\\Scheduler\\Trace\\QS_System_Scheduler.txt","updated":"2026-03-01T12:00:00Z"}`))
	f.Add([]byte{}, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{2, 1, 'r'})

	f.Fuzz(func(t *testing.T, key, value []byte) {
		// Alerts.
		var a Alert
		err := decodeAlertRecord(value, &a, fuzzDicts)
		var a2 Alert
		if err2 := decodeAlertRecord(value, &a2, fuzzDicts); (err == nil) != (err2 == nil) || !reflect.DeepEqual(a, a2) {
			t.Fatalf("decodeAlertRecord twice: %v, then %v", err, err2)
		}
		if err == nil {
			again := appendAlertRecord(nil, &a)
			if plain := decodeAlertRecord(value, new(Alert), noDicts) == nil; plain && value[0] == recordVersion && !bytes.Equal(again, value) {
				t.Fatalf("alert record decodes, and encodes to other bytes:\n%x\n%x", value, again)
			}
			if err := decodeAlertRecord(again, &a2, noDicts); err != nil || !reflect.DeepEqual(a, a2) {
				t.Fatalf("alert record decodes, and its encoding decodes to another value (%v):\n%#v\n%#v", err, a, a2)
			}
			rule, k, err := alertRecordIdentity(value)
			if err != nil || string(rule) != a.Rule || string(k) != a.Key {
				t.Fatalf("identity = %q, %q, %v; decode gives %q, %q", rule, k, err, a.Rule, a.Key)
			}
			in, ref, err := alertRecordRef(value, string(key))
			if err != nil || in != a.Instance || ref != a.Refs[string(key)] {
				t.Fatalf("ref of %q = %d, %q, %v; decode gives %d, %q", key, in, ref, err, a.Instance, a.Refs[string(key)])
			}
		}
		// Outbox entries, as decodeEntry reads them.
		e, seq, err := decodeEntry(key, value, fuzzDicts)
		e2, seq2, err2 := decodeEntry(key, value, fuzzDicts)
		if (err == nil) != (err2 == nil) || seq != seq2 || !reflect.DeepEqual(e, e2) {
			t.Fatalf("decodeEntry twice: %d %v, then %d %v", seq, err, seq2, err2)
		}
		switch {
		case len(key) != 8 && err == nil:
			t.Fatalf("decodeEntry accepted the %d-byte key %x", len(key), key)
		case len(key) == 8 && seq != binary.BigEndian.Uint64(key):
			t.Fatalf("key %x decoded as sequence %d", key, seq)
		case err == nil:
			again := appendEntryRecord(nil, &e)
			if plain := decodeEntryRecord(value, new(entryValue), noDicts) == nil; plain && value[0] == recordVersion && !bytes.Equal(again, value) {
				t.Fatalf("entry record decodes, and encodes to other bytes:\n%x\n%x", value, again)
			}
			if err := decodeEntryRecord(again, &e2, noDicts); err != nil || !reflect.DeepEqual(e, e2) {
				t.Fatalf("entry record decodes, and its encoding decodes to another value (%v):\n%#v\n%#v", err, e, e2)
			}
			if c := cached(e).copyOut(); !reflect.DeepEqual(c, e) {
				t.Fatalf("cached gives\n%#v\ndecoding gives\n%#v", c, e)
			}
		}
		// Positions are written with json.Marshal.
		var p Position
		if json.Unmarshal(value, &p) == nil {
			b1, err := json.Marshal(p)
			if err != nil {
				return // a time json cannot write
			}
			var again Position
			if err := json.Unmarshal(b1, &again); err != nil {
				t.Fatalf("position: cannot decode its own encoding %s: %v", b1, err)
			}
			if b2, err := json.Marshal(again); err != nil || !bytes.Equal(b1, b2) {
				t.Fatalf("position: encode, decode, encode differs (%v):\n%s\n%s", err, b1, b2)
			}
		}
	})
}

// fuzzDict is the one dictionary FuzzDecodeRecords knows, as id 1: the body
// of a typical alert, as a rule's first alert makes one.
var fuzzDict = func() *s2.Dict {
	a := benchAlert(benchEvent(7))
	return s2.MakeDict(appendAlertBody(nil, &a), nil)
}()

func fuzzDicts(id uint64) *s2.Dict {
	if id == 1 {
		return fuzzDict
	}
	return nil
}

// schema2Alert is the version 1 record schema 2 wrote for a.
func schema2Alert(a *Alert) []byte {
	head := appendAlertHead(nil, a)
	head[0] = recordVersion1
	return appendAlertBodyOf(head, a, recordVersion1)
}

// schema2Entry turns rec, an entry record of the current version with an
// uncompressed body, into the version 1 record schema 2 wrote for the same
// entry.
func schema2Entry(rec []byte) []byte {
	return append([]byte{recordVersion1}, rec[2:]...)
}
