package metrics

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/heraldhq/herald/plugins/sdk"
)

func newTest(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return New(reg), reg
}

// touchAll gives every metric at least one series.
func touchAll(t *testing.T, m *Metrics) {
	t.Helper()
	m.Input("scheduler").SetUp(true)
	m.HookRequests("signl4-callbacks")
	m.Rule("reload-failed")
	m.Sink("pager").SetUp(true)
	m.Heartbeat("up")("up")
	m.Silenced("3f9c2a1b7d4e5f60")
	path := filepath.Join(t.TempDir(), "log.txt")
	if err := os.WriteFile(path, []byte("line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.TrackFile("scheduler", path, func() int64 { return 0 }))
}

// TestREADMEListsEveryMetric keeps README.md's table and the registered
// metrics the same set: a metric added without documentation, or documented
// but gone, fails here.
func TestREADMEListsEveryMetric(t *testing.T) {
	m, reg := newTest(t)
	touchAll(t, m)
	// Collectors of this package that the agent registers itself.
	external := []prometheus.Collector{
		NewScriptLogDirCollector(func() []DirUp { return []DirUp{{Dir: `\\QS-RIM1\c$\Script`, Up: true}} }),
	}
	reg.MustRegister(external...)

	// What the collectors describe: every metric New registers.
	descs := make(chan *prometheus.Desc, 64)
	for _, c := range append(m.collectors(), external...) {
		c.Describe(descs)
	}
	close(descs)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	var described []string
	for d := range descs {
		described = append(described, fq.FindStringSubmatch(d.String())[1])
	}
	sort.Strings(described)

	// What a scrape shows: touchAll must have given every one a series.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var gathered []string
	for _, mf := range mfs {
		gathered = append(gathered, mf.GetName())
	}
	if !slices.Equal(described, gathered) {
		t.Fatalf("registered metrics %v, but a scrape shows %v", described, gathered)
	}

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(herald_[a-z_]+)`")
	var documented []string
	for _, mt := range row.FindAllStringSubmatch(string(readme), -1) {
		if strings.HasPrefix(mt[1], "herald_condition_") {
			continue // registered by the agent from agent/selfwatch, tested there
		}
		documented = append(documented, mt[1])
	}
	sort.Strings(documented)
	if !slices.Equal(documented, described) {
		t.Errorf("README.md documents %v\nbut New registers %v", documented, described)
	}
	for _, mf := range mfs {
		if mf.GetHelp() == "" {
			t.Errorf("%s has no HELP text", mf.GetName())
		}
	}
}

func TestCountersAndLabels(t *testing.T) {
	m, reg := newTest(t)

	in := m.Input("scheduler")
	if m.Input("scheduler") != in {
		t.Fatal("Input returned a new value for the same name")
	}
	in.LinesRead.Add(10)
	in.ParseErrors.Inc()
	in.Records.Add(4)
	in.SetUp(true)
	m.Input("archive").SetUp(false)

	r := m.Rule("reload-failed")
	r.Matches.Add(3)
	r.Duplicates.Inc()
	r.Suppressed.Inc()
	r.Events(sdk.StatusFiring).Inc()
	r.Events(sdk.StatusResolved).Add(2)
	r.Events(sdk.StatusAcknowledged).Inc()

	const want = `
# HELP herald_lines_read_total Lines read from the files of an input.
# TYPE herald_lines_read_total counter
herald_lines_read_total{input="archive"} 0
herald_lines_read_total{input="scheduler"} 10
# HELP herald_parse_errors_total Log records of an input that could not be parsed and were skipped.
# TYPE herald_parse_errors_total counter
herald_parse_errors_total{input="archive"} 0
herald_parse_errors_total{input="scheduler"} 1
# HELP herald_records_total Parsed records of an input that passed the rules' prefilter and were evaluated.
# TYPE herald_records_total counter
herald_records_total{input="archive"} 0
herald_records_total{input="scheduler"} 4
# HELP herald_inputs_up Whether an input is running (1) or has stopped on an error (0).
# TYPE herald_inputs_up gauge
herald_inputs_up{input="archive"} 0
herald_inputs_up{input="scheduler"} 1
# HELP herald_rule_matches_total Records a rule matched, before deduplication and rate limiting.
# TYPE herald_rule_matches_total counter
herald_rule_matches_total{rule="reload-failed"} 3
# HELP herald_duplicates_total Matches of a rule dropped because their outcome was already seen.
# TYPE herald_duplicates_total counter
herald_duplicates_total{rule="reload-failed"} 1
# HELP herald_suppressed_total Firings of a rule held back by its rate limit.
# TYPE herald_suppressed_total counter
herald_suppressed_total{rule="reload-failed"} 1
# HELP herald_events_total Alert events a rule produced, by event status.
# TYPE herald_events_total counter
herald_events_total{rule="reload-failed",status="acknowledged"} 1
herald_events_total{rule="reload-failed",status="firing"} 1
herald_events_total{rule="reload-failed",status="resolved"} 2
`
	err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"herald_lines_read_total", "herald_parse_errors_total", "herald_records_total", "herald_inputs_up",
		"herald_rule_matches_total", "herald_duplicates_total", "herald_suppressed_total", "herald_events_total")
	if err != nil {
		t.Fatal(err)
	}
}

// TestSinkSeriesStartAtZero: a sink's series exist before anything happens,
// so rate() and absent() work from the first scrape.
func TestSinkSeriesStartAtZero(t *testing.T) {
	m, reg := newTest(t)
	m.Sink("pager")
	const want = `
# HELP herald_sent_total Events sent to a sink, by the sink's answer: accepted, retryable or rejected.
# TYPE herald_sent_total counter
herald_sent_total{outcome="accepted",sink="pager"} 0
herald_sent_total{outcome="rejected",sink="pager"} 0
herald_sent_total{outcome="retryable",sink="pager"} 0
# HELP herald_plugins_up Whether a sink's plugin is running (1) or failed and is being restarted (0).
# TYPE herald_plugins_up gauge
herald_plugins_up{sink="pager"} 0
# HELP herald_outbox_depth Events waiting in a sink's outbox.
# TYPE herald_outbox_depth gauge
herald_outbox_depth{sink="pager"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"herald_sent_total", "herald_plugins_up", "herald_outbox_depth"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.sendDuration, "herald_send_duration_seconds"); n != 1 {
		t.Errorf("send duration histograms: %d, want 1", n)
	}
}

func TestUp(t *testing.T) {
	m, _ := newTest(t)
	m.Input("scheduler").SetUp(true)
	m.Input("archive").SetUp(false)
	m.Sink("pager").SetUp(false)
	m.Sink("chat").SetUp(true)
	inputs, plugins := m.Up()
	wantIn := map[string]bool{"scheduler": true, "archive": false}
	wantPl := map[string]bool{"pager": false, "chat": true}
	if !maps.Equal(inputs, wantIn) || !maps.Equal(plugins, wantPl) {
		t.Errorf("Up() = %v, %v; want %v, %v", inputs, plugins, wantIn, wantPl)
	}
}

func TestBuildInfo(t *testing.T) {
	m, reg := newTest(t)
	if n := testutil.CollectAndCount(m.buildInfo); n != 1 {
		t.Fatalf("New made %d build_info series, want 1", n)
	}
	m.SetBuildInfo("1.2.3", "abc123")
	want := `
# HELP herald_build_info Always 1; labelled with the version and commit of the herald binary and the Go version that built it.
# TYPE herald_build_info gauge
herald_build_info{commit="abc123",goversion="` + runtime.Version() + `",version="1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "herald_build_info"); err != nil {
		t.Fatal(err)
	}
}

// TestFileLag: the lag is the file's size when scraped minus the offset read,
// so a file that grows while the reader is stuck shows a growing lag.
func TestFileLag(t *testing.T) {
	m, reg := newTest(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "Scheduler.txt")
	write := func(n int, flag int) {
		t.Helper()
		f, err := os.OpenFile(path, flag|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(strings.Repeat("x", n))); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	lag := func() (float64, bool) {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "herald_file_lag_bytes" {
				continue
			}
			for _, mt := range mf.GetMetric() {
				if labels(mt) == "input=scheduler,path="+path {
					return mt.GetGauge().GetValue(), true
				}
			}
		}
		return 0, false
	}

	var offset atomic.Int64
	write(100, os.O_TRUNC)
	untrack := m.TrackFile("scheduler", path, offset.Load)

	steps := []struct {
		name    string
		do      func()
		want    float64
		present bool
	}{
		{"nothing read", func() {}, 100, true},
		{"read some", func() { offset.Store(40) }, 60, true},
		{"file grows, reader idle", func() { write(50, os.O_APPEND) }, 110, true},
		{"caught up", func() { offset.Store(150) }, 0, true},
		{"truncated below the offset", func() { write(10, os.O_TRUNC) }, 0, true},
		{"file gone", func() {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, 0, false},
		{"new file at the path", func() { offset.Store(0); write(7, os.O_TRUNC) }, 7, true},
		{"untracked", untrack, 0, false},
	}
	for _, s := range steps {
		s.do()
		got, ok := lag()
		if ok != s.present || got != s.want {
			t.Errorf("%s: lag %v (present %v), want %v (present %v)", s.name, got, ok, s.want, s.present)
		}
	}
}

// TestFileLagRotation: when the follower of a rotated file closes after the
// follower of its successor at the same path opened, the successor's series
// stays.
func TestFileLagRotation(t *testing.T) {
	m, reg := newTest(t)
	path := filepath.Join(t.TempDir(), "Scheduler.txt")
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	untrackOld := m.TrackFile("scheduler", path, func() int64 { return 10 })
	untrackNew := m.TrackFile("scheduler", path, func() int64 { return 4 })
	untrackOld()
	untrackOld() // idempotent
	want := `
# HELP herald_file_lag_bytes Bytes between the end of a followed file and the position read so far, measured when scraped.
# TYPE herald_file_lag_bytes gauge
herald_file_lag_bytes{input="scheduler",path="` + labelValue(path) + `"} 6
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "herald_file_lag_bytes"); err != nil {
		t.Fatal(err)
	}
	untrackNew()
	if n := testutil.CollectAndCount(m.files); n != 0 {
		t.Errorf("%d lag series after untracking, want 0", n)
	}
}

// labelValue escapes s as a label value in the Prometheus text format, as a
// Windows path's backslashes need.
func labelValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func labels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}

func TestHookRequests(t *testing.T) {
	m, reg := newTest(t)
	count := m.HookRequests("signl4-callbacks")
	m.HookRequests("chat")
	for _, code := range []int{200, 401, 401, 503, 413} {
		count(code)
	}
	const want = `
# HELP herald_hook_requests_total Requests to an http input's hook, by the HTTP status code they were answered with.
# TYPE herald_hook_requests_total counter
herald_hook_requests_total{code="200",input="chat"} 0
herald_hook_requests_total{code="401",input="chat"} 0
herald_hook_requests_total{code="200",input="signl4-callbacks"} 1
herald_hook_requests_total{code="401",input="signl4-callbacks"} 2
herald_hook_requests_total{code="413",input="signl4-callbacks"} 1
herald_hook_requests_total{code="503",input="signl4-callbacks"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "herald_hook_requests_total"); err != nil {
		t.Fatal(err)
	}
}
