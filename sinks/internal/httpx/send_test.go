package httpx

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

func numbered(n int) []sdk.Event {
	evs := make([]sdk.Event, n)
	for i := range evs {
		evs[i].ID = strconv.Itoa(i)
	}
	return evs
}

// TestSendConcurrentlyKeepsOrder finishes the requests in reverse order and
// expects each result in its event's place.
func TestSendConcurrentlyKeepsOrder(t *testing.T) {
	const n = 5
	evs := numbered(n)
	// done[i] is closed when event i's request has ended; each request waits
	// for the one after it, so they end last to first.
	done := make([]chan struct{}, n+1)
	for i := range done {
		done[i] = make(chan struct{})
	}
	close(done[n])
	res := SendConcurrently(context.Background(), evs, n, func(_ context.Context, ev sdk.Event) sdk.Result {
		i, _ := strconv.Atoi(ev.ID)
		<-done[i+1]
		defer close(done[i])
		return sdk.Reject("event " + ev.ID)
	})
	if len(res) != n {
		t.Fatalf("%d results for %d events", len(res), n)
	}
	for i, r := range res {
		if want := "event " + strconv.Itoa(i); r.Reason != want {
			t.Errorf("result %d = %q, want %q", i, r.Reason, want)
		}
	}
}

// TestSendConcurrentlyBound holds every request until limit are in flight
// and checks that no more ever are.
func TestSendConcurrentlyBound(t *testing.T) {
	for _, tt := range []struct{ limit, events, want int }{
		{limit: 0, events: 4, want: 1},
		{limit: 1, events: 4, want: 1},
		{limit: 3, events: 10, want: 3},
		{limit: 8, events: 3, want: 3},
	} {
		t.Run(strconv.Itoa(tt.limit)+"x"+strconv.Itoa(tt.events), func(t *testing.T) {
			var mu sync.Mutex
			inFlight, most := 0, 0
			var order []string
			full := make(chan struct{}) // closed once want requests are in flight
			res := SendConcurrently(context.Background(), numbered(tt.events), tt.limit, func(_ context.Context, ev sdk.Event) sdk.Result {
				mu.Lock()
				inFlight++
				most = max(most, inFlight)
				order = append(order, ev.ID)
				if inFlight == tt.want {
					select {
					case <-full:
					default:
						close(full)
					}
				}
				mu.Unlock()
				<-full
				mu.Lock()
				inFlight--
				mu.Unlock()
				return sdk.Accept("")
			})
			if len(res) != tt.events {
				t.Fatalf("%d results for %d events", len(res), tt.events)
			}
			if most != tt.want {
				t.Errorf("at most %d requests in flight, want %d", most, tt.want)
			}
			if tt.want == 1 {
				for i, id := range order {
					if id != strconv.Itoa(i) {
						t.Fatalf("sequential sending went out of order: %v", order)
					}
				}
			}
		})
	}
}

// TestSendConcurrentlyCancel cancels the context while the first requests
// are in flight: they end as the send function says, and no other starts.
func TestSendConcurrentlyCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	started := 0
	res := SendConcurrently(ctx, numbered(6), 2, func(ctx context.Context, _ sdk.Event) sdk.Result {
		mu.Lock()
		started++
		if started == 2 {
			cancel()
		}
		mu.Unlock()
		<-ctx.Done()
		return sdk.Retry("cancelled in flight", time.Time{})
	})
	if started != 2 {
		t.Errorf("%d requests started, want the 2 in flight at the cancel", started)
	}
	for i, r := range res {
		want := "not sent: context canceled"
		if i < 2 {
			want = "cancelled in flight"
		}
		if r.Outcome != sdk.Retryable || r.Reason != want {
			t.Errorf("result %d = %v %q, want retryable %q", i, r.Outcome, r.Reason, want)
		}
	}
}
