package butlerimport

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/lifecycle"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/parsers"
	parsersall "github.com/heraldhq/herald/parsers/all"
	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/rules"
	"github.com/heraldhq/herald/sinks/signl4"
	"github.com/heraldhq/herald/sinks/webhook"
)

// loaded is a generated config as the agent would load it.
type loaded struct {
	cfg   *config.Config
	rules *rules.Set
	life  *lifecycle.Lifecycle
}

// load writes res into a directory as `herald import butler --out` does and
// loads it the way the agent does: config.Parse with the referenced
// environment variables set, the rules compiled against the inputs' parsers,
// routing checked, and every sink's config validated by the sink itself.
func load(t *testing.T, res *Result) *loaded {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "herald.toml")
	if err := os.WriteFile(path, res.Config, 0o600); err != nil {
		t.Fatal(err)
	}
	if res.Rules != nil {
		if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(RulesFile)), res.Rules, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{}
	for _, e := range res.Env {
		env[e.Name] = "value-of-" + e.Name
	}
	cfg, err := config.Parse(path, res.Config, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config.Parse of the generated herald.toml:\n%v\n%s", err, res.Config)
	}

	infos := map[string]rules.InputInfo{}
	for _, in := range cfg.Inputs {
		p, err := parsersall.New(in.Parser, in.ParserOptions)
		if err != nil {
			t.Fatalf("input %s: %v", in.Name, err)
		}
		infos[in.Name] = rules.InputInfo{Fields: p.Fields(), Verbatim: p.Verbatim(), Parser: in.Parser}
	}
	set, err := rules.Load(cfg.Rules.Files, cfg.Dir(), cfg.Rules.Packs, infos)
	if err != nil {
		t.Fatalf("rules.Load of the generated rules:\n%v\n%s", err, res.Rules)
	}
	var infosL []*lifecycle.RuleInfo
	for _, r := range set.Rules() {
		infosL = append(infosL, lifecycle.FromRule(r))
	}
	var sinks []lifecycle.Sink
	for _, s := range cfg.Sinks {
		sinks = append(sinks, lifecycle.Sink{Name: s.Name, Kind: s.Plugin})
	}
	life, err := lifecycle.New("QS-NODE1", infosL, sinks, nil)
	if err != nil {
		t.Fatalf("routing: %v", err)
	}

	ca := testCA(t)
	for _, s := range cfg.Sinks {
		var sk sdk.Sink
		switch s.Plugin {
		case "signl4":
			sk = signl4.New()
		case "webhook":
			sk = webhook.New()
		default:
			continue
		}
		conf := s.Config
		if _, ok := conf["ca_file"]; ok {
			// The Butler file names a CA on the Qlik node; the sink reads it.
			conf["ca_file"] = ca
		}
		raw, err := json.Marshal(conf)
		if err != nil {
			t.Fatal(err)
		}
		if err := sk.Configure(context.Background(), sdk.Config{Name: s.Name, Raw: raw}); err != nil {
			t.Errorf("sink %s: the %s sink refuses its generated config: %v", s.Name, s.Plugin, err)
		}
	}
	return &loaded{cfg: cfg, rules: set, life: life}
}

// testCA writes a self-signed CA certificate and returns its path.
func testCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOutputLoads(t *testing.T) {
	for _, name := range goldenCases {
		for _, inline := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/inline=%v", name, inline), func(t *testing.T) {
				res := convertFile(t, name, Options{InlineSecrets: inline})
				if inline && len(res.Env) > 0 {
					t.Errorf("with InlineSecrets the config still references %v", res.Env)
				}
				load(t, res)
			})
		}
	}
}

// delivery is what one sink is handed, in order.
type delivery struct {
	Status   sdk.Status
	Rule     string
	Key      string
	Severity string
	Level    string // the Level field: set for webhooks, whose butler format sends it as logLevel
}

// TestRouting runs a scheduler log through the generated rules and the alert
// lifecycle and checks what each sink gets: failures only to SIGNL4 and the
// failure webhooks, aborts only to SIGNL4 and the abort webhook, each within
// its Butler rate limit, and the next success resolving them.
func TestRouting(t *testing.T) {
	l := load(t, convertFile(t, "butler", Options{}))
	store, err := state.Open(filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	got := map[string][]delivery{}
	ev := l.rules.NewEvaluator()
	for _, rec := range schedulerRecords(t, "scheduler", "testdata/QS-NODE1_System_Scheduler.txt", l.rules.Filter("scheduler")) {
		matches, err := ev.Eval(rec)
		if err != nil {
			t.Fatalf("record %s: %v", rec.Get("Sequence"), err)
		}
		err = store.Update(func(tx *state.Tx) error {
			for _, m := range matches {
				var st lifecycle.Stats
				routed, err := l.life.Apply(tx, l.life.MatchOf(m, rec.Time, fmt.Sprintf("%s:%d", rec.Path, rec.Offset)), &st)
				if err != nil {
					return err
				}
				for _, r := range routed {
					for _, s := range r.Sinks {
						got[s] = append(got[s], delivery{r.Event.Status, r.Event.Rule, r.Event.Key, r.Event.Severity, r.Event.Fields["Level"]})
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	const (
		sales   = "dec2a02a-1680-44ef-8dc2-e2bfb180af87"
		finance = "5b1f4c1e-2d7a-4a51-9c3e-0f1e2d3c4b5a"
	)
	failedHooks := []delivery{
		// 103 and 104 are one run (same ExecutionId); 105, a minute later, is
		// within the webhooks' 5m rate limit.
		{sdk.StatusFiring, "butler-reload-failed-webhooks", sales, "critical", "INFO"},
		{sdk.StatusResolved, "butler-reload-failed-webhooks", sales, "critical", "INFO"},
	}
	want := map[string][]delivery{
		"signl4": {
			{sdk.StatusFiring, "butler-reload-failed-signl4", sales, "critical", ""},
			// Outside SIGNL4's 15s rate limit: paged again.
			{sdk.StatusFiring, "butler-reload-failed-signl4", sales, "critical", ""},
			{sdk.StatusFiring, "butler-reload-aborted-signl4", finance, "warning", ""},
			{sdk.StatusResolved, "butler-reload-failed-signl4", sales, "critical", ""},
		},
		"webhook-1": failedHooks,
		"webhook-2": failedHooks,
		"webhook-3": {
			{sdk.StatusFiring, "butler-reload-aborted-webhooks", finance, "warning", "INFO"},
		},
	}
	for _, s := range slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	}) {
		if !slices.Equal(got[s], want[s]) {
			t.Errorf("sink %s got\n  %+v\nwant\n  %+v", s, got[s], want[s])
		}
	}
	if len(got) != len(want) {
		t.Errorf("sinks that got events: %d, want %d: %+v", len(got), len(want), got)
	}
}

// schedulerRecords reads a scheduler log through the qlik parser.
func schedulerRecords(t *testing.T, input, path string, filter parsers.Filter) []*parsers.Record {
	t.Helper()
	p, err := parsersall.New("qlik", nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := p.NewDecoder(input, path, filter)
	var recs []*parsers.Record
	emit := func(rec *parsers.Record, err error) {
		if err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
		recs = append(recs, rec.Clone())
	}
	sc := bufio.NewScanner(f)
	var off int64
	first := true
	for sc.Scan() {
		off += int64(len(sc.Bytes())) + 1
		dec.Decode(parsers.Line{Text: strings.TrimSuffix(sc.Text(), "\r"), Offset: off, First: first}, emit)
		first = false
	}
	dec.Flush(emit)
	if len(recs) == 0 {
		t.Fatalf("%s: no records", path)
	}
	return recs
}

// TestCopiesMatchPack checks that each generated rule detects, keys, dedups
// and words its alert exactly as the pack rule it copies, so migrating from
// Butler changes where alerts go, not what they are.
func TestCopiesMatchPack(t *testing.T) {
	l := load(t, convertFile(t, "butler", Options{}))
	infos := map[string]rules.InputInfo{}
	for _, in := range l.cfg.Inputs {
		p, err := parsersall.New(in.Parser, in.ParserOptions)
		if err != nil {
			t.Fatal(err)
		}
		infos[in.Name] = rules.InputInfo{Fields: p.Fields(), Verbatim: p.Verbatim(), Parser: in.Parser}
	}
	pack, err := rules.Load(nil, "", []string{packName}, infos)
	if err != nil {
		t.Fatal(err)
	}
	copies := map[string]string{
		"butler-reload-failed-signl4":    "qlik-reload-failed",
		"butler-reload-failed-webhooks":  "qlik-reload-failed",
		"butler-reload-aborted-signl4":   "qlik-reload-aborted",
		"butler-reload-aborted-webhooks": "qlik-reload-aborted",
		"butler-reload-succeeded":        "qlik-reload-succeeded",
	}
	if n := len(l.rules.Rules()); n != len(copies) {
		t.Errorf("%d rules generated, want %d", n, len(copies))
	}
	for id, orig := range copies {
		got, ok := l.rules.Rule(id)
		if !ok {
			t.Errorf("no rule %s", id)
			continue
		}
		want, _ := pack.Rule(orig)
		if got.When != want.When || got.Key != want.Key || got.Dedup != want.Dedup || got.Title != want.Title ||
			got.Message != want.Message || got.Severity != want.Severity || !slices.Equal(got.Parsers, want.Parsers) {
			t.Errorf("rule %s differs from pack rule %s:\n%+v\n%+v", id, orig, got, want)
		}
		for k, v := range want.Fields {
			if got.Fields[k] != v {
				t.Errorf("rule %s: field %s = %q, pack rule %s has %q", id, k, got.Fields[k], orig, v)
			}
		}
	}
}
