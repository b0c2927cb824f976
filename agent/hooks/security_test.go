package hooks

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTokenSources(t *testing.T) {
	bearer := func(scheme, tok string) []string { return []string{"Authorization", scheme + " " + tok} }
	noTok := strings.Replace(bodyReply, `"token":"`+token+`",`, "", 1)
	tests := []struct {
		name, format, target, body string
		header                     []string
		want                       int
	}{
		{"Bearer", FormatSIGNL4, "/h", bodyClosed, bearer("Bearer", token), 200},
		{"bearer in lower case", FormatSIGNL4, "/h", bodyClosed, bearer("bearer", token), 200},
		{"BEARER in upper case", FormatSIGNL4, "/h", bodyClosed, bearer("BEARER", token), 200},
		{"spaces after the scheme", FormatSIGNL4, "/h", bodyClosed, bearer("Bearer ", token), 200},
		{"header beats a wrong query token", FormatSIGNL4, "/h?token=guess", bodyClosed, bearer("Bearer", token), 200},
		{"a wrong header is not saved by the query", FormatSIGNL4, "/h?token=" + token, bodyClosed, bearer("Bearer", "guess"), 401},
		{"an empty query token does not beat the header", FormatSIGNL4, "/h?token=", bodyClosed, bearer("Bearer", token), 200},
		{"an empty query token alone", FormatSIGNL4, "/h?token=", bodyClosed, nil, 401},
		{"an empty bearer token falls back to the query", FormatSIGNL4, "/h?token=" + token, bodyClosed, bearer("Bearer", ""), 200},
		{"another scheme is no token", FormatSIGNL4, "/h?token=" + token, bodyClosed, bearer("Basic", token), 200},
		{"another scheme alone", FormatSIGNL4, "/h", bodyClosed, bearer("Basic", token), 401},
		{"a body token is only read for rocketchat", FormatJSON, "/h", `{"token":"` + token + `"}`, nil, 401},
		{"rocketchat body token after nested values", FormatRocketChat, "/h",
			`{"bot":{"i":"x","a":[1,{"token":"guess"}]},"message_id":"m","token":"` + token + `"}`, nil, 200},
		{"rocketchat nested token is not the token", FormatRocketChat, "/h", `{"bot":{"token":"` + token + `"}}`, nil, 401},
		{"rocketchat token past the window", FormatRocketChat, "/h",
			`{"text":"` + strings.Repeat("x", TokenWindow) + `","token":"` + token + `"}`, nil, 401},
		{"rocketchat token past the window, in the URL", FormatRocketChat, "/h?token=" + token,
			`{"text":"` + strings.Repeat("x", TokenWindow) + `","message_id":"m"}`, nil, 200},
		{"rocketchat token not a string", FormatRocketChat, "/h", `{"token":1}`, nil, 401},
		{"rocketchat header token", FormatRocketChat, "/h", noTok, bearer("bearer", token), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rec := newHandler(t, tt.format, nil, &bytes.Buffer{})
			w := post(h, tt.target, tt.body, tt.header...)
			if w.Code != tt.want {
				t.Fatalf("answered %d %s, want %d", w.Code, w.Body, tt.want)
			}
			if delivered := len(rec.got) == 1; delivered != (tt.want == 200) {
				t.Errorf("delivered %d", len(rec.got))
			}
		})
	}
}

// countingBody is a request body that counts what is read of it.
type countingBody struct {
	r    io.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += n
	return n, err
}

// A refused request costs no more than its headers (and for a Rocket.Chat
// body token, TokenWindow bytes): the body is not read.
func TestRefusedWithoutReadingTheBody(t *testing.T) {
	big := `{"eventType":201,"pad":"` + strings.Repeat("x", MaxBody-100) + `"}`
	tests := []struct {
		name, format, target string
		header               []string
		maxRead              int
	}{
		{"no token", FormatSIGNL4, "/h", nil, 0},
		{"wrong query token", FormatSIGNL4, "/h?token=guess", nil, 0},
		{"wrong bearer", FormatJSON, "/h", []string{"Authorization", "Bearer guess"}, 0},
		{"wrong query token, rocketchat", FormatRocketChat, "/h?token=guess", nil, 0},
		{"no token in the body's window, rocketchat", FormatRocketChat, "/h", nil, TokenWindow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rec := newHandler(t, tt.format, nil, &bytes.Buffer{})
			body := &countingBody{r: strings.NewReader(big)}
			req := httptest.NewRequest(http.MethodPost, tt.target, body)
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			orig := req.Body
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusUnauthorized || len(rec.got) != 0 {
				t.Fatalf("answered %d, delivered %d", w.Code, len(rec.got))
			}
			// net/http closes the connection of a refused large body only if
			// r.Body is still its own; any other reader it drains 256 KiB of.
			if req.Body != orig {
				t.Error("the handler replaced r.Body")
			}
			if body.read > tt.maxRead {
				t.Errorf("read %d bytes of the body before refusing it, want at most %d", body.read, tt.maxRead)
			}
		})
	}
}

func TestRefusalsLoggedOnceAMinute(t *testing.T) {
	var logs bytes.Buffer
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var answered []int
	h, err := New(Config{
		Input: "in", Format: FormatSIGNL4, Token: token,
		Deliver:  (&recorder{}).deliver,
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		Now:      func() time.Time { return now },
		Answered: func(code int) { answered = append(answered, code) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		post(h, "/h?token=guess-"+token, bodyClosed)
	}
	if n := strings.Count(logs.String(), "missing or wrong token"); n != 1 {
		t.Fatalf("%d log lines for 5 refusals within a minute, want 1:\n%s", n, &logs)
	}
	now = now.Add(time.Minute)
	post(h, "/h", bodyClosed)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "similar_warnings_held_back=4") ||
		!strings.Contains(lines[1], "input=in") || !strings.Contains(lines[1], "token_from=none") {
		t.Errorf("after a minute, want one more line that says 4 were held back:\n%s", &logs)
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the log shows the token:\n%s", &logs)
	}
	if want := []int{401, 401, 401, 401, 401, 401}; !equalInts(answered, want) {
		t.Errorf("Answered saw %v, want %v", answered, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLongIDIsHashed(t *testing.T) {
	h, rec := newHandler(t, FormatSIGNL4, nil, &bytes.Buffer{})
	long := strings.Repeat("i", 40<<10)
	body := `{"eventType":203,"id":"` + long + `"}`
	for range 2 {
		if w := post(h, "/h?token="+token, body); w.Code != http.StatusOK {
			t.Fatalf("answered %d %s", w.Code, w.Body)
		}
	}
	id := rec.got[0].ID
	if !strings.HasPrefix(id, "sha256:") || len(id) != len("sha256:")+64 || rec.got[1].ID != id {
		t.Errorf("ids %.80q and %.80q, want the same sha256:HEX", id, rec.got[1].ID)
	}
	if got := rec.got[0].Record.Get("Id"); got != long {
		t.Errorf("the record's Id field is %d bytes, want the id as sent", len(got))
	}
	short := strings.Repeat("s", MaxIDLen)
	post(h, "/h?token="+token, `{"eventType":203,"id":"`+short+`"}`)
	if rec.got[2].ID != short {
		t.Errorf("an id of MaxIDLen bytes became %q", rec.got[2].ID)
	}
}

func TestInFlightLimit(t *testing.T) {
	const limit = 2
	entered, release := make(chan struct{}), make(chan struct{})
	var codes []int
	var mu sync.Mutex
	h, err := New(Config{
		Input: "in", Format: FormatSIGNL4, Token: token, MaxInFlight: limit,
		Deliver: func(ctx context.Context, d Delivery) (bool, error) {
			entered <- struct{}{}
			<-release
			return false, nil
		},
		Answered: func(code int) { mu.Lock(); codes = append(codes, code); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan int, limit)
	for range limit {
		wg.Go(func() { results <- post(h, "/h?token="+token, bodyClosed).Code })
		<-entered
	}
	// Every slot is taken by a request blocked in Deliver.
	w := post(h, "/h?token="+token, bodyClosed)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
		t.Errorf("beyond the limit: %d, Retry-After %q; want 503 and 1", w.Code, w.Header().Get("Retry-After"))
	}
	// Authentication comes first: a stranger learns nothing about the load.
	if w := post(h, "/h?token=guess", bodyClosed); w.Code != http.StatusUnauthorized {
		t.Errorf("unauthenticated beyond the limit: %d, want 401", w.Code)
	}
	close(release)
	wg.Wait()
	close(results)
	for code := range results {
		if code != http.StatusOK {
			t.Errorf("a request within the limit got %d", code)
		}
	}
	go func() { <-entered }()
	if w := post(h, "/h?token="+token, bodyClosed); w.Code != http.StatusOK {
		t.Errorf("after the others finished: %d, want 200", w.Code)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []int{503, 401, 200, 200, 200}; !equalInts(codes, want) {
		t.Errorf("Answered saw %v, want %v", codes, want)
	}
}
