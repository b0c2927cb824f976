package config

import (
	"cmp"
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/internal/editdist"
)

// decoder copies the value tree BurntSushi/toml parsed into the schema structs.
//
// We decode the tree ourselves instead of letting toml.Decode fill the structs
// because the library cannot give what herald.toml promises:
//   - MetaData.Undecoded reports "input.pathz" with no array index and no line,
//     and keys are matched case-insensitively (Name fills name);
//   - its type errors are plain strings carrying the line of the *last* table
//     of an array ("toml: line 9 (last key "input.paths")" for a mistake in the
//     first [[input]]);
//   - ${VAR} must be expanded before a value is converted, or
//     poll_interval = "${POLL}" could never work.
//
// Here every key is matched exactly against the toml tags, and every problem is
// reported with its full path (input[0].paths[1]) and line.
type decoder struct {
	*problems
	refs refs
	// partial leaves references to missing secrets unresolved, recording
	// them in unresolved (Options.Partial).
	partial    bool
	unresolved []*Error
	// present holds every path written in the file, so that validation can
	// tell batch_size = 0 from no batch_size at all.
	present map[string]bool
	// secret holds the paths whose value had a variable substituted into it;
	// such a value is never quoted in a message.
	secret map[string]bool
}

var (
	durationType        = reflect.TypeFor[Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decode stores data, found at path p, into rv.
func (d *decoder) decode(p keyPath, data any, rv reflect.Value) {
	if rv.CanAddr() && rv.Addr().Type().Implements(textUnmarshalerType) {
		d.text(p, data, rv.Addr().Interface().(encoding.TextUnmarshaler))
		return
	}
	switch rv.Kind() {
	case reflect.Pointer:
		// An optional value whose absence means something (a per-kind default).
		v := reflect.New(rv.Type().Elem())
		d.decode(p, data, v.Elem())
		rv.Set(v)
	case reflect.Struct:
		d.table(p, data, rv)
	case reflect.Slice:
		d.slice(p, data, rv)
	case reflect.Map:
		d.dict(p, data, rv)
	case reflect.Interface:
		rv.Set(reflect.ValueOf(d.freeForm(p, data)))
	case reflect.String:
		s, ok := data.(string)
		if !ok {
			d.mismatch(p, "a string", data)
			return
		}
		rv.SetString(d.expand(p, s))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := data.(int64)
		if !ok {
			d.mismatch(p, "an integer", data)
			return
		}
		if rv.OverflowInt(n) {
			d.add(p, "%d is out of range", n)
			return
		}
		rv.SetInt(n)
	case reflect.Bool:
		b, ok := data.(bool)
		if !ok {
			d.mismatch(p, "true or false", data)
			return
		}
		rv.SetBool(b)
	case reflect.Float32, reflect.Float64:
		switch n := data.(type) {
		case float64:
			rv.SetFloat(n)
		case int64:
			rv.SetFloat(float64(n))
		default:
			d.mismatch(p, "a number", data)
		}
	default:
		// Only reachable if the schema gains a field of a kind not handled above.
		panic(fmt.Sprintf("config: %s: unsupported field type %s", p, rv.Type()))
	}
}

// table fills a struct from a TOML table, matching keys exactly against the
// fields' toml tags.
func (d *decoder) table(p keyPath, data any, rv reflect.Value) {
	m, ok := data.(map[string]any)
	if !ok {
		d.mismatch(p, "a table", data)
		return
	}
	fields := tomlFields(rv.Type())
	for _, k := range d.inFileOrder(p, m) {
		kp := p.key(k)
		d.present[kp.String()] = true
		idx, ok := fields[k]
		if !ok {
			hint, meant := suggest(k, fields)
			d.add(kp, "unknown key%s", hint)
			if meant != "" {
				// The user most likely did set the key, only misspelt: do
				// not also report it as missing.
				d.bad[p.key(meant).String()] = true
			}
			continue
		}
		d.decode(kp, m[k], rv.Field(idx))
	}
}

func (d *decoder) slice(p keyPath, data any, rv reflect.Value) {
	var elems []any
	switch v := data.(type) {
	case []any:
		elems = v
	case []map[string]any: // an array of tables, [[input]]
		elems = make([]any, len(v))
		for i := range v {
			elems[i] = v[i]
		}
	default:
		d.mismatch(p, "an array", data)
		return
	}
	s := reflect.MakeSlice(rv.Type(), len(elems), len(elems))
	for i, e := range elems {
		d.decode(p.index(i), e, s.Index(i))
	}
	rv.Set(s)
}

// dict fills a map from a table. Its keys are free-form: the consumer of the
// map (a plugin, a parser) validates them.
func (d *decoder) dict(p keyPath, data any, rv reflect.Value) {
	m, ok := data.(map[string]any)
	if !ok {
		d.mismatch(p, "a table", data)
		return
	}
	out := reflect.MakeMapWithSize(rv.Type(), len(m))
	for _, k := range d.inFileOrder(p, m) {
		kp := p.key(k)
		d.present[kp.String()] = true
		v := reflect.New(rv.Type().Elem()).Elem()
		d.decode(kp, m[k], v)
		out.SetMapIndex(reflect.ValueOf(k).Convert(rv.Type().Key()), v)
	}
	rv.Set(out)
}

// freeForm copies a value of a free-form table, expanding ${VAR} in every
// string however deeply it is nested.
func (d *decoder) freeForm(p keyPath, data any) any {
	switch v := data.(type) {
	case string:
		return d.expand(p, v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range d.inFileOrder(p, v) {
			out[k] = d.freeForm(p.key(k), v[k])
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(v))
		for i, t := range v {
			out[i] = d.freeForm(p.index(i), t).(map[string]any)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = d.freeForm(p.index(i), e)
		}
		return out
	default:
		return v
	}
}

// text decodes a string into a TextUnmarshaler such as Duration.
func (d *decoder) text(p keyPath, data any, u encoding.TextUnmarshaler) {
	want := "a string"
	if reflect.TypeOf(u).Elem() == durationType {
		want = `a duration such as "500ms", "2s" or "1m"`
	}
	s, ok := data.(string)
	if !ok {
		d.mismatch(p, want, data)
		return
	}
	s = d.expand(p, s)
	if d.bad[p.String()] {
		return
	}
	if err := u.UnmarshalText([]byte(s)); err != nil {
		// The parse error quotes the input, which may have come from the
		// environment: describe the problem without it.
		d.add(p, "%s is not %s", d.show(p, s), want)
	}
}

// expand expands ${VAR} and ${file:PATH} in the string at p, recording each
// problem. A value that holds a reference is a secret, resolved or not.
func (d *decoder) expand(p keyPath, s string) string {
	out, substituted, problems := expand(s, d.refs)
	if substituted || len(problems) > 0 {
		d.secret[p.String()] = true
	}
	for _, pr := range problems {
		if d.partial && pr.unresolved {
			// Not a problem of the file: the command may never use this
			// value. Derived complaints (an empty URL) are held back too.
			pos := d.pos.lookup(p)
			d.unresolved = append(d.unresolved, &Error{File: d.file, Line: pos.line, Col: pos.col, Key: p.String(), Msg: pr.msg})
			d.bad[p.String()] = true
			continue
		}
		d.add(p, "%s", pr.msg)
	}
	return out
}

// show quotes the value v found at p for a message, unless a variable was
// substituted into it: then it may hold a secret and is only described.
func (d *decoder) show(p keyPath, v string) string {
	if d.secret[p.String()] {
		return "the value from the environment"
	}
	return fmt.Sprintf("%q", v)
}

func (d *decoder) mismatch(p keyPath, want string, got any) {
	d.add(p, "expected %s, got %s", want, tomlTypeName(got))
}

// inFileOrder returns the keys of m in the order they appear in the file, so
// that problems come out in reading order.
func (d *decoder) inFileOrder(p keyPath, m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		pa, pb := d.pos[p.key(a).String()], d.pos[p.key(b).String()]
		return cmp.Or(cmp.Compare(pa.line, pb.line), cmp.Compare(pa.col, pb.col), strings.Compare(a, b))
	})
	return keys
}

// tomlFields maps the toml tag of each decodable field of struct type t to
// the field's index.
func tomlFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = i
	}
	return fields
}

// suggest returns a hint naming the known key that k most likely meant, and
// that key: the same key in other letter case, or else the one fewest edits
// away (at most two), preferring one of the same length.
func suggest(k string, known map[string]int) (hint, meant string) {
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if strings.EqualFold(n, k) {
			return fmt.Sprintf(" (keys are case-sensitive: did you mean %q?)", n), n
		}
	}
	best, bestDist, bestLenDiff := "", 3, 0
	for _, n := range names {
		dist, lenDiff := editdist.Distance(k, n), len(k)-len(n)
		if lenDiff < 0 {
			lenDiff = -lenDiff
		}
		if dist >= len(n) {
			continue
		}
		if dist < bestDist || dist == bestDist && lenDiff < bestLenDiff {
			best, bestDist, bestLenDiff = n, dist, lenDiff
		}
	}
	if best == "" {
		return "", ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best), best
}

// tomlTypeName names the TOML type of a parsed value, for messages.
func tomlTypeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return fmt.Sprintf("a %T", v)
	}
}
