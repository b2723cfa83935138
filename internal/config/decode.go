package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// maxNodes bounds the nodes visited while decoding, so that aliases cannot
// expand a small document into a huge one.
const maxNodes = 100000

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
	yamlLineRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// decoder decodes a yaml.Node tree into Go values strictly: unknown and
// duplicate keys and values of the wrong type are problems naming the line
// and key path. It keeps going after a problem, so all are reported.
type decoder struct {
	ps    problems
	nodes int
}

// parseYAML parses data into its single document node. An empty document
// yields nil. Syntax errors are returned as problems.
func parseYAML(data []byte) (*yaml.Node, []Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, []Problem{syntaxProblem(err)}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, []Problem{syntaxProblem(err)}
	default:
		return nil, []Problem{{Line: next.Line, Msg: "more than one YAML document; a config file holds exactly one"}}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return &doc, nil
}

// syntaxProblem turns a yaml parser error into a problem with its line.
func syntaxProblem(err error) Problem {
	msg := err.Error()
	hint := ""
	if strings.Contains(msg, "unknown escape character") {
		hint = `; in double quotes a backslash starts an escape: write Windows paths in single quotes ('C:\ProgramData\idsync\key.json') or with forward slashes ("C:/ProgramData/idsync/key.json")`
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		if line, convErr := strconv.Atoi(m[1]); convErr == nil {
			return Problem{Line: line, Msg: "syntax error: " + m[2] + hint}
		}
	}
	return Problem{Msg: "syntax error: " + strings.TrimPrefix(msg, "yaml: ") + hint}
}

// decode fills v (addressable) from n; key is the path of n.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, key string) {
	d.nodes++
	if d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.problem(n, key, "document too large or too deeply aliased")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.problem(n, key, "unknown alias")
			return
		}
		d.decode(n.Alias, v, key)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // a key without a value keeps its default
	}
	switch {
	case v.Type() == secretType:
		v.Addr().Interface().(*Secret).decodeNode(n, key, &d.ps)
	case v.Type() == durationType:
		d.decodeDuration(n, v, key)
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, v, key)
	case v.Kind() == reflect.Slice:
		d.decodeSlice(n, v, key)
	case v.Kind() == reflect.Map:
		d.decodeMap(n, v, key)
	default:
		d.decodeScalar(n, v, key)
	}
}

func (d *decoder) problem(n *yaml.Node, key, format string, args ...any) {
	d.ps.list = append(d.ps.list, Problem{Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		d.problem(n, key, "expected a mapping, got %s", describe(n))
		return
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.problem(k, key, "keys must be plain strings")
			continue
		}
		sub := joinKey(key, k.Value)
		if k.Tag == "!!merge" {
			d.problem(k, sub, "merge keys (<<) are not supported")
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.problem(k, sub, "duplicate key (first set on line %d)", prev)
			continue
		}
		seen[k.Value] = k.Line
		f, ok := fieldByTag(v, k.Value)
		if !ok {
			d.problem(k, sub, "%s", unknownKeyMessage(v.Type(), key, k.Value))
			continue
		}
		d.ps.lines[sub] = k.Line
		if p, ok := f.Addr().Interface().(*SyncSettings); ok {
			p.Present = true
		}
		d.decode(val, f, sub)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.SequenceNode {
		d.problem(n, key, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		sub := fmt.Sprintf("%s[%d]", key, i)
		d.ps.lines[sub] = item.Line
		d.decode(item, s.Index(i), sub)
	}
	v.Set(s)
}

// decodeMap decodes a mapping with string keys; the path of an entry is
// key["name"].
func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		d.problem(n, key, "expected a mapping, got %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			d.problem(k, key, "keys must be plain strings")
			continue
		}
		sub := mapKey(key, k.Value)
		if prev, dup := seen[k.Value]; dup {
			d.problem(k, sub, "duplicate key (first set on line %d)", prev)
			continue
		}
		seen[k.Value] = k.Line
		d.ps.lines[sub] = k.Line
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, e, sub)
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
	}
	if m.Len() > 0 {
		v.Set(m)
	}
}

// mapKey is the path of the entry name of the mapping at key.
func mapKey(key, name string) string { return key + "[" + strconv.Quote(name) + "]" }

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.ScalarNode {
		d.problem(n, key, "expected a duration such as \"600s\" or \"5m\", got %s", describe(n))
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.problem(n, key, "invalid duration %q: use a number with a unit, such as \"600s\", \"5m\" or \"1h30m\"", n.Value)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.ScalarNode {
		d.problem(n, key, "expected %s, got %s", kindName(v.Kind()), describe(n))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		switch strings.ToLower(n.Value) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.problem(n, key, "expected true or false, got %q", n.Value)
		}
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Tag != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.problem(n, key, "expected an integer, got %q", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
			d.problem(n, key, "expected a number, got %q", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		// Config uses no other kinds; a new field of another kind needs
		// support here.
		d.problem(n, key, "cannot decode into %s", v.Type())
	}
}

// fieldByTag returns the field of struct v whose yaml tag is name.
func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" && tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func joinKey(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// describe names the kind of a node for type errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	default:
		return "something else"
	}
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	default:
		return k.String()
	}
}
