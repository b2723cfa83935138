package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Redacted returns the effective configuration as YAML, every key present,
// durations written like "4m0s" and secrets as "<secret>". It is safe to
// print (`idsync check`) and parses back into an equal configuration,
// secrets aside.
func (c *Config) Redacted() ([]byte, error) {
	out, err := yaml.Marshal(encodeNode(reflect.ValueOf(c).Elem()))
	if err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	return out, nil
}

// encodeNode builds the YAML node for v, following the yaml tags.
func encodeNode(v reflect.Value) *yaml.Node {
	switch {
	case v.Type() == secretType:
		return scalar("!!str", v.Interface().(Secret).shown())
	case v.Type() == durationType:
		return scalar("!!str", time.Duration(v.Int()).String())
	}
	switch v.Kind() {
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || tag == "" || tag == "-" {
				continue
			}
			n.Content = append(n.Content, scalar("!!str", tag), encodeNode(v.Field(i)))
		}
		return n
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if v.Len() == 0 {
			n.Style = yaml.FlowStyle
		}
		for i := range v.Len() {
			n.Content = append(n.Content, encodeNode(v.Index(i)))
		}
		return n
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if v.Len() == 0 {
			n.Style = yaml.FlowStyle
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			n.Content = append(n.Content, scalar("!!str", k.String()), encodeNode(v.MapIndex(k)))
		}
		return n
	case reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int64:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10))
	case reflect.Float64:
		f := strconv.FormatFloat(v.Float(), 'f', -1, 64)
		if !strings.ContainsAny(f, ".eEIN") {
			f += ".0"
		}
		return scalar("!!float", f)
	default:
		return scalar("!!str", v.String())
	}
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}
