package butlerimport

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// tomlWriter writes a TOML document by hand: Herald's generated files carry
// comments and a fixed key order, which an encoder would not keep.
type tomlWriter struct {
	b strings.Builder
}

func (w *tomlWriter) line(s string) {
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

func (w *tomlWriter) blank() {
	if s := w.b.String(); s != "" && !strings.HasSuffix(s, "\n\n") {
		w.b.WriteByte('\n')
	}
}

func (w *tomlWriter) comment(text string) {
	for _, l := range strings.Split(text, "\n") {
		w.line(strings.TrimRight("# "+l, " "))
	}
}

// kv writes key = value with an optional trailing comment.
func (w *tomlWriter) kv(key, value, comment string) {
	s := tomlKey(key) + " = " + value
	if comment != "" {
		s += "   # " + comment
	}
	w.line(s)
}

func (w *tomlWriter) bytes() []byte { return []byte(w.b.String()) }

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func tomlKey(k string) string {
	if bareKey.MatchString(k) {
		return k
	}
	return basicString(k)
}

// tomlString quotes s for TOML: a literal string ('...') when s has a
// backslash and nothing a literal string cannot hold, so Windows paths stay
// readable; a basic string ("...") otherwise.
func tomlString(s string) string {
	if strings.Contains(s, `\`) && !strings.Contains(s, "'") && !hasControl(s) {
		return "'" + s + "'"
	}
	return basicString(s)
}

// exprString quotes an expr expression as the rule packs do: a literal string
// so its own double quotes need no escaping, multi-line when it has line breaks.
func exprString(s string) string {
	switch {
	case strings.Contains(s, "\n") && !strings.Contains(s, "'''") && !hasControl(strings.ReplaceAll(s, "\n", "")) && !strings.HasSuffix(s, "'"):
		return "'''\n" + s + "'''"
	case !strings.Contains(s, "'") && !hasControl(s):
		return "'" + s + "'"
	}
	return basicString(s)
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return true
		}
	}
	return false
}

func basicString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		case r == utf8.RuneError:
			b.WriteString(`\uFFFD`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func stringArray(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = tomlString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// inlineExprTable writes { A = 'A', B = 'B' } with keys sorted.
func inlineExprTable(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = tomlKey(k) + " = " + exprString(m[k])
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// escapeDollar makes a value from Butler literal in herald.toml, where
// ${NAME} is expanded and $$ stands for a single $.
func escapeDollar(s string) string { return strings.ReplaceAll(s, "$", "$$") }

// oneLine makes free text (a Butler description) safe for a TOML comment.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// duration writes d the short way Herald's docs do: "15s", "5m", "1h30m".
func duration(d time.Duration) string {
	if d%time.Second != 0 {
		return d.String()
	}
	h, m, s := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	var b strings.Builder
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}
