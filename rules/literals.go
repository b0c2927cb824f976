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
	m      int      // window: the length of the shortest literal in the scan, at most 256
	shift  []uint8  // by byte pair: how far the window may move; 0: a literal may end here
	group  []uint16 // by byte pair: 1 + the index in groups of the literals whose window ends with it
	groups []candidates
	single []int32 // one-byte literals, by index into lits
	short  []int32 // literals too short for the scan (see shortLit), by index into lits
	long   int     // how many literals the scan looks for
}

// shortLit is the length below which a literal is looked for with
// strings.Contains rather than in the Wu-Manber scan, as long as there are no
// more than containsMax of them. The scan's skips are at most one byte less
// than its shortest literal, so one "WARN" among logger names and phrases
// would make it read the text nearly byte by byte (BenchmarkLiteralMatcher,
// "levels").
const shortLit = 8

// containsMax is the largest literal count for which a strings.Contains loop
// is used; BenchmarkLiteralMatcher puts the crossover with Wu-Manber there.
const containsMax = 4

// newLitMatcher returns a matcher of lits, which must be distinct. It returns
// nil for an empty set.
func newLitMatcher(lits []string) *litMatcher {
	return buildLitMatcher(lits, len(lits) > containsMax, shortLit)
}

// buildLitMatcher builds a matcher of lits with the given strategy; tests and
// benchmarks call it directly to compare them. Literals shorter than short
// bytes are left out of the Wu-Manber scan (see shortLit).
func buildLitMatcher(lits []string, wuManber bool, short int) *litMatcher {
	if len(lits) == 0 {
		return nil
	}
	lm := &litMatcher{lits: lits}
	if !wuManber {
		return lm
	}
	lm.wm = true
	nshort := 0
	for _, l := range lits {
		if len(l) > 1 && len(l) < short {
			nshort++
		}
	}
	inScan := make([]bool, len(lits))
	for i, l := range lits {
		switch {
		case len(l) == 1:
			lm.single = append(lm.single, int32(i))
		case len(l) < short && nshort <= containsMax:
			lm.short = append(lm.short, int32(i))
		case len(l) > 1:
			inScan[i] = true
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
	lm.group = make([]uint16, 1<<16)
	byPair := map[uint16][]int32{}
	var pairs []uint16
	for li, l := range lits {
		if !inScan[li] {
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
		if byPair[p] == nil {
			pairs = append(pairs, p)
		}
		byPair[p] = append(byPair[p], int32(li))
	}
	for _, p := range pairs {
		lm.groups = append(lm.groups, newCandidates(lits, byPair[p]))
		lm.group[p] = uint16(len(lm.groups)) // at most one group per pair: fits
	}
	return lm
}

// candidates are the literals whose scan window ends with the same byte pair,
// sorted, with the length of the prefix each shares with the one before it.
// Literals often share long prefixes (logger names all start with
// "System.Scheduler."), and the sort lets one pass over the text at a
// candidate position decide all of them: see match.
type candidates struct {
	lits []int32 // indexes into litMatcher.lits, in the order of the literals
	lcp  []int   // lcp[j]: the common prefix length of lits[j-1] and lits[j]
}

func newCandidates(all []string, idx []int32) candidates {
	idx = append([]int32(nil), idx...)
	sort.Slice(idx, func(a, b int) bool { return all[idx[a]] < all[idx[b]] })
	c := candidates{lits: idx, lcp: make([]int, len(idx))}
	for j := 1; j < len(idx); j++ {
		c.lcp[j] = commonPrefix(all[idx[j-1]], all[idx[j]])
	}
	return c
}

// match adds to found the candidates that are prefixes of t.
//
// It walks the sorted literals keeping k, the length of the prefix t shares
// with the previous one. A literal sharing more than k bytes with the previous
// one differs from t where that one did, so it is not a prefix and k holds. A
// literal sharing fewer than k bytes with the previous one is greater than it
// where t is equal to it, so it and every later literal are greater than t
// before t's end: none is a prefix, and the walk stops. Only a literal sharing
// exactly k bytes is compared, from byte k on.
func (c *candidates) match(lits []string, t string, found bitset) {
	k := 0
	for j, li := range c.lits {
		if j > 0 {
			if c.lcp[j] > k {
				continue
			}
			if c.lcp[j] < k {
				return
			}
		}
		l := lits[li]
		k += commonPrefix(t[k:], l[k:])
		if k == len(l) {
			found.set(li)
		}
	}
}

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return i
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
	for _, i := range lm.short {
		if strings.Contains(text, lm.lits[i]) {
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
		lm.groups[lm.group[p]-1].match(lm.lits, text[pos-m+1:], found)
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
