package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzHandler posts fuzzed bodies to a handler of each format through its
// http.Handler, with the token in the query, as a bearer token, wrong, or
// missing, and sometimes padded past MaxBody. It must never panic or answer
// 5xx for bad input: only 200, 400, 401 or 413, always as JSON. Without the
// token (nowhere, not even at the start of a Rocket.Chat body) the answer is
// 401 and nothing is delivered; an authorized body that is not one JSON
// object is 400; a padded one is 413. A delivery's record carries the format's
// declared fields, valid UTF-8, and Raw is a JSON object without the
// Rocket.Chat token. The same request answers the same twice.
func FuzzHandler(f *testing.F) {
	for _, body := range []string{bodyClosed, bodyAnnotated, bodyTest, bodyReply} {
		for format := range uint8(3) {
			f.Add(format, uint8(0), []byte(body))
		}
	}
	f.Add(uint8(1), uint8(3), []byte(bodyReply))     // Rocket.Chat: the token in the body only
	f.Add(uint8(1), uint8(3), []byte(`{"token":1}`)) // a token that is not a string
	f.Add(uint8(2), uint8(1), []byte(`{"time":"2026-09-20T10:02:11Z","level":"ERROR","msg":"x","n":1e400}`))
	f.Add(uint8(2), uint8(0), []byte(`{"time":"yesterday"}`))
	f.Add(uint8(0), uint8(0), []byte(`{"eventType":201,"alert":{"statusCode":2,"externalEventId":{"a":[1]}}}`))
	f.Add(uint8(0), uint8(0), []byte(`{"eventType":null}`))
	f.Add(uint8(0), uint8(0), []byte(`[1,2] `))
	f.Add(uint8(2), uint8(0), []byte(`{"a":1}{"b":2}`))
	f.Add(uint8(2), uint8(4), []byte(`{"a":1}`))
	f.Add(uint8(1), uint8(2), []byte("{\"token\":\"s3cret-hook-t0ken\",\"text\":\"\xff\"}"))

	formats := []string{FormatSIGNL4, FormatRocketChat, FormatJSON}
	f.Fuzz(func(t *testing.T, format, mode uint8, body []byte) {
		var delivered []Delivery
		fmtName := formats[int(format)%len(formats)]
		h, err := New(Config{Input: "in", Format: fmtName, Token: token,
			Deliver: func(_ context.Context, d Delivery) (bool, error) {
				delivered = append(delivered, d)
				return len(delivered) > 1, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		pad := mode&4 != 0
		if pad {
			// MaxBody+1, so even an empty fuzzed body ends up over the limit
			// (MaxBody bytes exactly is accepted).
			body = append(body, bytes.Repeat([]byte{' '}, MaxBody+1)...)
		}
		target, auth := "/hooks/in", ""
		switch mode % 4 {
		case 0:
			target += "?token=" + token
		case 1:
			auth = "Bearer " + token
		case 2:
			target += "?token=wrong-" + token
		}
		authorized := mode%4 < 2

		status, answer := serve(t, h, target, auth, body)
		if again, _ := serve(t, h, target, auth, body); again != status {
			t.Fatalf("the same request answered %d, then %d", status, again)
		}
		switch status {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d (%s) for bad input; want 200, 400, 401 or 413", status, answer)
		}

		_, isObject := decode(body)
		// A Rocket.Chat body authenticates with a top-level "token" found
		// within its first TokenWindow bytes, read as JSON tokens up to it:
		// what follows need not be valid, and is then refused as 400 once
		// the request is authenticated (TestRefused has both cases).
		inBody := false
		if fmtName == FormatRocketChat && mode%4 == 3 {
			tok, ok := bodyToken(body[:min(len(body), TokenWindow)])
			inBody = ok && tok == token
		}
		switch {
		case !authorized && !inBody && !pad && status != http.StatusUnauthorized:
			t.Fatalf("no token, answered %d (%s)", status, answer)
		case !authorized && !inBody && len(delivered) > 0:
			t.Fatalf("no token, yet delivered %+v", delivered[0])
		case authorized && pad && status != http.StatusRequestEntityTooLarge:
			t.Fatalf("a body over MaxBody answered %d (%s)", status, answer)
		case authorized && !pad && !isObject && status != http.StatusBadRequest:
			t.Fatalf("a body that is not one JSON object answered %d (%s)", status, answer)
		case status != http.StatusOK && len(delivered) > 0:
			t.Fatalf("answered %d (%s), yet delivered", status, answer)
		case status == http.StatusOK && answer != "{}":
			t.Fatalf("200 with %q, want {}", answer)
		}

		want := h.Fields()
		for _, d := range delivered {
			rec := d.Record
			var names []string
			for _, fl := range rec.Fields {
				names = append(names, fl.Name)
				if !utf8.ValidString(fl.Value) {
					t.Fatalf("field %s=%q is not valid UTF-8", fl.Name, fl.Value)
				}
			}
			if fmtName != FormatJSON && !slices.Equal(names, want) {
				t.Fatalf("record fields %v, want %v", names, want)
			}
			raw, ok := decode([]byte(rec.Raw))
			if !ok || rec.Input != "in" {
				t.Fatalf("record Raw %q is not a JSON object, or Input %q is not the input's", rec.Raw, rec.Input)
			}
			if _, ok := raw["token"]; ok && fmtName == FormatRocketChat {
				t.Fatalf("the body's token reached the record: %s", rec.Raw)
			}
		}
	})
}

func serve(t *testing.T, h http.Handler, target, auth string, body []byte) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	answer := strings.TrimSpace(w.Body.String())
	if ct := w.Header().Get("Content-Type"); ct != "application/json" || !json.Valid([]byte(answer)) {
		t.Fatalf("answer %d %q with Content-Type %q, want JSON", w.Code, answer, ct)
	}
	return w.Code, answer
}

// decode reports whether body is exactly one JSON object, as encoding/json
// reads it.
func decode(body []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, false
	}
	if dec.More() {
		return nil, false
	}
	var extra json.RawMessage
	if dec.Decode(&extra) == nil {
		return nil, false
	}
	return obj, true
}
