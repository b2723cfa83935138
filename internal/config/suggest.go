package config

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// unknownKeyMessage is the problem text for the unknown key name found in
// the struct type t at path parent: where a key of that name belongs when
// the file has it in the wrong section ("password" at the top level belongs
// under ldap), or the near spelling among the section's keys.
func unknownKeyMessage(t reflect.Type, parent, name string) string {
	keys := yamlKeys(t)
	if near := nearestKey(keys, name); near != "" {
		return fmt.Sprintf("unknown key; did you mean %q?", near)
	}
	var places []string
	for _, p := range keyPaths(reflect.TypeFor[Config](), "") {
		if lastSegment(p) == strings.ToLower(name) && parentKey(p) != parent {
			places = append(places, p)
		}
	}
	// ldap first: the section every file has.
	slices.SortStableFunc(places, func(a, b string) int {
		return cmp.Compare(b2i(!strings.HasPrefix(a, "ldap.")), b2i(!strings.HasPrefix(b, "ldap.")))
	})
	switch {
	case len(places) == 1:
		return fmt.Sprintf("unknown key here; did you mean %q? (%s belongs under %s)", places[0], name, sectionsOf(places))
	case len(places) > 1 && len(places) <= 3:
		return fmt.Sprintf("unknown key here; did you mean %s?", quoteJoin(places))
	}
	// "hostname" for host, "userpool" for userpool_id.
	lower := strings.ToLower(name)
	for _, k := range keys {
		if min(len(k), len(lower)) >= 4 && (strings.HasPrefix(k, lower) || strings.HasPrefix(lower, k)) {
			return fmt.Sprintf("unknown key; did you mean %q?", k)
		}
	}
	return "unknown key"
}

// nearestKey returns the key of keys within edit distance 2 of name (1
// for names of up to 4 letters), the closest first, then the one of the
// same length, or "".
func nearestKey(keys []string, name string) string {
	best, bestD := "", 3
	if len(name) <= 4 {
		bestD = 2
	}
	lower := strings.ToLower(name)
	for _, k := range keys {
		d := editDistance(lower, k)
		if d < bestD || d == bestD && best != "" && len(k) == len(lower) && len(best) != len(lower) {
			best, bestD = k, d
		}
	}
	return best
}

// yamlKeys lists the yaml keys of struct type t.
func yamlKeys(t reflect.Type) []string {
	if t.Kind() != reflect.Struct || t == secretType || t == durationType {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// keyPaths lists every key path under struct type t, depth first.
func keyPaths(t reflect.Type, prefix string) []string {
	var out []string
	if t.Kind() != reflect.Struct || t == secretType || t == durationType {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		p := joinKey(prefix, tag)
		out = append(out, p)
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			continue // list items are not sections to suggest
		}
		out = append(out, keyPaths(ft, p)...)
	}
	return out
}

func lastSegment(key string) string {
	if i := strings.LastIndex(key, "."); i >= 0 {
		return key[i+1:]
	}
	return key
}

func quoteJoin(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = fmt.Sprintf("%q", p)
	}
	return strings.Join(q, " or ")
}

func sectionsOf(paths []string) string {
	s := make([]string, len(paths))
	for i, p := range paths {
		if parent := parentKey(p); parent != "" {
			s[i] = parent
		} else {
			s[i] = "the top level"
		}
	}
	return strings.Join(s, " or ")
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent letters.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
