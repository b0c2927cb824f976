package config

import (
	"strconv"
	"strings"
)

// keyPath names a value in herald.toml the way error messages print it:
// dotted keys with array indexes, such as input[0].paths[2] or
// sink[1].config."X-Api-Key". Each element is either a key, already quoted when
// it is not a bare TOML key, or an index written "[n]".
type keyPath []string

// key returns the path of the child key k. It never shares storage with p, so
// siblings built from one parent do not overwrite each other.
func (p keyPath) key(k string) keyPath {
	return append(p[:len(p):len(p)], quoteKey(k))
}

// index returns the path of element i of the array at p.
func (p keyPath) index(i int) keyPath {
	return append(p[:len(p):len(p)], "["+strconv.Itoa(i)+"]")
}

// parent returns p without its last element; the parent of the root is the root.
func (p keyPath) parent() keyPath {
	if len(p) == 0 {
		return p
	}
	return p[:len(p)-1]
}

func (p keyPath) String() string {
	var b strings.Builder
	for i, e := range p {
		if i > 0 && !strings.HasPrefix(e, "[") {
			b.WriteByte('.')
		}
		b.WriteString(e)
	}
	return b.String()
}

// quoteKey writes a key as TOML would need it written: bare when it consists of
// A-Z a-z 0-9 _ -, quoted otherwise.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, r := range k {
		if !isBareKeyChar(r) {
			return strconv.Quote(k)
		}
	}
	return k
}

func isBareKeyChar(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}
