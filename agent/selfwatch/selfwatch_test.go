package selfwatch

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestWatch(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	w := New(func() time.Time { return now })

	if !w.Set(Condition{Kind: InputBlind, Subject: "scheduler", Summary: "no file"}) {
		t.Fatal("first Set reported an existing condition")
	}
	select {
	case <-w.Changed():
	default:
		t.Fatal("a new condition did not signal Changed")
	}

	// An update keeps when the condition started and is not news.
	now = now.Add(time.Minute)
	if w.Set(Condition{Kind: InputBlind, Subject: "scheduler", Summary: "still no file"}) {
		t.Fatal("an update reported a new condition")
	}
	select {
	case <-w.Changed():
		t.Fatal("an update of a summary signalled Changed")
	default:
	}
	c, ok := w.Get(InputBlind, "scheduler")
	if !ok || c.Summary != "still no file" || !c.Since.Equal(now.Add(-time.Minute)) {
		t.Fatalf("Get = %+v %v, want the updated summary since the first Set", c, ok)
	}

	w.Set(Condition{Kind: FileUnreadable, Subject: "/logs/b.txt", Scope: "scheduler"})
	w.Set(Condition{Kind: FileUnreadable, Subject: "/logs/a.txt", Scope: "scheduler"})
	w.Set(Condition{Kind: FileUnreadable, Subject: "/other/c.txt", Scope: "other"})
	w.Set(Condition{Kind: SinkPending, Subject: "pager"})
	var order []string
	for _, c := range w.Active() {
		order = append(order, string(c.Kind)+" "+c.Subject)
	}
	want := "input_blind scheduler,file_unreadable /logs/a.txt,file_unreadable /logs/b.txt,file_unreadable /other/c.txt,sink_pending pager"
	if got := strings.Join(order, ","); got != want {
		t.Errorf("Active order:\n got %s\nwant %s", got, want)
	}

	cleared := w.ClearScope(FileUnreadable, "scheduler", func(p string) bool { return p == "/logs/b.txt" })
	if len(cleared) != 1 || cleared[0].Subject != "/logs/a.txt" {
		t.Errorf("ClearScope cleared %+v, want /logs/a.txt only", cleared)
	}
	if _, ok := w.Get(FileUnreadable, "/other/c.txt"); !ok {
		t.Error("ClearScope cleared a condition of another scope")
	}
	if !w.Clear(SinkPending, "pager") || w.Clear(SinkPending, "pager") {
		t.Error("Clear should report true once, then false")
	}
}

func TestCollector(t *testing.T) {
	now := time.Unix(1796461200, 0)
	w := New(func() time.Time { return now })
	w.Set(Condition{Kind: InputBlind, Subject: "scheduler"})
	reg := prometheus.NewRegistry()
	reg.MustRegister(w.Collector())
	want := `
# HELP herald_condition_active Conditions under which Herald cannot see or deliver (1 while active): input_blind, file_unreadable, input_silent, qlik_trace_level, state_failing, sink_pending, sink_dead_letters, plugin_crashing. A kind with none active has one series with subject="" at 0.
# TYPE herald_condition_active gauge
herald_condition_active{condition="file_unreadable",subject=""} 0
herald_condition_active{condition="input_blind",subject="scheduler"} 1
herald_condition_active{condition="input_silent",subject=""} 0
herald_condition_active{condition="plugin_crashing",subject=""} 0
herald_condition_active{condition="qlik_trace_level",subject=""} 0
herald_condition_active{condition="sink_dead_letters",subject=""} 0
herald_condition_active{condition="sink_pending",subject=""} 0
herald_condition_active{condition="state_failing",subject=""} 0
# HELP herald_condition_since_seconds When an active condition started, as a Unix time.
# TYPE herald_condition_since_seconds gauge
herald_condition_since_seconds{condition="input_blind",subject="scheduler"} 1.7964612e+09
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestKinds(t *testing.T) {
	for _, k := range Kinds {
		if got := k.RuleID(); got != "herald."+string(k) {
			t.Errorf("RuleID(%s) = %s", k, got)
		}
	}
	for k, about := range map[Kind]bool{SinkPending: true, SinkDeadLetters: true, PluginCrashing: true, InputBlind: false, StateFailing: false} {
		if k.AboutSink() != about {
			t.Errorf("%s.AboutSink() = %v, want %v", k, !about, about)
		}
	}
}
