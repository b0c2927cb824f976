package rules

import (
	"sort"
	"strings"
)

// litMatcher reports which of a fixed set of literal strings occur in a text.
//
// It backs the prefilter, which runs on every line of every tailed file. It
// samples the text every stride bytes and looks the gramLen bytes there up in
// a hash table of the literals' grams (see scan). The samples do not depend on
// each other, so the CPU overlaps them, and the cost falls as the shortest
// literal gets longer and barely rises with the number of literals; it beats a
// strings.Contains per literal even for one literal of 20 bytes
// (BenchmarkLiteralMatcher, "lits=N"). Literals shorter than shortLit would
// shrink the stride for all, so up to shortMax of them are looked for with
// strings.Contains instead ("short=N"), as are those shorter than gramLen.
type litMatcher struct {
	lits []string

	// each are looked for one by one: strings.IndexByte for one byte,
	// strings.Contains otherwise. By index into lits.
	each []int32

	// The sampling scan of the other literals; stride is 0 when there are none.
	stride int                     // bytes between samples: the shortest scanned literal's length - gramLen + 1
	table  *[1 << tableBits]uint16 // by slot: 1 + the index in groups of the grams in that slot; 0: none
	groups [][]gramRef
}

// gramRef is one gram of a scanned literal that the scan looks for.
type gramRef struct {
	gram uint32 // the gram itself, to skip other grams of the same slot with one compare
	lit  int32  // index into lits
	off  int32  // where the gram starts in the literal
}

// gramLen is the length of the grams the scan samples: four bytes load as one
// word, and four-byte grams of log text rarely occur in a set of phrases by
// chance.
const gramLen = 4

// tableBits sizes the scan's hash table: 8192 slots (16 KiB, in the L1
// cache). With 20 literals keyed on 8 grams each, 98% of the slots are empty,
// so a sample of other text rarely costs more than the look-up.
const tableBits = 13

// shortLit is the length below which a literal is looked for with
// strings.Contains rather than in the scan, as long as there are no more than
// shortMax of them. The scan samples every (shortest literal - 3) bytes, so
// one "WARN" among logger names and phrases would make it read the text byte by
// byte (BenchmarkLiteralMatcher, "levels").
const shortLit = 8

// shortMax is the largest number of short literals looked for one by one: a
// scan with them, which samples every byte, costs about as much as five or
// six strings.Contains, depending on how often their first byte occurs
// (BenchmarkLiteralMatcher, "short=N").
const shortMax = 5

// plan says how a litMatcher looks for its literals.
type plan struct {
	scan     bool // false: every literal with strings.Contains
	short    int  // literals shorter than this are looked for apart,
	shortMax int  // if there are no more than this many of them
}

// newLitMatcher returns a matcher of lits, which must be distinct. It returns
// nil for an empty set. common are strings the text is likely to hold often
// (literals of the same rules that the matcher is not asked to find); the scan
// avoids keying on grams they share.
func newLitMatcher(lits, common []string) *litMatcher {
	return buildLitMatcher(lits, common, plan{scan: true, short: shortLit, shortMax: shortMax})
}

// buildLitMatcher builds a matcher of lits with the given plan; tests and
// benchmarks call it directly to compare plans.
func buildLitMatcher(lits, common []string, p plan) *litMatcher {
	if len(lits) == 0 {
		return nil
	}
	lm := &litMatcher{lits: lits}
	nshort := 0
	for _, l := range lits {
		if len(l) >= gramLen && len(l) < p.short {
			nshort++
		}
	}
	var scanned []int32
	m := 0 // the shortest scanned literal
	for i, l := range lits {
		if !p.scan || len(l) < gramLen || len(l) < p.short && nshort <= p.shortMax {
			lm.each = append(lm.each, int32(i))
			continue
		}
		scanned = append(scanned, int32(i))
		if m == 0 || len(l) < m {
			m = len(l)
		}
	}
	if len(scanned) == 0 {
		return lm
	}
	lm.stride = m - gramLen + 1

	lm.table = new([1 << tableBits]uint16)
	shared := gramCounts(lits, common)
	for _, li := range scanned {
		l := lits[li]
		first := chooseBlock(l, lm.stride, shared)
		for off := first; off < first+lm.stride; off++ {
			g := gramAt(l, off)
			slot := slot(g)
			if lm.table[slot] == 0 {
				lm.groups = append(lm.groups, nil)
				lm.table[slot] = uint16(len(lm.groups)) // at most one group per slot: fits
			}
			gi := lm.table[slot] - 1
			lm.groups[gi] = append(lm.groups[gi], gramRef{gram: g, lit: li, off: int32(off)})
		}
	}
	return lm
}

// chooseBlock returns where, in a scanned literal l, the stride grams the
// scan keys it on start. Any stride consecutive grams will do (see scan); it
// picks those the fewest other literals share, because a gram several
// literals share (all logger names hold "Sche") is a gram the lines hold
// often, and each sample that finds one in the table costs a comparison. On a
// tie it picks the last block: literals of a family (logger names, "Execution
// State Change to ...") share beginnings more often than ends.
func chooseBlock(l string, stride int, shared map[uint32]int) int {
	cost := func(off int) int { return shared[gramAt(l, off)] - 1 } // l itself counts once
	sum := 0
	for off := range stride {
		sum += cost(off)
	}
	best, bestSum := 0, sum
	for first := 1; first+stride-1+gramLen <= len(l); first++ {
		sum += cost(first+stride-1) - cost(first-1)
		if sum <= bestSum {
			best, bestSum = first, sum
		}
	}
	return best
}

// gramCounts returns, for every gram of the strings, how many of them hold it.
func gramCounts(sets ...[]string) map[uint32]int {
	n := map[uint32]int{}
	seen := map[uint32]bool{}
	for _, set := range sets {
		for _, s := range set {
			clear(seen)
			for off := 0; off+gramLen <= len(s); off++ {
				g := gramAt(s, off)
				if !seen[g] {
					seen[g] = true
					n[g]++
				}
			}
		}
	}
	return n
}

// gramAt returns the gramLen bytes of s at off as a word (one load).
func gramAt(s string, off int) uint32 {
	s = s[off : off+gramLen]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// slot returns the table slot of a gram: the top bits of its Fibonacci hash.
func slot(g uint32) uint32 { return g * 0x9E3779B1 >> (32 - tableBits) }

// bitset is a set of literal indexes.
type bitset []uint64

func newBitset(n int) bitset      { return make(bitset, (n+63)/64) }
func (b bitset) set(i int32)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) clear()           { clear(b) }
func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}
func bitsetWords(n int) int { return (n + 63) / 64 }

// find adds to found every literal that occurs in text. found must have room
// for all literals.
func (lm *litMatcher) find(text string, found bitset) {
	for _, i := range lm.each {
		l := lm.lits[i]
		var in bool
		if len(l) == 1 {
			in = strings.IndexByte(text, l[0]) >= 0
		} else {
			in = strings.Contains(text, l)
		}
		if in {
			found.set(i)
		}
	}
	if lm.stride > 0 {
		lm.scan(text, found)
	}
}

// scan adds to found the scanned literals that occur in text.
//
// It reads the gram at every stride-th byte of the text and looks it up. That
// finds every occurrence of a scanned literal: the literal is keyed on stride
// consecutive grams (see chooseBlock), so exactly one of the stride positions
// those grams start at in the text is a sample position, and the gram read
// there ends inside the literal, since stride + gramLen - 1 is at most the
// literal's length. A gram found in the table is checked against the gram
// itself, then the literal against the text.
func (lm *litMatcher) scan(text string, found bitset) {
	table, stride := lm.table, lm.stride
	for pos := 0; pos+gramLen <= len(text); pos += stride {
		g := gramAt(text, pos)
		e := table[slot(g)]
		if e == 0 {
			continue
		}
		for _, r := range lm.groups[e-1] {
			if r.gram != g {
				continue
			}
			l := lm.lits[r.lit]
			start := pos - int(r.off)
			if start >= 0 && start+len(l) <= len(text) && text[start:start+len(l)] == l {
				found.set(r.lit)
			}
		}
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
