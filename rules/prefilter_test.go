package rules

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/heraldhq/herald/parsers"
)

func (c constraint) String() string {
	if len(c) == 0 {
		return "none"
	}
	var parts []string
	for _, cl := range c {
		s := append([]string(nil), cl.lits...)
		sort.Strings(s)
		parts = append(parts, "["+strings.Join(s, "|")+"]")
	}
	sort.Strings(parts)
	return strings.Join(parts, " & ")
}

func TestDeriveConstraint(t *testing.T) {
	env := envFor(InputInfo{Fields: []string{"a", "b", "c"}})
	verbatim := func(name string) bool { return name == "a" || name == "b" || name == envRaw }
	tests := []struct{ when, want string }{
		{`a == "x"`, "[x]"},
		{`"x" == a`, "[x]"},
		{`a contains "x"`, "[x]"},
		{`a startsWith "x"`, "[x]"},
		{`a endsWith "x"`, "[x]"},
		{`a in ["x", "yy"]`, "[x|yy]"},
		{`a == "x" && b == "y"`, "[x] & [y]"},
		{`a == "x" and b == "y"`, "[x] & [y]"},
		{`a == "x" && a == "x"`, "[x]"},
		{`a == "x" || b == "y"`, "[x|y]"},
		{`a == "x" or b == "y"`, "[x|y]"},
		{`(a == "xx" && b == "y") || b == "zzz"`, "[xx|zzz]"},
		{`a == "x" && (b == "abc" || b == "abcd")`, "[abc] & [x]"},
		{`Raw contains "x"`, "[x]"},
		{`a == "x" || c == "y"`, "none"},
		{`c == "x"`, "none"},
		{`a != "x"`, "none"},
		{`not (a == "x")`, "none"},
		{`!(a == "x")`, "none"},
		{`a matches "x"`, "[x]"},
		{`a matches "^Slow response: [0-9]{5,} ms$"`, "[ ms] & [Slow response: ]"},
		{`a matches "x|yz"`, "[x|yz]"},
		{`a matches "lost|gone"`, "[gone|lost]"},
		{`a matches "^Slow response: [0-9]+ ms$"`, "[ ms] & [Slow response: ]"},
		{`a matches "(ab)+c"`, "[ab] & [c]"},
		{`a matches "(ab){2,3}"`, "[ab]"},
		{`a matches "ab*"`, "[a]"},
		{`a matches "a*"`, "none"},
		{`a matches "x|.*"`, "none"},
		{`a matches "(?i)x"`, "none"},
		{`a matches "été"`, "[été]"},
		{`a matches "\\x{FFFD}"`, "none"},
		{`c matches "x"`, "none"},
		{`(a == "xx" && b startsWith "yy") || b == "zzz"`, "[yy|zzz]"},
		{`lower(a) == "x"`, "none"},
		{`a + "" == "x"`, "none"},
		{`a == ""`, "none"},
		{`a in ["x", ""]`, "none"},
		{`a == b`, "none"},
		{`Input == "x"`, "none"},
		{`"x" contains a`, "none"},
		{`let q = "x"; a == q`, "none"},
		{`a == "x" ? true : false`, "none"},
		{`true`, "none"},
		{`a == "x" && true`, "[x]"},
		{`a == "x" && (b != "y" || c == "z")`, "[x]"},
	}
	for _, tt := range tests {
		p, err := expr.Compile(tt.when, expr.Env(env), expr.AsBool())
		if err != nil {
			t.Fatalf("%s: %v", tt.when, err)
		}
		if got := deriveConstraint(p.Node(), verbatim).String(); got != tt.want {
			t.Errorf("%s: constraint %s, want %s", tt.when, got, tt.want)
		}
	}
}

func TestFilter(t *testing.T) {
	inputs := map[string]InputInfo{
		"scheduler": qlikInfo(t),
		"idle":      qlikInfo(t),
		"hooks":     {Fields: []string{"msg"}, Verbatim: false, Parser: "json"},
	}
	rule := func(id, input, when string) string {
		return fmt.Sprintf("[[rule]]\nid = %q\ninputs = [%q]\nwhen = '%s'\nkey = '\"k\"'\ntitle = '\"t\"'\nmessage = '\"m\"'\n", id, input, when)
	}
	tests := []struct {
		name   string
		rules  string
		input  string
		accept []string // raw texts the filter must let through
		reject []string
		isNil  bool
	}{
		{
			name:   "constrained rules",
			rules:  rule("a", "scheduler", `Level == "ERROR" && Message contains "disk full"`) + rule("b", "scheduler", `Message in ["Max retries reached", "gave up"]`),
			input:  "scheduler",
			accept: []string{"1\tERROR\tdisk full on C:", "Max retries reached", "x gave up"},
			reject: []string{"1\tERROR\tdisk is fine", "disk full\tINFO", "Max retries"},
		},
		{
			name:  "one unconstrained rule turns the filter off",
			rules: rule("a", "scheduler", `Level == "ERROR"`) + rule("b", "scheduler", `Level != "INFO"`),
			input: "scheduler",
			isNil: true,
		},
		{
			name:   "an input without rules",
			rules:  rule("a", "scheduler", `Level == "ERROR"`),
			input:  "idle",
			reject: []string{"", "ERROR", "anything"},
		},
		{
			name:  "fields of a parser that is not verbatim give no literals",
			rules: rule("a", "hooks", `msg == "down"`),
			input: "hooks",
			isNil: true,
		},
		{
			name:   "Raw is always verbatim",
			rules:  rule("a", "hooks", `Raw contains "\"status\":\"down\""`),
			input:  "hooks",
			accept: []string{`{"status":"down"}`},
			reject: []string{`{"status": "down"}`},
		},
		{
			name:  "an unknown input",
			rules: rule("a", "scheduler", `Level == "ERROR"`),
			input: "nope",
			isNil: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := loadText(t, tt.rules, inputs)
			if err != nil {
				t.Fatal(err)
			}
			f := set.Filter(tt.input)
			if (f == nil) != tt.isNil {
				t.Fatalf("Filter(%s) nil = %v, want %v", tt.input, f == nil, tt.isNil)
			}
			for _, raw := range tt.accept {
				if !f(raw) {
					t.Errorf("filter rejects %q", raw)
				}
			}
			for _, raw := range tt.reject {
				if f(raw) {
					t.Errorf("filter accepts %q", raw)
				}
			}
		})
	}
}

// TestFilterManyLiterals covers inputs with more literals than the filter
// keeps on the stack: 260, five words of bits, twice.
func TestFilterManyLiterals(t *testing.T) {
	var text strings.Builder
	for i := range 130 {
		fmt.Fprintf(&text, "[[rule]]\nid = \"r%d\"\nparsers = [\"qlik\"]\nwhen = 'Logger == \"logger %03d\" && Message contains \"phrase %03d\"'\nkey = '\"k\"'\ntitle = '\"t\"'\nmessage = '\"m\"'\n", i, i, i)
	}
	set, err := loadText(t, text.String(), map[string]InputInfo{"scheduler": qlikInfo(t)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(set.inputs["scheduler"].lits); n <= 64*stackWords {
		t.Fatalf("%d literals: the test does not leave the stack", n)
	}
	f := set.Filter("scheduler")
	for _, tt := range []struct {
		raw  string
		want bool
	}{
		{"1\tlogger 129\tphrase 129", true},
		{"1\tlogger 007\tphrase 007 and more", true},
		{"1\tlogger 007\tphrase 008", false},
		{"1\tlogger 007", false},
		{"", false},
	} {
		if got := f(tt.raw); got != tt.want {
			t.Errorf("filter(%q) = %v, want %v", tt.raw, got, tt.want)
		}
		checkFilterExact(t, set, "scheduler", tt.raw)
	}
}

// truth evaluates every rule of rec's input without any prefilter, and
// returns the ids of the rules whose `when` holds.
func truth(t testing.TB, s *Set, info InputInfo, rec *parsers.Record) []string {
	t.Helper()
	ir := s.inputs[rec.Input]
	env := map[string]any{envRaw: rec.Raw, envInput: rec.Input, envPath: rec.Path, envTime: rec.Time}
	for _, f := range info.Fields {
		env[f] = rec.Get(f)
	}
	var ids []string
	var m vm.VM
	for _, c := range ir.rules {
		v, err := m.Run(c.when, env)
		if err != nil {
			t.Fatalf("rule %s: %v", c.rule.ID, err)
		}
		if v.(bool) {
			ids = append(ids, c.rule.ID)
		}
	}
	return ids
}

// checkFilterExact checks that the input's filter says exactly what its
// rules' constraints say when each literal is looked for on its own with
// strings.Contains: the scan of the first clauses and the lazy look-ups of the
// others change the cost, never the answer.
func checkFilterExact(t testing.TB, s *Set, input, raw string) {
	t.Helper()
	ir := s.inputs[input]
	f := s.Filter(input)
	if f == nil {
		return
	}
	want := false
	for _, c := range ir.rules {
		all := true
		for _, cl := range c.clauses {
			if !slices.ContainsFunc(cl, func(i int32) bool { return strings.Contains(raw, ir.lits[i]) }) {
				all = false
				break
			}
		}
		if all {
			want = true
			break
		}
	}
	if got := f(raw); got != want {
		t.Fatalf("filter(%q) = %v, but the rules' literals say %v (literals %q)", raw, got, want, ir.lits)
	}
}

func matchIDs(ms []Match) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Rule.ID)
	}
	return ids
}

// TestPrefilterIsSound generates random rules and records and checks that
// neither the input filter nor the evaluator's per-rule prefilter ever drops
// a record a rule matches.
func TestPrefilterIsSound(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	vocab := []string{"", "a", "ab", "b", "ba", "abc", "cab", "x", "yz", "qq", "Z"}
	fields := []string{"f1", "f2", "f3"}
	info := InputInfo{Fields: fields, Verbatim: true, Parser: "test"}
	lit := func() string { return fmt.Sprintf("%q", vocab[r.IntN(len(vocab))]) }
	id := func() string {
		if r.IntN(6) == 0 {
			return envRaw
		}
		return fields[r.IntN(len(fields))]
	}
	var gen func(depth int) string
	gen = func(depth int) string {
		if depth > 0 && r.IntN(3) > 0 {
			switch r.IntN(8) {
			case 0, 1, 2, 3:
				return "(" + gen(depth-1) + " && " + gen(depth-1) + ")"
			case 4, 5, 6:
				return "(" + gen(depth-1) + " || " + gen(depth-1) + ")"
			default:
				return "not (" + gen(depth-1) + ")"
			}
		}
		// Mostly shapes the prefilter understands, so that it often applies.
		n := r.IntN(20)
		if n >= 9 {
			n %= 6
		}
		switch n {
		case 0:
			return id() + " == " + lit()
		case 1:
			return lit() + " == " + id()
		case 2:
			return id() + " contains " + lit()
		case 3:
			return id() + " startsWith " + lit()
		case 4:
			return id() + " endsWith " + lit()
		case 5:
			return id() + " in [" + lit() + ", " + lit() + "]"
		case 6:
			return id() + " != " + lit()
		case 7:
			return id() + ` matches "^a+b"`
		default:
			return "lower(" + id() + ") == " + lit()
		}
	}
	value := func() string {
		var b strings.Builder
		for range r.IntN(3) {
			b.WriteString(vocab[r.IntN(len(vocab))])
		}
		return b.String()
	}
	checked, filtered, skipped := 0, 0, 0
	for set := range 150 {
		var text strings.Builder
		for i := range 3 {
			fmt.Fprintf(&text, "[[rule]]\nid = \"r%d\"\nwhen = '%s'\nkey = '\"k\"'\ntitle = '\"t\"'\nmessage = '\"m\"'\n", i, gen(3))
		}
		s, err := loadText(t, text.String(), map[string]InputInfo{"in": info})
		if err != nil {
			t.Fatalf("set %d: %v\n%s", set, err, text.String())
		}
		f := s.Filter("in")
		ev := s.NewEvaluator()
		for range 60 {
			rec := &parsers.Record{Input: "in"}
			var raw []string
			for _, name := range fields {
				v := value()
				rec.Fields = append(rec.Fields, parsers.Field{Name: name, Value: v})
				raw = append(raw, v)
			}
			rec.Raw = strings.Join(raw, "\t")
			want := truth(t, s, info, rec)
			checked++
			if ir := s.inputs["in"]; ir.matcher != nil {
				found, known := newBitset(len(ir.lits)), newBitset(len(ir.lits))
				ir.start(rec.Raw, found, known)
				for _, c := range ir.rules {
					if len(c.clauses) > 0 && !c.holds(rec.Raw, ir.lits, found, known) {
						skipped++
					}
				}
			}
			checkFilterExact(t, s, "in", rec.Raw)
			if f != nil && !f(rec.Raw) {
				filtered++
				if len(want) > 0 {
					t.Fatalf("filter drops %q which rules %v match:\n%s", rec.Raw, want, text.String())
				}
			}
			ms, err := ev.Eval(rec)
			if err != nil {
				t.Fatal(err)
			}
			if got := matchIDs(ms); !slices.Equal(got, want) {
				t.Fatalf("Eval(%q) = %v, want %v:\n%s", rec.Raw, got, want, text.String())
			}
		}
	}
	t.Logf("%d records, %d dropped by the filter, %d rule runs skipped by the evaluator's prefilter", checked, filtered, skipped)
	if filtered == 0 || skipped == 0 {
		t.Error("the prefilter never applied: the test exercises nothing")
	}
}

// TestPrefilterIsSoundOnQlikMix checks the qliksense pack and admin-style
// rules against the realistic line mix.
func TestPrefilterIsSoundOnQlikMix(t *testing.T) {
	info := qlikInfo(t)
	dir := t.TempDir()
	writeFile(t, dir, "extra.toml", extraRules(20))
	s, err := Load([]string{"extra.toml"}, dir, []string{"qliksense"}, map[string]InputInfo{"scheduler": info})
	if err != nil {
		t.Fatal(err)
	}
	f := s.Filter("scheduler")
	if f == nil {
		t.Fatal("no filter")
	}
	lines := mixLines(3000, 50, 9)
	// Rows that the extra rules match, so both kinds of rule are exercised.
	for i := range 5 {
		lines = append(lines, strings.Replace(lines[i], lines[i][:4], "9999", 1))
		cols := strings.Split(lines[len(lines)-1], "\t")
		logger, phrase := extraMatch(i * 5)
		cols[4] = logger
		cols[8] = "Oops: " + phrase + " talking to engine"
		lines[len(lines)-1] = strings.Join(cols, "\t")
	}
	recs := decodeQlik(t, "scheduler", "mix.txt", mixHeader+"\n"+strings.Join(lines, "\n")+"\n", nil)
	ev := s.NewEvaluator()
	matched, passed := map[string]int{}, 0
	for _, rec := range recs {
		want := truth(t, s, info, rec)
		checkFilterExact(t, s, "scheduler", rec.Raw)
		if f(rec.Raw) {
			passed++
		} else if len(want) > 0 {
			t.Fatalf("filter drops %q which rules %v match", rec.Raw, want)
		}
		ms, err := ev.Eval(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got := matchIDs(ms); !slices.Equal(got, want) {
			t.Fatalf("Eval(%q) = %v, want %v", rec.Raw, got, want)
		}
		for _, id := range want {
			matched[id]++
		}
	}
	t.Logf("%d records, %d passed the filter, matches %v", len(recs), passed, matched)
	for _, id := range []string{"qlik-reload-failed", "qlik-reload-aborted", "qlik-reload-succeeded", "extra-0", "extra-5"} {
		if matched[id] == 0 {
			t.Errorf("rule %s never matched: the mix does not exercise it", id)
		}
	}
	if passed > len(recs)/20 {
		t.Errorf("%d of %d records passed the filter, want few: the literals are not selective", passed, len(recs))
	}
}
