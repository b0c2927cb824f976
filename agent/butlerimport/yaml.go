package butlerimport

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/heraldhq/herald/internal/fileerr"
)

// Error is a problem with the Butler file: YAML that does not parse, a file
// that is not a Butler config, or a value of the wrong type under a key the
// import reads. Error() reads "butler.yaml:57: Butler.x.y: message".
type Error struct {
	File string // as given in Options.Source
	Line int    // 1-based; 0 when the problem has no single line
	Key  string // Butler key path, such as Butler.incidentTool.signl4.url; may be empty
	Msg  string
}

// Error formats the problem as "file:line: key: message", leaving out the
// parts that are unknown.
func (e *Error) Error() string {
	return fileerr.Format(e.File, e.Line, 0, e.Key, e.Msg)
}

// isEmptyNull reports whether n is an implicit null: no text at all.
func isEmptyNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" && n.Anchor == ""
}

// parseYAML decodes the first YAML document of data and returns the value of
// its top-level Butler key.
func parseYAML(file string, data []byte) (node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return node{}, yamlError(file, err)
	}
	// A document with nothing in it ("---" alone) holds one empty null
	// scalar, which yaml.v3 places on the line after the file's end.
	if doc.Kind == 0 || len(doc.Content) == 0 || isEmptyNull(doc.Content[0]) {
		return node{}, &Error{File: file, Msg: "not a Butler config: the file is empty"}
	}
	// yaml.v3 reports duplicate keys only when decoding into Go values; Butler
	// (js-yaml) refuses them, and which one wins would be a guess.
	if err := duplicateKey(&doc); err != nil {
		err.File = file
		return node{}, err
	}
	root := node{n: doc.Content[0]}
	if resolve(root.n).Kind != yaml.MappingNode {
		return node{}, &Error{File: file, Line: root.n.Line,
			Msg: "not a Butler config: expected a mapping with the key Butler at the top"}
	}
	butler, ok := root.get("Butler")
	if !ok {
		var keys []string
		for i := 0; i+1 < len(resolve(root.n).Content); i += 2 {
			keys = append(keys, resolve(root.n).Content[i].Value)
		}
		msg := "not a Butler config: it has no top-level key Butler"
		if len(keys) > 0 {
			msg += " (its top-level keys: " + strings.Join(keys, ", ") + ")"
		}
		return node{}, &Error{File: file, Line: root.n.Line, Msg: msg}
	}
	if butler.kind() != yaml.MappingNode {
		return node{}, &Error{File: file, Line: butler.n.Line, Key: "Butler",
			Msg: "not a Butler config: Butler is not a mapping of settings"}
	}
	return butler, nil
}

// yamlError turns the library's "yaml: line 12: did not find expected key"
// into an *Error with the line as a position.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, tail
			}
		}
	}
	return &Error{File: file, Line: line, Msg: "not valid YAML: " + msg}
}

// duplicateKey finds the first mapping in n that has a key twice. Aliases
// are not followed: the nodes they name are checked where they are written.
func duplicateKey(n *yaml.Node) *Error {
	if n.Kind == yaml.MappingNode {
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				continue
			}
			if line, dup := seen[k.Value]; dup {
				return &Error{Line: k.Line, Msg: fmt.Sprintf("not valid YAML: mapping key %q already defined at line %d", k.Value, line)}
			}
			seen[k.Value] = k.Line
		}
	}
	for _, c := range n.Content {
		if err := duplicateKey(c); err != nil {
			return err
		}
	}
	return nil
}

// node is a YAML node and the Butler key path that leads to it.
type node struct {
	n    *yaml.Node
	path string
}

// resolve follows aliases (*anchor) to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func (x node) kind() yaml.Kind {
	if x.n == nil {
		return 0
	}
	return resolve(x.n).Kind
}

// isNull reports whether the node is absent or YAML null (a key with no value).
func (x node) isNull() bool {
	r := resolve(x.n)
	return r == nil || r.Kind == yaml.ScalarNode && r.Tag == "!!null"
}

// get returns the value of key in a mapping, honouring merge keys (<<: *base)
// as js-yaml does: keys written in the mapping win over merged ones.
func (x node) get(key string) (node, bool) {
	m := resolve(x.n)
	if m == nil || m.Kind != yaml.MappingNode {
		return node{}, false
	}
	child := x.path + "." + key
	if x.path == "" {
		child = key
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Value == key {
			return node{n: v, path: child}, true
		}
	}
	for _, mv := range merges {
		mv = resolve(mv)
		srcs := []*yaml.Node{mv}
		if mv.Kind == yaml.SequenceNode {
			srcs = mv.Content
		}
		for _, src := range srcs {
			if v, ok := (node{n: src, path: x.path}).get(key); ok {
				return v, true
			}
		}
	}
	return node{}, false
}

// at walks a dotted path of keys from x; the result is absent (n == nil) when
// any key is missing.
func (x node) at(keys string) node {
	cur := x
	for _, k := range strings.Split(keys, ".") {
		next, ok := cur.get(k)
		if !ok {
			return node{path: x.path + "." + keys}
		}
		cur = next
	}
	return cur
}

// items returns the elements of a sequence; null or absent is an empty list.
func (x node) items() ([]node, error) {
	if x.isNull() {
		return nil, nil
	}
	s := resolve(x.n)
	if s.Kind != yaml.SequenceNode {
		return nil, x.typeError("a list")
	}
	out := make([]node, len(s.Content))
	for i, c := range s.Content {
		out[i] = node{n: c, path: fmt.Sprintf("%s[%d]", x.path, i)}
	}
	return out, nil
}

// enabled reports whether x is the boolean true, the way Butler tests its
// switches (enable === true). Anything else, including absent, is false.
func (x node) enabled() bool {
	r := resolve(x.n)
	return r != nil && r.Kind == yaml.ScalarNode && r.Tag == "!!bool" && strings.EqualFold(r.Value, "true")
}

// boolean reads a true/false value; absent or null yields def.
func (x node) boolean(def bool) (bool, error) {
	if x.isNull() {
		return def, nil
	}
	r := resolve(x.n)
	if r.Kind != yaml.ScalarNode || r.Tag != "!!bool" {
		return false, x.typeError("true or false")
	}
	return strings.EqualFold(r.Value, "true"), nil
}

// str reads a scalar as text (numbers as written); absent or null is "".
func (x node) str() (string, error) {
	if x.isNull() {
		return "", nil
	}
	r := resolve(x.n)
	if r.Kind != yaml.ScalarNode {
		return "", x.typeError("a single value")
	}
	return r.Value, nil
}

// seconds reads a number of seconds, Butler's unit for rateLimit.
func (x node) seconds() (time.Duration, error) {
	r := resolve(x.n)
	if r.Kind != yaml.ScalarNode || (r.Tag != "!!int" && r.Tag != "!!float") {
		return 0, x.typeError("a number of seconds")
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(r.Value, "_", ""), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > math.MaxInt64/float64(time.Second) {
		return 0, x.typeError("a number of seconds, zero or more")
	}
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond), nil
}

// typeError says what x should have been and what it is.
func (x node) typeError(want string) error {
	r := resolve(x.n)
	got := "nothing"
	switch {
	case r == nil:
	case r.Kind == yaml.MappingNode:
		got = "a mapping"
	case r.Kind == yaml.SequenceNode:
		got = "a list"
	case r.Tag == "!!str":
		got = strconv.Quote(r.Value)
	default:
		got = r.Value
	}
	line := 0
	if x.n != nil {
		line = x.n.Line
	}
	return &Error{Line: line, Key: x.path, Msg: "expected " + want + ", got " + got}
}
