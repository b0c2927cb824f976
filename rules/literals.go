package rules

import (
	"sort"
	"strings"
)

// litMatcher reports which of a fixed set of literal strings occur in a text.
//
// It backs the prefilter, which runs on every line of every tailed file, so it
// picks its strategy by the literals it holds (see BenchmarkLiteralMatcher):
//
//   - up to containsMax literals: one strings.Contains per literal. The standard
//     library's search is vectorised and nothing beats it for a handful.
//   - more: a Wu-Manber scan over byte pairs. It reads the text once and skips
//     ahead by up to (shortest literal - 1) bytes per step, so its cost falls as
//     literals get longer and barely rises as they get more numerous. Literals
//     of one byte, which would defeat the skipping, are checked with
//     strings.IndexByte instead.
type litMatcher struct {
	lits []string

	// Wu-Manber state, used when wm is true.
	wm     bool
	m      int     // window: the length of the shortest multi-byte literal, at most 256
	shift  []uint8 // by byte pair: how far the window may move; 0: a literal may end here
	candOf map[uint16][]int32
	single []int32 // one-byte literals, by index into lits
	long   int     // how many literals have two or more bytes
}

// containsMax is the largest literal count for which a strings.Contains loop
// is used; BenchmarkLiteralMatcher puts the crossover with Wu-Manber there.
const containsMax = 4

// newLitMatcher returns a matcher of lits, which must be distinct. It returns
// nil for an empty set.
func newLitMatcher(lits []string) *litMatcher {
	return buildLitMatcher(lits, len(lits) > containsMax)
}

// buildLitMatcher builds a matcher of lits with the given strategy; tests and
// benchmarks call it directly to compare the two.
func buildLitMatcher(lits []string, wuManber bool) *litMatcher {
	if len(lits) == 0 {
		return nil
	}
	lm := &litMatcher{lits: lits}
	if !wuManber {
		return lm
	}
	lm.wm = true
	for i, l := range lits {
		switch {
		case len(l) == 1:
			lm.single = append(lm.single, int32(i))
		case len(l) > 1:
			lm.long++
			if lm.m == 0 || len(l) < lm.m {
				lm.m = len(l)
			}
		}
	}
	if lm.long == 0 {
		return lm
	}
	// Shifts are kept in a byte; longer literals only lose skipping beyond 255.
	m := min(lm.m, 256)
	lm.m = m
	lm.shift = make([]uint8, 1<<16)
	for i := range lm.shift {
		lm.shift[i] = uint8(m - 1)
	}
	lm.candOf = make(map[uint16][]int32)
	for li, l := range lits {
		if len(l) < 2 {
			continue
		}
		// The pair l[j-1], l[j] ends j bytes into the window of the first m bytes.
		for j := 1; j < m; j++ {
			p := pair(l[j-1], l[j])
			if s := uint8(m - 1 - j); s < lm.shift[p] {
				lm.shift[p] = s
			}
		}
		p := pair(l[m-2], l[m-1])
		lm.candOf[p] = append(lm.candOf[p], int32(li))
	}
	return lm
}

func pair(a, b byte) uint16 { return uint16(a)<<8 | uint16(b) }

// bitset is a set of literal indexes.
type bitset []uint64

func newBitset(n int) bitset      { return make(bitset, (n+63)/64) }
func (b bitset) set(i int32)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) clear()           { clear(b) }
func bitsetWords(n int) int       { return (n + 63) / 64 }

// find adds to found every literal that occurs in text. found must have room
// for all literals.
func (lm *litMatcher) find(text string, found bitset) {
	if !lm.wm {
		for i, l := range lm.lits {
			if strings.Contains(text, l) {
				found.set(int32(i))
			}
		}
		return
	}
	for _, i := range lm.single {
		if strings.IndexByte(text, lm.lits[i][0]) >= 0 {
			found.set(i)
		}
	}
	if lm.long == 0 {
		return
	}
	m := lm.m
	shift := lm.shift[:1<<16]
	for pos := m - 1; pos < len(text); {
		p := pair(text[pos-1], text[pos])
		if s := shift[p]; s != 0 {
			pos += int(s)
			continue
		}
		start := pos - m + 1
		for _, li := range lm.candOf[p] {
			if strings.HasPrefix(text[start:], lm.lits[li]) {
				found.set(li)
			}
		}
		pos++
	}
}

// sortedUnique sorts s and removes duplicates in place.
func sortedUnique(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
