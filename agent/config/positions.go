package config

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// position is a 1-based line and column (in characters) in the config file.
type position struct{ line, col int }

// positions maps a keyPath's String() to where it is written in the file.
//
// BurntSushi/toml keeps key positions to itself (MetaData.keyInfo is
// unexported) and, for arrays of tables, remembers only the last table's
// position per dotted key. Error messages must point at the right [[input]], so
// positions come from this scanner instead.
type positions map[string]position

// lookup returns the position of p, or of its nearest ancestor that has one:
// a missing key is reported at the table that should have held it. The zero
// position means none is known.
func (ps positions) lookup(p keyPath) position {
	for {
		if pos, ok := ps[p.String()]; ok {
			return pos
		}
		if len(p) == 0 {
			return position{}
		}
		p = p.parent()
	}
}

// scanPositions records where every key, table header and array element of a
// TOML document starts. The document has already been parsed successfully by
// BurntSushi/toml, so the scanner only has to be right for valid TOML; on
// anything unexpected it stops and returns what it has, since positions are a
// help for messages, never a source of errors.
func scanPositions(src []byte) positions {
	s := &scanner{
		src:    strings.TrimPrefix(string(src), "\uFEFF"),
		line:   1,
		col:    1,
		out:    positions{},
		arrays: map[string]int{},
	}
	s.document()
	return s.out
}

type scanner struct {
	src       string
	i         int
	line, col int
	out       positions
	// arrays counts the tables seen so far in each array of tables, keyed by
	// the path of the array (with indexes of enclosing arrays), so that a
	// header such as [input.parser_options] resolves to the latest [[input]].
	arrays map[string]int
	table  keyPath // the table that key/value pairs currently go into
}

func (s *scanner) eof() bool { return s.i >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *scanner) hasPrefix(p string) bool { return strings.HasPrefix(s.src[s.i:], p) }

// advance moves past n bytes, keeping line and column (in runes) current.
func (s *scanner) advance(n int) {
	for ; n > 0 && !s.eof(); n-- {
		c := s.src[s.i]
		s.i++
		switch {
		case c == '\n':
			s.line++
			s.col = 1
		case utf8.RuneStart(c):
			s.col++
		}
	}
}

func (s *scanner) here() position { return position{s.line, s.col} }

func (s *scanner) record(p keyPath, pos position) {
	k := p.String()
	if _, ok := s.out[k]; !ok {
		s.out[k] = pos
	}
}

func (s *scanner) skipSpace() {
	for c := s.peek(); c == ' ' || c == '\t'; c = s.peek() {
		s.advance(1)
	}
}

// skipBlank skips whitespace, newlines and comments.
func (s *scanner) skipBlank() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\r', '\n':
			s.advance(1)
		case '#':
			for !s.eof() && s.peek() != '\n' {
				s.advance(1)
			}
		default:
			return
		}
	}
}

func (s *scanner) document() {
	for {
		s.skipBlank()
		if s.eof() {
			return
		}
		start := s.here()
		switch {
		case s.hasPrefix("[["):
			s.advance(2)
			key, ok := s.key()
			if !ok || !s.hasPrefix("]]") {
				return
			}
			s.advance(2)
			s.table = s.arrayTable(key, start)
		case s.peek() == '[':
			s.advance(1)
			key, ok := s.key()
			if !ok || s.peek() != ']' {
				return
			}
			s.advance(1)
			s.table = s.resolve(key)
			s.record(s.table, start)
		default:
			if !s.keyValue(s.table) {
				return
			}
		}
	}
}

// resolve turns the dotted key of a table header into a path, descending into
// the latest table of every array of tables on the way.
func (s *scanner) resolve(key []string) keyPath {
	var p keyPath
	for _, k := range key {
		p = p.key(k)
		if n := s.arrays[p.String()]; n > 0 {
			p = p.index(n - 1)
		}
	}
	return p
}

// arrayTable handles a [[header]]: it starts a new table in the array and
// returns that table's path.
func (s *scanner) arrayTable(key []string, start position) keyPath {
	arr := s.resolve(key[:len(key)-1]).key(key[len(key)-1])
	n := s.arrays[arr.String()]
	s.arrays[arr.String()] = n + 1
	s.record(arr, start)
	p := arr.index(n)
	s.record(p, start)
	return p
}

// keyValue scans "a.b = value" inside table and records a, a.b and whatever
// the value contains.
func (s *scanner) keyValue(table keyPath) bool {
	start := s.here()
	key, ok := s.key()
	if !ok || s.peek() != '=' {
		return false
	}
	s.advance(1)
	s.skipSpace()
	p := table
	for _, k := range key {
		p = p.key(k)
		s.record(p, start)
	}
	return s.value(p)
}

// key scans a dotted key, bare or quoted parts, and the blanks after it.
func (s *scanner) key() ([]string, bool) {
	var parts []string
	for {
		s.skipSpace()
		var part string
		switch c := s.peek(); {
		case c == '"':
			raw, ok := s.basicString()
			if !ok {
				return nil, false
			}
			part = unescapeBasic(raw)
		case c == '\'':
			raw, ok := s.literalString()
			if !ok {
				return nil, false
			}
			part = raw
		default:
			j := s.i
			for j < len(s.src) && isBareKeyChar(rune(s.src[j])) {
				j++
			}
			if j == s.i {
				return nil, false
			}
			part = s.src[s.i:j]
			s.advance(j - s.i)
		}
		parts = append(parts, part)
		s.skipSpace()
		if s.peek() != '.' {
			return parts, true
		}
		s.advance(1)
	}
}

// value scans one value and records the positions of the keys and elements
// inside arrays and inline tables.
func (s *scanner) value(p keyPath) bool {
	switch {
	case s.hasPrefix(`"""`):
		return s.multiline(`"""`, true)
	case s.hasPrefix(`'''`):
		return s.multiline(`'''`, false)
	case s.peek() == '"':
		_, ok := s.basicString()
		return ok
	case s.peek() == '\'':
		_, ok := s.literalString()
		return ok
	case s.peek() == '[':
		return s.array(p)
	case s.peek() == '{':
		return s.inlineTable(p)
	}
	// Numbers, booleans and date-times; a date-time may contain a space.
	start := s.i
	for !s.eof() && !strings.ContainsRune(",]}#\r\n", rune(s.peek())) {
		s.advance(1)
	}
	return s.i > start
}

func (s *scanner) array(p keyPath) bool {
	s.advance(1) // [
	for i := 0; ; i++ {
		s.skipBlank()
		if s.peek() == ']' {
			s.advance(1)
			return true
		}
		if s.eof() {
			return false
		}
		elem := p.index(i)
		s.record(elem, s.here())
		if !s.value(elem) {
			return false
		}
		s.skipBlank()
		if s.peek() == ',' {
			s.advance(1)
		}
	}
}

func (s *scanner) inlineTable(p keyPath) bool {
	s.advance(1) // {
	for {
		s.skipBlank() // TOML 1.1 allows newlines and comments in inline tables
		switch {
		case s.peek() == '}':
			s.advance(1)
			return true
		case s.eof():
			return false
		}
		if !s.keyValue(p) {
			return false
		}
		s.skipBlank()
		if s.peek() == ',' {
			s.advance(1)
		}
	}
}

// basicString scans "..." and returns its raw (still escaped) contents.
func (s *scanner) basicString() (string, bool) {
	s.advance(1)
	start := s.i
	for !s.eof() {
		switch s.peek() {
		case '\\':
			s.advance(2)
		case '"':
			raw := s.src[start:s.i]
			s.advance(1)
			return raw, true
		case '\n':
			return "", false
		default:
			s.advance(1)
		}
	}
	return "", false
}

// literalString scans '...' and returns its contents.
func (s *scanner) literalString() (string, bool) {
	s.advance(1)
	end := strings.IndexAny(s.src[s.i:], "'\n")
	if end < 0 || s.src[s.i+end] != '\'' {
		return "", false
	}
	raw := s.src[s.i : s.i+end]
	s.advance(end + 1)
	return raw, true
}

// multiline scans a multi-line string, delimited by three double or three
// single quotes. Up to two extra quotes may directly precede the closing
// delimiter, and belong to the string.
func (s *scanner) multiline(delim string, escapes bool) bool {
	s.advance(3)
	for !s.eof() {
		switch {
		case escapes && s.peek() == '\\':
			s.advance(2)
		case s.hasPrefix(delim):
			s.advance(3)
			for n := 0; n < 2 && s.peek() == delim[0]; n++ {
				s.advance(1)
			}
			return true
		default:
			s.advance(1)
		}
	}
	return false
}

// unescapeBasic decodes the escapes of a basic string used as a key, so that
// "a\u0062" names the same key as "ab". An escape it does not know is kept as
// written; the key then merely has no recorded position.
func unescapeBasic(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := raw[i]; e {
		case 'b':
			b.WriteByte('\b')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 'e':
			b.WriteByte(0x1b)
		case '"', '\\':
			b.WriteByte(e)
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n < len(raw) {
				if v, err := strconv.ParseUint(raw[i+1:i+1+n], 16, 32); err == nil {
					b.WriteRune(rune(v))
					i += n
					continue
				}
			}
			b.WriteByte('\\')
			b.WriteByte(e)
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String()
}
