package config

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// redacted is what a Secret prints as, in every format.
const redacted = "<secret>"

// Secret is a sensitive string such as a password or a token. Its value is
// never printed: String, GoString, every fmt verb, JSON, YAML, slog and zap
// (through fmt.Stringer or JSON) all show "<secret>", or "" when the secret
// is empty. Use Value to read it.
//
// In YAML a secret is written in one of three forms:
//
//	password: "literal value"        # as in the Yandex agent's config
//	password: {file: ldap-password}  # file content, one trailing newline removed
//	password: {env: LDAP_PASSWORD}   # environment variable
//
// A relative file path resolves against working_directory. A missing file or
// an unset (or empty) variable is a configuration error naming the key.
type Secret struct {
	value string
	file  string // path from {file: ...}; absolute once resolved
	env   string // variable name from {env: ...}
}

// NewSecret returns a secret holding value.
func NewSecret(value string) Secret { return Secret{value: value} }

// Value returns the secret itself. Call it only where the value is used,
// never to log or print it.
func (s Secret) Value() string { return s.value }

// IsZero reports whether the secret is empty and has no file or env source.
func (s Secret) IsZero() bool { return s.value == "" && s.file == "" && s.env == "" }

// File returns the path given with {file: PATH}, or "".
func (s Secret) File() string { return s.file }

// Env returns the variable name given with {env: NAME}, or "".
func (s Secret) Env() string { return s.env }

// Equal reports whether two secrets have the same value and source. go-cmp
// uses it.
func (s Secret) Equal(o Secret) bool { return s == o }

func (s Secret) shown() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.shown()) }

// Format implements fmt.Formatter so that no verb can reveal the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		fmt.Fprintf(f, "%q", s.shown())
		return
	}
	_, _ = f.Write([]byte(s.shown()))
}

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) {
	return []byte(`"` + s.shown() + `"`), nil
}

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }

// MarshalText implements encoding.TextMarshaler, used by encoders that know
// nothing else (and by JSON for map keys).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// UnmarshalYAML implements yaml.Unmarshaler, accepting the three forms.
// Load does not use it (it decodes with its own strict decoder), but it lets
// other YAML documents embed a Secret. File and env sources are not read
// here; see Load.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	var ps problems
	s.decodeNode(n, "secret", &ps)
	if len(ps.list) > 0 {
		return fmt.Errorf("decode secret: %s", ps.list[0])
	}
	return nil
}

// decodeNode fills s from a YAML scalar or a {file|env: ...} mapping.
func (s *Secret) decodeNode(n *yaml.Node, key string, ps *problems) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return
		}
		*s = Secret{value: n.Value}
		return
	case yaml.MappingNode:
		var out Secret
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := key + "." + k.Value
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Value == "" {
				ps.list = append(ps.list, Problem{Line: v.Line, Key: sub, Msg: "expected a non-empty string"})
				continue
			}
			switch {
			case (k.Value == "file" && out.file != "") || (k.Value == "env" && out.env != ""):
				ps.list = append(ps.list, Problem{Line: k.Line, Key: sub, Msg: "duplicate key"})
			case k.Value == "file":
				out.file = v.Value
			case k.Value == "env":
				out.env = v.Value
			default:
				ps.list = append(ps.list, Problem{Line: k.Line, Key: sub, Msg: "unknown key; a secret mapping takes either file or env"})
			}
		}
		if (out.file == "") == (out.env == "") {
			ps.list = append(ps.list, Problem{Line: n.Line, Key: key, Msg: "a secret mapping takes exactly one of file or env"})
			return
		}
		*s = out
		return
	}
	ps.list = append(ps.list, Problem{Line: n.Line, Key: key, Msg: "expected a string, {file: PATH} or {env: NAME}"})
}

// resolve reads the value of a file or env secret. dir resolves a relative
// file path; lookupEnv reads variables.
func (s *Secret) resolve(key, dir string, lookupEnv func(string) (string, bool), ps *problems) {
	switch {
	case s.env != "":
		v, ok := lookupEnv(s.env)
		switch {
		case !ok:
			ps.add(key, "environment variable %s is not set", s.env)
		case v == "":
			ps.add(key, "environment variable %s is empty", s.env)
		default:
			s.value = v
		}
	case s.file != "":
		s.file = resolvePath(dir, s.file)
		data, err := readSmallFile(s.file)
		if err != nil {
			ps.add(key, "read secret file: %s", err.Error())
			return
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
		if v == "" {
			ps.add(key, "secret file %s is empty", s.file)
			return
		}
		s.value = v
	}
}

// resolvePath makes p absolute against dir; "" stays "".
func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
