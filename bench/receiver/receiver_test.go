package receiver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T) *Receiver {
	t.Helper()
	r, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestBodies checks how many events each kind of body counts for, and their keys.
func TestBodies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		status int
		keys   []string
	}{
		{"herald event", `{"id":"1","rule":"qlik-reload-failed","status":"firing","key":"t1","fields":{"TaskId":"x"}}`, 204, []string{"t1"}},
		{"empty key wins over TaskId", `{"key":"","TaskId":"x"}`, 204, []string{""}},
		{"syslog-ng NDJSON", "{\"TaskId\":\"a\",\"Message\":\"m\"}\n{\"TaskId\":\"b\"}\n", 204, []string{"a", "b"}},
		{"array", `[{"key":"a"},{"key":"b"},{"key":"c"}]`, 204, []string{"a", "b", "c"}},
		{"alertmanager message", `{"receiver":"r","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"r1","task_id":"a"}},{"status":"resolved","labels":{"task_id":"b"}}]}`, 204, []string{"a", "b"}},
		{"alertmanager message without alerts", `{"receiver":"r","alerts":[]}`, 400, nil},
		{"not JSON", `key=a`, 400, nil},
		{"empty", ``, 400, nil},
		{"a string", `"a"`, 400, nil},
		{"truncated", `{"key":"a"`, 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t)
			if got := post(t, r.URL("/x"), tc.body); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			var keys []string
			for _, e := range r.Events() {
				keys = append(keys, e.Key)
			}
			if strings.Join(keys, ",") != strings.Join(tc.keys, ",") {
				t.Fatalf("keys %q, want %q", keys, tc.keys)
			}
			st := r.Stats()
			if st.Requests != 1 || (st.Refused == 1) != (tc.status == 400) || len(st.Problems) != st.Refused {
				t.Fatalf("Stats %+v", st)
			}
		})
	}
}

func TestFields(t *testing.T) {
	r := start(t)
	post(t, r.URL("/herald"), `{"rule":"r1","status":"resolved","key":"k"}`)
	ev := r.Events()[0]
	if ev.Rule != "r1" || ev.Status != "resolved" || ev.Key != "k" || ev.At.IsZero() {
		t.Fatalf("event %+v", ev)
	}
}

func TestAlertmanagerFields(t *testing.T) {
	r := start(t)
	post(t, r.URL("/am"), `{"status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"r1","task_id":"k"}}]}`)
	ev := r.Events()[0]
	if ev.Rule != "r1" || ev.Status != "resolved" || ev.Key != "k" || ev.At.IsZero() {
		t.Fatalf("event %+v", ev)
	}
}

func TestGetRefused(t *testing.T) {
	r := start(t)
	resp, err := http.Get(r.URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || r.Stats().Refused != 1 || r.Stats().Events != 0 {
		t.Fatalf("GET: status %d, stats %+v", resp.StatusCode, r.Stats())
	}
}

// TestWait checks that waiters wake for the right event and that counts
// and duplicates add up, with posts arriving while they wait.
func TestWait(t *testing.T) {
	r := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type result struct {
		ev  Event
		err error
	}
	third, keyB := make(chan result, 1), make(chan result, 1)
	go func() { ev, err := r.WaitCount(ctx, 3); third <- result{ev, err} }()
	go func() { ev, err := r.WaitKey(ctx, "b"); keyB <- result{ev, err} }()

	post(t, r.URL("/"), `{"key":"a"}`)
	post(t, r.URL("/"), `{"key":"a"}`)
	select {
	case res := <-third:
		t.Fatalf("WaitCount(3) returned after 2 events: %+v", res)
	case res := <-keyB:
		t.Fatalf("WaitKey(b) returned before b: %+v", res)
	default:
	}
	post(t, r.URL("/"), "{\"key\":\"b\"}\n{\"key\":\"c\"}")
	for name, ch := range map[string]chan result{"WaitCount(3)": third, "WaitKey(b)": keyB} {
		res := <-ch
		if res.err != nil || res.ev.Key != "b" {
			t.Fatalf("%s = %+v, %v; want the event of key b", name, res.ev, res.err)
		}
	}
	if st := r.Stats(); st.Events != 4 || st.Keys != 3 || st.Duplicates != 1 || st.Requests != 3 {
		t.Fatalf("Stats %+v, want 4 events, 3 keys, 1 duplicate, 3 requests", st)
	}
	// Already there: no waiting.
	if ev, err := r.WaitCount(ctx, 1); err != nil || ev.Key != "a" {
		t.Fatalf("WaitCount(1) = %+v, %v", ev, err)
	}
}

func TestWaitTimeout(t *testing.T) {
	r := start(t)
	post(t, r.URL("/"), `{"key":"a"}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.WaitCount(ctx, 2)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for event 2: 1 arrived") {
		t.Fatalf("WaitCount on a cancelled context: %v", err)
	}
	if _, err := r.WaitKey(ctx, "zz"); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitKey on a cancelled context: %v", err)
	}
	if _, err := r.WaitCount(context.Background(), 0); err == nil {
		t.Fatal("WaitCount(0) did not fail")
	}
}
