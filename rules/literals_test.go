package rules

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// strategies are the ways a litMatcher can be built, for tests that compare
// them all with strings.Contains.
var strategies = []struct {
	name string
	plan plan
}{
	{"contains", plan{}},
	{"scan-all", plan{scan: true}},
	{"scan-short-6", plan{scan: true, short: 6, shortMax: 100}},
	{"scan-shortLit-none-apart", plan{scan: true, short: shortLit}},
	{"default", plan{scan: true, short: shortLit, shortMax: shortMax}},
}

// checkFind checks that every strategy finds in text exactly the literals
// strings.Contains finds.
func checkFind(t *testing.T, lits, common []string, text string) {
	t.Helper()
	for _, st := range strategies {
		lm := buildLitMatcher(lits, common, st.plan)
		found := newBitset(len(lits))
		lm.find(text, found)
		for i, l := range lits {
			if want := strings.Contains(text, l); found.has(int32(i)) != want {
				t.Fatalf("%s: text %q, literal %q: found=%v, want %v (literals %q, common %q)",
					st.name, text, l, found.has(int32(i)), want, lits, common)
			}
		}
	}
}

func TestLitMatcherFindsWhatContainsFinds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "abcab.\tXé" // few symbols: many partial matches and shared grams
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 3000 {
		var lits, common []string
		seen := map[string]bool{}
		for range 1 + r.IntN(12) {
			l := word(1 + r.IntN(12))
			if !seen[l] {
				seen[l] = true
				lits = append(lits, l)
			}
		}
		for range r.IntN(4) {
			common = append(common, word(r.IntN(10)))
		}
		text := word(r.IntN(80))
		if r.IntN(2) == 0 {
			// Plant a literal, so that long ones are found too.
			l := lits[r.IntN(len(lits))]
			at := r.IntN(len(text) + 1)
			text = text[:at] + l + text[at:]
		}
		checkFind(t, lits, common, text)
	}
}

// TestLitMatcherOnRealLines compares the strategies with strings.Contains on
// the realistic line mix, for the literals rules about those lines yield.
func TestLitMatcherOnRealLines(t *testing.T) {
	lits := append([]string{"WARN", "ERROR", "FATAL", "System.Scheduler.", "Execution State Change to ", "Started", "0000-0000"}, literalPool()...)
	for _, m := range mixRoutine {
		lits = append(lits, m.logger)
	}
	lits = sortedUnique(lits)
	lines := mixLines(2000, 50, 5)
	for _, n := range []int{3, 8, len(lits)} {
		for _, line := range lines {
			checkFind(t, lits[:n], lits[n:], line)
		}
	}
}

func TestLitMatcherEdges(t *testing.T) {
	long := strings.Repeat("x", 300) + "END"
	tests := []struct {
		name string
		lits []string
		text string
	}{
		{"a literal longer than 255 bytes", []string{long, "alpha", "beta", "gamma", "delta", "epsilon"}, "prefix " + long + " suffix"},
		{"at the start and at the end", []string{"abcdefgh", "stuvwxyz", "ijklmnop"}, "abcdefgh-----stuvwxyz"},
		{"the whole text", []string{"abcdefgh", "zzzzzzzzzz"}, "abcdefgh"},
		{"text shorter than a gram", []string{"abcdefgh", "abc", "a"}, "ab"},
		{"repeated grams", []string{"aaaaaaaaa", "aaaaab", "baaaa"}, "aaaaaaaabaaaaaaaaa"},
		{"overlapping occurrences", []string{"abababab", "babababa"}, "ababababa"},
		{"UTF-8", []string{"Ventes Europe – été", "été 2026", "– é"}, "App Ventes Europe – été 2026"},
		{"empty text", []string{"abcdefgh", "a"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, text := range []string{tt.text, tt.text[:len(tt.text)/2], tt.text[len(tt.text)/2:]} {
				checkFind(t, tt.lits, nil, text)
			}
		})
	}
}

func TestChooseBlockAvoidsSharedGrams(t *testing.T) {
	// The loggers hold "Scheduler": the phrase should not be keyed on the
	// grams of its "scheduler".
	phrase := "Slow response from master scheduler: "
	common := []string{"System.Scheduler.Scheduler.SlaveCoordinator", "System.Scheduler.Scheduler.Master.MasterCoordinator"}
	lm := newLitMatcher([]string{phrase, "Lost connection", "Failed to start session", "No license available", "Trigger misfired"}, common)
	keyed := 0
	for _, g := range lm.groups {
		for _, r := range g {
			if lm.lits[r.lit] != phrase {
				continue
			}
			keyed++
			gram := phrase[r.off : r.off+gramLen]
			for _, c := range common {
				if strings.Contains(c, gram) {
					t.Errorf("keyed on %q at %d, which the loggers hold", gram, r.off)
				}
			}
		}
	}
	if keyed != lm.stride {
		t.Errorf("the phrase is keyed on %d grams, want the stride, %d", keyed, lm.stride)
	}
}

// BenchmarkLiteralMatcher compares the plans on the realistic line mix, for
// literal sets of growing size drawn from the kind of rules admins write
// (logger names, message phrases): the scan against a strings.Contains per
// literal ("lits=N").
//
// "levels" adds the three level names rules test (Level == "ERROR") to 16
// phrases: in the scan ("scan-all") they cut its stride to 1 byte, so they
// are looked for apart ("scan", shortLit). "short=N" puts N short literals
// beside 8 long ones, looked for apart ("apart") or in the scan ("scan-all"):
// it decided shortMax.
func BenchmarkLiteralMatcher(b *testing.B) {
	lines := mixLines(1000, 0, 3)
	run := func(name string, lits []string, p plan) {
		b.Run(name, func(b *testing.B) {
			lm := buildLitMatcher(lits, nil, p)
			found := newBitset(len(lits))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				found.clear()
				lm.find(lines[i%len(lines)], found)
				i++
			}
		})
	}
	def := plan{scan: true, short: shortLit, shortMax: shortMax}
	pool := literalPool()
	for _, n := range []int{1, 2, 4, 8, 16, 32, 64} {
		run(fmt.Sprintf("lits=%d/contains", n), pool[:n], plan{})
		run(fmt.Sprintf("lits=%d/scan", n), pool[:n], def)
	}
	levels := append([]string{"WARN", "ERROR", "FATAL", "System.Scheduler."}, pool[:16]...)
	run("levels/scan-all", levels, plan{scan: true})
	run("levels/scan", levels, def)
	short := []string{"WARN", "ERROR", "FATAL", "Oops", "ERR42", "denied", "E0042", "timeout", "abort", "E0043"}
	for _, n := range []int{2, 4, 6, 8, 10} {
		lits := append(append([]string(nil), short[:n]...), pool[:8]...)
		run(fmt.Sprintf("short=%d/apart", n), lits, plan{scan: true, short: shortLit, shortMax: len(short)})
		run(fmt.Sprintf("short=%d/scan-all", n), lits, plan{scan: true})
	}
}

func literalPool() []string {
	pool := []string{
		"Execution State Change to FinishedFail", "Max retries reached",
		"System.Scheduler.Scheduler.Master.Task.TaskSession", "Execution State Change to Aborting",
	}
	for i := range 60 {
		pool = append(pool, fmt.Sprintf("Connection lost (E%03d)", i))
	}
	return pool
}
