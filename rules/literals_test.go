package rules

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestLitMatcherFindsWhatContainsFinds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "abcab.\tXé" // few symbols: many partial matches
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for trial := range 2000 {
		var lits []string
		seen := map[string]bool{}
		for range 1 + r.IntN(12) {
			l := word(1 + r.IntN(6))
			if !seen[l] {
				seen[l] = true
				lits = append(lits, l)
			}
		}
		text := word(r.IntN(40))
		for _, st := range []struct {
			wm    bool
			short int
		}{{false, 0}, {true, 0}, {true, 3}, {true, shortLit}} {
			lm := buildLitMatcher(lits, st.wm, st.short)
			found := newBitset(len(lits))
			lm.find(text, found)
			for i, l := range lits {
				if want := strings.Contains(text, l); found.has(int32(i)) != want {
					t.Fatalf("trial %d, wu-manber=%v, short=%d: text %q, literal %q: found=%v, want %v (literals %q)",
						trial, st.wm, st.short, text, l, found.has(int32(i)), want, lits)
				}
			}
		}
	}
}

func TestLitMatcherLongLiterals(t *testing.T) {
	long := strings.Repeat("x", 300) + "END"
	lits := []string{long, "alpha", "beta", "gamma", "delta", "epsilon"}
	lm := newLitMatcher(lits)
	if !lm.wm {
		t.Fatal("want the Wu-Manber strategy for 6 literals")
	}
	found := newBitset(len(lits))
	lm.find("prefix "+long+" suffix", found)
	if !found.has(0) || found.has(1) {
		t.Fatalf("found = %b, want only the long literal", found[0])
	}
}

// BenchmarkLiteralMatcher compares the two strategies on the realistic line
// mix, for literal sets of growing size drawn from the kind of rules admins
// write (logger names, message phrases). It decided containsMax.
//
// "levels" adds the three level names rules test (Level == "ERROR") to 16
// phrases: in the scan ("wumanber-all") they cut its skips to 3 bytes, so
// they are looked for apart ("wumanber", shortLit).
func BenchmarkLiteralMatcher(b *testing.B) {
	benchmarkLiteralMatcher(b)
	lines := mixLines(1000, 0, 3)
	lits := append([]string{"WARN", "ERROR", "FATAL", "System.Scheduler."}, literalPool()[:16]...)
	for _, bc := range []struct {
		name  string
		short int
	}{{"wumanber-all", 0}, {"wumanber", shortLit}} {
		b.Run("levels/"+bc.name, func(b *testing.B) {
			lm := buildLitMatcher(lits, true, bc.short)
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

func benchmarkLiteralMatcher(b *testing.B) {
	pool := literalPool()
	lines := mixLines(1000, 0, 3)
	for _, n := range []int{1, 2, 4, 8, 16, 32, 64} {
		for _, wm := range []bool{false, true} {
			name := "contains"
			if wm {
				name = "wumanber"
			}
			b.Run(fmt.Sprintf("lits=%d/%s", n, name), func(b *testing.B) {
				lm := buildLitMatcher(pool[:n], wm, shortLit)
				found := newBitset(n)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					found.clear()
					lm.find(lines[i%len(lines)], found)
					i++
				}
			})
		}
	}
}
